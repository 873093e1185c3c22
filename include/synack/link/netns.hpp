/// @file
/// Private Linux network namespaces for the TUN driver and the kernel-peer tests: enter a fresh one (as
/// root, or through a user namespace when unprivileged), bring interfaces up and set per-namespace sysctls.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace synack::link {

/// Moves the calling thread into a new, empty network namespace and brings its `lo` up.
///
/// Tries unshare(CLONE_NEWNET) first; when that fails with EPERM it tries
/// unshare(CLONE_NEWUSER | CLONE_NEWNET) and maps the caller's uid/gid to root inside (setgroups denied),
/// which gives an unprivileged user CAP_NET_ADMIN over the new namespace. The user-namespace path needs a
/// single-threaded process, so call this in a freshly forked child. On failure the error is one line
/// naming what is missing, e.g. "unprivileged user namespaces are disabled
/// (kernel.unprivileged_userns_clone=0)".
[[nodiscard]] std::expected<void, std::string> enter_private_netns();

/// Sets IFF_UP on the interface `name` in the current network namespace.
[[nodiscard]] std::expected<void, std::string> set_interface_up(std::string_view name);

/// Writes `value` to a sysctl under /proc/sys/net for the current network namespace. `key` is either the
/// dotted form "net.ipv6.conf.tun0.accept_dad" or, for interface names that contain dots, the path form
/// "net/ipv6/conf/tun0.5/accept_dad". Keys outside net, empty components and ".." are rejected.
[[nodiscard]] std::expected<void, std::string> write_net_sysctl(std::string_view key, std::string_view value);

}  // namespace synack::link
