// TCP Fast Open (RFC 7413): the server's cookies, the client's cache. The engine hooks (listener,
// connection) call in here; docs/engine.md "TCP Fast Open" lists the rules.
#include "synack/tcp/fast_open.hpp"

#include <algorithm>
#include <charconv>

#include <sodium.h>

#include "synack/tcp/listener.hpp"

namespace synack::tcp {

static_assert(crypto_shorthash_BYTES == FastOpenKeys::kCookieSize, "the cookie is one SipHash output");

namespace {

constexpr std::byte kDomain{0x34};  // kind 34: keeps these MACs apart from other uses of a key

std::array<std::byte, FastOpenKeys::kCookieSize> mac(const FastOpenKeys::Key& key,
                                                     const wire::IpAddress& client) noexcept {
  // RFC 7413 §4.1.2: "the cookie ... is a MAC tag of the client's IP address"; the family is part of
  // the input so that an IPv4 address and an IPv6 address with the same leading bytes differ.
  std::array<std::byte, 18> in{};
  in[0] = kDomain;
  in[1] = client.is_v4() ? std::byte{4} : std::byte{6};
  const wire::Bytes a = client.bytes();
  std::copy(a.begin(), a.end(), in.begin() + 2);
  std::array<std::byte, FastOpenKeys::kCookieSize> out{};
  crypto_shorthash(reinterpret_cast<unsigned char*>(out.data()),
                   reinterpret_cast<const unsigned char*>(in.data()), 2 + a.size(),
                   reinterpret_cast<const unsigned char*>(key.data()));
  return out;
}

bool equal(std::span<const std::byte, FastOpenKeys::kCookieSize> a, wire::Bytes b) noexcept {
  return b.size() == a.size() &&
         sodium_memcmp(a.data(), b.data(), a.size()) == 0;  // constant time: no oracle for a forger
}

}  // namespace

FastOpenKeys::FastOpenKeys(std::span<const std::byte, 16> key) noexcept {
  std::copy(key.begin(), key.end(), current_.begin());
}

FastOpenKeys::Key FastOpenKeys::derive_key(std::span<const std::byte, 16> isn_key) noexcept {
  constexpr std::string_view kLabel = "synack fast-open secret";
  std::array<std::byte, kLabel.size() + 1> in{};
  std::transform(kLabel.begin(), kLabel.end(), in.begin(), [](char c) { return static_cast<std::byte>(c); });
  Key out{};
  for (std::size_t half = 0; half < 2; ++half) {
    in.back() = static_cast<std::byte>(half);
    crypto_shorthash(reinterpret_cast<unsigned char*>(out.data() + 8 * half),
                     reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                     reinterpret_cast<const unsigned char*>(isn_key.data()));
  }
  return out;
}

void FastOpenKeys::rekey(Instant now, std::span<const std::byte, 16> key) noexcept {
  previous_ = current_;
  previous_until_ = now + kGrace;
  std::copy(key.begin(), key.end(), current_.begin());
}

wire::FastOpenCookie FastOpenKeys::make(const wire::IpAddress& client, bool experimental) const noexcept {
  const auto tag = mac(current_, client);
  return *wire::FastOpenCookie::make(wire::Bytes(tag), experimental);
}

bool FastOpenKeys::valid(Instant now, const wire::IpAddress& client, wire::Bytes cookie) const noexcept {
  if (equal(mac(current_, client), cookie)) return true;
  return previous_until_ && now < *previous_until_ && equal(mac(previous_, client), cookie);
}

FastOpenVerdict FastOpenListener::classify(Instant now, const wire::IpAddress& client,
                                           const wire::FastOpenCookie& option,
                                           std::size_t payload_len) const noexcept {
  if (keys == nullptr || queue_length == 0) return FastOpenVerdict::none;
  // RFC 7413 §4.2.2: an empty option is a cookie request.
  if (option.is_request()) return FastOpenVerdict::request;
  if (!keys->valid(now, client, option.cookie())) return FastOpenVerdict::invalid;
  return payload_len > 0 ? FastOpenVerdict::valid_data : FastOpenVerdict::valid_empty;
}

bool FastOpenListener::admit() {
  if (pending.size() < queue_length) return true;
  if (still_pending) std::erase_if(pending, [&](std::uint64_t h) { return !still_pending(h); });
  return pending.size() < queue_length;
}

void Listener::enable_fast_open(const FastOpenKeys* keys, std::uint32_t queue_length,
                                std::function<bool(std::uint64_t)> still_pending) {
  if (keys == nullptr || queue_length == 0) {
    fast_open_.reset();
    return;
  }
  if (!fast_open_) fast_open_ = std::make_unique<FastOpenListener>();
  fast_open_->keys = keys;
  fast_open_->queue_length = queue_length;
  fast_open_->still_pending = std::move(still_pending);
}

std::uint8_t Listener::fast_open_cookie_for(const wire::TcpHeader& syn) const noexcept {
  if (fast_open_ == nullptr || !syn.options.fast_open) return 0;
  return syn.options.fast_open->experimental() ? ListenerReply::kFastOpenExperimental
                                               : ListenerReply::kFastOpenCookie;
}

bool Listener::fast_open_syn(Instant now, const wire::FourTuple& tuple, const wire::TcpHeader& h,
                             wire::Bytes payload, const SynOptions& peer, const IsnGenerator& isn,
                             ListenerReply& r) {
  FastOpenListener& fo = *fast_open_;
  switch (fo.classify(now, tuple.remote.address, *h.options.fast_open, payload.size())) {
    case FastOpenVerdict::none:
    case FastOpenVerdict::valid_empty:
      return false;  // a plain handshake (Linux answers a valid cookie without data the same way)
    case FastOpenVerdict::invalid:
      // RFC 7413 §4.2.2: "If the cookie is not valid, the server MUST ... ACK only the ISN" and "MAY
      // send a valid cookie" — it does, so the client's next SYN can carry data.
      ++fo.invalid;
      [[fallthrough]];
    case FastOpenVerdict::request:
      // §4.2.2: a cookie request is answered with a cookie in the SYN-ACK.
      r.fast_open_cookie = fast_open_cookie_for(h);
      ++fo.cookies_sent;
      return false;
    case FastOpenVerdict::valid_data:
      break;
  }
  // RFC 7413 §5.1: "servers MUST limit the number of pending TFO connections"; past the bound, the SYN
  // is handled as a plain one (the data is not acknowledged).
  if (!fo.admit()) {
    ++fo.queue_overflows;
    return false;
  }
  r.cookie = make_half_open(now, tuple, h.seq, peer, isn);
  // The connection's own SYN-ACK answers: RFC 3168 ECN if the SYN asked for any (no AccECN codepoint).
  r.cookie.flags = static_cast<std::uint8_t>(r.cookie.flags & ~(HalfOpen::kInUse | HalfOpen::kAccEcn));
  r.kind = ListenerReply::Kind::fast_open;
  ++fo.accepted;
  ++stats_.established;
  return true;
}

const FastOpenEntry* FastOpenCache::find(const wire::IpAddress& server) const noexcept {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const FastOpenEntry& e) { return e.server == server; });
  return it == entries_.end() ? nullptr : &*it;
}

FastOpenEntry& FastOpenCache::entry(const wire::IpAddress& server) {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const FastOpenEntry& e) { return e.server == server; });
  if (it != entries_.end()) return *it;
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());  // the oldest goes
  entries_.push_back(FastOpenEntry{server, std::nullopt, 0, std::nullopt});
  return entries_.back();
}

void FastOpenCache::store(const wire::IpAddress& server, const wire::FastOpenCookie& cookie,
                          std::uint16_t mss) {
  FastOpenEntry& e = entry(server);
  e.cookie = cookie;
  if (mss != 0) e.mss = mss;
}

void FastOpenCache::mark_hostile(Instant now, const wire::IpAddress& server) {
  entry(server).hostile_until = now + kHostileFor;
}

bool FastOpenCache::hostile(Instant now, const wire::IpAddress& server) const noexcept {
  const FastOpenEntry* e = find(server);
  return e != nullptr && e->hostile_until && now < *e->hostile_until;
}

void FastOpenCache::forget_cookie(const wire::IpAddress& server) noexcept {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const FastOpenEntry& e) { return e.server == server; });
  if (it != entries_.end()) it->cookie.reset();
}

FastOpenInfo FastOpenState::info() const noexcept {
  FastOpenInfo i;
  i.used = true;
  i.cookie_requested = requested;
  i.cookie_sent = !server && !requested && (syn_data_sent > 0 || syn_option.has_value() || syn_timed_out);
  i.cookie_received = cookie_received.has_value();
  i.syn_data = server ? data_received : syn_data_sent;
  i.syn_data_acked = server ? data_received > 0 : syn_data_acked;
  i.fell_back = syn_timed_out;
  return i;
}

std::string to_hex(const wire::FastOpenCookie& cookie) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string s;
  for (const std::byte b : cookie.cookie()) {
    s += kDigits[static_cast<std::size_t>(b) >> 4U];
    s += kDigits[static_cast<std::size_t>(b) & 0xFU];
  }
  return s;
}

std::optional<wire::FastOpenCookie> cookie_from_hex(std::string_view hex) noexcept {
  if (hex.size() % 2 != 0 || hex.size() / 2 > wire::FastOpenCookie::kMaxSize) return std::nullopt;
  std::array<std::byte, wire::FastOpenCookie::kMaxSize> bytes{};
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    unsigned v = 0;
    const char* first = hex.data() + 2 * i;
    const auto [ptr, ec] = std::from_chars(first, first + 2, v, 16);
    if (ec != std::errc{} || ptr != first + 2) return std::nullopt;
    bytes[i] = static_cast<std::byte>(v);
  }
  if (hex.empty()) return std::nullopt;  // a request is not a cookie to cache
  return wire::FastOpenCookie::make(wire::Bytes(bytes).first(hex.size() / 2));
}

std::string FastOpenCache::serialize() const {
  std::string out;
  for (const FastOpenEntry& e : entries_) {
    if (!e.cookie) continue;
    out += e.server.to_string() + ' ' + std::to_string(e.mss) + ' ' + to_hex(*e.cookie) + '\n';
  }
  return out;
}

std::size_t FastOpenCache::parse(std::string_view text) {
  std::size_t bad = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    const std::size_t a = line.find(' ');
    const std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) {
      ++bad;
      continue;
    }
    const auto server = wire::IpAddress::parse(line.substr(0, a));
    unsigned mss = 0;
    const std::string_view mss_text = line.substr(a + 1, b - a - 1);
    const auto [ptr, ec] = std::from_chars(mss_text.data(), mss_text.data() + mss_text.size(), mss);
    const auto cookie = cookie_from_hex(line.substr(b + 1));
    if (!server || ec != std::errc{} || ptr != mss_text.data() + mss_text.size() || mss > 65535U || !cookie) {
      ++bad;
      continue;
    }
    store(*server, *cookie, static_cast<std::uint16_t>(mss));
  }
  return bad;
}

}  // namespace synack::tcp
