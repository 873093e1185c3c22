// The "synack.link" error category (include/synack/link/error.hpp).
#include "synack/link/error.hpp"

#include <string>

namespace synack::link {
namespace {

class LinkCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "synack.link"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::bad_name:
        return "bad interface name (1 to 15 characters, no '/', ':' or space)";
      case Errc::bad_sysctl:
        return "not a sysctl under net (net.a.b or net/a/b, no empty part or '..')";
      case Errc::out_of_range:
        return "out of range";
      case Errc::not_private:
        return "not a private network namespace";
      case Errc::userns_disabled:
        return "user namespaces are not available to this user";
      case Errc::netlink:
        return "no valid rtnetlink acknowledgement";
      case Errc::address_timeout:
        return "the address did not become usable within 2 s";
      case Errc::short_write:
        return "short write";
    }
    return "unknown link error";
  }
};

}  // namespace

const std::error_category& link_category() noexcept {
  static const LinkCategory category;
  return category;
}

}  // namespace synack::link
