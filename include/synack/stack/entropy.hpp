/// @file
/// The one place that reads the OS CSPRNG: the embedder calls this once and hands the key to Stack.
/// Nothing under src/tcp or src/wire draws randomness.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace synack::stack {

/// 128 bits for the RFC 6528 ISN secret (libsodium randombytes_buf, i.e. getrandom(2)).
[[nodiscard]] std::array<std::byte, 16> random_isn_key();
/// A 64-bit seed for the stack's non-cryptographic choices (ephemeral ports, flow-table hash).
[[nodiscard]] std::uint64_t random_seed();

}  // namespace synack::stack
