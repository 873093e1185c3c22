// The packetdrill facade: a synack Stack behind a POSIX-like socket table, in virtual time. Every call
// returns what the libc call would (-1 with errno on failure). Thread-safe: packetdrill makes blocking calls
// on a second thread, which really sleeps (on a condition variable) until the stack's state changes; only
// packetdrill's main thread (the one that built the Shim) moves time forward. docs/packetdrill.md.
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "synack/stack/stack.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"

using pcap_t = struct pcap;
using pcap_dumper_t = struct pcap_dumper;

namespace synack::packetdrill {

/// What `--so_flags` configures: `local=ADDR` (repeatable, one per family: the stack's own addresses, the
/// script's local_ip), `pcap=PATH` (every datagram in and out, raw IP), `seed=N` (ISN key and ports).
struct ShimOptions {
  std::vector<wire::IpAddress> addresses;  ///< the stack's addresses
  std::string pcap_path;                   ///< empty: no capture
  std::uint64_t seed = 1;                  ///< fixed so that runs replay
};
/// Parses the flags (words separated by spaces or commas); the error names the offending word.
[[nodiscard]] std::expected<ShimOptions, std::string> parse_flags(std::string_view flags);

/// One script's host. See the file comment.
class Shim {
 public:
  explicit Shim(const ShimOptions& options);
  ~Shim();
  Shim(const Shim&) = delete;
  Shim& operator=(const Shim&) = delete;

  int socket(int domain, int type, int protocol);
  int bind(int fd, const sockaddr* addr, socklen_t len);
  int listen(int fd, int backlog);
  int accept(int fd, sockaddr* addr, socklen_t* len);
  int connect(int fd, const sockaddr* addr, socklen_t len);
  ssize_t recv(int fd, void* buf, std::size_t len, int flags);
  ssize_t readv(int fd, const iovec* iov, int iovcnt, int flags);
  ssize_t send(int fd, const void* buf, std::size_t len, int flags);
  ssize_t writev(int fd, const iovec* iov, int iovcnt, int flags);
  int fcntl(int fd, int cmd, long arg);
  int ioctl(int fd, unsigned long request, void* arg);
  int close(int fd);
  int shutdown(int fd, int how);
  int getsockopt(int fd, int level, int name, void* value, socklen_t* len);
  int setsockopt(int fd, int level, int name, const void* value, socklen_t len);
  int poll(pollfd* fds, nfds_t nfds, int timeout_ms);
  int epoll_create(int size);
  int epoll_ctl(int epfd, int op, int fd, epoll_event* event);
  int epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms);

  int netdev_send(const void* buf, std::size_t count);
  int netdev_receive(void* buf, std::size_t* count, long long* time_usecs);
  int usleep(std::uint64_t usecs);
  int gettimeofday(timeval* tv);

 private:
  enum class Kind : std::uint8_t { fresh, listener, connection, epoll };
  struct Socket {
    Kind kind = Kind::fresh;
    int domain = AF_INET;
    bool nonblocking = false;
    std::optional<wire::Endpoint> bound;
    stack::ListenerId listener;
    stack::ConnectionId conn;
    bool connect_reported = false;  // connect() returned 0 (or the error) to the caller
    bool established = false;       // the handshake completed (event or accept)
    bool dead = false;              // the stack ended the connection (closed/reset/timed_out/…)
    int so_error = 0;               // pending error (SO_ERROR, the next call reports it)
    bool peer_fin = false;
    bool shut_rd = false;
    bool shut_wr = false;
    bool send_full = false;  // the last send took less than given: not writable until `writable`
    std::uint64_t bytes_read = 0;
    int rcvbuf = 0;
    int sndbuf = 0;
    bool nodelay = false;
    bool reuseaddr = false;
    std::optional<::linger> linger;
    std::optional<std::uint16_t> maxseg;
    std::map<int, epoll_event> interest;  // Kind::epoll only
  };
  using Lock = std::unique_lock<std::mutex>;

  Socket* find(int fd);
  int new_fd(Socket socket);
  void pump();  // drains poll_transmit and poll_event after every stack call
  void on_event(const stack::Event& event);
  void advance_to(Lock& lock, Instant t);
  void catch_up(Lock& lock);
  bool wait_until(Lock& lock, const std::function<bool()>& ready, std::optional<Instant> deadline);
  [[nodiscard]] short readiness(const Socket& s) const;
  [[nodiscard]] std::uint64_t unread(const Socket& s) const;
  int finish_connect(Lock& lock, int fd);
  ssize_t recv_locked(Lock& lock, int fd, std::span<std::byte> out, int flags);
  ssize_t send_locked(Lock& lock, int fd, std::span<const std::byte> data, int flags);
  void record(std::span<const std::byte> datagram);

  std::mutex mutex_;
  std::condition_variable changed_;    // the stack's state changed: blocked calls re-check
  std::condition_variable caught_up_;  // a blocked call re-checked
  std::uint64_t epoch_ = 0;
  std::vector<const std::uint64_t*> waiters_;  // each blocked call's last seen epoch
  std::thread::id main_thread_;
  std::vector<wire::IpAddress> addresses_;
  Instant now_;
  stack::Stack stack_;
  std::map<int, Socket> sockets_;
  struct Outbound {
    std::vector<std::byte> bytes;
    Instant at;
  };
  std::deque<Outbound> outbound_;
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace synack::packetdrill
