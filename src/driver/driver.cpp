// The driver's event loop (include/synack/driver/driver.hpp).
#include "synack/driver/driver.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include <fmt/format.h>

namespace synack::driver {

Duration wait_time(Instant now, Instant deadline, Duration max_wait) noexcept {
  if (deadline <= now) return Duration::zero();
  if (deadline == Instant::max()) return max_wait;
  const Duration left = deadline - now;
  return std::clamp(left, Duration::zero(), max_wait);
}

Driver::Driver(link::Device& device, stack::Stack& stack, DriverConfig config)
    : device_(&device), stack_(&stack), config_(config) {
  config_.batch = std::max<std::size_t>(config_.batch, 1);
  config_.buffer_size = std::max<std::size_t>(config_.buffer_size, 1500);
  config_.max_writes_per_step = std::max<std::size_t>(config_.max_writes_per_step, 1);
  ring_.resize(config_.batch * config_.buffer_size);
  sizes_.resize(config_.batch);
  transmit_.resize(config_.buffer_size);
  fds_[0] = pollfd{.fd = device.fd(), .events = POLLIN, .revents = 0};
  for (std::size_t i = 1; i < fds_.size(); ++i) fds_[i] = pollfd{.fd = -1, .events = 0, .revents = 0};
}

int Driver::watch(int fd, short events) noexcept {
  if (watched_ >= kMaxWatched || fd < 0) return -1;
  fds_[1 + watched_] = pollfd{.fd = fd, .events = events, .revents = 0};
  enabled_[watched_] = true;
  return static_cast<int>(watched_++);
}

void Driver::set_watch_enabled(int index, bool enabled) noexcept {
  if (index < 0 || static_cast<std::size_t>(index) >= watched_) return;
  const auto i = static_cast<std::size_t>(index);
  if (enabled_[i] == enabled) return;
  enabled_[i] = enabled;
  // poll() ignores negative fds; ~fd keeps the number recoverable.
  fds_[1 + i].fd = ~fds_[1 + i].fd;
}

std::expected<std::size_t, std::string> Driver::flush(Instant now) {
  std::size_t written = 0;
  more_to_write_ = false;
  while (written < config_.max_writes_per_step) {
    const auto size = stack_->poll_transmit(now, transmit_);
    if (!size) return written;
    const wire::Bytes datagram = wire::Bytes(transmit_).first(*size);
    const auto result = device_->transmit(now, datagram);
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

std::expected<std::size_t, std::string> Driver::read_batch(Instant now) {
  // Read a batch into the ring first, then feed it: the stack sees the batch at one instant. A TUN read
  // is one datagram (no readv batching on a TUN fd), so the batch is many non-blocking reads.
  std::size_t count = 0;
  device_empty_ = false;
  while (count < config_.batch) {
    const wire::MutableBytes slot =
        wire::MutableBytes(ring_).subspan(count * config_.buffer_size, config_.buffer_size);
    const auto n = device_->receive(now, slot);
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

std::expected<std::size_t, std::string> Driver::feed(Instant now, std::size_t count) {
  std::size_t sent = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const wire::Bytes datagram = wire::Bytes(ring_).subspan(i * config_.buffer_size, sizes_[i]);
    stack_->on_packet(now, datagram);
    ++stats_.datagrams_in;
    stats_.bytes_in += sizes_[i];
    // What this datagram made due (its ACK above all) leaves before the next is fed: fed all at once, a
    // burst of data segments would be answered by one stretch ACK, and a burst of out-of-order ones by one
    // duplicate ACK instead of one each (RFC 5681 §4.2), which a sender without SACK needs to count.
    if (i + 1 < count && stack_->transmit_due()) {
      auto flushed = flush(now);
      if (!flushed) return std::unexpected(flushed.error());
      sent += *flushed;
      if (*flushed > 0) device_empty_ = false;  // (as in step(): a write may draw an answer)
    }
  }
  return sent;
}

std::expected<Driver::Step, std::string> Driver::step(Instant wake_by) {
  ++stats_.steps;
  Step result;
  Instant now = link::monotonic_now();
  auto due = device_->advance(now);
  if (!due) return std::unexpected(fmt::format("{}: {}", device_->name(), due.error().message()));
  if (*due) device_empty_ = false;
  auto flushed = flush(now);
  if (!flushed) return std::unexpected(flushed.error());
  result.sent += *flushed;

  // When the device was not found empty since the last write (a full batch, or datagrams written after
  // the last read: the kernel answers a write within the write() call itself, e.g. a SYN-ACK's ACK),
  // read before sleeping: ppoll() only when the device has nothing. Every kMaxStepsWithoutPoll steps
  // ppoll() runs anyway (zero timeout) so that watched fds (signals, stdin) are seen under load.
  std::size_t count = 0;
  if (!device_empty_ && steps_without_poll_ < kMaxStepsWithoutPoll) {
    auto got = read_batch(now);
    if (!got) return std::unexpected(got.error());
    count = *got;
  }
  if (count > 0) {
    ++steps_without_poll_;
    now = link::monotonic_now();
  } else {
    steps_without_poll_ = 0;
    ++stats_.polls;
    const bool busy = more_to_write_ || !device_empty_;
    const Instant deadline =
        busy ? now : std::min({stack_->next_deadline(), wake_by, device_->next_deadline()});
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
    now = link::monotonic_now();
    for (std::size_t i = 0; i < watched_; ++i) {
      if (enabled_[i] && fds_[1 + i].revents != 0) result.watched |= 1U << i;
    }
    if ((fds_[0].revents & (POLLERR | POLLNVAL)) != 0) {
      return std::unexpected(fmt::format("{}: the device reported an error", device_->name()));
    }
    due = device_->advance(now);
    if (!due) return std::unexpected(fmt::format("{}: {}", device_->name(), due.error().message()));
    if ((fds_[0].revents & POLLIN) != 0 || *due) {
      auto got = read_batch(now);
      if (!got) return std::unexpected(got.error());
      count = *got;
    }
  }
  result.now = now;
  auto fed = feed(now, count);
  if (!fed) return std::unexpected(fed.error());
  result.sent += *fed;
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

}  // namespace synack::driver
