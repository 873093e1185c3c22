// `synack demo`'s kernel side (demo_kernel.hpp).
#include "demo_kernel.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace synack::cli::demo {
namespace {

std::string endpoint_of(const sockaddr_storage& sa) {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &sa, sizeof(in));
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof(host));
    return fmt::format("{}:{}", host, ntohs(in.sin_port));
  }
  sockaddr_in6 in6{};
  std::memcpy(&in6, &sa, sizeof(in6));
  ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
  return fmt::format("[{}]:{}", host, ntohs(in6.sin6_port));
}

std::string local_endpoint(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  return endpoint_of(sa);
}

/// The kernel's view of a connection as `ss -tni` prints it (from TCP_INFO).
std::string kernel_tcp_info(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return "TCP_INFO unavailable";
  std::string s;
  if ((info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0) s += "ts ";
  if ((info.tcpi_options & TCPI_OPT_SACK) != 0) s += "sack ";
  if ((info.tcpi_options & TCPI_OPT_WSCALE) != 0) {
    s += fmt::format("wscale:{},{} ", static_cast<unsigned>(info.tcpi_snd_wscale),
                     static_cast<unsigned>(info.tcpi_rcv_wscale));
  }
  s += fmt::format("mss:{} advmss:{}", info.tcpi_snd_mss, info.tcpi_advmss);
  return s;
}

void set_timeouts(int fd, int seconds) {
  const timeval tv{.tv_sec = seconds, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

sockaddr_storage to_sockaddr(const wire::Endpoint& e, socklen_t& len) {
  sockaddr_storage sa{};
  if (e.address.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(e.port);
    std::memcpy(&in.sin_addr, e.address.bytes().data(), 4);
    std::memcpy(&sa, &in, sizeof(in));
    len = sizeof(in);
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(e.port);
    std::memcpy(&in6.sin6_addr, e.address.bytes().data(), 16);
    std::memcpy(&sa, &in6, sizeof(in6));
    len = sizeof(in6);
  }
  return sa;
}

std::string read_until_eof(int fd, std::size_t limit) {
  std::string got;
  char buf[4096];
  while (got.size() < limit) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

}  // namespace

std::expected<void, std::string> KernelSide::start_server(std::vector<wire::IpAddress> addresses) {
  for (const wire::IpAddress& a : addresses) {
    const int fd = ::socket(a.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(fmt::format("socket: {}", std::strerror(errno)));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = 0;
    const sockaddr_storage sa = to_sockaddr(wire::Endpoint{a, kKernelPort}, len);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0 || ::listen(fd, 8) != 0) {
      const std::string error = std::strerror(errno);
      ::close(fd);
      return std::unexpected(fmt::format("kernel server on {}: {}", a.to_string(), error));
    }
    listeners_.push_back(fd);
  }
  server_ = std::thread([this] { serve(); });
  return {};
}

void KernelSide::serve() {
  std::vector<pollfd> fds;
  fds.reserve(listeners_.size());
  for (int fd : listeners_) fds.push_back(pollfd{.fd = fd, .events = POLLIN, .revents = 0});
  while (!stopping_) {
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    for (const auto& p : fds) {
      if ((p.revents & POLLIN) == 0) continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof(peer);
      const int c = ::accept4(p.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (c < 0) continue;
      set_timeouts(c, 3);
      record(endpoint_of(peer), KernelView{local_endpoint(c), kernel_tcp_info(c)});
      std::string request;
      char buf[2048];
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      const std::string body = "hello from the Linux kernel\n";
      const std::string reply =
          fmt::format("HTTP/1.0 200 OK\r\nServer: linux\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
      (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      (void)read_until_eof(c, 65536);
      ::close(c);
    }
  }
}

void KernelSide::connect_one(const wire::Endpoint& target) {
  const int fd = ::socket(target.address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  set_timeouts(fd, 3);
  socklen_t len = 0;
  const sockaddr_storage sa = to_sockaddr(target, len);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
    record(target.to_string(),
           KernelView{local_endpoint(fd), fmt::format("connect(): {}", std::strerror(errno))});
    ::close(fd);
    return;
  }
  record(target.to_string(), KernelView{local_endpoint(fd), kernel_tcp_info(fd)});
  const std::string request = "GET / HTTP/1.0\r\nHost: synack\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  (void)read_until_eof(fd, 65536);
  ::close(fd);
}

}  // namespace synack::cli::demo
