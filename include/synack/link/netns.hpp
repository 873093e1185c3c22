/// @file
/// Private Linux network namespaces for the TUN driver and the kernel-peer tests: enter a fresh one (as
/// root, or through a user namespace when unprivileged), bring interfaces up and set per-namespace sysctls.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "synack/link/error.hpp"

namespace synack::link {

/// Moves the calling thread into a new, empty network namespace and brings its `lo` up.
///
/// Tries unshare(CLONE_NEWNET) first; when that fails with EPERM it tries
/// unshare(CLONE_NEWUSER | CLONE_NEWNET) and maps the caller's uid/gid to root inside (setgroups denied),
/// which gives an unprivileged user CAP_NET_ADMIN over the new namespace. The user-namespace path needs a
/// single-threaded process, so call this in a freshly forked child. On failure the error names what is
/// missing, e.g. "not root, and kernel.unprivileged_userns_clone=0: user namespaces are not available to
/// this user" (Errc::userns_disabled), or keeps the errno of the call that failed.
[[nodiscard]] std::expected<void, Error> enter_private_netns();

/// Sets IFF_UP on the interface `name` in the current network namespace.
[[nodiscard]] std::expected<void, Error> set_interface_up(std::string_view name);

/// Writes `value` to a sysctl under /proc/sys/net for the current network namespace. `key` is either the
/// dotted form "net.ipv6.conf.tun0.accept_dad" or, for interface names that contain dots, the path form
/// "net/ipv6/conf/tun0.5/accept_dad". Keys outside net, empty components and ".." are rejected.
[[nodiscard]] std::expected<void, Error> write_net_sysctl(std::string_view key, std::string_view value);

/// Succeeds only when the caller's network namespace is provably a private one that synack may configure:
/// it is not PID 1's (when that can be read), and it holds no interface but loopback and TUN devices (the
/// initial namespace of any real machine has a NIC). The error (Errc::not_private) says why not. synack never
/// adds addresses or routes anywhere else.
[[nodiscard]] std::expected<void, Error> check_private_network_namespace();

}  // namespace synack::link
