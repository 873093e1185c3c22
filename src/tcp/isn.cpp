// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey).
#include "synack/tcp/isn.hpp"

#include <algorithm>

#include <sodium.h>

namespace synack::tcp {

static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 takes a 128-bit key");
static_assert(crypto_shorthash_BYTES == 8);

IsnGenerator::IsnGenerator(std::span<const std::byte, 16> key) noexcept {
  std::copy(key.begin(), key.end(), key_.begin());
}

std::uint32_t IsnGenerator::timer_term(Instant now) noexcept {
  // RFC 6528 §3: "M is the 4 microsecond timer".
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.nanoseconds()) / 4000U);
}

IsnGenerator::TupleTerms IsnGenerator::terms(const wire::FourTuple& tuple) const noexcept {
  // Input: local address, local port (big-endian), remote address, remote port, a domain byte (0).
  std::array<std::byte, 16 + 2 + 16 + 2 + 1> in{};
  std::size_t n = 0;
  const auto put_endpoint = [&](const wire::Endpoint& e) {
    for (std::byte b : e.address.bytes()) in[n++] = b;
    in[n++] = static_cast<std::byte>(e.port >> 8U);
    in[n++] = static_cast<std::byte>(e.port & 0xFFU);
  };
  put_endpoint(tuple.local);
  put_endpoint(tuple.remote);
  in[n++] = std::byte{0};
  std::array<unsigned char, crypto_shorthash_BYTES> out{};
  crypto_shorthash(out.data(), reinterpret_cast<const unsigned char*>(in.data()), n,
                   reinterpret_cast<const unsigned char*>(key_.data()));
  const auto word = [&](std::size_t at) {
    return static_cast<std::uint32_t>(out[at]) | (static_cast<std::uint32_t>(out[at + 1]) << 8U) |
           (static_cast<std::uint32_t>(out[at + 2]) << 16U) |
           (static_cast<std::uint32_t>(out[at + 3]) << 24U);
  };
  return TupleTerms{word(0), word(4)};
}

std::uint32_t IsnGenerator::secret_term(const wire::FourTuple& tuple) const noexcept {
  return terms(tuple).secret;
}

std::uint32_t IsnGenerator::timestamp_offset(const wire::FourTuple& tuple) const noexcept {
  return terms(tuple).ts_offset;
}

wire::SeqNum IsnGenerator::isn(Instant now, const wire::FourTuple& tuple) const noexcept {
  return wire::SeqNum(timer_term(now) + secret_term(tuple));
}

}  // namespace synack::tcp
