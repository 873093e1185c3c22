#include "synack/stack/timer_wheel.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "synack/random.hpp"

namespace synack {
void PrintTo(Instant t, std::ostream* os) {
  *os << t.nanoseconds() << " ns";
}
}  // namespace synack

namespace synack::stack {
namespace {

using Id = TimerWheel::Id;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kTick = std::int64_t{1} << TimerWheel::kTickShift;
constexpr std::int64_t kDay = 86'400 * kSec;

Instant at(std::int64_t ns) {
  return Instant::from_nanoseconds(ns);
}

std::vector<Id> expire(TimerWheel& w, std::int64_t now_ns) {
  std::vector<Id> fired;
  w.expire(at(now_ns), [&](Id id) { fired.push_back(id); });
  return fired;
}

TEST(TimerWheel, Empty_NextDeadlineIsMax) {
  TimerWheel w;
  EXPECT_EQ(w.next_deadline(), Instant::max());
  EXPECT_EQ(w.size(), 0U);
  EXPECT_TRUE(expire(w, kDay).empty());
  EXPECT_EQ(w.next_deadline(), Instant::max());
}

TEST(TimerWheel, ExactDeadline_NotFiredOneNanosecondEarly) {
  TimerWheel w;
  w.schedule(4, at(kSec));
  w.schedule(9, at(3 * kSec));
  EXPECT_EQ(w.next_deadline(), at(kSec));  // exact, not the start or end of its 1 ms slot
  EXPECT_TRUE(expire(w, kSec - 1).empty());
  EXPECT_EQ(expire(w, kSec), std::vector<Id>{4});
  EXPECT_FALSE(w.armed(4));
  EXPECT_EQ(w.next_deadline(), at(3 * kSec));
  EXPECT_TRUE(expire(w, 3 * kSec - 1).empty());
  EXPECT_EQ(expire(w, 3 * kSec), std::vector<Id>{9});
  EXPECT_EQ(w.size(), 0U);
}

TEST(TimerWheel, SameSlotDifferentNanoseconds_FireSeparately) {
  TimerWheel w;
  w.schedule(1, at(5 * kTick + 300));
  w.schedule(2, at(5 * kTick + 100));
  w.schedule(3, at(5 * kTick + 200));
  EXPECT_EQ(w.next_deadline(), at(5 * kTick + 100));
  EXPECT_EQ(expire(w, 5 * kTick + 150), std::vector<Id>{2});
  EXPECT_EQ(w.next_deadline(), at(5 * kTick + 200));
  EXPECT_TRUE(expire(w, 5 * kTick + 199).empty());
  EXPECT_EQ(expire(w, 5 * kTick + 300), (std::vector<Id>{3, 1}));
}

TEST(TimerWheel, CancelledTimer_NeverFires) {
  TimerWheel w;
  w.schedule(1, at(10 * kMs));
  w.schedule(2, at(10 * kMs));
  w.cancel(1);
  EXPECT_FALSE(w.armed(1));
  EXPECT_EQ(w.deadline(1), Instant::max());
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(expire(w, kSec), std::vector<Id>{2});
}

TEST(TimerWheel, CancelUnarmedId_IsHarmless) {
  TimerWheel w;
  w.cancel(0);
  w.cancel(123456);  // beyond the storage
  w.schedule(3, at(kMs));
  w.cancel(3);
  w.cancel(3);
  EXPECT_EQ(w.size(), 0U);
  EXPECT_FALSE(w.armed(123456));
  EXPECT_EQ(w.next_deadline(), Instant::max());
}

TEST(TimerWheel, ScheduleMaxInstant_Cancels) {
  TimerWheel w;
  w.schedule(7, at(kSec));
  w.schedule(7, Instant::max());
  EXPECT_FALSE(w.armed(7));
  EXPECT_EQ(w.size(), 0U);
  w.schedule(8, Instant::max());  // on an unarmed id: nothing
  EXPECT_EQ(w.size(), 0U);
  EXPECT_TRUE(expire(w, 2 * kSec).empty());
}

TEST(TimerWheel, Reschedule_MovesTimerAndIdIsReusable) {
  TimerWheel w;
  w.schedule(5, at(kSec));
  w.schedule(5, at(200 * kMs));  // earlier
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(w.deadline(5), at(200 * kMs));
  EXPECT_EQ(w.next_deadline(), at(200 * kMs));
  w.schedule(5, at(2 * kSec));  // later
  EXPECT_TRUE(expire(w, kSec).empty());
  EXPECT_EQ(expire(w, 2 * kSec), std::vector<Id>{5});
  w.schedule(5, at(3 * kSec));  // reused after firing
  EXPECT_EQ(expire(w, 3 * kSec), std::vector<Id>{5});
}

TEST(TimerWheel, DeadlineEqualToNow_Fires) {
  TimerWheel w(at(kSec));
  w.schedule(1, at(kSec));
  EXPECT_EQ(w.next_deadline(), at(kSec));
  EXPECT_EQ(expire(w, kSec), std::vector<Id>{1});
}

TEST(TimerWheel, PastDeadline_ReportedExactlyAndFiresAtNextExpire) {
  TimerWheel w;
  EXPECT_TRUE(expire(w, 10 * kSec).empty());
  w.schedule(1, at(3 * kSec));  // before the wheel's time
  w.schedule(2, at(10 * kSec + 5));
  w.schedule(3, at(-7 * kSec));
  EXPECT_EQ(w.next_deadline(), at(-7 * kSec));
  EXPECT_EQ(expire(w, 10 * kSec), (std::vector<Id>{3, 1}));
  EXPECT_EQ(w.next_deadline(), at(10 * kSec + 5));
}

TEST(TimerWheel, TimeGoingBackwards_FiresOnlyWhatIsDue) {
  TimerWheel w;
  EXPECT_TRUE(expire(w, 10 * kSec).empty());
  w.schedule(1, at(9 * kSec));
  w.schedule(2, at(10 * kSec + 1));
  EXPECT_EQ(expire(w, 8 * kSec), std::vector<Id>{});
  EXPECT_EQ(expire(w, 9 * kSec), std::vector<Id>{1});
  EXPECT_EQ(w.now(), at(10 * kSec));
  EXPECT_EQ(expire(w, 10 * kSec + 1), std::vector<Id>{2});
}

TEST(TimerWheel, FiresInDeadlineThenIdOrder) {
  TimerWheel w;
  w.schedule(9, at(5 * kSec));
  w.schedule(3, at(70 * kMs));
  w.schedule(1, at(70 * kMs));
  w.schedule(4, at(-1));
  w.schedule(2, at(2 * kDay));
  w.schedule(0, at(70 * kMs + 1));
  EXPECT_EQ(expire(w, 3 * kDay), (std::vector<Id>{4, 1, 3, 0, 9, 2}));
}

TEST(TimerWheel, RearmInCallback_FiresAtNextExpireNotThisOne) {
  TimerWheel w;
  w.schedule(1, at(kSec));
  int calls = 0;
  w.expire(at(2 * kSec), [&](Id id) {
    ++calls;
    EXPECT_FALSE(w.armed(id));
    w.schedule(id, at(kSec));  // already due again, but only at the next expire()
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(w.next_deadline(), at(kSec));
  w.expire(at(2 * kSec), [&](Id id) { w.schedule(id, at(4 * kSec)); });
  EXPECT_EQ(w.deadline(1), at(4 * kSec));
  EXPECT_TRUE(expire(w, 4 * kSec - 1).empty());
  EXPECT_EQ(expire(w, 4 * kSec), std::vector<Id>{1});
}

TEST(TimerWheel, CallbackCancelsOtherDueTimer_ItNeverFires) {
  TimerWheel w;
  w.schedule(1, at(kSec));
  w.schedule(2, at(kSec + 1));
  w.schedule(3, at(kSec + 2));
  std::vector<Id> fired;
  w.expire(at(2 * kSec), [&](Id id) {
    fired.push_back(id);
    if (id == 1) {
      w.cancel(2);
      w.schedule(3, at(5 * kSec));
      EXPECT_EQ(w.next_deadline(), at(5 * kSec));
    }
  });
  EXPECT_EQ(fired, std::vector<Id>{1});
  EXPECT_EQ(w.size(), 1U);
  EXPECT_EQ(w.next_deadline(), at(5 * kSec));
}

TEST(TimerWheel, BeyondOverflowHorizon_FiresExactly) {
  TimerWheel w;
  const std::int64_t year = 365 * kDay;
  w.schedule(1, at(year + 17));
  w.schedule(2, at(100 * kDay + 3));
  w.schedule(3, at(12 * kDay));  // inside the horizon
  w.schedule(4, at(std::numeric_limits<std::int64_t>::max() - 1));
  EXPECT_EQ(w.next_deadline(), at(12 * kDay));
  EXPECT_EQ(expire(w, 12 * kDay), std::vector<Id>{3});
  EXPECT_EQ(w.next_deadline(), at(100 * kDay + 3));
  // Walk up to it in 10-day steps, then a nanosecond short, then exactly.
  for (std::int64_t t = 20 * kDay; t < 100 * kDay; t += 10 * kDay) EXPECT_TRUE(expire(w, t).empty());
  EXPECT_TRUE(expire(w, 100 * kDay + 2).empty());
  EXPECT_EQ(expire(w, 100 * kDay + 3), std::vector<Id>{2});
  EXPECT_TRUE(expire(w, year + 16).empty());  // one huge jump
  EXPECT_EQ(w.next_deadline(), at(year + 17));
  EXPECT_EQ(expire(w, year + 17), std::vector<Id>{1});
  EXPECT_EQ(w.next_deadline(), at(std::numeric_limits<std::int64_t>::max() - 1));
  EXPECT_EQ(expire(w, std::numeric_limits<std::int64_t>::max() - 1), std::vector<Id>{4});
}

TEST(TimerWheel, NegativeOrigin_WorksAcrossZero) {
  TimerWheel w(at(-3 * kSec));
  w.schedule(1, at(-kSec));
  w.schedule(2, at(kSec));
  w.schedule(3, at(-1));
  w.schedule(4, at(0));
  EXPECT_EQ(w.next_deadline(), at(-kSec));
  EXPECT_EQ(expire(w, -1), (std::vector<Id>{1, 3}));
  EXPECT_EQ(expire(w, 0), std::vector<Id>{4});
  EXPECT_EQ(expire(w, kSec), std::vector<Id>{2});
}

TEST(TimerWheel, LargeId_GrowsStorageToThatId) {
  TimerWheel w;
  w.schedule(1'000'000, at(kSec));
  EXPECT_TRUE(w.armed(1'000'000));
  EXPECT_FALSE(w.armed(999'999));
  EXPECT_EQ(expire(w, kSec), std::vector<Id>{1'000'000});
}

// Many timers in one 1 ms slot: next_deadline stays exact after every schedule and every cancel of the
// current minimum, and they fire one by one at their own nanosecond.
TEST(TimerWheel, ManyTimersInOneSlot_NextDeadlineExactThroughout) {
  TimerWheel w;
  constexpr Id kN = 20'000;
  const std::int64_t base = 40 * kTick;
  std::int64_t min = std::numeric_limits<std::int64_t>::max();
  for (Id i = 0; i < kN; ++i) {
    const std::int64_t d = base + static_cast<std::int64_t>((i * 7919U) % kN) * 50;  // scattered in the slot
    w.schedule(i, at(d));
    min = std::min(min, d);
    ASSERT_EQ(w.next_deadline(), at(min));
  }
  // Cancel the current minimum 1,000 times (the sorted slot answers each at once).
  for (int k = 0; k < 1000; ++k) {
    const Instant m = w.next_deadline();
    const Id id = static_cast<Id>((((m.nanoseconds() - base) / 50) * 17'679) % kN);  // 7919^-1 mod kN
    ASSERT_EQ(w.deadline(id), m);
    w.cancel(id);
    ASSERT_GT(w.next_deadline(), m);
  }
  std::size_t fired = 0;
  while (w.size() > 0) {
    const Instant m = w.next_deadline();
    const auto f = expire(w, m.nanoseconds());
    ASSERT_EQ(f.size(), 1U);
    ASSERT_EQ(w.deadline(f[0]), Instant::max());
    ++fired;
  }
  EXPECT_EQ(fired, kN - 1000U);
}

// A simple reference: id -> deadline, with the earliest found by a scan.
struct Reference {
  std::map<Id, std::int64_t> armed;
  [[nodiscard]] Instant next() const {
    std::int64_t m = std::numeric_limits<std::int64_t>::max();
    for (const auto& [id, d] : armed) m = std::min(m, d);
    return armed.empty() ? Instant::max() : at(m);
  }
};

// The project's generator with signed bounds (every bound here is positive).
struct Rng {
  synack::Rng g;
  std::int64_t below(std::int64_t n) {
    return static_cast<std::int64_t>(g.below(static_cast<std::uint64_t>(n)));
  }
};

// A deadline relative to now: in the past, equal, the same tick, near, across level boundaries, far,
// beyond the overflow horizon, or one of a few shared values (ties).
std::int64_t pick_deadline(Rng& r, std::int64_t now, const std::vector<std::int64_t>& shared) {
  switch (r.below(10)) {
    case 0:
      return now - r.below(3 * kSec);
    case 1:
      return now;
    case 2:
      return now + r.below(kTick);
    case 3:
      return now + r.below(100 * kMs);
    case 4:
      return now + r.below(10 * kSec);
    case 5:
      return now + r.below(2 * kDay);
    case 6:
      return now + 13 * kDay + r.below(400 * kDay);
    case 7:
      return shared[static_cast<std::size_t>(r.below(static_cast<std::int64_t>(shared.size())))];
    case 8:
      return ((now >> 26U) + 1 + r.below(3)) << 26U;  // a level-1 slot boundary
    default:
      return now + r.below(kSec);
  }
}

std::int64_t pick_step(Rng& r, std::int64_t now, Instant next) {
  switch (r.below(9)) {
    case 0:
      return 0;
    case 1:
      return r.below(1000);
    case 2:
      return r.below(kTick * 3);
    case 3:
      return (std::int64_t{1} << (20U + 6U * static_cast<unsigned>(r.below(5)))) + r.below(3) - 1;
    case 4:
      return r.below(20 * kDay);
    case 5:
      return next == Instant::max() ? r.below(kSec) : std::max<std::int64_t>(0, next.nanoseconds() - now);
    case 6:
      return next == Instant::max() ? 1 : std::max<std::int64_t>(0, next.nanoseconds() - now - 1);
    case 7:
      return r.below(10) == 0 ? r.below(500 * kDay) : r.below(kDay);
    default:
      return r.below(200 * kMs);
  }
}

void run_differential(std::uint64_t seed, std::int64_t origin, Id ids, int ops) {
  Rng r{synack::Rng(seed)};
  TimerWheel w(at(origin));
  Reference ref;
  std::int64_t now = origin;
  std::vector<std::int64_t> shared;
  for (int i = 0; i < 8; ++i) shared.push_back(origin + r.below(20 * kSec));
  std::size_t total_fired = 0;
  for (int op = 0; op < ops; ++op) {
    const auto kind = r.below(100);
    const auto id = static_cast<Id>(r.below(ids));
    if (kind < 50) {
      const std::int64_t d = pick_deadline(r, now, shared);
      w.schedule(id, at(d));
      ref.armed[id] = d;
    } else if (kind < 62) {
      w.cancel(id);
      ref.armed.erase(id);
    } else if (kind < 64) {
      w.schedule(id, Instant::max());
      ref.armed.erase(id);
    } else if (kind < 85) {
      const std::int64_t step = pick_step(r, now, ref.next());
      if (now < std::numeric_limits<std::int64_t>::max() / 2) now += step;  // steps are < 2^56 ns
      std::set<Id> touched;  // changed by a callback during this expire(): must not fire in it
      std::vector<std::pair<std::int64_t, Id>> fired;
      w.expire(at(now), [&](Id f) {
        const auto it = ref.armed.find(f);
        ASSERT_NE(it, ref.armed.end()) << "op " << op << " fired unarmed id " << f;
        ASSERT_LE(it->second, now) << "op " << op << " fired id " << f << " early";
        ASSERT_EQ(touched.count(f), 0U) << "op " << op << " fired id " << f << " changed in a callback";
        fired.emplace_back(it->second, f);
        ref.armed.erase(it);
        // Callbacks: sometimes re-arm this id (possibly already due), cancel or move another.
        const auto act = r.below(8);
        if (act == 0) {
          const std::int64_t d = r.below(2) == 0 ? now - r.below(kSec) : now + 1 + r.below(kSec);
          w.schedule(f, at(d));
          ref.armed[f] = d;
          touched.insert(f);
        } else if (act == 1) {
          const auto other = static_cast<Id>(r.below(ids));
          w.cancel(other);
          ref.armed.erase(other);
          touched.insert(other);
        } else if (act == 2) {
          const auto other = static_cast<Id>(r.below(ids));
          const std::int64_t d = pick_deadline(r, now, shared);
          w.schedule(other, at(d));
          ref.armed[other] = d;
          touched.insert(other);
        }
        ASSERT_EQ(w.next_deadline(), ref.next()) << "op " << op << " inside a callback";
      });
      for (std::size_t i = 1; i < fired.size(); ++i) ASSERT_LT(fired[i - 1], fired[i]) << "op " << op;
      for (const auto& [a, d] : ref.armed) {
        ASSERT_TRUE(d > now || touched.count(a) != 0) << "op " << op << ": id " << a << " due, not fired";
      }
      total_fired += fired.size();
    } else {
      const auto probe = static_cast<Id>(r.below(ids));
      const auto it = ref.armed.find(probe);
      ASSERT_EQ(w.armed(probe), it != ref.armed.end()) << "op " << op;
      ASSERT_EQ(w.deadline(probe), it != ref.armed.end() ? at(it->second) : Instant::max()) << "op " << op;
    }
    ASSERT_EQ(w.size(), ref.armed.size()) << "op " << op;
    ASSERT_EQ(w.next_deadline(), ref.next()) << "op " << op;
  }
  EXPECT_GT(total_fired, static_cast<std::size_t>(ops) / 20);  // the test exercised firing
}

TEST(TimerWheel, Randomised_MatchesReference_FewIds) {
  run_differential(1, 0, 16, 20'000);
}
TEST(TimerWheel, Randomised_MatchesReference_ManyIds) {
  run_differential(2, 0, 2000, 40'000);
}
TEST(TimerWheel, Randomised_MatchesReference_NegativeOrigin) {
  run_differential(3, -50 * kDay - 12345, 300, 30'000);
}
TEST(TimerWheel, Randomised_MatchesReference_OddOrigin) {
  run_differential(4, 987'654'321'123, 300, 30'000);
}

}  // namespace
}  // namespace synack::stack
