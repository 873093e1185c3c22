// Entering a private network namespace, bringing interfaces up and writing per-namespace sysctls.
#include "synack/link/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

using detail::FdGuard;

/// Writes `text` to an existing file (no O_CREAT); the error names the file.
std::expected<void, Error> write_file(const std::string& path, std::string_view text) {
  const FdGuard fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::unexpected(Error::os(path, errno));
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return std::unexpected(Error::os(fmt::format("writing '{}' to {}", text, path), errno));
  if (static_cast<std::size_t>(n) != text.size()) {
    return std::unexpected(Error::of(fmt::format("writing '{}' to {}", text, path), Errc::short_write));
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

/// Why unshare(CLONE_NEWUSER | CLONE_NEWNET) failed with `error`: the setting that forbids it, or the errno.
Error userns_failure(int error) {
  if (read_first_line("/proc/sys/kernel/unprivileged_userns_clone") == "0") {
    return Error::of("not root, and kernel.unprivileged_userns_clone=0", Errc::userns_disabled);
  }
  if (read_first_line("/proc/sys/user/max_user_namespaces") == "0") {
    return Error::of("not root, and user.max_user_namespaces=0", Errc::userns_disabled);
  }
  if (read_first_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1") {
    return Error::of("not root, and AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns=1)",
                     Errc::userns_disabled);
  }
  if (error == EINVAL) {
    return Error::os("unshare(CLONE_NEWUSER|CLONE_NEWNET) in a multi-threaded process", error);
  }
  return Error::os("not root, and unshare(CLONE_NEWUSER|CLONE_NEWNET)", error);
}

}  // namespace

std::expected<void, Error> enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int error = errno;
    if (error != EPERM) return std::unexpected(Error::os("unshare(CLONE_NEWNET)", error));
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

std::expected<void, Error> set_interface_up(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return std::unexpected(Error::of(fmt::format("'{}'", name), Errc::bad_name));
  }
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return std::unexpected(Error::os("socket(AF_INET)", errno));
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) {
    return std::unexpected(Error::os(fmt::format("SIOCGIFFLAGS {}", name), errno));
  }
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) {
    return std::unexpected(Error::os(fmt::format("SIOCSIFFLAGS {} up", name), errno));
  }
  return {};
}

std::expected<void, Error> write_net_sysctl(std::string_view key, std::string_view value) {
  std::string path = "/proc/sys/";
  const bool slashed = key.find('/') != std::string_view::npos;
  const char separator = slashed ? '/' : '.';
  if (!key.starts_with(slashed ? "net/" : "net.")) {
    return std::unexpected(Error::of(fmt::format("sysctl '{}'", key), Errc::bad_sysctl));
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find(separator, start), key.size());
    const std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.find('/') != std::string_view::npos) {
      return std::unexpected(Error::of(fmt::format("sysctl '{}'", key), Errc::bad_sysctl));
    }
    if (start != 0) path += '/';
    path += part;
    start = end + 1;
  }
  return write_file(path, value);
}

std::expected<void, Error> check_private_network_namespace() {
  struct stat self{};
  struct stat init{};
  if (::stat("/proc/self/ns/net", &self) == 0 && ::stat("/proc/1/ns/net", &init) == 0 &&
      self.st_dev == init.st_dev && self.st_ino == init.st_ino) {
    return std::unexpected(Error::of("this is the initial network namespace", Errc::not_private));
  }
  struct if_nameindex* names = ::if_nameindex();
  if (names == nullptr) return std::unexpected(Error::os("listing interfaces", errno));
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  std::string foreign;
  for (const struct if_nameindex* n = names; n->if_index != 0 && n->if_name != nullptr; ++n) {
    ifreq request{};
    std::strncpy(request.ifr_name, n->if_name, IFNAMSIZ - 1);
    int type = -1;
    if (sock.get() >= 0 && ::ioctl(sock.get(), SIOCGIFHWADDR, &request) == 0)
      type = request.ifr_hwaddr.sa_family;
    if (type != ARPHRD_LOOPBACK && type != ARPHRD_NONE) {
      foreign = n->if_name;
      break;
    }
  }
  ::if_freenameindex(names);
  if (!foreign.empty()) {
    return std::unexpected(
        Error::of(fmt::format("this network namespace has interface {}", foreign), Errc::not_private));
  }
  return {};
}

}  // namespace synack::link
