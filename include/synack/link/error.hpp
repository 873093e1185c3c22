/// @file
/// The link layer's errors: a std::error_code — the OS's errno (generic category) kept as it was, or a
/// link::Errc of the registered category "synack.link" — with what was being done, naming the device,
/// file or address once. fmt prints a link::Error as its message(): "adding 192.0.2.1/24 to synack0: File
/// exists".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>

namespace synack::link {

/// Failures of the link layer's own (the OS's are errnos).
enum class Errc : std::uint8_t {
  bad_name = 1,     ///< not an interface name Linux accepts
  bad_sysctl,       ///< not a sysctl key under net
  out_of_range,     ///< a value the kernel cannot take (an MTU, a prefix length)
  not_private,      ///< the network namespace is not provably a private one
  userns_disabled,  ///< user namespaces are not available to this user
  netlink,          ///< rtnetlink gave no (or a malformed) acknowledgement
  address_timeout,  ///< an address did not become usable in time
  short_write,      ///< a write took only part of the bytes
};

/// The "synack.link" category: Errc values and their descriptions.
[[nodiscard]] const std::error_category& link_category() noexcept;
/// Makes an Errc usable as a std::error_code (found by argument-dependent lookup).
[[nodiscard]] inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), link_category()};
}

/// A link failure: why (errno or Errc) and what was being done.
struct Error {
  std::error_code code;  ///< the errno (generic category) or an Errc
  std::string what;      ///< what failed, naming its object once ("TUNSETIFF synack0", "/dev/net/tun")

  /// An OS failure: `error` is an errno.
  [[nodiscard]] static Error os(std::string what, int error) {
    return {std::error_code(error, std::generic_category()), std::move(what)};
  }
  /// One of the link layer's own.
  [[nodiscard]] static Error of(std::string what, Errc e) { return {make_error_code(e), std::move(what)}; }
  /// "WHAT: REASON" (just the reason when nothing names it).
  [[nodiscard]] std::string message() const {
    return what.empty() ? code.message() : what + ": " + code.message();
  }
  /// True when the OS refused for lack of privilege (EPERM, EACCES).
  [[nodiscard]] bool is_permission() const noexcept {
    return code == std::errc::operation_not_permitted || code == std::errc::permission_denied;
  }
};

}  // namespace synack::link

/// @cond
/// link::Errc converts to std::error_code.
template <>
struct std::is_error_code_enum<synack::link::Errc> : std::true_type {};

/// Formats a link::Error as its message() (hidden from the API reference, as fmt's namespace is).
template <>
struct fmt::formatter<synack::link::Error> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const synack::link::Error& error, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(error.message()), ctx);
  }
};
/// @endcond
