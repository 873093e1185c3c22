/// @file
/// Errors of the TCP engine and the stack API, registered as the std::error_code category "synack.tcp".
/// The terminal errors of a connection tell its endings apart: `refused` (an RST answered our SYN) is not
/// `timed_out` (nobody answered) is not `reset` (an established connection was reset by the peer).
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace synack::tcp {

/// What went wrong in the engine or in a Stack call. 0 is never used, so a zero std::error_code means
/// success; the value is also the error_code's value in the "synack.tcp" category. The errno in each
/// comment is the socket API's nearest equivalent.
enum class Error : std::uint8_t {
  refused = 1,         ///< the peer answered our SYN with an acceptable RST (ECONNREFUSED)
  timed_out,           ///< SYN, SYN-ACK or data retransmissions exhausted (ETIMEDOUT)
  reset,               ///< a synchronized connection was reset by the peer (ECONNRESET)
  aborted,             ///< the local user aborted the connection (ECONNABORTED)
  not_connected,       ///< the call needs a synchronized connection (ENOTCONN)
  shut_down,           ///< sending after shutdown_write()/close() (EPIPE)
  unknown_connection,  ///< the id names no live connection (EBADF)
  address_in_use,      ///< the 4-tuple or listening endpoint is taken (EADDRINUSE)
  address_not_local,   ///< the local address is not one the stack owns (EADDRNOTAVAIL)
  invalid_argument,    ///< a parameter is out of range (EINVAL)
  no_resources,        ///< the connection pool or a queue is full (ENOBUFS)
  would_block,         ///< nothing to accept / read right now (EAGAIN)
  unknown_offer,       ///< the offer id names no pending offer: never made, or already decided
  offer_expired,       ///< the offer expired (ForwarderConfig::pending_timeout) before decide()
};

/// A short phrase, e.g. "connection timed out" (the category's message() and log lines).
[[nodiscard]] std::string_view to_string(Error error) noexcept;
/// The "synack.tcp" category; its message() is a human-readable sentence per Error.
[[nodiscard]] const std::error_category& tcp_category() noexcept;
/// Makes an Error usable as a std::error_code (found by argument-dependent lookup).
[[nodiscard]] inline std::error_code make_error_code(Error error) noexcept {
  return {static_cast<int>(error), tcp_category()};
}

}  // namespace synack::tcp

template <>
struct std::is_error_code_enum<synack::tcp::Error> : std::true_type {};
