// The flow table: 4-tuple -> what owns it (a connection, a half-open entry, or a pending forwarder
// offer). Open addressing with linear probing and backward-shift deletion; the hash is keyed with a
// secret so an attacker choosing tuples cannot aim at one probe chain. Lookup is O(1) expected; the
// table doubles at 50 % load (an allocation bounded by the stack's limits, never per segment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "synack/wire/ip_address.hpp"

namespace synack::stack {

struct FlowRef {
  enum class Kind : std::uint8_t { connection, half_open, offer };
  Kind kind = Kind::connection;
  std::uint32_t index = 0;  ///< connection slot, half-open slot or offer slot
  std::uint32_t owner = 0;  ///< half_open: the listener (0xFFFFFFFF = the forwarder's)
};

class FlowTable {
 public:
  FlowTable(std::size_t initial_capacity, std::uint64_t seed);

  [[nodiscard]] std::optional<FlowRef> find(const wire::FourTuple& tuple) const noexcept;
  /// Inserts or replaces.
  void insert(const wire::FourTuple& tuple, FlowRef ref);
  bool erase(const wire::FourTuple& tuple) noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct Entry {
    wire::FourTuple tuple;
    FlowRef ref;
    bool used = false;
  };
  [[nodiscard]] std::size_t home(const wire::FourTuple& tuple) const noexcept;
  void grow();

  std::vector<Entry> entries_;
  std::size_t size_ = 0;
  std::uint64_t seed_;
};

}  // namespace synack::stack
