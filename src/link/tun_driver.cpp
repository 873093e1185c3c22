// The TUN driver's event loop (include/synack/link/tun_driver.hpp).
#include "synack/link/tun_driver.hpp"

#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

namespace synack::link {
namespace {

std::int64_t clock_ns(clockid_t clock) noexcept {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000LL + static_cast<std::int64_t>(ts.tv_nsec);
}

}  // namespace

Instant monotonic_now() noexcept {
  return Instant::from_nanoseconds(clock_ns(CLOCK_MONOTONIC));
}

Duration realtime_offset() noexcept {
  const std::int64_t mono = clock_ns(CLOCK_MONOTONIC);
  const std::int64_t real = clock_ns(CLOCK_REALTIME);
  return Duration(real - mono);
}

std::expected<void, std::string> check_private_network_namespace() {
  struct stat self{};
  struct stat init{};
  if (::stat("/proc/self/ns/net", &self) == 0 && ::stat("/proc/1/ns/net", &init) == 0 &&
      self.st_dev == init.st_dev && self.st_ino == init.st_ino) {
    return std::unexpected(std::string("this is the initial network namespace"));
  }
  struct if_nameindex* names = ::if_nameindex();
  if (names == nullptr) {
    return std::unexpected(fmt::format("cannot list interfaces: {}", std::generic_category().message(errno)));
  }
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::string foreign;
  for (const struct if_nameindex* n = names; n->if_index != 0 && n->if_name != nullptr; ++n) {
    ifreq request{};
    std::strncpy(request.ifr_name, n->if_name, IFNAMSIZ - 1);
    int type = -1;
    if (sock >= 0 && ::ioctl(sock, SIOCGIFHWADDR, &request) == 0) type = request.ifr_hwaddr.sa_family;
    if (type != ARPHRD_LOOPBACK && type != ARPHRD_NONE) {
      foreign = n->if_name;
      break;
    }
  }
  if (sock >= 0) ::close(sock);
  ::if_freenameindex(names);
  if (!foreign.empty()) {
    return std::unexpected(
        fmt::format("this network namespace has interface {} (not a private one)", foreign));
  }
  return {};
}

Duration wait_time(Instant now, Instant deadline, Duration max_wait) noexcept {
  if (deadline <= now) return Duration::zero();
  if (deadline == Instant::max()) return max_wait;
  const Duration left = deadline - now;
  return std::clamp(left, Duration::zero(), max_wait);
}

TunDriver::TunDriver(const TunDevice& device, stack::Stack& stack, TunDriverConfig config)
    : device_(&device), stack_(&stack), config_(config) {
  config_.batch = std::max<std::size_t>(config_.batch, 1);
  config_.buffer_size = std::max<std::size_t>(config_.buffer_size, 1500);
  config_.max_writes_per_step = std::max<std::size_t>(config_.max_writes_per_step, 1);
  ring_.resize(config_.batch * config_.buffer_size);
  sizes_.resize(config_.batch);
  transmit_.resize(config_.buffer_size);
  fds_[0] = pollfd{.fd = device.fd(), .events = POLLIN, .revents = 0};
  for (std::size_t i = 1; i < fds_.size(); ++i) fds_[i] = pollfd{.fd = -1, .events = 0, .revents = 0};
  realtime_offset_ = realtime_offset();
}

int TunDriver::watch(int fd, short events) noexcept {
  if (watched_ >= kMaxWatched || fd < 0) return -1;
  fds_[1 + watched_] = pollfd{.fd = fd, .events = events, .revents = 0};
  enabled_[watched_] = true;
  return static_cast<int>(watched_++);
}

void TunDriver::set_watch_enabled(int index, bool enabled) noexcept {
  if (index < 0 || static_cast<std::size_t>(index) >= watched_) return;
  const auto i = static_cast<std::size_t>(index);
  if (enabled_[i] == enabled) return;
  enabled_[i] = enabled;
  // poll() ignores negative fds; ~fd keeps the number recoverable.
  fds_[1 + i].fd = ~fds_[1 + i].fd;
}

void TunDriver::tap(Instant now, wire::Bytes datagram) noexcept {
  if (pcap_ == nullptr) return;
  if (!pcap_->write(now.since_origin() + realtime_offset_, datagram)) ++stats_.pcap_errors;
}

std::expected<std::size_t, std::string> TunDriver::flush(Instant now) {
  std::size_t written = 0;
  more_to_write_ = false;
  while (written < config_.max_writes_per_step) {
    const auto size = stack_->poll_transmit(now, transmit_);
    if (!size) return written;
    const wire::Bytes datagram = wire::Bytes(transmit_).first(*size);
    tap(now, datagram);
    const auto result = device_->write(datagram);
    if (!result) {
      // ENOBUFS and friends: the datagram is lost like on a congested link; TCP recovers.
      if (result.error() == std::errc::no_buffer_space || result.error() == std::errc::no_space_on_device) {
        ++stats_.write_drops;
        continue;
      }
      return std::unexpected(fmt::format("writing to {}: {}", device_->name(), result.error().message()));
    }
    if (*result == 0) {
      ++stats_.write_drops;
      continue;
    }
    ++stats_.datagrams_out;
    stats_.bytes_out += *size;
    ++written;
  }
  more_to_write_ = true;
  return written;
}

std::expected<std::size_t, std::string> TunDriver::read_batch() {
  // Read a batch into the ring first, then feed it: the stack sees the batch at one instant. A TUN read
  // is one datagram (no readv batching on a TUN fd), so the batch is many non-blocking reads.
  std::size_t count = 0;
  device_empty_ = false;
  while (count < config_.batch) {
    const wire::MutableBytes slot =
        wire::MutableBytes(ring_).subspan(count * config_.buffer_size, config_.buffer_size);
    const auto n = device_->read(slot);
    if (!n) return std::unexpected(fmt::format("reading from {}: {}", device_->name(), n.error().message()));
    if (*n == 0) {
      device_empty_ = true;
      break;
    }
    sizes_[count++] = *n;
  }
  if (count == config_.batch) ++stats_.full_batches;
  return count;
}

std::expected<TunDriver::Step, std::string> TunDriver::step(Instant wake_by) {
  ++stats_.steps;
  Step result;
  Instant now = monotonic_now();
  auto flushed = flush(now);
  if (!flushed) return std::unexpected(flushed.error());
  result.sent += *flushed;

  // When the device was not found empty since the last write (a full batch, or datagrams written after
  // the last read: the kernel answers a write within the write() call itself, e.g. a SYN-ACK's ACK),
  // read before sleeping: ppoll() only when the device has nothing. Every kMaxStepsWithoutPoll steps
  // ppoll() runs anyway (zero timeout) so that watched fds (signals, stdin) are seen under load.
  std::size_t count = 0;
  if (!device_empty_ && steps_without_poll_ < kMaxStepsWithoutPoll) {
    auto got = read_batch();
    if (!got) return std::unexpected(got.error());
    count = *got;
  }
  if (count > 0) {
    ++steps_without_poll_;
    now = monotonic_now();
  } else {
    steps_without_poll_ = 0;
    ++stats_.polls;
    const bool busy = more_to_write_ || !device_empty_;
    const Instant deadline = busy ? now : std::min(stack_->next_deadline(), wake_by);
    const Duration wait = wait_time(now, deadline, config_.max_wait);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait);
    const timespec timeout{.tv_sec = static_cast<time_t>(seconds.count()),
                           .tv_nsec = static_cast<long>((wait - seconds).count())};
    for (auto& fd : fds_) fd.revents = 0;
    const int ready = ::ppoll(fds_.data(), 1 + watched_, &timeout, nullptr);
    if (ready < 0 && errno != EINTR) {
      return std::unexpected(
          fmt::format("ppoll on {}: {}", device_->name(), std::generic_category().message(errno)));
    }
    now = monotonic_now();
    for (std::size_t i = 0; i < watched_; ++i) {
      if (enabled_[i] && fds_[1 + i].revents != 0) result.watched |= 1U << i;
    }
    if ((fds_[0].revents & (POLLERR | POLLNVAL)) != 0) {
      return std::unexpected(fmt::format("{}: the device reported an error", device_->name()));
    }
    if ((fds_[0].revents & POLLIN) != 0) {
      auto got = read_batch();
      if (!got) return std::unexpected(got.error());
      count = *got;
    }
  }
  result.now = now;
  for (std::size_t i = 0; i < count; ++i) {
    const wire::Bytes datagram = wire::Bytes(ring_).subspan(i * config_.buffer_size, sizes_[i]);
    tap(now, datagram);
    stack_->on_packet(now, datagram);
    ++stats_.datagrams_in;
    stats_.bytes_in += sizes_[i];
  }
  result.received = count;
  if (stack_->next_deadline() <= now) {
    ++stats_.timeouts;
    stack_->on_timeout(now);
  }
  flushed = flush(now);
  if (!flushed) return std::unexpected(flushed.error());
  result.sent += *flushed;
  // What we wrote may have drawn an answer already queued on the device.
  if (*flushed > 0) device_empty_ = false;
  return result;
}

}  // namespace synack::link
