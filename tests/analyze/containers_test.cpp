// The flow table's containers: the flat map (an index of small slots over dense entries) and the store of
// final reports (blocks that never move).
#include <cstddef>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "flat_map.hpp"
#include "report_store.hpp"

namespace synack::analyze::detail {
namespace {

struct SpreadHash {
  std::size_t operator()(std::uint64_t k) const noexcept { return (k + 1) * 0x9E3779B97F4A7C15ULL; }
};
/// Every key in one probe chain, and the same tag: only the key compare tells them apart.
struct CollidingHash {
  std::size_t operator()(std::uint64_t) const noexcept { return 7; }
};

template <typename Hash>
void fill(FlatMap<std::uint64_t, std::uint64_t, Hash>& map, std::uint64_t n) {
  for (std::uint64_t k = 0; k < n; ++k) {
    auto [value, inserted] = map.try_emplace(k);
    ASSERT_TRUE(inserted) << k;
    EXPECT_EQ(value, 0U) << "a new entry is value-initialised";
    value = k * 10 + 1;
  }
}

TEST(FlatMap, Growing_FindsEveryKeyAndNoOther) {
  FlatMap<std::uint64_t, std::uint64_t, SpreadHash> map;
  fill(map, 5000);  // past several doublings of the 1,024-slot index
  EXPECT_EQ(map.size(), 5000U);
  for (std::uint64_t k = 0; k < 5000; ++k) {
    const auto* v = map.find(k);
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(*v, k * 10 + 1);
  }
  EXPECT_EQ(map.find(5000), nullptr);
  auto [again, inserted] = map.try_emplace(42);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(again, 421U);
  EXPECT_EQ(map.size(), 5000U);
}

TEST(FlatMap, CollidingHashes_KeysStillApart) {
  FlatMap<std::uint64_t, std::uint64_t, CollidingHash> map;
  fill(map, 300);
  for (std::uint64_t k = 0; k < 300; ++k) {
    ASSERT_NE(map.find(k), nullptr) << k;
    EXPECT_EQ(*map.find(k), k * 10 + 1);
  }
  EXPECT_EQ(map.find(300), nullptr);
}

TEST(FlatMap, EraseIf_KeepsTheRestFindableInInsertionOrder) {
  FlatMap<std::uint64_t, std::uint64_t, SpreadHash> map;
  fill(map, 3000);
  std::size_t asked = 0;
  map.erase_if([&asked](std::uint64_t k, std::uint64_t&) {
    ++asked;
    return k % 2 == 0;
  });
  EXPECT_EQ(asked, 3000U);
  EXPECT_EQ(map.size(), 1500U);
  for (std::uint64_t k = 0; k < 3000; ++k) {
    const auto* v = map.find(k);
    if (k % 2 == 0) {
      EXPECT_EQ(v, nullptr) << k;
    } else {
      ASSERT_NE(v, nullptr) << k;
      EXPECT_EQ(*v, k * 10 + 1);
    }
  }
  std::vector<std::uint64_t> order;
  map.for_each([&order](std::uint64_t k, std::uint64_t&) { order.push_back(k); });
  ASSERT_EQ(order.size(), 1500U);
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], 2 * i + 1);
  // Inserting after a sweep reuses the packed array.
  auto [value, inserted] = map.try_emplace(0);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(value, 0U);
}

TEST(ReportStore, At_MakesPlacesThatNeverMove_TakeKeepsPlaceOrder) {
  ReportStore store;
  ConnectionReport& first = store.at(0);
  first.number = 1;
  first.reason = "kept across growth";
  store.at(4999).number = 5000;  // five blocks; the places between are made too
  EXPECT_EQ(store.size(), 5000U);
  EXPECT_EQ(&store[0], &first) << "a report's place never moves";
  for (std::size_t i = 1; i + 1 < 5000; ++i) store[i].number = i + 1;
  const auto reports = store.take();
  ASSERT_EQ(reports.size(), 5000U);
  EXPECT_EQ(reports.front().reason.text(), "kept across growth");
  for (std::size_t i = 0; i < reports.size(); ++i) ASSERT_EQ(reports[i].number, i + 1);
  EXPECT_EQ(store.size(), 0U);
  EXPECT_EQ(store.at(0).number, 0U) << "empty after take(): a fresh report";
}

TEST(ReportStore, Reserve_MovesWhatIsThereOnce_PlacesInsideNeverMove_TakeHandsTheVectorOver) {
  ReportStore store;
  store.at(1500).number = 1501;  // two blocks before the estimate comes
  for (std::size_t i = 0; i < 1500; ++i) store[i].number = i + 1;
  store.reserve(3000);
  EXPECT_EQ(store.size(), 1501U);
  EXPECT_EQ(store[1500].number, 1501U) << "the reports made before reserve() are kept, in place order";
  ConnectionReport& inside = store.at(2999);
  inside.reason = "made inside the reserved room";
  store.at(2000).number = 2001;
  EXPECT_EQ(&store[2999], &inside) << "a report's place never moves";
  store.reserve(10000);  // once only
  EXPECT_EQ(&store[2999], &inside);
  const ConnectionReport* room = &store[0];
  const auto reports = store.take();
  ASSERT_EQ(reports.size(), 3000U);
  EXPECT_EQ(reports.data(), room) << "everything fitted: the reports stay where they were written";
  EXPECT_EQ(reports[2999].reason.text(), "made inside the reserved room");
  EXPECT_EQ(reports[2000].number, 2001U);
  EXPECT_EQ(store.size(), 0U);
}

TEST(ReportStore, ReserveTooLow_ThePlacesPastItGoToBlocks_TakeKeepsPlaceOrder) {
  ReportStore store;
  store.reserve(100);
  ConnectionReport& head = store.at(99);
  ConnectionReport& past = store.at(2500);  // past the room reserved: blocks
  EXPECT_EQ(&store[99], &head);
  EXPECT_EQ(&store[2500], &past);
  store.at(2600);
  EXPECT_EQ(&store[2500], &past) << "a report's place never moves";
  for (std::size_t i = 0; i < store.size(); ++i) store[i].number = i + 1;
  const auto reports = store.take();
  ASSERT_EQ(reports.size(), 2601U);
  for (std::size_t i = 0; i < reports.size(); ++i) ASSERT_EQ(reports[i].number, i + 1);
}

TEST(Reason, EstablishedSentence_WrittenWhenRead_ClausesFollowIt) {
  Reason r = Reason::established_in(std::chrono::microseconds(3500));
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(r.text(), "SYN, SYN-ACK and ACK in 3.500 ms");
  r += "; 5 bytes of data on the SYN";
  EXPECT_EQ(r.text(), "SYN, SYN-ACK and ACK in 3.500 ms; 5 bytes of data on the SYN");
  std::string out = "(";
  r.append_to(out);
  EXPECT_EQ(out, "(SYN, SYN-ACK and ACK in 3.500 ms; 5 bytes of data on the SYN");
  EXPECT_EQ(r, Reason("SYN, SYN-ACK and ACK in 3.500 ms; 5 bytes of data on the SYN")) << "the same sentence";
  EXPECT_TRUE(Reason().empty());
  EXPECT_EQ(Reason("RST/ACK").text(), "RST/ACK");
  EXPECT_FALSE(Reason("RST/ACK") == Reason::established_in(std::chrono::microseconds(1)));
}

}  // namespace
}  // namespace synack::analyze::detail
