// `synack bench`'s memory measurements: RSS growth per idle established connection, per half-open entry
// and per TIME-WAIT record, each in a fresh Pair (bench_pair.hpp), /proc/self/statm after malloc_trim(0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_pair.hpp"

namespace synack::cli::bench {

/// One measurement: RSS growth of one side's stack divided by the entries it holds.
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

/// What the memory phase may use: the bench's budget, in connections and bytes.
struct MemoryLimits {
  std::uint64_t allowed_connections = 0;  ///< connections the budget holds (both sides counted)
  std::uint64_t budget_bytes = 0;
  std::uint64_t per_connection = 0;  ///< the estimate `allowed_connections` was computed with
};

/// The three measurements with `count` entries each (capped to the limits, and said so), in stacks
/// configured as `config` with default queues.
[[nodiscard]] std::vector<MemoryResult> measure_memory(const PairConfig& config, std::uint64_t count,
                                                       const MemoryLimits& limits, Progress& progress);

/// One measurement as the JSON document's memory.<what> object (docs/cli.md).
[[nodiscard]] nlohmann::json memory_json(const MemoryResult& m);

}  // namespace synack::cli::bench
