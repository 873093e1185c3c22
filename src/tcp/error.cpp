#include "synack/tcp/error.hpp"

#include <string>

namespace synack::tcp {

std::string_view to_string(Error error) noexcept {
  switch (error) {
    case Error::refused:
      return "connection refused";
    case Error::timed_out:
      return "connection timed out";
    case Error::reset:
      return "connection reset by peer";
    case Error::aborted:
      return "connection aborted";
    case Error::not_connected:
      return "not connected";
    case Error::shut_down:
      return "cannot send after shutdown";
    case Error::unknown_connection:
      return "unknown connection";
    case Error::address_in_use:
      return "address in use";
    case Error::address_not_local:
      return "address not local";
    case Error::invalid_argument:
      return "invalid argument";
    case Error::no_resources:
      return "no resources";
    case Error::would_block:
      return "operation would block";
    case Error::unknown_offer:
      return "unknown offer";
    case Error::offer_expired:
      return "offer expired";
  }
  return "unknown tcp error";
}

namespace {
class TcpCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "synack.tcp"; }
  [[nodiscard]] std::string message(int value) const override {
    return std::string(to_string(static_cast<Error>(value)));
  }
};

// Constant-initialised (no guard on every call: an error event builds an error_code per connection).
constinit const TcpCategory kTcpCategory{};
}  // namespace

const std::error_category& tcp_category() noexcept {
  return kTcpCategory;
}

}  // namespace synack::tcp
