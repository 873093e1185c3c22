// The Shim's core: construction, virtual time, the datagram queue, events, blocking and readiness.
// The socket calls are in sockets.cpp.
#include "shim.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <pcap/pcap.h>

#include "errno_map.hpp"
#include "synack/tcp/error.hpp"

namespace synack::packetdrill {
namespace {

// Virtual time starts at a plausible wall-clock second so that gettimeofday looks like one.
constexpr std::int64_t kOriginSeconds = 1'700'000'000;
// A blocked call wakes when the state changes; packetdrill's main thread waits this long (real time) for a
// woken call to look again before it moves time on, and for another thread to send when nothing else will
// (generous: a loaded machine may take long to schedule the woken thread; it is waited for only then).
constexpr auto kRealPatience = std::chrono::seconds(5);

std::array<std::byte, 16> key_from_seed(std::uint64_t seed) {
  std::array<std::byte, 16> key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<std::byte>((seed >> (8U * (i % 8U))) ^ (0x5AU + i));
  }
  return key;
}

stack::StackConfig stack_config(const ShimOptions& options) {
  stack::StackConfig config;
  config.addresses = options.addresses;
  return config;
}

}  // namespace

std::expected<ShimOptions, std::string> parse_flags(std::string_view flags) {
  ShimOptions options;
  std::size_t pos = 0;
  while (pos < flags.size()) {
    const std::size_t end = std::min(flags.find_first_of(" ,", pos), flags.size());
    const std::string_view word = flags.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    const std::size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : word.substr(eq + 1);
    if (key == "local") {
      auto address = wire::IpAddress::parse(value);
      if (!address) return std::unexpected("local=" + std::string(value) + ": not an IP address");
      options.addresses.push_back(*address);
    } else if (key == "pcap" && !value.empty()) {
      options.pcap_path = std::string(value);
    } else if (key == "seed" && !value.empty()) {
      char* rest = nullptr;
      const std::string text(value);
      options.seed = std::strtoull(text.c_str(), &rest, 10);
      if (rest == nullptr || *rest != '\0') return std::unexpected("seed=" + text + ": not a number");
    } else {
      return std::unexpected("unknown flag '" + std::string(word) + "' (local=ADDR, pcap=PATH, seed=N)");
    }
  }
  if (options.addresses.empty()) return std::unexpected("local=ADDR is required (the script's local_ip)");
  return options;
}

Shim::Shim(const ShimOptions& options)
    : main_thread_(std::this_thread::get_id()),
      addresses_(options.addresses),
      now_(Instant::from_duration(std::chrono::seconds(kOriginSeconds))),
      stack_(stack_config(options), key_from_seed(options.seed), options.seed) {
  if (!options.pcap_path.empty()) {
    pcap_ = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_MICRO);
    if (pcap_ != nullptr) dumper_ = pcap_dump_open(pcap_, options.pcap_path.c_str());
    if (dumper_ == nullptr) {
      std::fprintf(stderr, "synack-packetdrill: cannot write %s\n", options.pcap_path.c_str());
    }
  }
}

Shim::~Shim() {
  // The descriptors are not closed here: packetdrill closes leftovers with libc before it frees the Shim,
  // and closing a number again could close a descriptor someone else now holds.
  if (dumper_ != nullptr) pcap_dump_close(dumper_);
  if (pcap_ != nullptr) pcap_close(pcap_);
}

void Shim::record(std::span<const std::byte> datagram) {
  if (dumper_ == nullptr) return;
  pcap_pkthdr header{};
  const auto usecs = now_.nanoseconds() / 1000;
  header.ts.tv_sec = usecs / 1'000'000;
  header.ts.tv_usec = usecs % 1'000'000;
  header.caplen = static_cast<bpf_u_int32>(datagram.size());
  header.len = header.caplen;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, reinterpret_cast<const u_char*>(datagram.data()));
}

Shim::Socket* Shim::find(int fd) {
  auto it = sockets_.find(fd);
  return it == sockets_.end() ? nullptr : &it->second;
}

int Shim::new_fd(Socket socket) {
  // A real descriptor, so that packetdrill may close() it with libc.
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return -1;
  sockets_.insert_or_assign(fd, std::move(socket));  // a number libc closed behind our back is reused
  return fd;
}

void Shim::pump() {
  std::array<std::byte, 65536> buffer{};
  while (auto n = stack_.poll_transmit(now_, buffer)) {
    const auto datagram = std::span<const std::byte>(buffer).first(*n);
    outbound_.push_back({{datagram.begin(), datagram.end()}, now_});
    record(datagram);
  }
  while (auto event = stack_.poll_event()) on_event(*event);
  ++epoch_;
  changed_.notify_all();
}

void Shim::on_event(const stack::Event& event) {
  if (event.user == 0) return;  // a connection nobody accepted yet: accept() reads its state
  Socket* s = find(static_cast<int>(event.user - 1));
  if (s == nullptr || s->kind != Kind::connection || !(s->conn == event.connection)) return;
  switch (event.kind) {
    case stack::EventKind::established:
      s->established = true;
      break;
    case stack::EventKind::writable:
      s->send_full = false;
      break;
    case stack::EventKind::peer_closed:
      s->peer_fin = true;
      break;
    case stack::EventKind::closed:
      s->dead = true;
      break;
    case stack::EventKind::reset:
    case stack::EventKind::timed_out:
    case stack::EventKind::refused:
    case stack::EventKind::aborted:
      s->dead = true;
      s->so_error = to_errno(event.error);
      break;
    default:
      break;
  }
}

void Shim::catch_up(Lock& lock) {
  // Only the main thread waits: a blocked call that sends (a write finding room) must not wait for itself.
  if (waiters_.empty() || std::this_thread::get_id() != main_thread_) return;
  caught_up_.wait_for(lock, kRealPatience, [this] {
    return std::ranges::all_of(waiters_, [this](const std::uint64_t* seen) { return *seen == epoch_; });
  });
}

void Shim::advance_to(Lock& lock, Instant t) {
  // Fire every timer due by `t` at its own deadline, in order, so that what they send carries that time.
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const Instant deadline = stack_.next_deadline();
    if (deadline > t) break;
    now_ = std::max(now_, deadline);
    stack_.on_timeout(now_);
    pump();
    catch_up(lock);
  }
  now_ = std::max(now_, t);
  if (!waiters_.empty()) {  // a blocked poll() with a timeout looks at the clock
    ++epoch_;
    changed_.notify_all();
    catch_up(lock);
  }
}

bool Shim::wait_until(Lock& lock, const std::function<bool()>& ready, std::optional<Instant> deadline) {
  if (ready()) return true;
  if (std::this_thread::get_id() == main_thread_) {
    // Nobody else moves time: go from deadline to deadline. With no timer left nothing can happen, and a
    // kernel would block for ever; fail instead (the caller reports EAGAIN or a timeout).
    for (;;) {
      Instant next = stack_.next_deadline();
      if (deadline && *deadline < next) next = *deadline;
      if (next == Instant::max()) return false;
      advance_to(lock, next);
      if (ready()) return true;
      if (deadline && now_ >= *deadline) return false;
    }
  }
  std::uint64_t seen = epoch_;
  waiters_.push_back(&seen);
  bool ok = false;
  for (;;) {
    if (ready()) {
      ok = true;
      break;
    }
    if (deadline && now_ >= *deadline) break;
    seen = epoch_;  // after ready(), which may itself have changed the state (a write that queued a part)
    caught_up_.notify_all();
    changed_.wait(lock);  // really asleep: packetdrill reads this thread's state from /proc
  }
  std::erase(waiters_, &seen);
  caught_up_.notify_all();
  return ok;
}

std::uint64_t Shim::unread(const Socket& s) const {
  if (s.kind != Kind::connection) return 0;
  const auto info = stack_.info(s.conn);
  if (!info || info->bytes_received < s.bytes_read) return 0;
  return info->bytes_received - s.bytes_read;
}

short Shim::readiness(const Socket& s) const {
  constexpr short kIn = POLLIN | POLLRDNORM;
  constexpr short kOut = POLLOUT | POLLWRNORM;
  switch (s.kind) {
    case Kind::fresh:
      return POLLOUT | POLLHUP;  // as Linux reports an unconnected socket
    case Kind::listener: {
      const auto info = stack_.listener_info(s.listener);
      return info && info->accept_queue > 0 ? kIn : short{0};
    }
    case Kind::epoll:
      return 0;
    case Kind::connection:
      break;
  }
  short mask = 0;
  if (s.so_error != 0) mask |= POLLERR;
  if (s.dead) return static_cast<short>(mask | POLLHUP | kIn | POLLRDHUP | kOut);
  if (s.peer_fin || s.shut_rd) mask |= kIn | POLLRDHUP;
  if (s.peer_fin && s.shut_wr) mask |= POLLHUP;
  const auto info = stack_.info(s.conn);
  const bool synchronized =
      info && info->state != tcp::State::syn_sent && info->state != tcp::State::syn_received;
  if (synchronized) {
    if (unread(s) > 0) mask |= kIn;
    if (!s.shut_wr && !s.send_full) mask |= kOut;
  }
  return mask;
}

int Shim::poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
  Lock lock(mutex_);
  if (nfds > 0 && fds == nullptr) return fail(EFAULT);
  int ready = 0;
  const auto scan = [&] {
    ready = 0;
    for (nfds_t i = 0; i < nfds; ++i) {
      pollfd& p = fds[i];
      p.revents = 0;
      if (p.fd < 0) continue;
      const Socket* s = find(p.fd);
      p.revents =
          s == nullptr ? short{POLLNVAL} : static_cast<short>(readiness(*s) & (p.events | POLLERR | POLLHUP));
      if (p.revents != 0) ++ready;
    }
    return ready > 0;
  };
  advance_to(lock, now_);
  if (scan() || timeout_ms == 0) return ready;
  std::optional<Instant> deadline;
  if (timeout_ms > 0) deadline = now_ + std::chrono::milliseconds(timeout_ms);
  wait_until(lock, scan, deadline);
  return ready;
}

int Shim::epoll_create(int size) {
  Lock lock(mutex_);
  if (size <= 0) return fail(EINVAL);
  Socket s;
  s.kind = Kind::epoll;
  return new_fd(std::move(s));
}

int Shim::epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  Lock lock(mutex_);
  Socket* ep = find(epfd);
  if (ep == nullptr || find(fd) == nullptr) return fail(EBADF);
  if (ep->kind != Kind::epoll || epfd == fd) return fail(EINVAL);
  const bool known = ep->interest.contains(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (known) return fail(EEXIST);
      if (event == nullptr) return fail(EFAULT);
      ep->interest[fd] = *event;
      return 0;
    case EPOLL_CTL_MOD:
      if (!known) return fail(ENOENT);
      if (event == nullptr) return fail(EFAULT);
      ep->interest[fd] = *event;
      return 0;
    case EPOLL_CTL_DEL:
      if (!known) return fail(ENOENT);
      ep->interest.erase(fd);
      return 0;
    default:
      return fail(EINVAL);
  }
}

int Shim::epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) {
  Lock lock(mutex_);
  Socket* ep = find(epfd);
  if (ep == nullptr) return fail(EBADF);
  if (ep->kind != Kind::epoll || max_events <= 0) return fail(EINVAL);
  if (events == nullptr) return fail(EFAULT);
  int ready = 0;
  // Level-triggered (EPOLLET and EPOLLONESHOT are taken as level-triggered too).
  const auto scan = [&] {
    ready = 0;
    for (auto& [fd, interest] : find(epfd)->interest) {
      const Socket* s = find(fd);
      if (s == nullptr || ready >= max_events) continue;
      const auto mask = static_cast<std::uint32_t>(readiness(*s)) & (interest.events | EPOLLERR | EPOLLHUP);
      if (mask == 0) continue;
      events[ready] = interest;
      events[ready].events = mask;
      ++ready;
    }
    return ready > 0;
  };
  advance_to(lock, now_);
  if (scan() || timeout_ms == 0) return ready;
  std::optional<Instant> deadline;
  if (timeout_ms > 0) deadline = now_ + std::chrono::milliseconds(timeout_ms);
  wait_until(lock, [&] { return find(epfd) != nullptr && scan(); }, deadline);
  return ready;
}

int Shim::netdev_send(const void* buf, std::size_t count) {
  Lock lock(mutex_);
  if (buf == nullptr && count > 0) return fail(EFAULT);
  advance_to(lock, now_);
  const auto datagram = std::span(static_cast<const std::byte*>(buf), count);
  record(datagram);
  stack_.on_packet(now_, datagram);
  pump();
  return 0;
}

int Shim::netdev_receive(void* buf, std::size_t* count, long long* time_usecs) {
  Lock lock(mutex_);
  if (buf == nullptr || count == nullptr || time_usecs == nullptr) return fail(EFAULT);
  for (;;) {
    catch_up(lock);
    if (!outbound_.empty()) {
      const Outbound& out = outbound_.front();
      const std::size_t n = std::min(out.bytes.size(), *count);
      std::memcpy(buf, out.bytes.data(), n);
      *count = n;
      *time_usecs = out.at.nanoseconds() / 1000;
      outbound_.pop_front();
      return 0;
    }
    if (stack_.next_deadline() != Instant::max()) {
      advance_to(lock, stack_.next_deadline());  // idle: jump to the next timer
      continue;
    }
    // No datagram queued and no timer: only a call blocked on the other thread could still send.
    if (!waiters_.empty()) {
      changed_.wait_for(lock, kRealPatience, [this] { return !outbound_.empty(); });
      if (!outbound_.empty() || stack_.next_deadline() != Instant::max()) continue;
    }
    std::fprintf(stderr,
                 "synack-packetdrill: no datagram will leave the stack (none queued, no timer running)\n");
    *count = 0;  // packetdrill then reports the expected packet's line with an empty packet
    *time_usecs = now_.nanoseconds() / 1000;
    return 0;
  }
}

int Shim::usleep(std::uint64_t usecs) {
  Lock lock(mutex_);
  catch_up(lock);
  advance_to(lock, now_ + std::chrono::microseconds(usecs));
  return 0;
}

int Shim::gettimeofday(timeval* tv) {
  Lock lock(mutex_);
  // Each clock read costs a microsecond, so that a caller spinning on the clock sees it move.
  advance_to(lock, now_ + std::chrono::microseconds(1));
  if (tv != nullptr) {
    const auto usecs = now_.nanoseconds() / 1000;
    tv->tv_sec = usecs / 1'000'000;
    tv->tv_usec = usecs % 1'000'000;
  }
  return 0;
}

}  // namespace synack::packetdrill
