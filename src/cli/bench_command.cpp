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
#include "bench_memory.hpp"
#include "bench_pair.hpp"
#include "exit_codes.hpp"
#include "numbers.hpp"
#include "synack/observe/json.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/error.hpp"

namespace synack::cli {
namespace {

using namespace bench;  // NOLINT(google-build-using-namespace): the bench's own harness

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
  std::string ports = "explicit";
};

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
    // Every tuple busy (TIME-WAIT), or the stack refusing: fewer start, and a later round retries.
    const std::uint64_t want =
        inflight < plan.inflight && started < plan.connections
            ? std::min<std::uint64_t>(plan.inflight - inflight, plan.connections - started)
            : 0;
    const std::uint32_t n = p.start(want);
    inflight += n;
    started += n;
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

// --- output ------------------------------------------------------------------------------------------

std::string with_commas(double v) {
  const auto n = static_cast<std::uint64_t>(v < 0 ? 0 : v + 0.5);
  std::string s = std::to_string(n);
  for (auto i = static_cast<std::ptrdiff_t>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

/// What a run will do once the memory budget has capped it, and the notes saying so.
struct RunPlan {
  tcp::Config tcp;
  RatePlan rate;
  PairConfig pair;
  MemoryLimits limits;
  std::vector<std::string> notes;
};

/// The memory budget: every phase stays within it; counts are capped (and said so) rather than crash.
RunPlan plan_run(const BenchArgs& args) {
  RunPlan r;
  tcp::Config& tcp = r.tcp;
  if (args.buffers) tcp.send_buffer = tcp.recv_buffer = *args.buffers;
  const auto available = mem_available();
  std::uint64_t budget = args.memory_budget_mib * 1024U * 1024U;
  if (available && budget > *available / 2) {
    budget = *available / 2;
    r.notes.push_back(fmt::format("memory budget lowered to half of MemAvailable: {} MiB", budget >> 20U));
  }
  const std::uint64_t per_connection = kConnectionOverhead;
  const std::uint64_t allowed = std::max<std::uint64_t>(budget / per_connection, 2);
  r.limits = MemoryLimits{allowed, budget, per_connection};

  RatePlan& plan = r.rate;
  plan.rst = args.close == "rst";
  plan.inflight = args.inflight;
  plan.connections = args.connections;
  plan.resident = args.resident;
  plan.seconds = args.seconds;
  const Duration step = std::chrono::microseconds(args.step_us);
  if (2ULL * plan.inflight > allowed) {
    plan.inflight = static_cast<std::uint32_t>(allowed / 2);
    r.notes.push_back(fmt::format("--inflight capped to {} by the memory budget ({} B per connection)",
                                  plan.inflight, per_connection));
  }
  if (2 * (plan.resident + plan.inflight) > allowed) {
    plan.resident = allowed / 2 - plan.inflight;
    r.notes.push_back(
        fmt::format("--resident capped to {} by the memory budget ({} B per connection, x2 sides)",
                    plan.resident, per_connection));
  }
  // With FIN close each client connection stays in TIME-WAIT (a compact record) for 2 MSL of virtual
  // time: inflight x (TIME-WAIT / step) of them at once at most.
  std::uint64_t time_wait_peak = 0;
  if (!plan.rst) {
    const auto rounds = static_cast<std::uint64_t>(tcp.time_wait_length() / step) + 1;
    time_wait_peak = std::min<std::uint64_t>(plan.connections, plan.inflight * rounds);
    const std::uint64_t room =
        (budget - 2 * (plan.resident + plan.inflight) * per_connection) / kTimeWaitOverhead;
    if (time_wait_peak > room) {
      plan.connections = std::max<std::uint64_t>(room, plan.inflight);
      time_wait_peak = std::min(time_wait_peak, plan.connections);
      r.notes.push_back(fmt::format(
          "--connections capped to {} by the memory budget: with --close fin every connection stays in "
          "TIME-WAIT for {} s of virtual time and holds {} B",
          plan.connections, std::chrono::duration<double>(tcp.time_wait_length()).count(),
          kTimeWaitOverhead));
    }
  }

  PairConfig& config = r.pair;
  config.tcp = tcp;
  config.step = step;
  config.queue = std::max<std::uint32_t>(plan.inflight, kFillBatch);
  config.syn_queue = std::max<std::uint32_t>(plan.inflight, kFillBatch);
  config.max_connections = plan.resident + plan.inflight + time_wait_peak + kFillBatch;
  config.client_addresses = client_addresses_for(plan.resident + plan.inflight + time_wait_peak);
  config.ephemeral_ports = args.ports == "ephemeral";
  return r;
}

/// The Linux kernel's loopback rate for as long as synack's loop ran (within [0.2, --kernel-seconds]).
std::optional<KernelBaselineResult> kernel_phase(const BenchArgs& args, const RateResult& rate) {
  if (args.no_kernel) return std::nullopt;
  if (::isatty(STDERR_FILENO) == 1) fmt::print(stderr, "synack bench: kernel baseline...");
  KernelBaselineConfig kc;
  kc.inflight = args.inflight;
  kc.rst = args.close == "rst";
  kc.max_handshakes = 0;
  const double budget_s = std::clamp(rate.wall_seconds, 0.2, args.kernel_seconds);
  kc.budget = std::chrono::nanoseconds(static_cast<std::int64_t>(budget_s * 1e9));
  KernelBaselineResult kernel = run_kernel_baseline(kc);
  if (::isatty(STDERR_FILENO) == 1) fmt::print(stderr, "\r\x1b[K");
  return kernel;
}

/// Everything measured, for the two printers.
struct Outcome {
  const BenchArgs& args;
  const RunPlan& plan;
  const RateResult& rate;
  const std::optional<KernelBaselineResult>& kernel;
  const std::vector<MemoryResult>& memory;
  double rate_hs = 0;
  double kernel_hs = 0;
};

void print_json(const Outcome& o) {
  const tcp::Config& tcp = o.plan.tcp;
  const RateResult& rate = o.rate;
  observe::Json j = observe::document();  // docs/json.md
  j["document"] = "bench";
  auto& c = j["config"];
  c["inflight"] = o.plan.rate.inflight;
  c["close"] = o.args.close;
  c["connections"] = o.plan.rate.connections;
  c["resident"] = o.plan.rate.resident;
  c["send_buffer"] = tcp.send_buffer;
  c["recv_buffer"] = tcp.recv_buffer;
  c["step_us"] = o.args.step_us;
  c["seconds"] = o.args.seconds ? nlohmann::json(*o.args.seconds) : nlohmann::json(nullptr);
  c["memory_budget_bytes"] = o.plan.limits.budget_bytes;
  c["client_addresses"] = o.plan.pair.client_addresses;
  c["ports"] = o.args.ports;
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
  s["handshakes_per_second"] = o.rate_hs;
  s["packets"] = rate.packets;
  s["rounds"] = rate.rounds;
  s["virtual_seconds"] = rate.virtual_seconds;
  s["resident_established"] = rate.resident;
  s["peak_client_connections"] = rate.peak_client_connections;
  s["peak_server_connections"] = rate.peak_server_connections;
  s["busy_tuples"] = rate.busy_tuples;
  s["stopped_by_time"] = rate.stopped_by_time;
  if (o.kernel) {
    const KernelBaselineResult& kr = *o.kernel;
    auto& k = j["kernel"];
    k["ran"] = kr.ran;
    k["where"] = kr.where;
    k["error"] = kr.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(kr.error);
    k["inflight"] = kr.inflight;
    k["handshakes"] = kr.handshakes;
    k["accepted"] = kr.accepted;
    k["connect_errors"] = kr.connect_errors;
    k["wall_seconds"] = kr.wall_seconds;
    k["cpu_seconds"] = kr.cpu_seconds;
    k["handshakes_per_second"] = o.kernel_hs;
  } else {
    j["kernel"] = nullptr;
  }
  j["ratio"] = o.kernel_hs > 0 ? nlohmann::json(o.rate_hs / o.kernel_hs) : nlohmann::json(nullptr);
  if (o.memory.empty()) {
    j["memory"] = nullptr;
  } else {
    auto& m = j["memory"];
    m["method"] =
        "RSS growth from /proc/self/statm, malloc_trim(0) before each reading, divided by the count";
    for (const auto& e : o.memory) m[e.what] = memory_json(e);
  }
  j["notes"] = o.plan.notes;
  fmt::print("{}\n", j.dump(2));
}

void print_text(const Outcome& o) {
  const tcp::Config& tcp = o.plan.tcp;
  const RateResult& rate = o.rate;
  const auto& kernel = o.kernel;
  fmt::print(
      "synack bench: {} handshakes, {} in flight, close {}, {} resident idle, buffers {} B send / {} B "
      "recv\n",
      o.plan.rate.connections, o.plan.rate.inflight, o.args.close, o.plan.rate.resident, tcp.send_buffer,
      tcp.recv_buffer);
  fmt::print("  options: MSS {}, window scale {}, SACK-permitted, timestamps; virtual step {} us\n",
             tcp.our_mss(wire::IpVersion::v4), tcp.window_shift, o.args.step_us);
  fmt::print("\n  {:<26} {:>11} {:>9} {:>9} {:>14}\n", "", "handshakes", "wall s", "cpu s", "handshakes/s");
  fmt::print("  {:<26} {:>11} {:>9.3f} {:>9.3f} {:>14}\n", "synack (2 stacks, 1 core)", rate.handshakes,
             rate.wall_seconds, rate.cpu_seconds, with_commas(o.rate_hs));
  if (kernel && kernel->ran) {
    fmt::print("  {:<26} {:>11} {:>9.3f} {:>9.3f} {:>14}\n", "Linux kernel (loopback)", kernel->handshakes,
               kernel->wall_seconds, kernel->cpu_seconds, with_commas(o.kernel_hs));
    fmt::print("\n  synack / kernel: {:.2f}x\n", o.kernel_hs > 0 ? o.rate_hs / o.kernel_hs : 0.0);
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
  if (!o.memory.empty()) {
    fmt::print("\n  memory: RSS growth (/proc/self/statm, after malloc_trim(0)) / count\n");
    for (const auto& m : o.memory) {
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
  for (const auto& n : o.plan.notes) fmt::print("  note: {}\n", n);
}

int run(const BenchArgs& args) {
  RunPlan plan = plan_run(args);
  Progress progress(::isatty(STDERR_FILENO) == 1);
  const RateResult rate = run_rate(plan.pair, plan.rate, progress);
  const double rate_hs = rate.wall_seconds > 0 ? static_cast<double>(rate.handshakes) / rate.wall_seconds : 0;
  if (rate.stopped_by_time)
    plan.notes.push_back(fmt::format("stopped by --seconds after {} handshakes", rate.handshakes));
  if (rate.resident < plan.rate.resident) {
    plan.notes.push_back(fmt::format("only {} of {} resident connections were established", rate.resident,
                                     plan.rate.resident));
  }
  const std::optional<KernelBaselineResult> kernel = kernel_phase(args, rate);
  const double kernel_hs = kernel && kernel->ran && kernel->wall_seconds > 0
                               ? static_cast<double>(kernel->handshakes) / kernel->wall_seconds
                               : 0;
  std::vector<MemoryResult> memory;
  if (args.memory_count > 0) memory = measure_memory(plan.pair, args.memory_count, plan.limits, progress);

  const bool incomplete = rate.handshakes + rate.failed < plan.rate.connections && !rate.stopped_by_time;
  const int code = rate.stalled || incomplete ? kExitFailure : kExitOk;
  if (rate.stalled)
    plan.notes.emplace_back("the synack run stalled: ten virtual minutes without a completed handshake");
  const Outcome outcome{args, plan, rate, kernel, memory, rate_hs, kernel_hs};
  if (args.json) {
    print_json(outcome);
  } else {
    print_text(outcome);
  }
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
  sub->add_option("--ports", a->ports,
                  "Client ports: explicit (the bench walks the tuples) or ephemeral (connect() with port 0 "
                  "draws them)")
      ->check(CLI::IsMember({"explicit", "ephemeral"}))
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
