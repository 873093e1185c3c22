// The `synack bench` harness: two real Stacks back to back on one core (Pair), filling them with idle
// connections (fill), and the process facts the bench reads (RSS, MemAvailable, CPU time). Shared by the
// rate phases (bench_command.cpp) and the memory measurements (bench_memory.cpp).
#pragma once

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <expected>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/core.h>

#include "synack/stack/stack.hpp"
#include "synack/tcp/error.hpp"

namespace synack::cli::bench {

using stack::ConnectionId;
using stack::Event;
using stack::EventKind;
using stack::Stack;

constexpr std::uint16_t kServerPort = 80;
constexpr std::uint16_t kEphemeralLow = 32768;  // Linux ip_local_port_range
constexpr std::uint16_t kEphemeralHigh = 60999;
constexpr std::uint32_t kPortsPerAddress = kEphemeralHigh - kEphemeralLow + 1U;
constexpr std::uint32_t kMaxClientAddresses = 253;  // 192.0.2.2 .. 192.0.2.254
// Upper bounds used to keep a run inside its memory budget. Buffers hold memory only while they hold
// bytes, and the bench sends none: an idle connection is its control blocks, slot and flow-table share.
constexpr std::uint64_t kConnectionOverhead = 2048;
constexpr std::uint64_t kTimeWaitOverhead = 256;  ///< a 64-byte record, its flow-table share, slack
/// Connections opened at once when filling the stacks for --resident (the queues are sized for it).
constexpr std::uint32_t kFillBatch = 4096;
/// Queues of the memory measurements' stacks: tcp::Config's and StackConfig's defaults, so the fixed
/// structures counted in the growth are those of a default stack.
constexpr std::uint32_t kDefaultQueue = 256;

// --- process facts -----------------------------------------------------------------------------------

inline std::uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

/// MemAvailable from /proc/meminfo, bytes; nullopt when unreadable.
inline std::optional<std::uint64_t> mem_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") return kib * 1024U;
  }
  return std::nullopt;
}

/// RSS after giving free heap pages back to the kernel, so growth counts what is still in use.
inline std::uint64_t trimmed_rss() {
  ::malloc_trim(0);
  return rss_bytes();
}

inline double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// --- two stacks back to back ---------------------------------------------------------------------------

inline wire::IpAddress server_address() {
  return wire::IpAddress::v4(0xC0000201U);  // 192.0.2.1
}

/// Client addresses so that `tuples` connections to one server port each get their own 4-tuple, with
/// twice the tuples needed: the round-robin cursor then finds a free one within a try or two. (With
/// barely enough, a run with many resident connections spent its time walking their busy tuples — each
/// try a flow-table lookup of a cold connection — which measured the bench, not the stack.)
inline std::uint32_t client_addresses_for(std::uint64_t tuples) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
      (2 * tuples + kPortsPerAddress - 1) / kPortsPerAddress + 1, 1, kMaxClientAddresses));
}

struct PairConfig {
  tcp::Config tcp;
  std::uint32_t client_addresses = 1;
  std::uint64_t max_connections = 4096;  ///< per stack
  std::uint32_t queue = 256;             ///< accept queue and control queue (SYN-ACKs, RSTs waiting)
  std::uint32_t syn_queue = 256;         ///< the listener's half-open entries
  Duration step = std::chrono::milliseconds(1);
  /// connect() with port 0 (the stack draws the port) instead of the next tuple's port.
  bool ephemeral_ports = false;
};

/// A client Stack and a server Stack listening on 192.0.2.1:80, joined by a zero-latency in-memory link:
/// pump() moves datagrams both ways until neither has anything to send, so N connects started in a round
/// are all in flight at once and complete within it. tick() advances virtual time by one step and runs
/// the timers that are due, as a driver does.
class Pair {
 public:
  explicit Pair(const PairConfig& config)
      : addresses_(std::max<std::uint32_t>(config.client_addresses, 1)),
        batch_(config.queue),
        step_(config.step),
        ephemeral_ports_(config.ephemeral_ports) {
    std::array<std::byte, 16> key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = std::byte{static_cast<unsigned char>(0x5A + i)};
    stack::StackConfig server;
    server.tcp = config.tcp;
    server.tcp.syn_queue_capacity = std::max(server.tcp.syn_queue_capacity, config.syn_queue);
    server.addresses = {server_address()};
    server.max_connections =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(config.max_connections, 0xFFFFFFF0U));
    server.control_queue = std::max(server.control_queue, config.queue);
    stack::StackConfig client = server;
    client.addresses.clear();
    for (std::uint32_t i = 0; i < addresses_; ++i)
      client.addresses.push_back(wire::IpAddress::v4(0xC0000202U + i));
    server_ = std::make_unique<Stack>(std::move(server), key, 1);
    client_ = std::make_unique<Stack>(std::move(client), key, 2);
    listener_ = *server_->listen({server_address(), kServerPort}, std::max<std::uint32_t>(config.queue, 128));
  }

  Stack& client() { return *client_; }
  Stack& server() { return *server_; }
  void destroy_client() { client_.reset(); }
  void destroy_server() { server_.reset(); }
  [[nodiscard]] Instant now() const { return now_; }
  [[nodiscard]] std::uint64_t packets() const { return packets_; }
  /// Connects that the queues take at once (SYN-ACKs waiting, accept queue).
  [[nodiscard]] std::uint32_t batch() const { return batch_; }
  void deliver_to_client(bool on) { to_client_ = on; }

  void tick() {
    now_ += step_;
    if (client_->next_deadline() <= now_) client_->on_timeout(now_);
    if (server_->next_deadline() <= now_) server_->on_timeout(now_);
  }

  /// Active open on the next free client 4-tuple (addresses x ephemeral ports, round robin); with
  /// ephemeral_ports, on the next address with port 0 (the stack draws a free port).
  std::expected<ConnectionId, std::error_code> connect_next() {
    std::error_code last;
    for (int attempt = 0; attempt < 1024; ++attempt) {
      auto id = client_->connect(now_, next_local(), {server_address(), kServerPort});
      if (id || id.error() != tcp::make_error_code(tcp::Error::address_in_use)) return id;
      ++busy_tuples_;
      last = id.error();
    }
    return std::unexpected(last);
  }
  /// Starts up to `want` connections as the bench's loop does: one with connect_next(), the plain call
  /// (1 in flight), more with connect_burst(). Returns how many started.
  std::uint32_t start(std::uint64_t want) {
    if (want == 1) return connect_next() ? 1U : 0U;
    return want > 1 ? connect_burst(static_cast<std::uint32_t>(std::min<std::uint64_t>(want, 0xFFFFFFFFU)))
                    : 0U;
  }
  /// Up to `want` active opens handed to the client in bursts (Stack::connect over a span, as a driver
  /// with many connections to open at once does), each on the next free 4-tuple as connect_next() picks
  /// them: a busy tuple (TIME-WAIT) is skipped and counted, any other refusal ends the burst. Returns how
  /// many started. (The bench opens one at a time — 1 in flight — with connect_next(), the plain call.)
  std::uint32_t connect_burst(std::uint32_t want) {
    std::uint32_t started = 0;
    std::uint32_t busy = 0;  // bounded as connect_next()'s tries are
    while (started < want && busy < 1024) {
      const std::size_t n = std::min<std::size_t>(want - started, requests_.size());
      for (std::size_t i = 0; i < n; ++i) {
        requests_[i].local = next_local();
        requests_[i].remote = {server_address(), kServerPort};
      }
      client_->connect(now_, std::span<const stack::ConnectRequest>(requests_.data(), n),
                       std::span(results_.data(), n));
      bool refused = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (results_[i]) {
          ++started;
        } else if (results_[i].error() == tcp::make_error_code(tcp::Error::address_in_use)) {
          ++busy_tuples_;
          ++busy;
        } else {
          refused = true;
        }
      }
      if (refused) break;  // a later round retries, as after connect_next()'s refusal
    }
    return started;
  }
  [[nodiscard]] std::uint64_t busy_tuples() const { return busy_tuples_; }

  /// Moves datagrams and events until both sides are quiet. The server's side of every connection is
  /// accepted and closed when its peer's FIN or RST arrives.
  template <typename OnClient>
  void pump(OnClient&& on_client) {
    for (;;) {
      bool moved = client_to_server();
      moved = drain_server_events() || moved;
      if (const std::size_t n = transfer(*server_, to_client_ ? client_.get() : nullptr); n != 0)
        moved = true;
      // What the client sends in answer (the handshake's final ACK) leaves before its user hears of the
      // connection, as a kernel's ACK does before connect() reports success.
      moved = client_to_server() || moved;
      while (const auto e = client_->poll_event()) {
        moved = true;
        on_client(*e);
      }
      moved = drain_server_events() || moved;
      if (!moved) return;
    }
  }
  [[nodiscard]] std::uint64_t accepted() const { return accepted_; }
  [[nodiscard]] std::size_t half_open() const { return server_->listener_info(listener_)->syn_queue; }

 private:
  /// The local end of the cursor's next client 4-tuple (addresses x ephemeral ports, round robin); port 0
  /// with ephemeral_ports.
  wire::Endpoint next_local() {
    const std::uint32_t addresses = std::max<std::uint32_t>(addresses_, 1);  // (clang-analyzer: never 0)
    const std::uint64_t k = cursor_++ % (std::uint64_t{addresses} * kPortsPerAddress);
    return {wire::IpAddress::v4(0xC0000202U + static_cast<std::uint32_t>(k % addresses)),
            ephemeral_ports_ ? std::uint16_t{0} : static_cast<std::uint16_t>(kEphemeralLow + k / addresses)};
  }
  bool client_to_server() { return transfer(*client_, server_.get()) != 0; }
  /// Moves what `from` has to send to `to` (dropped when null) in bursts of up to kBurst datagrams, each
  /// handed over with one on_packets() call as a driver delivers what one read returned. Returns how many.
  std::size_t transfer(Stack& from, Stack* to) {
    std::size_t total = 0;
    for (;;) {
      std::size_t n = 0;
      while (n < kBurst) {
        const auto size = from.poll_transmit(now_, wire::MutableBytes(burst_[n].data(), burst_[n].size()));
        if (!size) break;
        views_[n] = wire::Bytes(burst_[n].data(), *size);
        ++n;
      }
      if (n == 0) return total;
      total += n;
      packets_ += n;
      if (to != nullptr) to->on_packets(now_, std::span<const wire::Bytes>(views_.data(), n));
    }
  }
  bool drain_server_events() {
    bool moved = false;
    while (const auto e = server_->poll_event()) {
      moved = true;
      on_server(*e);
    }
    return moved;
  }
  void on_server(const Event& e) {
    switch (e.kind) {
      case EventKind::acceptable:
        while (server_->accept(listener_)) ++accepted_;
        break;
      case EventKind::peer_closed:
      case EventKind::reset:
      case EventKind::aborted:
      case EventKind::timed_out:
        (void)server_->close(now_, e.connection);  // FIN back (LAST-ACK), or release a reset connection
        break;
      default:
        break;
    }
  }

  std::uint32_t addresses_;
  std::uint32_t batch_;
  Duration step_;
  bool ephemeral_ports_;
  std::unique_ptr<Stack> server_;
  std::unique_ptr<Stack> client_;
  stack::ListenerId listener_;
  Instant now_ = Instant::from_nanoseconds(1'000'000'000);
  static constexpr std::size_t kBurst = 16;
  std::array<std::array<std::byte, 2048>, kBurst> burst_{};
  std::array<wire::Bytes, kBurst> views_{};
  static constexpr std::size_t kConnectBurst = 64;
  std::array<stack::ConnectRequest, kConnectBurst> requests_{};
  std::array<std::expected<ConnectionId, std::error_code>, kConnectBurst> results_{};
  std::uint64_t cursor_ = 0;
  std::uint64_t busy_tuples_ = 0;
  std::uint64_t packets_ = 0;
  std::uint64_t accepted_ = 0;
  bool to_client_ = true;
};

/// Opens `count` connections, p.batch() at a time; with `on_established` each client side is handed
/// over once established. Returns how many were established. Bounded in virtual time.
template <typename OnEstablished>
std::uint64_t fill(Pair& p, std::uint64_t count, OnEstablished&& on_established) {
  std::uint64_t started = 0;
  std::uint64_t done = 0;
  std::uint64_t established = 0;
  const Instant limit = p.now() + std::chrono::seconds(600);
  while (done < count && p.now() < limit) {
    while (started < count && started - done < p.batch()) {
      if (!p.connect_next()) break;
      ++started;
    }
    p.pump([&](const Event& e) {
      if (e.kind == EventKind::established) {
        ++established;
        ++done;
        on_established(e.connection);
      } else if (e.kind == EventKind::refused || e.kind == EventKind::timed_out) {
        ++done;
        (void)p.client().close(p.now(), e.connection);
      }
    });
    p.tick();
  }
  return established;
}

/// A progress line on stderr (a terminal only), at most ten updates a second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void update(std::string_view what, std::uint64_t done, std::uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    fmt::print(stderr, "\r\x1b[Ksynack bench: {} {}/{}", what, done, total);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) fmt::print(stderr, "\r\x1b[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace synack::cli::bench
