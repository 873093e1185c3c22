// TimerWheel at 10^3, 10^5 and 10^6 armed timers (deadlines spread over the next 10 s, as retransmission
// timers are): moving a timer, cancel + re-arm, next_deadline after a change, and expire() stepping time
// in 1 ms steps while every fired timer is re-armed (steady size). The cost per operation should not
// grow with the count. Baseline in the same run: the scan of every slot that Stack::next_deadline() does
// today (a vector of deadlines and a min over it).
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "synack/stack/timer_wheel.hpp"

namespace {

using synack::Instant;
using synack::stack::TimerWheel;

constexpr std::int64_t kSpread = 10'000'000'000;  // 10 s
constexpr std::size_t kOps = 1U << 16U;           // precomputed operations, cycled

struct Lcg {
  std::uint64_t s = 0x9E3779B97F4A7C15ULL;
  std::uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 11U;
  }
};

struct Op {
  TimerWheel::Id id;
  std::int64_t delta;
};

std::vector<Op> make_ops(std::size_t n, Lcg& rng) {
  std::vector<Op> ops(kOps);
  for (Op& op : ops) {
    op.id = static_cast<TimerWheel::Id>(rng.next() % n);
    op.delta = static_cast<std::int64_t>(rng.next() % kSpread);
  }
  return ops;
}

// A wheel holding n timers at random deadlines in [now, now + 10 s).
TimerWheel make_wheel(std::size_t n, Instant now, Lcg& rng) {
  TimerWheel w(now);
  w.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    w.schedule(static_cast<TimerWheel::Id>(i),
               now + synack::Duration(static_cast<std::int64_t>(rng.next() % kSpread)));
  }
  return w;
}

const Instant kStart = Instant::from_nanoseconds(1'000'000'000);

void BM_TimerWheel_Schedule(benchmark::State& state) {  // moves an armed timer to a new deadline
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  TimerWheel w = make_wheel(n, kStart, rng);
  const auto ops = make_ops(n, rng);
  std::size_t i = 0;
  for (auto _ : state) {
    const Op& op = ops[i++ % kOps];
    w.schedule(op.id, kStart + synack::Duration(op.delta));
  }
  benchmark::DoNotOptimize(w.size());
  state.SetItemsProcessed(state.iterations());
}

void BM_TimerWheel_CancelAndRearm(benchmark::State& state) {
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  TimerWheel w = make_wheel(n, kStart, rng);
  const auto ops = make_ops(n, rng);
  std::size_t i = 0;
  for (auto _ : state) {
    const Op& op = ops[i++ % kOps];
    w.cancel(op.id);
    w.schedule(op.id, kStart + synack::Duration(op.delta));
  }
  benchmark::DoNotOptimize(w.size());
  state.SetItemsProcessed(state.iterations());
}

// The driver loop's pattern: a timer moves, then the next deadline is asked for.
void BM_TimerWheel_ScheduleThenNextDeadline(benchmark::State& state) {
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  TimerWheel w = make_wheel(n, kStart, rng);
  const auto ops = make_ops(n, rng);
  std::size_t i = 0;
  for (auto _ : state) {
    const Op& op = ops[i++ % kOps];
    w.schedule(op.id, kStart + synack::Duration(op.delta));
    benchmark::DoNotOptimize(w.next_deadline());
  }
  state.SetItemsProcessed(state.iterations());
}

// Worst realistic case for the earliest slot: the timer holding the minimum is the one that moves
// (acknowledgements arrive in send order), so the earliest slot keeps losing its minimum. Timers are
// armed in shuffled order, so every slot starts unsorted; each moved timer goes behind all the others.
void BM_TimerWheel_MoveEarliestThenNextDeadline(benchmark::State& state) {
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto spacing = kSpread / static_cast<std::int64_t>(n);
  std::vector<TimerWheel::Id> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<TimerWheel::Id>(i);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.next() % (i + 1)]);
  TimerWheel w(kStart);
  for (const TimerWheel::Id id : order) w.schedule(id, kStart + synack::Duration(id * spacing));
  std::uint64_t k = 0;
  for (auto _ : state) {
    const auto id = static_cast<TimerWheel::Id>(k % n);  // the holder of the minimum
    w.schedule(id, kStart + synack::Duration(static_cast<std::int64_t>(n + k) * spacing));
    ++k;
    benchmark::DoNotOptimize(w.next_deadline());
  }
  state.SetItemsProcessed(state.iterations());
}

// expire() in 1 ms steps; each fired timer is re-armed 0-10 s ahead, so the count stays n. Items are
// fired timers: the time per item is the cost of firing plus the share of slot walking and cascades.
void BM_TimerWheel_Expire(benchmark::State& state) {
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  TimerWheel w = make_wheel(n, kStart, rng);
  const auto ops = make_ops(n, rng);
  Instant now = kStart;
  std::size_t i = 0;
  std::int64_t fired = 0;
  for (auto _ : state) {
    now += synack::Duration(1'000'000);
    w.expire(now, [&](TimerWheel::Id id) {
      w.schedule(id, now + synack::Duration(ops[i++ % kOps].delta));
      ++fired;
    });
  }
  state.SetItemsProcessed(fired);
  state.counters["fired_per_step"] =
      benchmark::Counter(static_cast<double>(fired) / static_cast<double>(state.iterations()));
}

// Baseline: today's Stack::next_deadline(), a min over every slot's deadline.
void BM_Baseline_ScanNextDeadline(benchmark::State& state) {
  Lcg rng;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<Instant> deadlines(n);
  for (Instant& d : deadlines) d = kStart + synack::Duration(static_cast<std::int64_t>(rng.next() % kSpread));
  const auto ops = make_ops(n, rng);
  std::size_t i = 0;
  for (auto _ : state) {
    const Op& op = ops[i++ % kOps];
    deadlines[op.id] = kStart + synack::Duration(op.delta);
    benchmark::DoNotOptimize(*std::min_element(deadlines.begin(), deadlines.end()));
  }
  state.SetItemsProcessed(state.iterations());
}

void counts(benchmark::internal::Benchmark* b) {
  b->Arg(1'000)->Arg(100'000)->Arg(1'000'000);
}

BENCHMARK(BM_TimerWheel_Schedule)->Apply(counts);
BENCHMARK(BM_TimerWheel_CancelAndRearm)->Apply(counts);
BENCHMARK(BM_TimerWheel_ScheduleThenNextDeadline)->Apply(counts);
BENCHMARK(BM_TimerWheel_MoveEarliestThenNextDeadline)->Apply(counts);
BENCHMARK(BM_TimerWheel_Expire)->Apply(counts);
BENCHMARK(BM_Baseline_ScanNextDeadline)->Apply(counts);

}  // namespace
