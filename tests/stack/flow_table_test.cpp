#include "synack/stack/flow_table.hpp"

#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace synack::stack {
namespace {

wire::FourTuple t(std::uint16_t port, std::uint32_t remote = 0x0A000002U) {
  return {{wire::IpAddress::v4(0x0A000001U), 80}, {wire::IpAddress::v4(remote), port}};
}

/// The owners of the flows: owner `i` (FlowRef::index) holds the tuple made from ports[i], as a Stack's
/// slots hold their tuples.
struct Owners {
  FlowTable table{42};
  std::vector<std::uint16_t> ports;
  [[nodiscard]] bool is(FlowRef r, std::uint16_t port) const {
    return r.index < ports.size() && t(ports[r.index]) == t(port);
  }
  std::optional<FlowRef> find(std::uint16_t port) const {
    return table.find(table.hash(t(port)), [&](FlowRef r) { return is(r, port); });
  }
  /// Returns the owner's index.
  std::uint32_t insert(std::uint16_t port, FlowRef::Kind kind = FlowRef::Kind::connection) {
    const auto index = static_cast<std::uint32_t>(ports.size());
    ports.push_back(port);
    table.insert(table.hash(t(port)), FlowRef{kind, index, 0});
    return index;
  }
  bool erase(std::uint16_t port) {
    return table.erase(table.hash(t(port)), [&](FlowRef r) { return is(r, port); });
  }
};

TEST(FlowTable, Empty_AllocatesNothing) {
  FlowTable table(1);
  EXPECT_EQ(table.capacity(), 0U);
  EXPECT_FALSE(table.find(table.hash(t(1)), [](FlowRef) { return true; }));
  EXPECT_FALSE(table.erase(table.hash(t(1)), [](FlowRef) { return true; }));
}

TEST(FlowTable, InsertFindEraseWithGrowth) {
  Owners o;
  for (std::uint16_t p = 1; p <= 1000; ++p) o.insert(p);
  EXPECT_EQ(o.table.size(), 1000U);
  EXPECT_LE(o.table.capacity(), 2048U);  // grows past 6.5 entries per 7-slot line
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    const auto r = o.find(p);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, p - 1U);
    EXPECT_EQ(r->kind, FlowRef::Kind::connection);
  }
  // Erase every other one; the rest must stay reachable (backward-shift deletion keeps chains intact).
  for (std::uint16_t p = 1; p <= 1000; p += 2) EXPECT_TRUE(o.erase(p));
  for (std::uint16_t p = 1; p <= 1000; ++p) EXPECT_EQ(o.find(p).has_value(), p % 2 == 0) << p;
  EXPECT_TRUE(o.table.tags_agree());
  EXPECT_FALSE(o.erase(1));
  EXPECT_EQ(o.table.size(), 500U);
  o.ports.push_back(2);  // owner 1000 holds the same tuple as owner 1
  EXPECT_TRUE(o.table.replace(
      o.table.hash(t(2)), [&](FlowRef r) { return o.is(r, 2); }, FlowRef{FlowRef::Kind::time_wait, 1000, 0}));
  EXPECT_EQ(o.find(2)->kind, FlowRef::Kind::time_wait);
  EXPECT_EQ(o.find(2)->index, 1000U);
  EXPECT_EQ(o.table.size(), 500U);
  // Churn below the peak reuses the table: no growth.
  const std::size_t capacity = o.table.capacity();
  for (std::uint16_t p = 2; p <= 1000; p += 2) EXPECT_TRUE(o.erase(p));
  EXPECT_EQ(o.table.size(), 0U);
  for (std::uint16_t p = 2001; p <= 3000; ++p) o.insert(p);
  EXPECT_EQ(o.table.capacity(), capacity);
  EXPECT_TRUE(o.table.tags_agree());
}

// An entry is 8 bytes: kind and index share a word, a half-open entry's listener and slot too.
TEST(FlowTable, OwnerAndKindRoundTrip) {
  FlowTable table(3);
  const FlowRef refs[] = {
      {FlowRef::Kind::half_open, FlowTable::kMaxHalfOpenSlot, FlowTable::kForwarderOwner},
      {FlowRef::Kind::half_open, 123456, 0},
      {FlowRef::Kind::half_open, 0, 510},
      {FlowRef::Kind::connection, FlowTable::kMaxIndex, 0},
      {FlowRef::Kind::offer, 77, 0},
      {FlowRef::Kind::time_wait, FlowTable::kMaxIndex - 1, 0},
  };
  for (std::uint32_t i = 0; i < std::size(refs); ++i) table.insert(i, refs[i]);
  for (std::uint32_t i = 0; i < std::size(refs); ++i) {
    const auto r = table.find(i, [](FlowRef) { return true; });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, refs[i].kind) << i;
    EXPECT_EQ(r->index, refs[i].index) << i;
    EXPECT_EQ(r->owner, refs[i].owner) << i;
    // find_word(): the same entry as its owner word, which decode() makes the same FlowRef.
    const std::uint32_t word = table.find_word(i, [](FlowRef) { return true; });
    ASSERT_NE(word, FlowTable::kNoWord) << i;
    const FlowRef d = FlowTable::decode(word);
    EXPECT_EQ(d.kind, refs[i].kind) << i;
    EXPECT_EQ(d.index, refs[i].index) << i;
    EXPECT_EQ(d.owner, refs[i].owner) << i;
  }
  EXPECT_EQ(table.find_word(99, [](FlowRef) { return true; }), FlowTable::kNoWord);  // no such hash
  EXPECT_EQ(table.find_word(0, [](FlowRef) { return false; }), FlowTable::kNoWord);  // no owner agrees
}

// Equal hashes: the owner's own tuple decides (match), so a collision never returns another flow.
TEST(FlowTable, SameHashDifferentOwners_MatchDecides) {
  FlowTable table(3);
  table.insert(77, FlowRef{FlowRef::Kind::connection, 1, 0});
  table.insert(77, FlowRef{FlowRef::Kind::connection, 2, 0});
  EXPECT_EQ(table.find(77, [](FlowRef r) { return r.index == 2; })->index, 2U);
  EXPECT_TRUE(table.erase(77, [](FlowRef r) { return r.index == 1; }));
  EXPECT_EQ(table.find(77, [](FlowRef r) { return r.index == 2; })->index, 2U);
  EXPECT_FALSE(table.find(77, [](FlowRef r) { return r.index == 1; }));
}

TEST(FlowTable, RandomizedAgainstMap) {
  Owners o;
  std::map<std::uint16_t, std::uint32_t> model;
  std::uint64_t s = 12345;
  for (int i = 0; i < 20000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto key = static_cast<std::uint16_t>((s >> 33U) % 300U);
    if ((s >> 20U) % 3U == 0) {
      EXPECT_EQ(o.erase(key), model.erase(key) == 1);
    } else if (model.count(key) == 0) {
      model[key] = o.insert(key);
    }
    if (i % 1000 == 0) {
      ASSERT_TRUE(o.table.tags_agree()) << i;
    }
  }
  EXPECT_TRUE(o.table.tags_agree());
  for (std::uint16_t k = 0; k < 300; ++k) {
    const auto r = o.find(k);
    ASSERT_EQ(r.has_value(), model.count(k) == 1);
    if (r) {
      EXPECT_EQ(r->index, model[k]);
    }
  }
}

// Memory per flow: a 64-byte line and its 8-byte tag word per 3 flows at most (just after a doubling), so
// ≤ 24 bytes per flow at any size.
TEST(FlowTable, Growth_AtMostOneLinePerThreeFlows) {
  FlowTable table(5);
  for (std::uint32_t i = 0; i < 5000; ++i) {
    table.insert(i * 2654435761U, FlowRef{FlowRef::Kind::connection, i, 0});
    if (table.size() >= 6) {
      ASSERT_LE(table.memory_bytes() * 3, table.size() * 72) << table.size();
    }
  }
}

// One line per negative lookup: the overflow count of a line says whether a lookup must read on. Eight
// entries homed on one line (7 slots) push one onto the next line; erasing it makes the home line the
// only one read again, and erasing one of the seven (a hole in a full line) keeps the other reachable.
TEST(FlowTable, FullLine_OverflowCounted_NegativeLookupReadsOneLineAgainAfterErase) {
  FlowTable table(3);
  constexpr std::uint32_t kHash = 5;
  for (std::uint32_t i = 0; i < FlowTable::kLineSlots; ++i) {
    table.insert(kHash, FlowRef{FlowRef::Kind::connection, i, 0});
  }
  EXPECT_EQ(table.lines_probed(kHash), 1U);  // full, but nothing placed past it yet
  table.insert(kHash, FlowRef{FlowRef::Kind::connection, 7, 0});
  EXPECT_EQ(table.lines_probed(kHash), 2U);
  EXPECT_EQ(table.lines_probed(kHash + 1), 1U);  // the line the eighth went to did not overflow
  for (std::uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(table.find(kHash, [i](FlowRef r) { return r.index == i; })->index, i);
  }
  EXPECT_FALSE(table.find(kHash, [](FlowRef r) { return r.index == 8; }));
  // A hole in the home line: the eighth stays where it is, and still counted, so still found.
  EXPECT_TRUE(table.erase_exact(kHash, FlowRef{FlowRef::Kind::connection, 0, 0}));
  EXPECT_EQ(table.lines_probed(kHash), 2U);
  EXPECT_EQ(table.find(kHash, [](FlowRef r) { return r.index == 7; })->index, 7U);
  EXPECT_TRUE(table.erase(kHash, [](FlowRef r) { return r.index == 7; }));
  EXPECT_EQ(table.lines_probed(kHash), 1U);
  // The hole is reused: the home line takes the next entry and nothing overflows.
  table.insert(kHash, FlowRef{FlowRef::Kind::connection, 9, 0});
  EXPECT_EQ(table.lines_probed(kHash), 1U);
  EXPECT_EQ(table.size(), 7U);
  EXPECT_TRUE(table.tags_agree());
}

// Many entries with one hash spill over several lines (wrapping past the last one); erased in an order
// unlike their insertion, every one stays reachable until erased, and the counts all return to 0.
TEST(FlowTable, LongOverflowChain_ErasedOutOfOrder_CountsReturnToZero) {
  FlowTable table(3);
  const std::uint32_t hash = 0xFFFFFFFFU;  // homed on the last line, so its chain wraps to line 0
  constexpr std::uint32_t kCount = 40;
  for (std::uint32_t i = 0; i < kCount; ++i) table.insert(hash, FlowRef{FlowRef::Kind::offer, i, 0});
  EXPECT_GE(table.lines_probed(hash), kCount / FlowTable::kLineSlots);
  std::vector<bool> present(kCount, true);
  for (std::uint32_t k = 0; k < kCount; ++k) {
    const std::uint32_t victim = (k * 17U) % kCount;  // 17 is prime to 40: each one once
    EXPECT_TRUE(table.erase(hash, [victim](FlowRef r) { return r.index == victim; })) << victim;
    present[victim] = false;
    for (std::uint32_t i = 0; i < kCount; ++i) {
      EXPECT_EQ(table.find(hash, [i](FlowRef r) { return r.index == i; }).has_value(), present[i]) << i;
    }
  }
  EXPECT_EQ(table.size(), 0U);
  for (std::uint32_t line = 0; line < table.capacity() / FlowTable::kLineSlots; ++line) {
    EXPECT_EQ(table.lines_probed(line), 1U) << line;
  }
  EXPECT_TRUE(table.tags_agree());
}

// A tag is 7 bits of the hash: two hashes with the same home line and the same tag (they differ in a bit
// that neither picks the line nor makes the tag) both read the line, whose full hash tells them apart
// before the owner is asked; a hash with another tag reads no line at all.
TEST(FlowTable, SameTagDifferentHash_FullHashDecides_OtherTagReadsNoLine) {
  FlowTable table(3);
  constexpr std::uint32_t kA = 0x12345670U;
  constexpr std::uint32_t kSameTag = kA ^ (1U << 20U);
  constexpr std::uint32_t kOtherTag = kA ^ (1U << 31U);
  const FlowRef a{FlowRef::Kind::connection, 1, 0};
  const FlowRef b{FlowRef::Kind::time_wait, 2, 0};
  table.insert(kA, a);
  int asked = 0;
  const auto any = [&asked](FlowRef) {
    ++asked;
    return true;
  };
  EXPECT_FALSE(table.find(kSameTag, any));
  EXPECT_EQ(asked, 0);  // the line's hash differs: the owner is not asked
  EXPECT_EQ(table.lines_read(kSameTag), 1U);
  EXPECT_EQ(table.lines_probed(kOtherTag), 1U);
  EXPECT_EQ(table.lines_read(kOtherTag), 0U);
  EXPECT_FALSE(table.find(kOtherTag, any));
  table.insert(kSameTag, b);
  EXPECT_EQ(table.find(kA, any)->index, 1U);
  EXPECT_EQ(table.find(kSameTag, any)->index, 2U);
  EXPECT_EQ(asked, 2);
  EXPECT_FALSE(table.erase_exact(kSameTag, a));  // the word is a's, the hash b's: no such entry
  EXPECT_TRUE(table.erase_exact(kA, a));
  EXPECT_FALSE(table.find(kA, any));
  EXPECT_EQ(table.find(kSameTag, any)->kind, FlowRef::Kind::time_wait);
  EXPECT_EQ(table.lines_read(kA), 1U);  // kSameTag's slot still shares the tag
  EXPECT_TRUE(table.erase_exact(kSameTag, b));
  EXPECT_EQ(table.lines_read(kA), 0U);  // an erased slot's tag is gone with it
  EXPECT_TRUE(table.tags_agree());
}

// A full line whose tags all differ from the wanted one: the lookup reads its tag word only, and stops
// there while nothing overflowed; once something did, it reads the next line's tag word too, and a line
// only where a tag matches.
TEST(FlowTable, FullLineNoTagMatches_NegativeLookupReadsNoLineAndStops) {
  FlowTable table(3);
  constexpr std::uint32_t kWanted = 0x00000020U;  // line 0 of 2, tag 0
  for (std::uint32_t i = 0; i < FlowTable::kLineSlots; ++i) {
    table.insert((i + 1) << 25U | 0x10U, FlowRef{FlowRef::Kind::connection, i, 0});  // line 0, tags 1-7
  }
  ASSERT_EQ(table.capacity(), 2 * FlowTable::kLineSlots);
  int asked = 0;
  const auto any = [&asked](FlowRef) {
    ++asked;
    return true;
  };
  EXPECT_EQ(table.lines_probed(kWanted), 1U);
  EXPECT_EQ(table.lines_read(kWanted), 0U);
  EXPECT_FALSE(table.find(kWanted, any));
  table.insert(9U << 25U, FlowRef{FlowRef::Kind::connection, 7, 0});  // overflows onto line 1, tag 9
  EXPECT_EQ(table.lines_probed(kWanted), 2U);
  EXPECT_EQ(table.lines_read(kWanted), 0U);
  EXPECT_FALSE(table.find(kWanted, any));
  table.insert(kWanted ^ (1U << 20U) ^ 1U, FlowRef{FlowRef::Kind::connection, 8, 0});  // line 1, tag 0
  EXPECT_EQ(table.lines_read(kWanted), 1U);
  EXPECT_FALSE(table.find(kWanted, any));
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(table.find(9U << 25U, any)->index, 7U);
  EXPECT_TRUE(table.tags_agree());
}

// More entries past one line than the tag word's count holds (255): the line keeps the exact count, every
// entry stays reachable, and erasing them all (through the count's saturation both ways) returns every
// count to 0.
TEST(FlowTable, OverflowBeyondSaturatedCount_AllFound_CountsReturnToZero) {
  FlowTable table(3);
  const std::uint32_t hash = 0xFFFFFFFFU;
  constexpr std::uint32_t kCount = 600;  // 593 pass over the home line
  for (std::uint32_t i = 0; i < kCount; ++i) table.insert(hash, FlowRef{FlowRef::Kind::offer, i, 0});
  EXPECT_TRUE(table.tags_agree());
  EXPECT_GE(table.lines_probed(hash), kCount / FlowTable::kLineSlots);
  const auto all_found = [&](const std::vector<bool>& present) {
    for (std::uint32_t i = 0; i < kCount; ++i) {
      if (table.find(hash, [i](FlowRef r) { return r.index == i; }).has_value() != present[i]) return false;
    }
    return true;
  };
  std::vector<bool> present(kCount, true);
  EXPECT_TRUE(all_found(present));
  for (std::uint32_t k = 0; k < kCount; ++k) {
    const std::uint32_t victim = (k * 7U) % kCount;  // 7 is prime to 600: each one once
    ASSERT_TRUE(table.erase(hash, [victim](FlowRef r) { return r.index == victim; })) << victim;
    present[victim] = false;
    if (k % 50 == 0) {
      ASSERT_TRUE(table.tags_agree()) << k;
      ASSERT_TRUE(all_found(present)) << k;
    }
  }
  EXPECT_EQ(table.size(), 0U);
  EXPECT_TRUE(table.tags_agree());
  for (std::uint32_t line = 0; line < table.capacity() / FlowTable::kLineSlots; ++line) {
    EXPECT_EQ(table.lines_probed(line), 1U) << line;
  }
}

// A table past kYoungFrom main lines puts new entries in the young lines, and moves them all to the main
// lines when kYoungMoveAt are there: every entry stays reachable through the moves (found, replaced,
// erased by owner or exactly), against a model, with the tags agreeing in both parts.
TEST(FlowTable, LargeTable_YoungLinesMoveToMain_AgainstModel) {
  FlowTable table(11);
  std::map<std::uint32_t, std::uint32_t> model;  // hash -> index (hashes distinct: the owner is the hash)
  std::uint32_t next_index = 0;
  const auto hash_of = [](std::uint32_t k) { return k * 2654435761U; };
  const auto is = [](std::uint32_t index) { return [index](FlowRef r) { return r.index == index; }; };
  const std::size_t kFill = FlowTable::kYoungFrom * 4;  // past the resize that makes the young lines
  for (std::uint32_t k = 0; k < kFill; ++k) {
    table.insert(hash_of(k), FlowRef{FlowRef::Kind::connection, next_index, 0});
    model[hash_of(k)] = next_index++;
  }
  ASSERT_GT(table.young_size(), 0U);
  ASSERT_LE(table.young_size(), FlowTable::kYoungMoveAt);
  ASSERT_TRUE(table.tags_agree());
  std::uint64_t s = 99;
  std::size_t moves = 0;
  for (int i = 0; i < 30000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto k = static_cast<std::uint32_t>((s >> 33U) % (kFill * 2));
    const std::uint32_t h = hash_of(k);
    const auto it = model.find(h);
    const std::size_t young_before = table.young_size();
    if (it == model.end()) {
      ASSERT_FALSE(table.find(h, [](FlowRef) { return true; }));
      table.insert(h, FlowRef{FlowRef::Kind::connection, next_index, 0});
      model[h] = next_index++;
      moves += table.young_size() < young_before ? 1U : 0U;
    } else if ((s >> 20U) % 4U == 0) {
      ASSERT_TRUE(table.replace_exact(h, FlowRef{FlowRef::Kind::connection, it->second, 0},
                                      FlowRef{FlowRef::Kind::connection, next_index, 0}));
      it->second = next_index++;
    } else if ((s >> 20U) % 4U == 1) {
      ASSERT_TRUE(table.erase_exact(h, FlowRef{FlowRef::Kind::connection, it->second, 0}));
      model.erase(it);
    } else {
      ASSERT_EQ(table.find(h, is(it->second))->index, it->second);
      ASSERT_TRUE(table.erase(h, is(it->second)));
      model.erase(it);
    }
    if (i % 5000 == 0) {
      ASSERT_TRUE(table.tags_agree()) << i;
    }
  }
  EXPECT_GT(moves, 0U);
  EXPECT_EQ(table.size(), model.size());
  EXPECT_TRUE(table.tags_agree());
  for (const auto& [h, index] : model) {
    ASSERT_EQ(table.find(h, is(index))->index, index);
  }
}

// Long-lived entries leave the young lines within kYoungMoveAt inserts even when churn keeps the young
// count below kYoungMoveAt: a stack filled with idle connections and then opening and closing a few at a
// time must not keep every lookup walking young lines nearly full of the idle ones.
// replace_exact() and erase_exact() try the entry find() found last before they walk: the hint names an
// entry only while it lives there. A freed slot keeps its stale hash and owner word, and a young entry
// moved to the main lines leaves them behind too; neither may be taken for the entry.
TEST(FlowTable, ExactCallsAfterFind_HintUsedOnlyWhileTheEntryIsThere) {
  Owners o;
  const std::uint32_t a = o.insert(1);
  const std::uint32_t b = o.insert(2);
  const auto ref = [](std::uint32_t i) { return FlowRef{FlowRef::Kind::connection, i, 0}; };
  ASSERT_TRUE(o.find(1));
  EXPECT_TRUE(o.table.replace_exact(o.table.hash(t(1)), ref(a), ref(7)));  // the hinted entry itself
  EXPECT_FALSE(o.table.erase_exact(o.table.hash(t(1)), ref(a)));           // no longer its owner word
  EXPECT_TRUE(o.table.erase_exact(o.table.hash(t(1)), ref(7)));
  EXPECT_FALSE(o.table.erase_exact(o.table.hash(t(1)), ref(7)));  // its slot is free, its words stale
  EXPECT_FALSE(o.table.replace_exact(o.table.hash(t(1)), ref(7), ref(8)));
  ASSERT_TRUE(o.find(2));
  EXPECT_TRUE(o.table.erase_exact(o.table.hash(t(2)), ref(b)));
  EXPECT_EQ(o.table.size(), 0U);
  EXPECT_TRUE(o.table.tags_agree());

  // A large table: an entry found in the young lines, then moved to the main ones by later inserts.
  FlowTable table(5);
  const auto hash_of = [](std::uint32_t k) { return k * 2654435761U; };
  std::uint32_t k = 0;
  while (table.young_size() == 0) {
    table.insert(hash_of(k), ref(k));
    ++k;
  }
  const std::uint32_t young = k - 1;  // the entry that went to the young lines
  ASSERT_TRUE(table.find(hash_of(young), [&](FlowRef r) { return r.index == young; }));
  const std::size_t size = table.size();
  // The last of these inserts moves the young entries, then goes to a young line of its own (k skips one
  // key: the one kYoungMoveAt after `young` would land in its young slot and overwrite the stale words).
  ++k;
  for (std::size_t i = 0; i < FlowTable::kYoungMoveAt; ++i, ++k) table.insert(hash_of(k), ref(k));
  ASSERT_LT(table.young_size(), FlowTable::kYoungMoveAt);  // moved once on the way
  EXPECT_TRUE(table.erase_exact(hash_of(young), ref(young)));
  EXPECT_FALSE(table.erase_exact(hash_of(young), ref(young)));
  EXPECT_EQ(table.size(), size + FlowTable::kYoungMoveAt - 1);
  EXPECT_TRUE(table.tags_agree());
}

TEST(FlowTable, LargeTable_LongLivedYoungEntries_MovedWhileOthersChurn) {
  FlowTable table(17);
  const auto hash_of = [](std::uint32_t k) { return k * 2654435761U; };
  std::uint32_t k = 0;
  while (table.capacity() / FlowTable::kLineSlots < FlowTable::kYoungFrom + FlowTable::kYoungLines ||
         table.young_size() != FlowTable::kYoungMoveAt - 1) {
    table.insert(hash_of(k), FlowRef{FlowRef::Kind::connection, k, 0});
    ++k;
  }
  const std::uint32_t long_lived = k;
  // Churn: one entry at a time, inserted and erased, for as many inserts as the move rule allows.
  for (std::size_t i = 0; i <= FlowTable::kYoungMoveAt; ++i) {
    const std::uint32_t h = hash_of(k);
    table.insert(h, FlowRef{FlowRef::Kind::connection, k, 0});
    ASSERT_TRUE(table.erase_exact(h, FlowRef{FlowRef::Kind::connection, k, 0}));
    ++k;
  }
  EXPECT_EQ(table.young_size(), 0U);
  EXPECT_TRUE(table.tags_agree());
  for (std::uint32_t j = 0; j < long_lived; j += 7) {
    ASSERT_EQ(table.find(hash_of(j), [j](FlowRef r) { return r.index == j; })->index, j);
  }
}

// Moving the young entries keeps the main lines' load rule: the main lines double before they would hold
// more than 6.5 entries per line, so the memory per entry stays bounded as the table grows.
TEST(FlowTable, LargeTable_GrowsThroughYoungMoves_MemoryBounded) {
  FlowTable table(13);
  for (std::uint32_t i = 0; i < FlowTable::kYoungFrom * 20; ++i) {
    table.insert(i * 2654435761U, FlowRef{FlowRef::Kind::connection, i, 0});
    if (table.size() >= 6 && i % 1000 == 0) {
      ASSERT_LE(table.memory_bytes() * 3, table.size() * 72 + 3 * FlowTable::kYoungLines * 72) << i;
    }
  }
  EXPECT_TRUE(table.tags_agree());
  for (std::uint32_t i = 0; i < FlowTable::kYoungFrom * 20; i += 97) {
    EXPECT_EQ(table.find(i * 2654435761U, [i](FlowRef r) { return r.index == i; })->index, i);
  }
}

}  // namespace
}  // namespace synack::stack
