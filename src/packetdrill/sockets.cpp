// The Shim's socket calls: what Linux returns for each, errnos included (tcp(7), socket(7), the man pages
// of each call), over a synack Stack.
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "errno_map.hpp"
#include "shim.hpp"
#include "synack/tcp/error.hpp"

namespace synack::packetdrill {
namespace {

// A sockaddr as an Endpoint; a v4-mapped IPv6 address becomes the IPv4 address. The error is an errno.
std::expected<wire::Endpoint, int> to_endpoint(const sockaddr* addr, socklen_t len, int domain) {
  if (addr == nullptr) return std::unexpected(EFAULT);
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return std::unexpected(EINVAL);
  if (addr->sa_family != domain) return std::unexpected(domain == AF_INET ? EAFNOSUPPORT : EINVAL);
  if (domain == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return std::unexpected(EINVAL);
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    return wire::Endpoint{wire::IpAddress::v4(ntohl(in.sin_addr.s_addr)), ntohs(in.sin_port)};
  }
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return std::unexpected(EINVAL);
  sockaddr_in6 in6{};
  std::memcpy(&in6, addr, sizeof in6);
  const auto* b = reinterpret_cast<const std::byte*>(&in6.sin6_addr);
  if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
    return wire::Endpoint{wire::IpAddress::from_bytes(std::span(b + 12, 4)), ntohs(in6.sin6_port)};
  }
  return wire::Endpoint{wire::IpAddress::from_bytes(std::span(b, 16)), ntohs(in6.sin6_port)};
}

// Writes `e` as the socket's family would (an IPv4 peer of an AF_INET6 socket is v4-mapped); POSIX
// truncation: at most *len bytes, *len set to the full size.
void from_endpoint(const wire::Endpoint& e, int domain, sockaddr* addr, socklen_t* len) {
  if (addr == nullptr || len == nullptr) return;
  sockaddr_storage storage{};
  socklen_t full = 0;
  if (domain == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(e.port);
    std::memcpy(&in->sin_addr, e.address.bytes().data(), 4);
    full = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(e.port);
    auto* b = reinterpret_cast<std::byte*>(&in6->sin6_addr);
    if (e.address.is_v4()) {
      b[10] = std::byte{0xFF};
      b[11] = std::byte{0xFF};
      std::memcpy(b + 12, e.address.bytes().data(), 4);
    } else {
      std::memcpy(b, e.address.bytes().data(), 16);
    }
    full = sizeof(sockaddr_in6);
  }
  std::memcpy(addr, &storage, std::min(*len, full));
  *len = full;
}

wire::IpAddress unspecified(int domain) {
  return domain == AF_INET ? wire::IpAddress{} : wire::IpAddress::v6({});
}

int int_value(const void* value, socklen_t len) {
  int v = 0;
  std::memcpy(&v, value, std::min<std::size_t>(len, sizeof v));
  return v;
}

int put_int(void* value, socklen_t* len, int v) {
  if (value == nullptr || len == nullptr) return fail(EFAULT);
  const auto n = std::min<socklen_t>(*len, sizeof v);
  std::memcpy(value, &v, n);
  *len = n;
  return 0;
}

}  // namespace

int Shim::socket(int domain, int type, int protocol) {
  Lock lock(mutex_);
  if (domain != AF_INET && domain != AF_INET6) return fail(EAFNOSUPPORT);
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base != SOCK_STREAM) return fail(ESOCKTNOSUPPORT);
  if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
  Socket s;
  s.domain = domain;
  s.nonblocking = (type & SOCK_NONBLOCK) != 0;
  return new_fd(std::move(s));
}

int Shim::bind(int fd, const sockaddr* addr, socklen_t len) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  auto local = to_endpoint(addr, len, s->domain);
  if (!local) return fail(local.error());
  if (s->kind != Kind::fresh || s->bound) return fail(EINVAL);
  if (local->address != unspecified(s->domain) && local->address != wire::IpAddress{}) {
    if (std::ranges::find(addresses_, local->address) == addresses_.end()) return fail(EADDRNOTAVAIL);
  }
  for (const auto& [other_fd, other] : sockets_) {
    if (other_fd == fd || !other.bound || other.bound->port != local->port || local->port == 0) continue;
    if (other.kind == Kind::listener || !(s->reuseaddr && other.reuseaddr)) return fail(EADDRINUSE);
  }
  s->bound = *local;
  return 0;
}

int Shim::listen(int fd, int backlog) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (s->kind == Kind::listener) return 0;  // Linux: a second listen() only changes the backlog
  if (s->kind != Kind::fresh) return fail(EINVAL);
  const wire::Endpoint local = s->bound.value_or(wire::Endpoint{unspecified(s->domain), 0});
  // Linux's accept queue holds backlog + 1 connections (full when more than backlog wait).
  const auto queue = static_cast<std::uint32_t>(std::clamp(backlog, 0, 4095)) + 1U;
  auto id = stack_.listen(local, queue);
  if (!id) return fail(to_errno(id.error()));
  s->kind = Kind::listener;
  s->listener = *id;
  s->bound = local;
  pump();
  return 0;
}

int Shim::accept(int fd, sockaddr* addr, socklen_t* len) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (s->kind != Kind::listener) return fail(EINVAL);
  std::optional<stack::ConnectionId> accepted;
  int error = 0;
  const auto attempt = [&] {
    Socket* l = find(fd);
    if (l == nullptr || l->kind != Kind::listener) {
      error = EBADF;
      return true;
    }
    auto id = stack_.accept(l->listener);
    if (id) accepted = *id;
    if (!id && id.error() != tcp::Error::would_block) error = to_errno(id.error());
    return id.has_value() || error != 0;
  };
  if (!attempt()) {
    if (s->nonblocking) return fail(EAGAIN);
    if (!wait_until(lock, attempt, std::nullopt)) return fail(EAGAIN);
  }
  if (!accepted) return fail(error);
  const int domain = find(fd)->domain;
  Socket c;
  c.kind = Kind::connection;
  c.domain = domain;
  c.conn = *accepted;
  c.established = true;
  c.connect_reported = true;
  const auto info = stack_.info(*accepted);
  if (info) {
    c.bound = info->tuple.local;
    c.peer_fin = info->state == tcp::State::close_wait || info->state == tcp::State::last_ack ||
                 info->state == tcp::State::closing || info->state == tcp::State::time_wait;
    if (info->error) {
      c.dead = true;
      c.so_error = to_errno(info->error);
    }
  }
  const int cfd = new_fd(std::move(c));
  if (cfd < 0) {
    (void)stack_.abort(now_, *accepted);
    pump();
    return -1;
  }
  (void)stack_.set_user_data(*accepted, static_cast<std::uint64_t>(cfd) + 1);
  if (info) from_endpoint(info->tuple.remote, domain, addr, len);
  return cfd;
}

int Shim::connect(int fd, const sockaddr* addr, socklen_t len) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (s->kind == Kind::listener) return fail(EISCONN);
  if (s->kind == Kind::connection) {
    if (s->so_error != 0) return fail(std::exchange(s->so_error, 0));
    if (s->connect_reported) return fail(s->dead ? ECONNABORTED : EISCONN);
    if (!s->established) {
      if (s->dead) return fail(ECONNABORTED);
      if (s->nonblocking) return fail(EALREADY);
      return finish_connect(lock, fd);
    }
    s->connect_reported = true;  // Linux: the first connect() after a non-blocking one completed says 0
    return 0;
  }
  auto remote = to_endpoint(addr, len, s->domain);
  if (!remote) return fail(remote.error());
  const wire::Endpoint local = s->bound.value_or(wire::Endpoint{unspecified(s->domain), 0});
  stack::ConnectOptions options;
  if (s->maxseg) options.offer.mss = s->maxseg;
  advance_to(lock, now_);
  auto id = stack_.connect(now_, local, *remote, options);
  if (!id) return fail(to_errno(id.error()));
  s->kind = Kind::connection;
  s->conn = *id;
  (void)stack_.set_user_data(*id, static_cast<std::uint64_t>(fd) + 1);
  if (auto info = stack_.info(*id)) s->bound = info->tuple.local;
  pump();
  if (s->nonblocking) return fail(EINPROGRESS);
  return finish_connect(lock, fd);
}

int Shim::finish_connect(Lock& lock, int fd) {
  const bool done = wait_until(
      lock,
      [&] {
        const Socket* s = find(fd);
        return s == nullptr || s->established || s->dead;
      },
      std::nullopt);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (!done) return fail(EAGAIN);
  s->connect_reported = true;
  if (s->so_error != 0) return fail(std::exchange(s->so_error, 0));
  return s->dead ? fail(ECONNABORTED) : 0;
}

ssize_t Shim::recv(int fd, void* buf, std::size_t len, int flags) {
  Lock lock(mutex_);
  if (buf == nullptr && len > 0) return fail(EFAULT);
  return recv_locked(lock, fd, std::span(static_cast<std::byte*>(buf), len), flags);
}

ssize_t Shim::readv(int fd, const iovec* iov, int iovcnt, int flags) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  if (iov == nullptr && iovcnt > 0) return fail(EFAULT);
  std::size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  std::vector<std::byte> buffer(total);
  const ssize_t n = recv(fd, buffer.data(), total, flags);
  if (n <= 0) return n;
  std::size_t off = 0;
  for (int i = 0; i < iovcnt && off < static_cast<std::size_t>(n); ++i) {
    const std::size_t k = std::min(iov[i].iov_len, static_cast<std::size_t>(n) - off);
    std::memcpy(iov[i].iov_base, buffer.data() + off, k);
    off += k;
  }
  return n;
}

ssize_t Shim::recv_locked(Lock& lock, int fd, std::span<std::byte> out, int flags) {
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(EINVAL);
  if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_WAITALL)) != 0) return fail(EOPNOTSUPP);
  if (s->kind != Kind::connection) return fail(ENOTCONN);
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  ssize_t result = 0;
  int error = 0;
  const auto attempt = [&] {
    Socket* c = find(fd);
    if (c == nullptr) {
      error = EBADF;
      return true;
    }
    if (c->shut_rd) return true;  // end of stream
    auto n = stack_.recv(c->conn, out);
    if (n) {
      c->bytes_read += *n;
      result = static_cast<ssize_t>(*n);
      pump();  // a window update may be due
      return true;
    }
    if (n.error() == tcp::Error::would_block) return false;
    if (c->so_error != 0) {
      error = std::exchange(c->so_error, 0);
    } else if (!c->dead && !c->established) {
      return false;  // still connecting: data may come
    } else if (!c->dead) {
      error = to_errno(n.error());
    }
    return true;  // dead without a pending error: end of stream
  };
  if (!attempt()) {
    if (nonblocking) return fail(EAGAIN);
    if (!wait_until(lock, attempt, std::nullopt)) return fail(EAGAIN);
  }
  return error != 0 ? fail(error) : result;
}

ssize_t Shim::send(int fd, const void* buf, std::size_t len, int flags) {
  Lock lock(mutex_);
  if (buf == nullptr && len > 0) return fail(EFAULT);
  return send_locked(lock, fd, std::span(static_cast<const std::byte*>(buf), len), flags);
}

ssize_t Shim::writev(int fd, const iovec* iov, int iovcnt, int flags) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  if (iov == nullptr && iovcnt > 0) return fail(EFAULT);
  std::vector<std::byte> buffer;
  for (int i = 0; i < iovcnt; ++i) {
    const auto* b = static_cast<const std::byte*>(iov[i].iov_base);
    buffer.insert(buffer.end(), b, b + iov[i].iov_len);
  }
  return send(fd, buffer.data(), buffer.size(), flags);
}

ssize_t Shim::send_locked(Lock& lock, int fd, std::span<const std::byte> data, int flags) {
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(EINVAL);
  if ((flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)) != 0) return fail(EOPNOTSUPP);
  if (s->kind != Kind::connection) return fail(EPIPE);  // Linux: not connected and not connecting
  const bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT) != 0;
  std::size_t taken = 0;
  int error = 0;
  // Done when everything is queued, on an error, or (non-blocking) when the buffer is full. A blocking
  // write waits until all of it is queued, as Linux does; an error after a part reports the part.
  const auto attempt = [&] {
    Socket* c = find(fd);
    if (c == nullptr) {
      error = EBADF;
      return true;
    }
    if (c->so_error != 0 || c->shut_wr || c->dead) {
      if (taken == 0) error = c->so_error != 0 ? std::exchange(c->so_error, 0) : EPIPE;
      return true;
    }
    if (!c->established) return false;  // Linux waits for the handshake (EAGAIN when non-blocking)
    auto n = stack_.send(c->conn, data.subspan(taken));
    if (!n) {
      if (taken == 0) error = to_errno(n.error());
      return true;
    }
    if (*n > 0) {
      taken += *n;
      advance_to(lock, now_);
      pump();
    }
    if (taken == data.size()) return true;
    c->send_full = true;
    return nonblocking && taken > 0;
  };
  if (!attempt()) {
    if (nonblocking) return fail(EAGAIN);
    if (!wait_until(lock, attempt, std::nullopt) && taken == 0) return fail(EAGAIN);
  }
  return error != 0 ? fail(error) : static_cast<ssize_t>(taken);
}

int Shim::fcntl(int fd, int cmd, long arg) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | (s->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL:
      s->nonblocking = (arg & O_NONBLOCK) != 0;
      return 0;
    case F_GETFD:
      return FD_CLOEXEC;
    case F_SETFD:
      return 0;
    default:
      return fail(EINVAL);
  }
}

int Shim::ioctl(int fd, unsigned long request, void* arg) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (arg == nullptr) return fail(EFAULT);
  if (request == FIONBIO) {
    int on = 0;
    std::memcpy(&on, arg, sizeof on);
    s->nonblocking = on != 0;
    return 0;
  }
  if (request == SIOCINQ) {
    if (s->kind == Kind::listener) return fail(EINVAL);
    const int n = static_cast<int>(std::min<std::uint64_t>(unread(*s), 0x7FFFFFFF));
    std::memcpy(arg, &n, sizeof n);
    return 0;
  }
  return fail(ENOTTY);
}

int Shim::close(int fd) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  advance_to(lock, now_);
  if (s->kind == Kind::listener) (void)stack_.close_listener(now_, s->listener);
  if (s->kind == Kind::connection) {
    const bool hard = s->linger && s->linger->l_onoff != 0 && s->linger->l_linger == 0;
    (void)stack_.set_user_data(s->conn, 0);
    if (hard) {
      (void)stack_.abort(now_, s->conn);
    } else {
      (void)stack_.close(now_, s->conn);
    }
  }
  for (auto& [other_fd, other] : sockets_) other.interest.erase(fd);
  sockets_.erase(fd);
  ::close(fd);
  pump();
  return 0;
}

int Shim::shutdown(int fd, int how) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(EINVAL);
  if (s->kind == Kind::fresh) return fail(ENOTCONN);
  if (s->kind == Kind::listener) {
    if (how == SHUT_WR) return 0;
    (void)stack_.close_listener(now_, s->listener);  // Linux stops listening; the socket stays
    s->kind = Kind::fresh;
    s->listener = {};
    pump();
    return 0;
  }
  if (s->dead && !s->established) return fail(ENOTCONN);
  if (how != SHUT_WR) s->shut_rd = true;
  if (how != SHUT_RD && !s->shut_wr) {
    advance_to(lock, now_);
    const auto ec = stack_.shutdown_write(now_, s->conn);
    if (ec && ec != tcp::Error::not_connected) return fail(to_errno(ec));
    s->shut_wr = true;
    pump();
  }
  return 0;
}

int Shim::getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (value == nullptr || len == nullptr) return fail(EFAULT);
  const auto& config = stack_.tcp_config();
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR:
        return put_int(value, len, std::exchange(s->so_error, 0));
      case SO_TYPE:
        return put_int(value, len, SOCK_STREAM);
      case SO_REUSEADDR:
        return put_int(value, len, s->reuseaddr ? 1 : 0);
      case SO_RCVBUF:
        return put_int(value, len, s->rcvbuf != 0 ? s->rcvbuf : static_cast<int>(config.recv_buffer));
      case SO_SNDBUF:
        return put_int(value, len, s->sndbuf != 0 ? s->sndbuf : static_cast<int>(config.send_buffer));
      case SO_LINGER: {
        const ::linger l = s->linger.value_or(::linger{});
        const auto n = std::min<socklen_t>(*len, sizeof l);
        std::memcpy(value, &l, n);
        *len = n;
        return 0;
      }
      default:
        return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        return put_int(value, len, s->nodelay ? 1 : 0);
      case TCP_MAXSEG: {
        if (s->kind == Kind::connection) {
          if (auto info = stack_.info(s->conn); info && s->established)
            return put_int(value, len, info->smss);
        }
        return put_int(value, len, s->maxseg.value_or(536));  // Linux: TCP_MSS_DEFAULT before a connection
      }
      default:
        return fail(ENOPROTOOPT);
    }
  }
  return fail(ENOPROTOOPT);
}

int Shim::setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  Lock lock(mutex_);
  Socket* s = find(fd);
  if (s == nullptr) return fail(EBADF);
  if (s->kind == Kind::epoll) return fail(ENOTSOCK);
  if (value == nullptr) return fail(EFAULT);
  if (level == SOL_SOCKET && name == SO_LINGER) {
    if (len < static_cast<socklen_t>(sizeof(::linger))) return fail(EINVAL);
    ::linger l{};
    std::memcpy(&l, value, sizeof l);
    s->linger = l;
    return 0;
  }
  if (len < static_cast<socklen_t>(sizeof(int))) return fail(EINVAL);
  const int v = int_value(value, len);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        s->reuseaddr = v != 0;
        return 0;
      case SO_REUSEPORT:
      case SO_KEEPALIVE:
        return 0;
      case SO_RCVBUF:
        s->rcvbuf = std::max(v, 0) * 2;
        return 0;  // Linux doubles it
      case SO_SNDBUF:
        s->sndbuf = std::max(v, 0) * 2;
        return 0;
      default:
        return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        s->nodelay = v != 0;
        return 0;  // synack never delays (no Nagle)
      case TCP_MAXSEG:
        if (v < 88 || v > 32767) return fail(EINVAL);  // Linux's TCP_MIN_MSS and MAX_TCP_WINDOW
        s->maxseg = static_cast<std::uint16_t>(v);
        return 0;
      default:
        return fail(ENOPROTOOPT);  // TCP_FASTOPEN and the rest: synack has no such feature
    }
  }
  return fail(ENOPROTOOPT);
}

}  // namespace synack::packetdrill
