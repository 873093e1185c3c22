#include "bench_memory.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace synack::cli::bench {

namespace {

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

}  // namespace

std::vector<MemoryResult> measure_memory(const PairConfig& config, std::uint64_t count,
                                         const MemoryLimits& limits, Progress& progress) {
  PairConfig mc = config;
  mc.client_addresses = client_addresses_for(count + kDefaultQueue);
  mc.queue = kDefaultQueue;
  mc.syn_queue = kDefaultQueue;
  const auto cap = [&](std::uint64_t n, std::uint64_t connections_each, std::string& why) {
    const std::uint64_t most = std::max<std::uint64_t>(limits.allowed_connections / connections_each, 1);
    if (n <= most) return n;
    why = fmt::format("capped from {} by the memory budget ({} MiB; {} B per connection)", n,
                      limits.budget_bytes >> 20U, limits.per_connection);
    return most;
  };
  std::vector<MemoryResult> memory;
  // A cap by the budget comes first in `capped`, then what the measurement itself found.
  const auto add = [&](MemoryResult m, const std::string& why) {
    if (!why.empty()) m.capped = why + (m.capped.empty() ? "" : "; " + m.capped);
    m.requested = count;
    memory.push_back(std::move(m));
  };
  std::string why_est;
  std::string why_half;
  std::string why_tw;
  const std::uint64_t n_est = cap(count, 2, why_est);
  const std::uint64_t n_half = cap(count, 1, why_half);
  const std::uint64_t n_tw = cap(count, 1, why_tw);
  progress.update("memory: established", 0, n_est);
  MemoryResult est = measure_established(mc, n_est);
  if (est.capped.empty()) est.capped = why_est;
  add(std::move(est), "");
  progress.update("memory: half-open", 0, n_half);
  add(measure_half_open(mc, n_half), why_half);
  progress.update("memory: TIME-WAIT", 0, n_tw);
  add(measure_time_wait(mc, n_tw), why_tw);
  progress.finish();
  return memory;
}

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

}  // namespace synack::cli::bench
