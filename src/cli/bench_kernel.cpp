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

/// Raises the descriptor limit to its hard maximum; returns how many handshakes fit in flight (two
/// descriptors each: client and accepted).
std::uint64_t descriptor_room() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
    (void)::getrlimit(RLIMIT_NOFILE, &files);
  }
  return static_cast<std::uint64_t>(files.rlim_cur > 128 ? (files.rlim_cur - 64) / 2 : 32);
}

// NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API

/// The kernel's side of the benchmark: a listener on 127.0.0.1 and non-blocking clients in one epoll set.
class KernelLoop {
 public:
  KernelLoop(const KernelBaselineConfig& config, Wire& w, std::uint32_t inflight)
      : config_(config), w_(w), inflight_(inflight) {}
  KernelLoop(const KernelLoop&) = delete;
  KernelLoop& operator=(const KernelLoop&) = delete;
  ~KernelLoop() {
    if (ep_ >= 0) ::close(ep_);
    if (lfd_ >= 0) ::close(lfd_);
  }

  /// The listening socket and the epoll set; false (w.error set) when they cannot be made.
  bool open() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    (void)::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr_.sin_port = 0;
    socklen_t len = sizeof addr_;
    if (lfd_ < 0 || ::bind(lfd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) != 0 ||
        ::listen(lfd_, static_cast<int>(std::min<std::uint32_t>(inflight_ + 16, 65535))) != 0 ||
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&addr_), &len) != 0) {
      put(w_.error, "listening socket on 127.0.0.1: " + errno_text(errno));
      return false;
    }
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    add(lfd_, EPOLLIN, kListener);
    return true;
  }

  /// Runs until the time budget or the handshake count is spent.
  void run() {
    const bool counted = config_.max_handshakes > 0;
    const auto deadline = std::chrono::steady_clock::now() + config_.budget;
    std::vector<epoll_event> events(1024);
    while (std::chrono::steady_clock::now() < deadline &&
           (!counted || w_.handshakes < config_.max_handshakes)) {
      while (in_flight_ < inflight_ && (!counted || started_ < config_.max_handshakes)) {
        if (!start_one()) break;
      }
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n; ++i) on_event(events[static_cast<std::size_t>(i)].data.u64);
    }
  }

 private:
  void add(int fd, std::uint32_t events, std::uint64_t kind) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = kind | static_cast<std::uint32_t>(fd);
    (void)::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  bool start_one() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++w_.connect_errors;
      return false;
    }
    static constexpr linger kAbort{1, 0};
    if (config_.rst) (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &kAbort, sizeof kAbort);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc != 0 && errno != EINPROGRESS) {
      ++w_.connect_errors;  // EADDRNOTAVAIL: every ephemeral port is busy (TIME-WAIT); try again later
      ::close(fd);
      return false;
    }
    add(fd, EPOLLOUT, kClient);
    ++in_flight_;
    ++started_;
    return true;
  }

  void on_event(std::uint64_t tag) {
    const auto fd = static_cast<int>(tag & 0xFFFFFFFFU);
    const std::uint64_t kind = tag & ~0xFFFFFFFFULL;
    if (kind == kListener) {
      for (;;) {
        const int afd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (afd < 0) break;
        ++w_.accepted;
        // The server closes when the client's FIN or RST arrives, so the client closes first (and holds
        // TIME-WAIT with --close fin), as in synack's run.
        add(afd, EPOLLIN | EPOLLRDHUP, kAccepted);
      }
    } else if (kind == kAccepted) {
      ::close(fd);  // the peer's FIN or RST: closing also removes it from the epoll set
    } else {
      int err = 0;
      socklen_t elen = sizeof err;
      (void)::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
      ++(err == 0 ? w_.handshakes : w_.connect_errors);
      ::close(fd);  // SO_LINGER {1, 0}: RST; otherwise FIN
      --in_flight_;
    }
  }

  const KernelBaselineConfig& config_;
  Wire& w_;
  std::uint32_t inflight_;
  sockaddr_in addr_{};
  int lfd_ = -1;
  int ep_ = -1;
  std::uint32_t in_flight_ = 0;
  std::uint64_t started_ = 0;
};

// NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)

/// The epoll loop; fills `w`. Runs in the child.
void measure(const KernelBaselineConfig& config, Wire& w) {
  const auto inflight =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(config.inflight, descriptor_room()));
  w.inflight = inflight;
  KernelLoop loop(config, w, inflight);
  if (!loop.open()) return;
  const auto begin = std::chrono::steady_clock::now();
  loop.run();
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
