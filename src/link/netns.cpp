// Entering a private network namespace, bringing interfaces up and writing per-namespace sysctls.
#include "synack/link/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "fd.hpp"

namespace synack::link {
namespace {

using detail::errno_text;
using detail::FdGuard;

/// Writes `text` to an existing file (no O_CREAT); the error names the file.
std::expected<void, std::string> write_file(const std::string& path, std::string_view text) {
  const FdGuard fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(fmt::format("{}: {}", path, errno_text(errno)));
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return std::unexpected(fmt::format("writing '{}' to {}: {}", text, path, errno_text(errno)));
  if (static_cast<std::size_t>(n) != text.size()) {
    return std::unexpected(fmt::format("writing '{}' to {}: short write", text, path));
  }
  return {};
}

/// The first line of a small file, or "" when it cannot be read.
std::string read_first_line(const char* path) {
  const FdGuard fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {};
  char buffer[64] = {};
  const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer) - 1);
  if (n <= 0) return {};
  std::string line(buffer, static_cast<std::size_t>(n));
  if (const auto end = line.find('\n'); end != std::string::npos) line.resize(end);
  return line;
}

/// Why unshare(CLONE_NEWUSER | CLONE_NEWNET) failed with `error`, in one line.
std::string userns_failure(int error) {
  if (read_first_line("/proc/sys/kernel/unprivileged_userns_clone") == "0") {
    return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)";
  }
  if (read_first_line("/proc/sys/user/max_user_namespaces") == "0") {
    return "user namespaces are disabled (user.max_user_namespaces=0)";
  }
  if (read_first_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1") {
    return "unprivileged user namespaces are restricted by AppArmor "
           "(kernel.apparmor_restrict_unprivileged_userns=1)";
  }
  if (error == EINVAL) {
    return "cannot create a user namespace from a multi-threaded process (unshare: Invalid argument)";
  }
  return fmt::format("not root and unshare(CLONE_NEWUSER|CLONE_NEWNET) failed: {}", errno_text(error));
}

}  // namespace

std::expected<void, std::string> enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int error = errno;
    if (error != EPERM) return std::unexpected(fmt::format("unshare(CLONE_NEWNET): {}", errno_text(error)));
    // Unprivileged: a user namespace of our own makes us root over a network namespace it owns. The ids
    // must be read before unshare (afterwards they read as the overflow id until the maps exist).
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return std::unexpected(userns_failure(errno));
    if (auto r = write_file("/proc/self/setgroups", "deny"); !r) return r;
    if (auto r = write_file("/proc/self/uid_map", fmt::format("0 {} 1\n", uid)); !r) return r;
    if (auto r = write_file("/proc/self/gid_map", fmt::format("0 {} 1\n", gid)); !r) return r;
  }
  return set_interface_up("lo");
}

std::expected<void, std::string> set_interface_up(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return std::unexpected(fmt::format("bad interface name '{}'", name));
  }
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return std::unexpected(fmt::format("socket(AF_INET): {}", errno_text(errno)));
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) {
    return std::unexpected(fmt::format("SIOCGIFFLAGS {}: {}", name, errno_text(errno)));
  }
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) {
    return std::unexpected(fmt::format("SIOCSIFFLAGS {} up: {}", name, errno_text(errno)));
  }
  return {};
}

std::expected<void, std::string> write_net_sysctl(std::string_view key, std::string_view value) {
  std::string path = "/proc/sys/";
  const bool slashed = key.find('/') != std::string_view::npos;
  const char separator = slashed ? '/' : '.';
  if (!key.starts_with(slashed ? "net/" : "net.")) {
    return std::unexpected(fmt::format("sysctl '{}' is not under net", key));
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find(separator, start), key.size());
    const std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.find('/') != std::string_view::npos) {
      return std::unexpected(fmt::format("bad sysctl name '{}'", key));
    }
    if (start != 0) path += '/';
    path += part;
    start = end + 1;
  }
  return write_file(path, value);
}

}  // namespace synack::link
