/// @file
/// Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
/// with M a clock ticking every 4 microseconds and F = SipHash-2-4 (libsodium crypto_shorthash) keyed by
/// 128 secret bits. The key and the time are both injected: the caller reads the OS CSPRNG once
/// (stack/entropy.hpp) and passes `now`, so a test pins exact ISNs with the same code that runs in
/// production.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/seq.hpp"

namespace synack::tcp {

/// RFC 6528 initial sequence numbers (and timestamp offsets) from a 128-bit secret key. Immutable after
/// construction, so one generator may serve every connection of a Stack.
class IsnGenerator {
 public:
  /// The 128-bit SipHash key.
  using Key = std::array<std::byte, 16>;

  /// Keeps a copy of `key` (16 bytes from the OS CSPRNG in production, fixed bytes in tests).
  explicit IsnGenerator(std::span<const std::byte, 16> key) noexcept;

  /// M + F for the connection `tuple` (local = our side) at `now`.
  [[nodiscard]] wire::SeqNum isn(Instant now, const wire::FourTuple& tuple) const noexcept;
  /// M: the 4-microsecond clock term (RFC 6528 §3), truncated to 32 bits.
  [[nodiscard]] static std::uint32_t timer_term(Instant now) noexcept;
  /// F: the keyed hash of the 4-tuple.
  [[nodiscard]] std::uint32_t secret_term(const wire::FourTuple& tuple) const noexcept;
  /// A per-connection offset for TCP timestamps (as Linux's secure_tcp_ts_off) so TSval does not
  /// reveal the host's clock: the other 32 bits of the same keyed hash (SipHash's output is 64 bits, and
  /// either half reveals nothing of the other), so one hash serves both.
  [[nodiscard]] std::uint32_t timestamp_offset(const wire::FourTuple& tuple) const noexcept;

  /// Both per-tuple terms from one SipHash call.
  struct TupleTerms {
    std::uint32_t secret = 0;     ///< F of RFC 6528
    std::uint32_t ts_offset = 0;  ///< timestamp_offset()
  };
  /// F and the timestamp offset for `tuple` (local = our side), from one hash.
  [[nodiscard]] TupleTerms terms(const wire::FourTuple& tuple) const noexcept;
  /// M + F with F already computed (terms(tuple).secret).
  [[nodiscard]] static wire::SeqNum isn(Instant now, TupleTerms terms) noexcept {
    return wire::SeqNum(timer_term(now) + terms.secret);
  }

 private:
  // SipHash-2-4's v0..v3 after keying (the key itself is not kept).
  std::array<std::uint64_t, 4> init_{};
};

}  // namespace synack::tcp
