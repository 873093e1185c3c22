#include "bench_command.hpp"

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
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bench_kernel.hpp"
#include "exit_codes.hpp"
#include "numbers.hpp"
#include "synack/observe/json.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/error.hpp"

namespace synack::cli {
namespace {

using stack::ConnectionId;
using stack::Event;
using stack::EventKind;
using stack::Stack;

constexpr std::uint16_t kServerPort = 80;
constexpr std::uint16_t kEphemeralLow = 32768;  // Linux ip_local_port_range
constexpr std::uint16_t kEphemeralHigh = 60999;
constexpr std::uint32_t kPortsPerAddress = kEphemeralHigh - kEphemeralLow + 1U;
constexpr std::uint32_t kMaxClientAddresses = 253;  // 192.0.2.2 .. 192.0.2.254
/// Per-connection bytes besides the two buffers, for the memory budget only (an upper estimate).
// Upper bounds used to keep a run inside its memory budget. Buffers hold memory only while they hold
// bytes, and the bench sends none: an idle connection is its control blocks, slot and flow-table share.
constexpr std::uint64_t kConnectionOverhead = 2048;
constexpr std::uint64_t kTimeWaitOverhead = 256;  ///< a 64-byte record, its flow-table share, slack
/// Connections opened at once when filling the stacks for --resident (the queues are sized for it).
constexpr std::uint32_t kFillBatch = 4096;
/// Queues of the memory measurements' stacks: tcp::Config's and StackConfig's defaults, so the fixed
/// structures counted in the growth are those of a default stack.
constexpr std::uint32_t kDefaultQueue = 256;

struct BenchArgs {
  std::uint32_t inflight = 1;
  std::string close = "rst";
  std::uint64_t connections = 200'000;
  std::uint64_t resident = 0;
  std::optional<std::uint32_t> buffers;
  bool json = false;
  bool no_kernel = false;
  std::optional<double> seconds;
  double kernel_seconds = 2.0;
  std::uint64_t memory_count = 100'000;
  std::uint64_t memory_budget_mib = 1024;
  std::uint32_t step_us = 1000;
};

// --- process facts -----------------------------------------------------------------------------------

std::uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

/// MemAvailable from /proc/meminfo, bytes; nullopt when unreadable.
std::optional<std::uint64_t> mem_available() {
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
std::uint64_t trimmed_rss() {
  ::malloc_trim(0);
  return rss_bytes();
}

double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// --- two stacks back to back ---------------------------------------------------------------------------

wire::IpAddress server_address() {
  return wire::IpAddress::v4(0xC0000201U);  // 192.0.2.1
}

/// Client addresses so that `tuples` connections to one server port each get their own 4-tuple, with
/// twice the tuples needed: the round-robin cursor then finds a free one within a try or two. (With
/// barely enough, a run with many resident connections spent its time walking their busy tuples — each
/// try a flow-table lookup of a cold connection — which measured the bench, not the stack.)
std::uint32_t client_addresses_for(std::uint64_t tuples) {
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
};

/// A client Stack and a server Stack listening on 192.0.2.1:80, joined by a zero-latency in-memory link:
/// pump() moves datagrams both ways until neither has anything to send, so N connects started in a round
/// are all in flight at once and complete within it. tick() advances virtual time by one step and runs
/// the timers that are due, as a driver does.
class Pair {
 public:
  explicit Pair(const PairConfig& config)
      : addresses_(config.client_addresses), batch_(config.queue), step_(config.step) {
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

  /// Active open on the next free client 4-tuple (addresses x ephemeral ports, round robin).
  std::expected<ConnectionId, std::error_code> connect_next() {
    const std::uint64_t tuples = static_cast<std::uint64_t>(addresses_) * kPortsPerAddress;
    std::error_code last;
    for (int attempt = 0; attempt < 1024; ++attempt) {
      const std::uint64_t k = cursor_++ % tuples;
      const wire::Endpoint local{
          wire::IpAddress::v4(0xC0000202U + static_cast<std::uint32_t>(k % addresses_)),
          static_cast<std::uint16_t>(kEphemeralLow + k / addresses_)};
      auto id = client_->connect(now_, local, {server_address(), kServerPort});
      if (id || id.error() != tcp::make_error_code(tcp::Error::address_in_use)) return id;
      ++busy_tuples_;
      last = id.error();
    }
    return std::unexpected(last);
  }
  [[nodiscard]] std::uint64_t busy_tuples() const { return busy_tuples_; }

  /// Moves datagrams and events until both sides are quiet. The server's side of every connection is
  /// accepted and closed when its peer's FIN or RST arrives.
  template <typename OnClient>
  void pump(OnClient&& on_client) {
    for (;;) {
      bool moved = client_to_server();
      moved = drain_server_events() || moved;
      while (const auto n = server_->poll_transmit(now_, buf_)) {
        moved = true;
        ++packets_;
        if (to_client_) client_->on_packet(now_, wire::Bytes(buf_.data(), *n));
      }
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
  bool client_to_server() {
    bool moved = false;
    while (const auto n = client_->poll_transmit(now_, buf_)) {
      moved = true;
      ++packets_;
      server_->on_packet(now_, wire::Bytes(buf_.data(), *n));
    }
    return moved;
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
  std::unique_ptr<Stack> server_;
  std::unique_ptr<Stack> client_;
  stack::ListenerId listener_;
  Instant now_ = Instant::from_nanoseconds(1'000'000'000);
  std::array<std::byte, 2048> buf_{};
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

// --- the handshake rate ------------------------------------------------------------------------------

struct RateResult {
  std::uint64_t handshakes = 0;
  std::uint64_t failed = 0;
  std::uint64_t accepted = 0;
  std::uint64_t packets = 0;
  std::uint64_t rounds = 0;
  std::uint64_t busy_tuples = 0;
  std::uint64_t resident = 0;
  std::uint64_t peak_client_connections = 0;
  std::uint64_t peak_server_connections = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double virtual_seconds = 0;
  bool stopped_by_time = false;
  bool stalled = false;
};

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

struct RatePlan {
  std::uint32_t inflight = 1;
  bool rst = true;
  std::uint64_t connections = 0;
  std::uint64_t resident = 0;
  std::optional<double> seconds;
};

/// The measured loop: every round ticks virtual time (next_deadline()/on_timeout() on both stacks),
/// tops the handshakes in flight up to `inflight` and pumps. Kept out of line so that callgrind can
/// count it alone (--toggle-collect='*bench_handshake_loop*', docs/cli.md).
[[gnu::noinline]] void bench_handshake_loop(Pair& p, const RatePlan& plan, RateResult& r,
                                            Progress& progress) {
  std::uint64_t started = 0;
  std::uint32_t inflight = 0;
  std::uint64_t last_done = 0;
  Instant last_progress = p.now();
  const auto begin = std::chrono::steady_clock::now();
  const auto on_client = [&](const Event& e) {
    switch (e.kind) {
      case EventKind::established:
        ++r.handshakes;
        --inflight;
        if (plan.rst) {
          (void)p.client().abort(p.now(), e.connection);
        } else {
          (void)p.client().close(p.now(), e.connection);  // FIN; the client holds TIME-WAIT
        }
        break;
      case EventKind::refused:
      case EventKind::timed_out:
        ++r.failed;
        --inflight;
        (void)p.client().close(p.now(), e.connection);
        break;
      default:
        break;
    }
  };
  while (r.handshakes + r.failed < plan.connections) {
    if ((r.rounds & 63U) == 0) {
      const double wall = seconds_since(begin);
      if (plan.seconds && wall >= *plan.seconds) {
        r.stopped_by_time = true;
        break;
      }
      progress.update("handshakes", r.handshakes, plan.connections);
    }
    ++r.rounds;
    p.tick();
    while (inflight < plan.inflight && started < plan.connections) {
      if (!p.connect_next()) break;  // every tuple busy (TIME-WAIT): a later round retries
      ++inflight;
      ++started;
    }
    p.pump(on_client);
    r.peak_client_connections =
        std::max<std::uint64_t>(r.peak_client_connections, p.client().connection_count());
    r.peak_server_connections =
        std::max<std::uint64_t>(r.peak_server_connections, p.server().connection_count());
    const std::uint64_t done = r.handshakes + r.failed;
    if (done != last_done) {
      last_done = done;
      last_progress = p.now();
    } else if (p.now() - last_progress > std::chrono::seconds(600)) {
      r.stalled = true;  // ten virtual minutes without a handshake: report instead of spinning
      break;
    }
  }
}

RateResult run_rate(const PairConfig& config, const RatePlan& plan, Progress& progress) {
  RateResult r;
  Pair p(config);
  r.resident = fill(p, plan.resident, [](ConnectionId) {});
  progress.finish();
  const Instant virtual_begin = p.now();
  const std::uint64_t packets_before = p.packets();
  const std::uint64_t accepted_before = p.accepted();
  const double cpu_begin = cpu_seconds();
  const auto begin = std::chrono::steady_clock::now();
  bench_handshake_loop(p, plan, r, progress);
  r.wall_seconds = seconds_since(begin);
  r.cpu_seconds = cpu_seconds() - cpu_begin;
  progress.finish();
  r.virtual_seconds = std::chrono::duration<double>(p.now() - virtual_begin).count();
  r.packets = p.packets() - packets_before;
  r.accepted = p.accepted() - accepted_before;
  r.busy_tuples = p.busy_tuples();
  return r;
}

// --- memory ------------------------------------------------------------------------------------------

struct MemoryResult {
  std::string what;
  std::string side;  ///< which stack's growth is divided by `count`
  std::uint64_t requested = 0;
  std::uint64_t count = 0;
  std::string capped;            ///< why count < requested
  std::int64_t bytes = 0;        ///< RSS growth of `side`
  std::int64_t other_bytes = 0;  ///< established: the client side
  [[nodiscard]] double per_entry() const {
    return count == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(count);
  }
  [[nodiscard]] double other_per_entry() const {
    return count == 0 ? 0.0 : static_cast<double>(other_bytes) / static_cast<double>(count);
  }
};

std::int64_t diff(std::uint64_t after, std::uint64_t before) {
  return static_cast<std::int64_t>(after) - static_cast<std::int64_t>(before);
}

/// Idle established pairs: RSS growth with both stacks, then without the client stack (destroyed): the
/// server's share is what remains, the client's is what its destruction gave back.
MemoryResult measure_established(PairConfig config, std::uint64_t count) {
  MemoryResult m{"established", "server", count, count, {}, 0, 0};
  config.max_connections = count + kDefaultQueue;
  const std::uint64_t before = trimmed_rss();
  Pair p(config);
  m.count = fill(p, count, [](ConnectionId) {});
  const std::uint64_t both = trimmed_rss();
  p.destroy_client();
  const std::uint64_t server_only = trimmed_rss();
  m.bytes = diff(server_only, before);
  m.other_bytes = diff(both, server_only);
  return m;
}

/// Half-open entries: SYNs whose SYN-ACKs never reach the client. The listener's SYN queue is sized for
/// `count` (allocated at listen()); the client stack (SYN-SENT connections) is destroyed before reading.
MemoryResult measure_half_open(PairConfig config, std::uint64_t count) {
  MemoryResult m{"half_open", "server", count, 0, {}, 0, 0};
  config.max_connections = count + kDefaultQueue;
  config.syn_queue = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, 0xFFFFFFF0U));
  const std::uint64_t before = trimmed_rss();
  Pair p(config);
  p.deliver_to_client(false);
  for (std::uint64_t started = 0; started < count;) {
    for (std::uint32_t i = 0; i < p.batch() && started < count; ++i, ++started) (void)p.connect_next();
    p.pump([](const Event&) {});
  }
  m.count = p.half_open();
  if (m.count < count) {
    m.capped = fmt::format("the SYN queue held {} ({} dropped full)", m.count,
                           p.server().stats().syn_queue_full_drops);
  }
  p.destroy_client();
  m.bytes = diff(trimmed_rss(), before);
  return m;
}

/// TIME-WAIT entries: the client closes first (FIN), the server answers with its FIN, the client holds
/// TIME-WAIT; the server stack is destroyed before reading.
MemoryResult measure_time_wait(PairConfig config, std::uint64_t count) {
  MemoryResult m{"time_wait", "client", count, 0, {}, 0, 0};
  config.max_connections = count + kDefaultQueue;
  const std::uint64_t before = trimmed_rss();
  Pair p(config);
  (void)fill(p, count, [&](ConnectionId id) { (void)p.client().close(p.now(), id); });
  p.pump([](const Event&) {});
  m.count = p.client().connection_count();
  if (m.count < count) m.capped = fmt::format("only {} reached TIME-WAIT", m.count);
  p.destroy_server();
  m.bytes = diff(trimmed_rss(), before);
  return m;
}

// --- output ------------------------------------------------------------------------------------------

nlohmann::json memory_json(const MemoryResult& m) {
  nlohmann::json j;
  j["requested"] = m.requested;
  j["count"] = m.count;
  j["capped"] = m.capped.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.capped);
  j["side"] = m.side;
  j["rss_growth_bytes"] = m.bytes;
  j["bytes_per_entry"] = m.per_entry();
  if (m.what == "established") {
    j["client_rss_growth_bytes"] = m.other_bytes;
    j["client_bytes_per_entry"] = m.other_per_entry();
    j["pair_bytes_per_entry"] = m.per_entry() + m.other_per_entry();
  }
  return j;
}

std::string with_commas(double v) {
  const auto n = static_cast<std::uint64_t>(v < 0 ? 0 : v + 0.5);
  std::string s = std::to_string(n);
  for (auto i = static_cast<std::ptrdiff_t>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

int run(const BenchArgs& args) {
  const bool rst = args.close == "rst";
  tcp::Config tcp;
  if (args.buffers) tcp.send_buffer = tcp.recv_buffer = *args.buffers;
  std::vector<std::string> notes;

  // Memory budget: every phase stays within it; counts are capped (and said so) rather than crash.
  const auto available = mem_available();
  std::uint64_t budget = args.memory_budget_mib * 1024U * 1024U;
  if (available && budget > *available / 2) {
    budget = *available / 2;
    notes.push_back(fmt::format("memory budget lowered to half of MemAvailable: {} MiB", budget >> 20U));
  }
  const std::uint64_t per_connection = kConnectionOverhead;
  const std::uint64_t allowed = std::max<std::uint64_t>(budget / per_connection, 2);

  RatePlan plan;
  plan.rst = rst;
  plan.inflight = args.inflight;
  plan.connections = args.connections;
  plan.resident = args.resident;
  plan.seconds = args.seconds;
  const Duration step = std::chrono::microseconds(args.step_us);
  if (2ULL * plan.inflight > allowed) {
    plan.inflight = static_cast<std::uint32_t>(allowed / 2);
    notes.push_back(fmt::format("--inflight capped to {} by the memory budget ({} B per connection)",
                                plan.inflight, per_connection));
  }
  if (2 * (plan.resident + plan.inflight) > allowed) {
    plan.resident = allowed / 2 - plan.inflight;
    notes.push_back(
        fmt::format("--resident capped to {} by the memory budget ({} B per connection, x2 sides)",
                    plan.resident, per_connection));
  }
  // With FIN close each client connection stays in TIME-WAIT (a compact record) for 2 MSL of virtual
  // time: inflight x (TIME-WAIT / step) of them at once at most.
  std::uint64_t time_wait_peak = 0;
  if (!rst) {
    const auto rounds = static_cast<std::uint64_t>(tcp.time_wait_length() / step) + 1;
    time_wait_peak = std::min<std::uint64_t>(plan.connections, plan.inflight * rounds);
    const std::uint64_t room =
        (budget - 2 * (plan.resident + plan.inflight) * per_connection) / kTimeWaitOverhead;
    if (time_wait_peak > room) {
      plan.connections = std::max<std::uint64_t>(room, plan.inflight);
      time_wait_peak = std::min(time_wait_peak, plan.connections);
      notes.push_back(fmt::format(
          "--connections capped to {} by the memory budget: with --close fin every connection stays in "
          "TIME-WAIT for {} s of virtual time and holds {} B",
          plan.connections, std::chrono::duration<double>(tcp.time_wait_length()).count(),
          kTimeWaitOverhead));
    }
  }

  PairConfig config;
  config.tcp = tcp;
  config.step = step;
  config.queue = std::max<std::uint32_t>(plan.inflight, kFillBatch);
  config.syn_queue = std::max<std::uint32_t>(plan.inflight, kFillBatch);
  config.max_connections = plan.resident + plan.inflight + time_wait_peak + kFillBatch;
  config.client_addresses = client_addresses_for(plan.resident + plan.inflight + time_wait_peak);

  Progress progress(::isatty(STDERR_FILENO) == 1);
  const RateResult rate = run_rate(config, plan, progress);
  const double rate_hs = rate.wall_seconds > 0 ? static_cast<double>(rate.handshakes) / rate.wall_seconds : 0;
  if (rate.stopped_by_time)
    notes.push_back(fmt::format("stopped by --seconds after {} handshakes", rate.handshakes));
  if (rate.resident < plan.resident) {
    notes.push_back(
        fmt::format("only {} of {} resident connections were established", rate.resident, plan.resident));
  }

  std::optional<KernelBaselineResult> kernel;
  if (!args.no_kernel) {
    if (::isatty(STDERR_FILENO) == 1) fmt::print(stderr, "synack bench: kernel baseline...");
    KernelBaselineConfig kc;
    kc.inflight = args.inflight;
    kc.rst = rst;
    kc.max_handshakes = 0;
    const double budget_s = std::clamp(rate.wall_seconds, 0.2, args.kernel_seconds);
    kc.budget = std::chrono::nanoseconds(static_cast<std::int64_t>(budget_s * 1e9));
    kernel = run_kernel_baseline(kc);
    if (::isatty(STDERR_FILENO) == 1) fmt::print(stderr, "\r\x1b[K");
  }
  const double kernel_hs = kernel && kernel->ran && kernel->wall_seconds > 0
                               ? static_cast<double>(kernel->handshakes) / kernel->wall_seconds
                               : 0;

  std::vector<MemoryResult> memory;
  if (args.memory_count > 0) {
    PairConfig mc = config;
    mc.client_addresses = client_addresses_for(args.memory_count + kDefaultQueue);
    mc.queue = kDefaultQueue;
    mc.syn_queue = kDefaultQueue;
    const auto cap = [&](std::uint64_t count, std::uint64_t connections_each, std::string& why) {
      const std::uint64_t most = std::max<std::uint64_t>(allowed / connections_each, 1);
      if (count <= most) return count;
      why = fmt::format("capped from {} by the memory budget ({} MiB; {} B per connection)", count,
                        budget >> 20U, per_connection);
      return most;
    };
    std::string why_est;
    std::string why_half;
    std::string why_tw;
    const std::uint64_t n_est = cap(args.memory_count, 2, why_est);
    const std::uint64_t n_half = cap(args.memory_count, 1, why_half);
    const std::uint64_t n_tw = cap(args.memory_count, 1, why_tw);
    progress.update("memory: established", 0, n_est);
    memory.push_back(measure_established(mc, n_est));
    if (memory.back().capped.empty()) memory.back().capped = why_est;
    memory.back().requested = args.memory_count;
    progress.update("memory: half-open", 0, n_half);
    memory.push_back(measure_half_open(mc, n_half));
    if (!why_half.empty())
      memory.back().capped = why_half + (memory.back().capped.empty() ? "" : "; " + memory.back().capped);
    memory.back().requested = args.memory_count;
    progress.update("memory: TIME-WAIT", 0, n_tw);
    memory.push_back(measure_time_wait(mc, n_tw));
    if (!why_tw.empty())
      memory.back().capped = why_tw + (memory.back().capped.empty() ? "" : "; " + memory.back().capped);
    memory.back().requested = args.memory_count;
    progress.finish();
  }

  const bool incomplete = rate.handshakes + rate.failed < plan.connections && !rate.stopped_by_time;
  const int code = rate.stalled || incomplete ? kExitFailure : kExitOk;
  if (rate.stalled)
    notes.emplace_back("the synack run stalled: ten virtual minutes without a completed handshake");

  if (args.json) {
    observe::Json j = observe::document();  // docs/json.md
    j["document"] = "bench";
    auto& c = j["config"];
    c["inflight"] = plan.inflight;
    c["close"] = args.close;
    c["connections"] = plan.connections;
    c["resident"] = plan.resident;
    c["send_buffer"] = tcp.send_buffer;
    c["recv_buffer"] = tcp.recv_buffer;
    c["step_us"] = args.step_us;
    c["seconds"] = args.seconds ? nlohmann::json(*args.seconds) : nlohmann::json(nullptr);
    c["memory_budget_bytes"] = budget;
    c["client_addresses"] = config.client_addresses;
    c["tcp_options"] = {
        {"mss", tcp.our_mss(wire::IpVersion::v4)},
        {"window_scale", tcp.window_scaling ? nlohmann::json(tcp.window_shift) : nlohmann::json(nullptr)},
        {"sack_permitted", tcp.sack_permitted},
        {"timestamps", tcp.timestamps}};
    auto& s = j["synack"];
    s["handshakes"] = rate.handshakes;
    s["failed"] = rate.failed;
    s["accepted"] = rate.accepted;
    s["wall_seconds"] = rate.wall_seconds;
    s["cpu_seconds"] = rate.cpu_seconds;
    s["handshakes_per_second"] = rate_hs;
    s["packets"] = rate.packets;
    s["rounds"] = rate.rounds;
    s["virtual_seconds"] = rate.virtual_seconds;
    s["resident_established"] = rate.resident;
    s["peak_client_connections"] = rate.peak_client_connections;
    s["peak_server_connections"] = rate.peak_server_connections;
    s["busy_tuples"] = rate.busy_tuples;
    s["stopped_by_time"] = rate.stopped_by_time;
    if (kernel) {
      auto& k = j["kernel"];
      k["ran"] = kernel->ran;
      k["where"] = kernel->where;
      k["error"] = kernel->error.empty() ? nlohmann::json(nullptr) : nlohmann::json(kernel->error);
      k["inflight"] = kernel->inflight;
      k["handshakes"] = kernel->handshakes;
      k["accepted"] = kernel->accepted;
      k["connect_errors"] = kernel->connect_errors;
      k["wall_seconds"] = kernel->wall_seconds;
      k["cpu_seconds"] = kernel->cpu_seconds;
      k["handshakes_per_second"] = kernel_hs;
    } else {
      j["kernel"] = nullptr;
    }
    j["ratio"] = kernel_hs > 0 ? nlohmann::json(rate_hs / kernel_hs) : nlohmann::json(nullptr);
    if (memory.empty()) {
      j["memory"] = nullptr;
    } else {
      auto& m = j["memory"];
      m["method"] =
          "RSS growth from /proc/self/statm, malloc_trim(0) before each reading, divided by the count";
      for (const auto& e : memory) m[e.what] = memory_json(e);
    }
    j["notes"] = notes;
    fmt::print("{}\n", j.dump(2));
    return code;
  }

  fmt::print(
      "synack bench: {} handshakes, {} in flight, close {}, {} resident idle, buffers {} B send / {} B "
      "recv\n",
      plan.connections, plan.inflight, args.close, plan.resident, tcp.send_buffer, tcp.recv_buffer);
  fmt::print("  options: MSS {}, window scale {}, SACK-permitted, timestamps; virtual step {} us\n",
             tcp.our_mss(wire::IpVersion::v4), tcp.window_shift, args.step_us);
  fmt::print("\n  {:<26} {:>11} {:>9} {:>9} {:>14}\n", "", "handshakes", "wall s", "cpu s", "handshakes/s");
  fmt::print("  {:<26} {:>11} {:>9.3f} {:>9.3f} {:>14}\n", "synack (2 stacks, 1 core)", rate.handshakes,
             rate.wall_seconds, rate.cpu_seconds, with_commas(rate_hs));
  if (kernel && kernel->ran) {
    fmt::print("  {:<26} {:>11} {:>9.3f} {:>9.3f} {:>14}\n", "Linux kernel (loopback)", kernel->handshakes,
               kernel->wall_seconds, kernel->cpu_seconds, with_commas(kernel_hs));
    fmt::print("\n  synack / kernel: {:.2f}x\n", kernel_hs > 0 ? rate_hs / kernel_hs : 0.0);
    fmt::print("  kernel: {}, {} in flight, {} connect errors\n", kernel->where, kernel->inflight,
               kernel->connect_errors);
  } else if (kernel) {
    fmt::print("  kernel baseline did not run: {}{}\n", kernel->where.empty() ? "" : kernel->where + ": ",
               kernel->error);
  } else {
    fmt::print("  kernel baseline skipped (--no-kernel)\n");
  }
  fmt::print("  synack: {} packets, {} virtual s, peak connections client {} / server {}\n", rate.packets,
             rate.virtual_seconds, rate.peak_client_connections, rate.peak_server_connections);
  if (!memory.empty()) {
    fmt::print("\n  memory: RSS growth (/proc/self/statm, after malloc_trim(0)) / count\n");
    for (const auto& m : memory) {
      if (m.what == "established") {
        fmt::print("  {:<26} {:>9} pairs  server {:>10} B  client {:>10} B\n", "idle established", m.count,
                   with_commas(m.per_entry()), with_commas(m.other_per_entry()));
      } else {
        fmt::print("  {:<26} {:>9} {:<5}  {:<6} {:>10} B\n",
                   m.what == "half_open" ? "half-open (SYN queue)" : "TIME-WAIT", m.count, "", m.side,
                   with_commas(m.per_entry()));
      }
      if (!m.capped.empty()) fmt::print("  {:<26} {}\n", "", m.capped);
    }
  }
  for (const auto& n : notes) fmt::print("  note: {}\n", n);
  return code;
}

}  // namespace

void register_bench_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand(
      "bench", "Handshakes per second and memory per connection of synack's Stack, beside the Linux kernel");
  sub->add_option("--inflight", a->inflight, "Handshakes in flight at once")
      ->check(whole(1U, 65536U))
      ->capture_default_str();
  sub->add_option("--close", a->close, "How each connection ends once established: rst (client abort) or fin")
      ->check(CLI::IsMember({"rst", "fin"}))
      ->capture_default_str();
  sub->add_option("--connections", a->connections, "Handshakes to run")
      ->check(whole(1ULL, 1'000'000'000ULL))
      ->capture_default_str();
  sub->add_option("--resident", a->resident,
                  "Idle established connections kept open in both stacks during the run")
      ->check(whole(0ULL, 10'000'000ULL))
      ->capture_default_str();
  sub->add_option("--buffers", a->buffers,
                  "Send and receive buffer per connection, bytes (default: tcp::Config's)")
      ->check(whole(0U, 1U << 30U));
  sub->add_flag("--json", a->json, "Print one JSON document (fields: docs/cli.md)");
  sub->add_flag("--no-kernel", a->no_kernel, "Skip the Linux kernel baseline");
  sub->add_option("--seconds", a->seconds, "Stop the synack loop after this much wall time")
      ->check(real(0.001, 86400.0));
  sub->add_option("--kernel-seconds", a->kernel_seconds,
                  "Longest kernel run (it runs as long as the synack loop did, within [0.2, this])")
      ->check(real(0.2, 600.0))
      ->capture_default_str();
  sub->add_option("--memory-count", a->memory_count,
                  "Entries per memory measurement (idle established, half-open, TIME-WAIT); 0 skips them")
      ->check(whole(0ULL, 10'000'000ULL))
      ->capture_default_str();
  sub->add_option("--memory-budget", a->memory_budget_mib,
                  "MiB the run may hold at once (at most half of MemAvailable); counts are capped to fit")
      ->check(whole(16ULL, 1ULL << 24U))
      ->capture_default_str();
  sub->add_option("--step-us", a->step_us,
                  "Virtual microseconds per round (sets how long TIME-WAIT lasts in rounds)")
      ->check(whole(1U, 10'000'000U))
      ->capture_default_str();
  sub->footer(
      "Rates are handshakes per wall-clock second of the measured loop (steady_clock); the kernel baseline "
      "runs in a private network namespace when unshare is permitted. Instructions: valgrind "
      "--tool=callgrind --collect-atstart=no --toggle-collect='*bench_handshake_loop*' synack bench "
      "--connections 20000 --no-kernel --memory-count 0, then total Ir / 20000. Exit codes: 0 the run "
      "completed; 1 synack's handshakes could not complete; 2 bad command line. Manual: synack-bench(1).");
  sub->callback([a, &exit_code] { exit_code = run(*a); });
}

}  // namespace synack::cli
