// `synack forward`'s relay engine (forward_relay.hpp, docs/forward.md).
#include "forward_relay.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include "forward_icmp.hpp"
#include "synack/observe/handshake.hpp"
#include "synack/observe/json.hpp"

namespace synack::cli::forward {

namespace {

constexpr Duration kSweep = std::chrono::seconds(1);  ///< idle timeouts are checked this often
constexpr std::size_t kEventsPerWait = 256;

double ms(Duration d) {
  return static_cast<double>(std::chrono::round<std::chrono::microseconds>(d).count()) / 1000.0;
}

/// The sockaddr of `e` (IPv4 or IPv6) and its length.
std::pair<sockaddr_storage, socklen_t> to_sockaddr(const wire::Endpoint& e) {
  sockaddr_storage storage{};
  const wire::Bytes bytes = e.address.bytes();
  if (e.address.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(e.port);
    std::memcpy(&sin.sin_addr, bytes.data(), 4);
    std::memcpy(&storage, &sin, sizeof(sin));
    return {storage, static_cast<socklen_t>(sizeof(sin))};
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(e.port);
  std::memcpy(&sin6.sin6_addr, bytes.data(), 16);
  std::memcpy(&storage, &sin6, sizeof(sin6));
  return {storage, static_cast<socklen_t>(sizeof(sin6))};
}

/// The errno's symbolic name for the few a connect reports, else its text.
std::string error_name(int error) {
  switch (error) {
    case 0:
      return "";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EINVAL:
      return "EINVAL";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ECONNRESET:
      return "ECONNRESET";
    default:
      return std::strerror(error);
  }
}

/// Closes `fd`; with `rst`, SO_LINGER {1, 0} first so that the kernel resets the connection.
void close_socket(int fd, bool rst) {
  if (fd < 0) return;
  if (rst) {
    const linger l{.l_onoff = 1, .l_linger = 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  ::close(fd);
}

}  // namespace

Relay::Relay(stack::Stack& stack, int epoll_fd, RelayOptions options)
    : stack_(stack), epoll_fd_(epoll_fd), o_(std::move(options)), scratch_(o_.chunk) {}

Relay::~Relay() {
  for (Conn& c : conns_) {
    if (c.in_use) close_socket(c.fd, true);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Relay::Conn* Relay::find(std::uint64_t key) {
  const auto index = static_cast<std::uint32_t>(key & 0xFFFFFFFFU);
  if (index >= conns_.size()) return nullptr;
  Conn& c = conns_[index];
  return c.in_use && c.generation == static_cast<std::uint32_t>(key >> 32U) ? &c : nullptr;
}

std::uint32_t Relay::allocate() {
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  Conn& c = conns_[index];
  const std::uint32_t generation = c.generation + 1;
  c = Conn{};
  c.generation = generation;
  c.in_use = true;
  ++live_;
  counters_.peak = std::max(counters_.peak, live_);
  return index;
}

void Relay::release(Conn& c) {
  c.in_use = false;
  c.fd = -1;
  c.to_upstream = {};
  c.to_client = {};
  free_.push_back(static_cast<std::uint32_t>(&c - conns_.data()));
  --live_;
}

void Relay::on_event(Instant now, const stack::Event& e) {
  using stack::EventKind;
  if (e.kind == EventKind::syn_offer) {
    on_offer(now, e.offer);
    return;
  }
  if (e.kind == EventKind::established) {
    on_established(now, e);
    return;
  }
  Conn* c = find(e.user);
  if (c == nullptr) {
    // A connection we no longer relay (ended): give its id back so the Stack frees it.
    if (e.connection.valid() &&
        (e.kind == EventKind::reset || e.kind == EventKind::timed_out || e.kind == EventKind::aborted)) {
      (void)stack_.abort(now, e.connection);
    }
    return;
  }
  switch (e.kind) {
    case EventKind::readable:
    case EventKind::peer_closed:
      if (c->phase == Phase::relaying) pump_up(now, *c);
      break;
    case EventKind::writable:
      if (c->phase == Phase::relaying) pump_down(now, *c);
      break;
    case EventKind::reset:
    case EventKind::timed_out:
    case EventKind::aborted:
      // The client's side ended with an error: reset the upstream too (SO_LINGER 0), release the id.
      ++counters_.reset_by_client;
      end(now, *c, e.kind == EventKind::reset ? "reset_by_client" : stack::to_string(e.kind), true, true);
      break;
    case EventKind::closed:  // both FINs done before the relay saw both ends (not expected): release it
      ++counters_.closed;
      end(now, *c, "closed", false, false);
      break;
    case EventKind::offer_expired:
      ++counters_.expired;
      report_offer(now, *c, "expired", 0);
      end(now, *c, "", true, false);
      break;
    case EventKind::half_open_expired:
      ++counters_.half_open_expired;
      report_offer(now, *c, "half_open_expired", 0);
      end(now, *c, "", true, false);
      break;
    default:
      break;
  }
}

void Relay::on_offer(Instant now, stack::OfferId id) {
  const std::optional<stack::SynOffer> offer = stack_.offer(id);
  if (!offer) return;
  ++counters_.offers;
  if (live_ >= o_.max_connections) {
    ++counters_.over_limit;
    const bool refuse = o_.when_full == WhenFull::refuse;
    if (refuse) {
      ++counters_.refused;
    } else {
      ++counters_.dropped;
    }
    (void)stack_.decide(now, id, refuse ? stack::Verdict::refuse : stack::Verdict::drop);
    Conn shown;
    shown.tuple = offer->tuple;
    shown.syn_at = offer->received_at;
    report_offer(now, shown, refuse ? "refuse" : "drop", -1);
    return;
  }
  const std::uint32_t index = allocate();
  Conn& c = conns_[index];
  c.offer = id;
  c.tuple = offer->tuple;
  c.syn_at = offer->received_at;
  c.seq = offer->seq;
  (void)stack_.set_user_data(id, key_of(index, c));
  start_connect(now, index);
}

void Relay::start_connect(Instant now, std::uint32_t index) {
  Conn& c = conns_[index];
  const wire::Endpoint& destination = c.tuple.local;
  c.fd = ::socket(destination.address.is_v4() ? AF_INET : AF_INET6,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    finish_connect(now, c, errno);
    return;
  }
  const int one = 1;
  (void)::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!o_.device.empty() && ::setsockopt(c.fd, SOL_SOCKET, SO_BINDTODEVICE, o_.device.data(),
                                         static_cast<socklen_t>(o_.device.size())) != 0) {
    finish_connect(now, c, errno);
    return;
  }
  if (o_.mark && ::setsockopt(c.fd, SOL_SOCKET, SO_MARK, &*o_.mark, sizeof(*o_.mark)) != 0) {
    finish_connect(now, c, errno);
    return;
  }
  const auto [address, length] = to_sockaddr(destination);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), length) == 0) {
    finish_connect(now, c, 0);
    return;
  }
  if (errno != EINPROGRESS) {
    finish_connect(now, c, errno);
    return;
  }
  update_interest(c);  // EPOLLOUT: the connect's outcome
  connect_deadlines_.push_back({now + o_.connect_timeout, key_of(index, c)});
}

void Relay::finish_connect(Instant now, Conn& c, int error) {
  stack::Verdict verdict = stack::Verdict::drop;
  if (error == 0) {
    verdict = stack::Verdict::accept;
  } else if (error == ECONNREFUSED) {
    verdict = stack::Verdict::refuse;
  }
  c.connected_at = now;
  const std::error_code decided = stack_.decide(now, c.offer, verdict);
  if (decided) {
    // The offer expired meanwhile (or the forwarder's SYN queue is full): nobody waits for this upstream.
    ++counters_.expired;
    report_offer(now, c, "expired", error);
    end(now, c, "", true, false);
    return;
  }
  switch (verdict) {
    case stack::Verdict::accept:
      ++counters_.accepted;
      c.phase = Phase::accepted;  // the client's final ACK makes it `established`
      update_interest(c);
      return;
    case stack::Verdict::refuse:
      ++counters_.refused;
      report_offer(now, c, "refuse", error);
      break;
    case stack::Verdict::drop:
      ++counters_.dropped;
      report_offer(now, c, "drop", error);
      // A router's answer for a destination it cannot reach; a silent upstream stays silent (filtered).
      if (o_.send_datagram && error != ETIMEDOUT) {
        o_.send_datagram(icmp_unreachable(c.tuple, c.seq, error));
        ++counters_.icmp_sent;
      }
      break;
  }
  end(now, c, "", false, false);
}

void Relay::on_established(Instant now, const stack::Event& e) {
  Conn* c = find(e.user);
  if (c == nullptr || c->phase != Phase::accepted) {
    (void)stack_.abort(now, e.connection);
    return;
  }
  c->conn = e.connection;
  c->phase = Phase::relaying;
  c->last_active = now;
  if (next_sweep_ == Instant::max() && o_.idle_timeout > Duration::zero()) next_sweep_ = now + kSweep;
  pump_down(now, *c);
  if (Conn* again = find(e.user)) pump_up(now, *again);
}

void Relay::on_sockets(Instant now) {
  std::array<epoll_event, kEventsPerWait> events{};
  for (int round = 0; round < 16; ++round) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i)
      on_socket(now, events[static_cast<std::size_t>(i)].data.u64,
                events[static_cast<std::size_t>(i)].events);
    if (static_cast<std::size_t>(n) < events.size()) return;
  }
}

void Relay::on_socket(Instant now, std::uint64_t key, std::uint32_t events) {
  Conn* c = find(key);
  if (c == nullptr) return;
  if (c->phase == Phase::connecting) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error == 0 && (events & EPOLLOUT) == 0) return;  // not decided yet
    finish_connect(now, *c, error);
    return;
  }
  if (c->phase != Phase::relaying) return;
  if ((events & EPOLLOUT) != 0) pump_up(now, *c);
  if (Conn* again = find(key); again != nullptr && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    pump_down(now, *again);
  }
}

void Relay::pump_up(Instant now, Conn& c) {
  for (;;) {
    if (c.to_upstream_off < c.to_upstream.size()) {
      const std::size_t left = c.to_upstream.size() - c.to_upstream_off;
      const ssize_t n =
          ::send(c.fd, c.to_upstream.data() + c.to_upstream_off, left, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // EPOLLOUT brings us back
        ++counters_.reset_by_upstream;
        end(now, c, "reset_by_upstream", true, true);
        return;
      }
      c.to_upstream_off += static_cast<std::size_t>(n);
      c.last_active = now;
      if (c.to_upstream_off < c.to_upstream.size()) break;
      c.to_upstream.clear();
      c.to_upstream_off = 0;
    }
    if (c.client_eof) {
      if (!c.upstream_shut) {
        (void)::shutdown(c.fd, SHUT_WR);  // the client's FIN, passed on
        c.upstream_shut = true;
      }
      break;
    }
    const auto got = stack_.recv(c.conn, scratch_);
    if (!got) break;  // would_block: `readable` brings us back; an error arrives as its event
    if (*got == 0) {
      c.client_eof = true;
      continue;
    }
    c.bytes_up += *got;
    counters_.bytes_up += *got;
    c.last_active = now;
    c.to_upstream.assign(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(*got));
    c.to_upstream_off = 0;
  }
  update_interest(c);
  maybe_finish(now, c);
}

void Relay::pump_down(Instant now, Conn& c) {
  for (;;) {
    if (c.to_client_off < c.to_client.size()) {
      const auto sent = stack_.send(c.conn, wire::Bytes(c.to_client).subspan(c.to_client_off));
      if (!sent) break;  // the connection's end arrives as an event
      c.to_client_off += *sent;
      if (c.to_client_off < c.to_client.size()) break;  // `writable` brings us back
      c.to_client.clear();
      c.to_client_off = 0;
    }
    if (c.upstream_eof) {
      if (!c.client_shut) {
        (void)stack_.shutdown_write(now, c.conn);  // the upstream's FIN, passed on
        c.client_shut = true;
      }
      break;
    }
    const ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // ECONNRESET (or any error): the upstream reset; the client gets an RST too.
      ++counters_.reset_by_upstream;
      end(now, c, "reset_by_upstream", true, true);
      return;
    }
    if (n == 0) {
      c.upstream_eof = true;
      continue;
    }
    const auto got = static_cast<std::size_t>(n);
    c.bytes_down += got;
    counters_.bytes_down += got;
    c.last_active = now;
    c.to_client.assign(scratch_.begin(), scratch_.begin() + n);
    c.to_client_off = 0;
  }
  update_interest(c);
  maybe_finish(now, c);
}

void Relay::maybe_finish(Instant now, Conn& c) {
  if (!c.in_use || !(c.client_eof && c.upstream_shut && c.upstream_eof && c.client_shut)) return;
  if (c.to_upstream_off < c.to_upstream.size() || c.to_client_off < c.to_client.size()) return;
  ++counters_.closed;
  end(now, c, "closed", false, false);
}

void Relay::update_interest(Conn& c) {
  if (!c.in_use || c.fd < 0) return;
  std::uint32_t want = 0;
  if (c.phase == Phase::connecting) {
    want = EPOLLOUT;
  } else if (c.phase == Phase::relaying) {
    if (c.to_upstream_off < c.to_upstream.size()) want |= EPOLLOUT;
    // Back-pressure: the upstream is not read while the Stack has not taken the last chunk.
    if (!c.upstream_eof && c.to_client_off >= c.to_client.size()) want |= EPOLLIN;
  }
  if (want == c.interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = key_of(static_cast<std::uint32_t>(&c - conns_.data()), c);
  // Not interested: out of the set, so that a hang-up or error (always reported) cannot spin the loop.
  const int op = want == 0 ? EPOLL_CTL_DEL : c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  (void)::epoll_ctl(epoll_fd_, op, c.fd, &ev);
  c.interest = want;
}

void Relay::end(Instant now, Conn& c, std::string_view how, bool rst_upstream, bool rst_client) {
  if (!how.empty()) report_end(now, c, how);
  close_socket(c.fd, rst_upstream);
  if (c.conn.valid()) {
    if (rst_client) {
      (void)stack_.abort(now, c.conn);
    } else {
      (void)stack_.close(now, c.conn);
    }
  }
  release(c);
}

void Relay::on_timers(Instant now) {
  while (!connect_deadlines_.empty() && connect_deadlines_.front().at <= now) {
    const Deadline d = connect_deadlines_.front();
    connect_deadlines_.pop_front();
    if (Conn* c = find(d.key); c != nullptr && c->phase == Phase::connecting)
      finish_connect(now, *c, ETIMEDOUT);
  }
  if (now < next_sweep_) return;
  next_sweep_ = Instant::max();
  bool relaying = false;
  for (Conn& c : conns_) {
    if (!c.in_use || c.phase != Phase::relaying) continue;
    if (now - c.last_active >= o_.idle_timeout) {
      ++counters_.idle;
      end(now, c, "idle_timeout", true, true);
      continue;
    }
    relaying = true;
  }
  if (relaying) next_sweep_ = now + kSweep;
}

Instant Relay::wake_by() const {
  Instant at = next_sweep_;
  if (!connect_deadlines_.empty()) at = std::min(at, connect_deadlines_.front().at);
  return at;
}

void Relay::report_offer(Instant now, const Conn& c, std::string_view verdict, int error) {
  if (o_.quiet) return;
  // error -1: decided by --max-connections, no upstream was tried.
  const observe::Outcome outcome =
      verdict == "refuse" ? observe::Outcome::refused : observe::Outcome::timed_out;
  if (o_.json) {
    observe::Json j = observe::event("offer");
    j["client"] = c.tuple.remote.to_string();
    j["destination"] = c.tuple.local.to_string();
    j["verdict"] = verdict;
    j["outcome"] = observe::to_string(outcome);
    j["upstream_error"] = error > 0 ? nlohmann::json(error_name(error)) : nlohmann::json(nullptr);
    j["over_limit"] = error < 0;
    j["upstream_ms"] = ms(now - c.syn_at);
    fmt::print("{}\n", j.dump());
    return;
  }
  const std::string why =
      error < 0   ? "--max-connections reached"
      : error > 0 ? fmt::format("upstream {} after {:.3f} ms", error_name(error), ms(now - c.syn_at))
                  : fmt::format("after {:.3f} ms", ms(now - c.syn_at));
  fmt::print("{} → {}: {} ({})\n", c.tuple.remote.to_string(), c.tuple.local.to_string(), verdict, why);
}

void Relay::report_end(Instant now, const Conn& c, std::string_view how) {
  if (o_.quiet) return;
  const double connect_ms = ms(c.connected_at - c.syn_at);
  const double seconds = std::chrono::duration<double>(now - c.syn_at).count();
  if (o_.json) {
    observe::Json j = observe::event("connection");
    j["client"] = c.tuple.remote.to_string();
    j["destination"] = c.tuple.local.to_string();
    j["verdict"] = "accept";
    j["outcome"] = observe::to_string(observe::Outcome::established);
    j["upstream_connect_ms"] = connect_ms;
    j["bytes_up"] = c.bytes_up;
    j["bytes_down"] = c.bytes_down;
    j["duration_s"] = seconds;
    j["end"] = how;
    fmt::print("{}\n", j.dump());
    return;
  }
  fmt::print("{} → {}: accepted (upstream connected in {:.3f} ms), {} B up, {} B down, {:.3f} s, {}\n",
             c.tuple.remote.to_string(), c.tuple.local.to_string(), connect_ms, c.bytes_up, c.bytes_down,
             seconds, how);
}

}  // namespace synack::cli::forward
