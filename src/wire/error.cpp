#include "synack/wire/error.hpp"

#include <string>

namespace synack::wire {

std::string_view to_string(Error error) noexcept {
  switch (error) {
    case Error::ip_truncated:
      return "IP header truncated";
    case Error::ip_bad_version:
      return "bad IP version";
    case Error::ipv4_bad_header_length:
      return "bad IPv4 header length (IHL)";
    case Error::ip_bad_total_length:
      return "IP length field disagrees with the packet";
    case Error::ipv4_bad_checksum:
      return "bad IPv4 header checksum";
    case Error::ip_fragment:
      return "IP fragment";
    case Error::ip_not_tcp:
      return "not TCP";
    case Error::ipv6_extension_truncated:
      return "IPv6 extension header truncated";
    case Error::ipv6_extension_chain_too_long:
      return "IPv6 extension header chain too long";
    case Error::ipv6_unsupported_header:
      return "IPv6 header that cannot be walked (ESP or jumbogram)";
    case Error::tcp_truncated:
      return "TCP header truncated";
    case Error::tcp_bad_data_offset:
      return "TCP data offset below 5";
    case Error::tcp_data_offset_past_end:
      return "TCP data offset past the end of the segment";
    case Error::tcp_bad_checksum:
      return "bad TCP checksum";
    case Error::option_truncated:
      return "TCP option truncated";
    case Error::option_bad_length:
      return "TCP option length below 2 or past the option space";
    case Error::option_wrong_length:
      return "TCP option length not allowed for its kind";
    case Error::buffer_too_small:
      return "output buffer too small";
    case Error::options_too_long:
      return "TCP options longer than 40 bytes";
    case Error::payload_too_long:
      return "datagram longer than 65535 bytes";
    case Error::link_truncated:
      return "link-layer header truncated";
    case Error::link_unsupported:
      return "unsupported link type";
    case Error::link_not_ip:
      return "frame does not carry IP";
  }
  return "unknown wire error";
}

namespace {
class WireCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "synack.wire"; }
  [[nodiscard]] std::string message(int value) const override {
    return std::string(to_string(static_cast<Error>(value)));
  }
};
}  // namespace

const std::error_category& wire_category() noexcept {
  static const WireCategory category;
  return category;
}

}  // namespace synack::wire
