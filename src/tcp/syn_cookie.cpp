// SYN cookies (RFC 4987 §3.6): the layouts are in the header; docs/engine.md "SYN cookies" compares them
// with Linux and FreeBSD.
#include "synack/tcp/syn_cookie.hpp"

#include <algorithm>

#include <sodium.h>

namespace synack::tcp {

static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 takes a 128-bit key");
static_assert(crypto_shorthash_BYTES == 8);

namespace {

constexpr std::uint32_t kWscaleNone = 15;
constexpr std::uint32_t kTsBits = 6;  // low TSval bits that carry options (layout with timestamps)
constexpr std::uint32_t kTsMask = (1U << kTsBits) - 1U;
constexpr std::uint32_t kTsSack = 1U << 4U;
constexpr std::uint32_t kTsEcn = 1U << 5U;
constexpr std::uint8_t kLayoutPlain = 0;
constexpr std::uint8_t kLayoutTimestamps = 1;
constexpr std::uint32_t kMacBitsPlain = 24;
constexpr std::uint32_t kMacBitsTimestamps = 29;

std::uint64_t siphash(std::span<const std::byte> in, const std::byte* key) noexcept {
  std::array<unsigned char, crypto_shorthash_BYTES> out{};
  crypto_shorthash(out.data(), reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                   reinterpret_cast<const unsigned char*>(key));
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < out.size(); ++i) v |= static_cast<std::uint64_t>(out[i]) << (8U * i);
  return v;
}

/// 16 bytes from two SipHash calls keyed by `key` over `label` followed by 0 and 1.
SynCookies::Key expand(std::span<const std::byte, 16> key, std::string_view label) noexcept {
  std::array<std::byte, 40> in{};
  const std::size_t n = std::min(label.size(), in.size() - 1);
  for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<std::byte>(label[i]);
  SynCookies::Key out{};
  for (std::size_t half = 0; half < 2; ++half) {
    in[n] = static_cast<std::byte>(half);
    const std::uint64_t v = siphash(std::span<const std::byte>(in).first(n + 1), key.data());
    for (std::size_t i = 0; i < 8; ++i) out[half * 8 + i] = static_cast<std::byte>((v >> (8U * i)) & 0xFFU);
  }
  return out;
}

std::uint32_t low_bits(std::uint64_t v, std::uint32_t bits) noexcept {
  return static_cast<std::uint32_t>(v & ((std::uint64_t{1} << bits) - 1U));
}

/// The index of the largest table entry not above `mss`; nullopt below the smallest.
std::optional<std::uint32_t> mss_index(const std::array<std::uint16_t, 8>& table,
                                       std::uint16_t mss) noexcept {
  for (std::size_t i = table.size(); i > 0; --i) {
    if (mss >= table[i - 1]) return static_cast<std::uint32_t>(i - 1);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(SynCookieMode mode) noexcept {
  switch (mode) {
    case SynCookieMode::never:
      return "never";
    case SynCookieMode::when_full:
      return "when-full";
    case SynCookieMode::always:
      return "always";
  }
  return "?";
}

std::optional<SynCookieMode> parse_syn_cookie_mode(std::string_view text) noexcept {
  if (text == "never") return SynCookieMode::never;
  if (text == "when-full") return SynCookieMode::when_full;
  if (text == "always") return SynCookieMode::always;
  return std::nullopt;
}

SynCookies::SynCookies(std::span<const std::byte, 16> key, std::uint32_t rotation_ticks) noexcept
    : rotation_ticks_(rotation_ticks) {
  std::copy(key.begin(), key.end(), current_.begin());
}

SynCookies::Key SynCookies::derive_key(std::span<const std::byte, 16> isn_key) noexcept {
  return expand(isn_key, "synack syn-cookie secret");
}

SynCookies::Key SynCookies::ratchet(const Key& key) noexcept {
  return expand(key, "synack syn-cookie ratchet");
}

std::uint32_t SynCookies::counter(Instant now) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(now.nanoseconds(), 0);
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) /
                                    static_cast<std::uint64_t>(kTick.count()));
}

void SynCookies::advance(std::uint32_t now_tick) noexcept {
  if (rotation_ticks_ == 0 || now_tick < epoch_start_ + rotation_ticks_) return;
  std::uint32_t due = (now_tick - epoch_start_) / rotation_ticks_;
  if (due > 2) {
    // Long idle: secrets older than the last two periods can validate nothing; skip them.
    epoch_start_ += (due - 2) * rotation_ticks_;
    current_ = ratchet(current_);
    due = 2;
  }
  for (std::uint32_t i = 0; i < due; ++i) {
    previous_ = current_;
    previous_start_ = epoch_start_;
    has_previous_ = true;
    current_ = ratchet(current_);
    epoch_start_ += rotation_ticks_;
    ++rotations_;
  }
}

void SynCookies::rekey(Instant now, std::span<const std::byte, 16> key) noexcept {
  const std::uint32_t tick = counter(now);
  advance(tick);
  previous_ = current_;
  previous_start_ = epoch_start_;
  has_previous_ = true;
  std::copy(key.begin(), key.end(), current_.begin());
  epoch_start_ = tick;
  ++rotations_;
}

std::uint64_t SynCookies::mac(const Key& key, const wire::FourTuple& tuple, std::uint32_t peer_isn,
                              std::uint32_t tick, std::uint8_t layout, std::uint16_t state) noexcept {
  // Input: label, layout, state, each endpoint (version, address, port), peer ISN, tick (big-endian).
  std::array<std::byte, 4 + 2 * (1 + 16 + 2) + 4 + 4> in{};
  std::size_t n = 0;
  const auto put8 = [&](std::uint32_t v) { in[n++] = static_cast<std::byte>(v & 0xFFU); };
  const auto put32 = [&](std::uint32_t v) {
    for (std::uint32_t shift = 32; shift > 0; shift -= 8) put8(v >> (shift - 8));
  };
  put8('C');
  put8(layout);
  put8(static_cast<std::uint32_t>(state) >> 8U);
  put8(state);
  for (const wire::Endpoint* e : {&tuple.local, &tuple.remote}) {
    put8(static_cast<std::uint32_t>(e->address.version()));
    for (std::byte b : e->address.bytes()) in[n++] = b;
    put8(static_cast<std::uint32_t>(e->port) >> 8U);
    put8(e->port);
  }
  put32(peer_isn);
  put32(tick);
  return siphash(std::span<const std::byte>(in).first(n), key.data());
}

std::optional<SynCookies::Cookie> SynCookies::make(Instant now, const wire::FourTuple& tuple,
                                                   wire::SeqNum peer_isn, const SynOptions& syn,
                                                   std::uint32_t ts_clock) noexcept {
  const wire::IpVersion v = tuple.local.address.version();
  const auto& table = mss_table(v);
  // A SYN without MSS means the RFC 9293 / RFC 6691 default, which is the table's first entry.
  const auto index = mss_index(table, syn.mss.value_or(default_peer_mss(v)));
  if (!index) return std::nullopt;
  const std::uint32_t tick = counter(now);
  advance(tick);

  Cookie c;
  c.peer.mss = table[*index];
  c.peer.wscale = syn.wscale;
  c.peer.sack_permitted = syn.sack_permitted;
  c.peer.timestamps = syn.timestamps;
  // ECN has a bit only beside the timestamps (as in Linux): without them a cookie SYN-ACK agrees to no ECN.
  c.peer.ecn = syn.ecn && syn.timestamps.has_value();
  const std::uint32_t ws = syn.wscale ? std::min<std::uint32_t>(*syn.wscale, 14) : kWscaleNone;
  if (syn.wscale) c.peer.wscale = static_cast<std::uint8_t>(ws);
  const std::uint32_t sack = syn.sack_permitted ? 1U : 0U;
  if (syn.timestamps) {
    // Linux cookie_init_timestamp: the options go in the TSval's low bits, the clock rounded down so the
    // TSval never runs ahead of the TSvals the connection sends later (RFC 7323 §5.4 monotonicity).
    const std::uint32_t ts6 = ws | (sack != 0 ? kTsSack : 0U) | (c.peer.ecn ? kTsEcn : 0U);
    std::uint32_t ts_val = (ts_clock & ~kTsMask) | ts6;
    if (static_cast<std::int32_t>(ts_val - ts_clock) > 0) ts_val -= kTsMask + 1U;
    const auto state = static_cast<std::uint16_t>(*index | (ts6 << 3U));
    const std::uint64_t m = mac(current_, tuple, peer_isn.raw(), tick, kLayoutTimestamps, state);
    c.isn = wire::SeqNum((low_bits(m, kMacBitsTimestamps) << 3U) | *index);
    c.ts_val = ts_val;
  } else {
    const auto state = static_cast<std::uint16_t>((*index << 5U) | (ws << 1U) | sack);
    const std::uint64_t m = mac(current_, tuple, peer_isn.raw(), tick, kLayoutPlain, state);
    c.isn = wire::SeqNum((low_bits(m, kMacBitsPlain) << 8U) | state);
  }
  return c;
}

std::optional<SynOptions> SynCookies::check(Instant now, const wire::FourTuple& tuple,
                                            const wire::TcpHeader& ack) noexcept {
  const std::uint32_t isn = (ack.ack - 1).raw();
  const std::uint32_t peer_isn = (ack.seq - 1).raw();
  const auto& table = mss_table(tuple.local.address.version());
  SynOptions o;
  std::uint8_t layout = kLayoutPlain;
  std::uint16_t state = 0;
  std::uint32_t mac_bits = kMacBitsPlain;
  std::uint32_t ws = 0;
  std::uint32_t mac_field = 0;
  if (ack.options.timestamps) {
    // RFC 7323 §3.2: TSecr echoes the TSval of our SYN-ACK, where the options are.
    const std::uint32_t ts6 = ack.options.timestamps->echo & kTsMask;
    const std::uint32_t index = isn & 7U;
    layout = kLayoutTimestamps;
    mac_bits = kMacBitsTimestamps;
    state = static_cast<std::uint16_t>(index | (ts6 << 3U));
    mac_field = isn >> 3U;
    o.mss = table[index];
    ws = ts6 & 0x0FU;
    o.sack_permitted = (ts6 & kTsSack) != 0;
    o.ecn = (ts6 & kTsEcn) != 0;
    o.timestamps = wire::Timestamps{ack.options.timestamps->value, 0};
  } else {
    state = static_cast<std::uint16_t>(isn & 0xFFU);
    mac_field = isn >> 8U;
    o.mss = table[(isn >> 5U) & 7U];
    ws = (isn >> 1U) & 0x0FU;
    o.sack_permitted = (isn & 1U) != 0;
  }
  if (ws != kWscaleNone) {
    if (ws > 14) return std::nullopt;
    o.wscale = static_cast<std::uint8_t>(ws);
  }

  const std::uint32_t now_tick = counter(now);
  advance(now_tick);
  const auto matches = [&](const Key& key, std::uint32_t tick) {
    return low_bits(mac(key, tuple, peer_isn, tick, layout, state), mac_bits) == mac_field;
  };
  for (std::uint32_t age = 0; age < kValidTicks && age <= now_tick; ++age) {
    const std::uint32_t tick = now_tick - age;
    // The secret in force when that tick's cookies were made; at the tick of a rotation, either.
    if (tick >= epoch_start_ && matches(current_, tick)) return o;
    if (has_previous_ && tick <= epoch_start_ && tick >= previous_start_ && matches(previous_, tick))
      return o;
  }
  return std::nullopt;
}

}  // namespace synack::tcp
