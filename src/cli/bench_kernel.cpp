#include "bench_kernel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace synack::cli {
namespace {

/// What the child sends back through the pipe (plain bytes: same binary on both ends).
struct Wire {
  std::uint8_t ran = 0;
  std::uint32_t inflight = 0;
  std::uint64_t handshakes = 0;
  std::uint64_t accepted = 0;
  std::uint64_t connect_errors = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  std::array<char, 200> where{};
  std::array<char, 200> error{};
};

void put(std::array<char, 200>& to, const std::string& text) {
  const std::size_t n = std::min(text.size(), to.size() - 1);
  std::memcpy(to.data(), text.data(), n);
  to[n] = '\0';
}

std::string errno_text(int e) {
  return std::strerror(e);  // NOLINT(concurrency-mt-unsafe): single-threaded child
}

/// `lo` is down in a fresh network namespace; 127.0.0.1 works once it is up (no address or route needed).
bool bring_loopback_up(std::string& error) {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    error = "socket: " + errno_text(errno);
    return false;
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);  // NOLINT(hicpp-signed-bitwise)
    ok = ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  if (!ok) error = "bringing lo up: " + errno_text(errno);
  ::close(s);
  return ok;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

constexpr std::uint64_t kClient = 1ULL << 32U;
constexpr std::uint64_t kAccepted = 2ULL << 32U;
constexpr std::uint64_t kListener = 3ULL << 32U;

/// The epoll loop; fills `w`. Runs in the child.
void measure(const KernelBaselineConfig& config, Wire& w) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
    (void)::getrlimit(RLIMIT_NOFILE, &files);
  }
  // Each handshake in flight holds two descriptors (client and accepted).
  const auto fd_room = static_cast<std::uint64_t>(files.rlim_cur > 128 ? (files.rlim_cur - 64) / 2 : 32);
  const auto inflight = static_cast<std::uint32_t>(std::min<std::uint64_t>(config.inflight, fd_room));
  w.inflight = inflight;

  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  (void)::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, static_cast<int>(std::min<std::uint32_t>(inflight + 16, 65535))) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    put(w.error, "listening socket on 127.0.0.1: " + errno_text(errno));
    return;
  }
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.u64 = kListener | static_cast<std::uint32_t>(lfd);
  (void)::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

  std::uint32_t in_flight = 0;
  std::uint64_t started = 0;
  const linger abort_linger{1, 0};
  const auto start_one = [&]() -> bool {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++w.connect_errors;
      return false;
    }
    if (config.rst) (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_linger, sizeof abort_linger);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno != EINPROGRESS) {
      ++w.connect_errors;  // EADDRNOTAVAIL: every ephemeral port is busy (TIME-WAIT); try again later
      ::close(fd);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = kClient | static_cast<std::uint32_t>(fd);
    (void)::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    ++in_flight;
    ++started;
    return true;
  };
  const bool counted = config.max_handshakes > 0;
  const auto begin = std::chrono::steady_clock::now();
  const auto deadline = begin + config.budget;
  std::vector<epoll_event> events(1024);
  while (std::chrono::steady_clock::now() < deadline && (!counted || w.handshakes < config.max_handshakes)) {
    while (in_flight < inflight && (!counted || started < config.max_handshakes)) {
      if (!start_one()) break;
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      const auto fd = static_cast<int>(tag & 0xFFFFFFFFU);
      const std::uint64_t kind = tag & ~0xFFFFFFFFULL;
      if (kind == kListener) {
        for (;;) {
          const int afd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (afd < 0) break;
          ++w.accepted;
          // The server closes when the client's FIN or RST arrives, so the client closes first (and
          // holds TIME-WAIT with --close fin), as in synack's run.
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.u64 = kAccepted | static_cast<std::uint32_t>(afd);
          (void)::epoll_ctl(ep, EPOLL_CTL_ADD, afd, &ev);
        }
      } else if (kind == kAccepted) {
        ::close(fd);  // the peer's FIN or RST: closing also removes it from the epoll set
      } else {
        int err = 0;
        socklen_t elen = sizeof err;
        (void)::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err == 0) {
          ++w.handshakes;
        } else {
          ++w.connect_errors;
        }
        ::close(fd);  // SO_LINGER {1, 0}: RST; otherwise FIN
        --in_flight;
      }
    }
  }
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  w.wall_seconds = seconds(std::chrono::steady_clock::now() - begin);
  rusage ru{};
  (void)::getrusage(RUSAGE_SELF, &ru);
  w.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  w.ran = 1;
}

[[noreturn]] void child(const KernelBaselineConfig& config, int out) {
  Wire w;
  // A safety net on top of the loop's own bound.
  const auto budget_s = std::chrono::duration_cast<std::chrono::seconds>(config.budget).count();
  ::alarm(static_cast<unsigned>(budget_s + 30));
  std::string error;
  bool fresh_namespace = true;
  if (::unshare(CLONE_NEWNET) == 0) {
    put(w.where, "private network namespace (unshare CLONE_NEWNET), 127.0.0.1");
  } else if (const int e = errno; ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
    put(w.where, "private network namespace (unshare CLONE_NEWUSER|CLONE_NEWNET), 127.0.0.1");
  } else {
    put(w.where, fmt::format("host loopback 127.0.0.1 (unshare not permitted: {})", errno_text(e)));
    fresh_namespace = false;
  }
  if (fresh_namespace && !bring_loopback_up(error)) {
    put(w.error, error);
  } else {
    measure(config, w);
  }
  // NOLINTNEXTLINE(bugprone-sizeof-expression)
  const auto* p = reinterpret_cast<const char*>(&w);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  std::size_t done = 0;
  while (done < sizeof w) {
    const ssize_t n = ::write(out, p + done, sizeof w - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::_exit(0);
}

}  // namespace

KernelBaselineResult run_kernel_baseline(const KernelBaselineConfig& config) {
  KernelBaselineResult r;
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    r.error = "pipe: " + errno_text(errno);
    return r;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = "fork: " + errno_text(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return r;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child(config, fds[1]);
  }
  ::close(fds[1]);
  Wire w;
  auto* p = reinterpret_cast<char*>(&w);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  std::size_t done = 0;
  while (done < sizeof w) {
    const ssize_t n = ::read(fds[0], p + done, sizeof w - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (done != sizeof w) {
    r.error = WIFSIGNALED(status) ? fmt::format("the measuring child died (signal {})", WTERMSIG(status))
                                  : std::string("the measuring child sent no result");
    return r;
  }
  r.ran = w.ran != 0;
  r.where = w.where.data();
  r.error = w.error.data();
  r.inflight = w.inflight;
  r.handshakes = w.handshakes;
  r.accepted = w.accepted;
  r.connect_errors = w.connect_errors;
  r.wall_seconds = w.wall_seconds;
  r.cpu_seconds = w.cpu_seconds;
  return r;
}

}  // namespace synack::cli
