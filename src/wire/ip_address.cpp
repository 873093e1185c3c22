#include "synack/wire/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace synack::wire {

IpAddress IpAddress::from_bytes(Bytes bytes) noexcept {
  if (bytes.size() == 4) {
    std::array<std::byte, 4> a{};
    std::copy_n(bytes.begin(), 4, a.begin());
    return v4(a);
  }
  if (bytes.size() == 16) {
    std::array<std::byte, 16> a{};
    std::copy_n(bytes.begin(), 16, a.begin());
    return v6(a);
  }
  return {};
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  std::array<std::byte, 16> buf{};
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf.data()) != 1) return std::nullopt;
    return from_bytes(Bytes(buf).first(4));
  }
  if (inet_pton(AF_INET6, s.c_str(), buf.data()) != 1) return std::nullopt;
  return v6(buf);
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), text, sizeof text);
  return text;
}

std::string Endpoint::to_string() const {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

namespace {
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  // A multiply-xorshift step (from the splitmix64 finaliser): fast and well distributed.
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6U) + (h >> 2U);
  h ^= h >> 30U;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27U;
  h *= 0x94D049BB133111EBULL;
  return h ^ (h >> 31U);
}
std::uint64_t mix_address(std::uint64_t h, const IpAddress& a) noexcept {
  const Bytes b = a.bytes();
  for (std::size_t i = 0; i < b.size(); i += 4) h = mix(h, load_be32(b, i));
  return h;
}
}  // namespace

std::size_t hash_value(const FourTuple& t, std::uint64_t seed) noexcept {
  std::uint64_t h = seed;
  h = mix_address(h, t.local.address);
  h = mix_address(h, t.remote.address);
  h = mix(h, (static_cast<std::uint64_t>(t.local.port) << 16U) | t.remote.port);
  return static_cast<std::size_t>(h);
}

}  // namespace synack::wire
