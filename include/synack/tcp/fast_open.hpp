/// @file
/// TCP Fast Open (RFC 7413): data in the SYN of a returning client, delivered one round trip early.
///
/// Server (§4.1.2): a cookie is a keyed MAC of the client's IP address — SipHash-2-4 (libsodium
/// crypto_shorthash, 8 bytes) under a 128-bit secret, injected like the ISN key. rekey() installs a fresh
/// secret; the previous one is still accepted for kGrace, so cookies handed out just before a rotation
/// keep working. A listener answers a cookie request with a cookie in its SYN-ACK, creates the connection
/// at once for a SYN with a valid cookie and data (bounded by its queue length, §5.1), and treats an
/// invalid cookie as a plain SYN (the data is not acknowledged) that also gets a fresh cookie.
///
/// Client (§4.2): FastOpenCache remembers, per server address, the cookie and the server's MSS, and the
/// destinations where a SYN with data went unanswered (§7.1: treated as hostile for kHostileFor, the
/// next SYNs carry neither data nor the option). The cache is bounded; the oldest entry goes first.
///
/// FastOpenState is the per-connection part: allocated only for connections that use Fast Open (the
/// engine's fast path pays one pointer test).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::tcp {

/// The server's cookie generator and checker (see the file comment).
class FastOpenKeys {
 public:
  using Key = std::array<std::byte, 16>;  ///< a 128-bit SipHash secret
  /// The cookie length synack hands out (RFC 7413 §4.1.1 allows 4-16; Linux uses 8).
  static constexpr std::size_t kCookieSize = 8;
  /// How long the previous secret is still accepted after rekey().
  static constexpr Duration kGrace = std::chrono::minutes(5);

  /// Cookies under `key` (e.g. derive_key() of the ISN key; tests pass fixed bytes).
  explicit FastOpenKeys(std::span<const std::byte, 16> key) noexcept;
  /// A Fast Open secret derived from the ISN key (one CSPRNG read serves both; neither reveals the other).
  [[nodiscard]] static Key derive_key(std::span<const std::byte, 16> isn_key) noexcept;
  /// Installs `key`; the current secret becomes the previous one, accepted until now + kGrace.
  void rekey(Instant now, std::span<const std::byte, 16> key) noexcept;
  /// The cookie for a client address under the current secret.
  [[nodiscard]] wire::FastOpenCookie make(const wire::IpAddress& client,
                                          bool experimental = false) const noexcept;
  /// RFC 7413 §4.1.2: whether `cookie` is the one for `client` under the current secret, or under the
  /// previous one while its grace period lasts.
  [[nodiscard]] bool valid(Instant now, const wire::IpAddress& client, wire::Bytes cookie) const noexcept;

 private:
  Key current_{};
  Key previous_{};
  std::optional<Instant> previous_until_;
};

/// What a listener makes of a SYN's Fast Open option (RFC 7413 §4.2.2).
enum class FastOpenVerdict : std::uint8_t {
  none,         ///< no option (or Fast Open off): a plain SYN
  request,      ///< a cookie request: plain handshake, the SYN-ACK carries a cookie
  valid_data,   ///< a valid cookie and data: the connection is created at once
  valid_empty,  ///< a valid cookie without data: plain handshake
  invalid,      ///< a cookie that does not check: plain handshake, data not acknowledged, fresh cookie
};

/// One listener's Fast Open: its queue length (RFC 7413 §5.1, Linux's TCP_FASTOPEN value) and the
/// connections created from a SYN with data that have not completed their handshake yet.
struct FastOpenListener {
  const FastOpenKeys* keys = nullptr;  ///< the owner's (not owned)
  std::uint32_t queue_length = 0;      ///< pending TFO connections allowed at once; 0 = Fast Open off
  std::vector<std::uint64_t> pending;  ///< the owner's handles of pending TFO connections
  /// Whether a handle is still pending (in SYN-RECEIVED); the owner sets it, admit() prunes with it.
  std::function<bool(std::uint64_t)> still_pending;
  std::uint64_t cookies_sent = 0;     ///< SYN-ACKs carrying a cookie
  std::uint64_t accepted = 0;         ///< SYNs whose data was accepted (connection created at once)
  std::uint64_t invalid = 0;          ///< SYNs with a cookie that did not check
  std::uint64_t queue_overflows = 0;  ///< valid SYNs with data that fell back: the queue was full

  /// The verdict for a SYN with Fast Open `option` and `payload_len` bytes of data from `client`.
  [[nodiscard]] FastOpenVerdict classify(Instant now, const wire::IpAddress& client,
                                         const wire::FastOpenCookie& option,
                                         std::size_t payload_len) const noexcept;
  /// RFC 7413 §5.1: room for one more pending connection (stale handles pruned first).
  [[nodiscard]] bool admit();
};

/// A client's knowledge of one server address (RFC 7413 §4.2.1).
struct FastOpenEntry {
  wire::IpAddress server;                      ///< the server's address
  std::optional<wire::FastOpenCookie> cookie;  ///< the server's last cookie
  std::uint16_t mss = 0;                       ///< the server's MSS from its SYN-ACK (0 = unknown)
  std::optional<Instant> hostile_until;        ///< §7.1: no Fast Open to this server until then
};

/// The client's cookie cache (see the file comment). Bounded; plain values; the owner injects time.
class FastOpenCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;  ///< servers remembered by default
  /// How long a destination whose SYN with data went unanswered gets no Fast Open (§7.1).
  static constexpr Duration kHostileFor = std::chrono::minutes(60);

  /// At most `capacity` servers (at least 1).
  explicit FastOpenCache(std::size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  /// The entry for `server`, if any.
  [[nodiscard]] const FastOpenEntry* find(const wire::IpAddress& server) const noexcept;
  /// Stores the cookie and MSS a server's SYN-ACK carried (the oldest entry goes when full).
  void store(const wire::IpAddress& server, const wire::FastOpenCookie& cookie, std::uint16_t mss);
  /// §7.1: a SYN with data to `server` went unanswered.
  void mark_hostile(Instant now, const wire::IpAddress& server);
  /// Whether Fast Open to `server` is suspended at `now`.
  [[nodiscard]] bool hostile(Instant now, const wire::IpAddress& server) const noexcept;
  /// Forgets `server`'s cookie (e.g. the server stopped accepting it).
  void forget_cookie(const wire::IpAddress& server) noexcept;
  /// Entries held.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  /// Every entry, oldest first.
  [[nodiscard]] const std::vector<FastOpenEntry>& entries() const noexcept { return entries_; }
  /// One line per cookie: "ADDRESS MSS HEXCOOKIE" (the CLI's --fastopen-cache file; hostility is not saved).
  [[nodiscard]] std::string serialize() const;
  /// Reads serialize()'s text; malformed lines are skipped (their count returned).
  std::size_t parse(std::string_view text);

 private:
  FastOpenEntry& entry(const wire::IpAddress& server);
  std::size_t capacity_;
  std::vector<FastOpenEntry> entries_;  ///< oldest first (small: a linear scan)
};

/// Fast Open outcome of a connection, for summaries and JSON.
struct FastOpenInfo {
  bool used = false;              ///< Fast Open took part (an option was sent or received)
  bool cookie_requested = false;  ///< client: our SYN asked for a cookie
  bool cookie_sent = false;       ///< client: our SYN carried a cookie
  bool cookie_received = false;   ///< client: the SYN-ACK carried a cookie
  std::uint32_t syn_data = 0;     ///< bytes of data in the SYN (sent by a client, received by a server)
  bool syn_data_acked = false;    ///< the SYN's data was acknowledged by the SYN-ACK
  bool fell_back = false;         ///< client: the SYN was retried without data and option (§7.1)
};

/// A connection's Fast Open state (Connection::Buffers holds it only for Fast Open connections).
struct FastOpenState {
  /// Client: the option our SYN carries (a cookie, or a request when empty); cleared when the SYN is
  /// retransmitted (§7.1: the retry carries neither data nor the option).
  std::optional<wire::FastOpenCookie> syn_option;
  std::uint32_t syn_data = 0;       ///< client: bytes of the send buffer our SYN carries (0 = none)
  std::uint32_t syn_data_sent = 0;  ///< client: bytes the first SYN carried
  bool syn_data_acked = false;      ///< client: the SYN-ACK acknowledged the data
  bool syn_timed_out = false;       ///< client: the SYN (with data or option) had to be retransmitted
  std::optional<wire::FastOpenCookie> cookie_received;  ///< client: the cookie the SYN-ACK carried
  bool server = false;              ///< server: created from a SYN with a valid cookie and data
  std::uint32_t data_received = 0;  ///< server: bytes the SYN carried (delivered at once)
  Instant syn_timed_out_at;         ///< client: when the SYN with data or option timed out
  bool requested = false;           ///< client: the first SYN asked for a cookie

  /// The outcome as reported (ConnectionInfo::fast_open).
  [[nodiscard]] FastOpenInfo info() const noexcept;
};

/// A cookie's bytes in lower-case hex.
[[nodiscard]] std::string to_hex(const wire::FastOpenCookie& cookie);
/// The inverse of to_hex(); nullopt for odd length, bad digits or a size no cookie has.
[[nodiscard]] std::optional<wire::FastOpenCookie> cookie_from_hex(std::string_view hex) noexcept;

}  // namespace synack::tcp
