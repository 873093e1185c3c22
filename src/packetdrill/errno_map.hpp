// errno values for the Shim: the libc convention (-1 and errno) and synack's errors as the errno a POSIX
// stack reports for them.
#pragma once

#include <cerrno>
#include <system_error>

#include "synack/tcp/error.hpp"

namespace synack::packetdrill {

/// Sets errno and returns -1, as a failing libc call does.
inline int fail(int error) noexcept {
  errno = error;
  return -1;
}

/// The errno for one of synack's errors (tcp::Error), e.g. ECONNREFUSED for refused.
[[nodiscard]] inline int to_errno(std::error_code ec) noexcept {
  if (!ec) return 0;
  if (ec.category() != make_error_code(tcp::Error::refused).category()) return ec.value();
  switch (static_cast<tcp::Error>(ec.value())) {
    case tcp::Error::refused:
      return ECONNREFUSED;
    case tcp::Error::timed_out:
      return ETIMEDOUT;
    case tcp::Error::reset:
      return ECONNRESET;
    case tcp::Error::aborted:
      return ECONNABORTED;
    case tcp::Error::not_connected:
      return ENOTCONN;
    case tcp::Error::shut_down:
      return EPIPE;
    case tcp::Error::unknown_connection:
      return EBADF;
    case tcp::Error::address_in_use:
      return EADDRINUSE;
    case tcp::Error::address_not_local:
      return EADDRNOTAVAIL;
    case tcp::Error::no_resources:
      return ENOBUFS;
    case tcp::Error::would_block:
      return EAGAIN;
    default:
      return EINVAL;
  }
}

}  // namespace synack::packetdrill
