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

}  // namespace synack::wire
