// TUN device: open/attach (TUNSETIFF), MTU and flags (ioctl), addresses (rtnetlink RTM_NEWADDR), routes
// (RTM_NEWROUTE), I/O.
#include "synack/link/tun.hpp"

// <net/if.h> before any <linux/...> header, so the kernel headers defer to glibc's struct ifreq.
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "fd.hpp"
#include "synack/link/netns.hpp"

namespace synack::link {
namespace {

using detail::FdGuard;

ifreq make_ifreq(const std::string& name) noexcept {
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), std::min(name.size(), std::size_t{IFNAMSIZ - 1}));
  return request;
}

// ---- A tiny rtnetlink request builder. The NLMSG_* / RTA_* macros use C casts, so their arithmetic is
// spelled out here; structs are copied in and out with memcpy, never overlaid on the buffer.

constexpr std::size_t nl_align(std::size_t length) noexcept {
  return (length + 3U) & ~std::size_t{3};
}

class NetlinkRequest {
 public:
  NetlinkRequest(std::uint16_t type, std::uint16_t flags, std::uint32_t seq) noexcept {
    header_.nlmsg_type = type;
    header_.nlmsg_flags = flags;
    header_.nlmsg_seq = seq;
    size_ = nl_align(sizeof(nlmsghdr));
  }
  /// Appends a fixed family header (ifaddrmsg, ifinfomsg …).
  template <typename T>
  bool put_struct(const T& value) noexcept {
    return put_raw(&value, sizeof(T));
  }
  /// Appends one attribute.
  bool put_attr(std::uint16_t type, const void* data, std::size_t length) noexcept {
    rtattr attr{};
    attr.rta_type = type;
    attr.rta_len = static_cast<unsigned short>(nl_align(sizeof(rtattr)) + length);
    return put_raw(&attr, sizeof(attr)) && put_raw(data, length);
  }
  /// The finished message (header length filled in).
  std::span<const std::byte> finish() noexcept {
    header_.nlmsg_len = static_cast<std::uint32_t>(size_);
    std::memcpy(buffer_.data(), &header_, sizeof(header_));
    return std::span<const std::byte>(buffer_).first(size_);
  }

 private:
  bool put_raw(const void* data, std::size_t length) noexcept {
    const std::size_t padded = nl_align(length);
    if (size_ + padded > buffer_.size()) return false;
    std::memcpy(buffer_.data() + size_, data, length);
    std::memset(buffer_.data() + size_ + length, 0, padded - length);
    size_ += padded;
    return true;
  }
  nlmsghdr header_{};
  std::array<std::byte, 256> buffer_{};
  std::size_t size_ = 0;
};

std::uint32_t next_netlink_seq() noexcept {
  static std::atomic<std::uint32_t> seq{1};
  return seq++;
}

/// Sends one request to the kernel and reads replies with its sequence number (waiting at most 2 s) until
/// an NLMSG_ERROR (an acknowledgement when its error is 0) or a reply `on_reply` accepts. An error names
/// `what` and the errno the kernel reported.
template <typename OnReply>
std::expected<void, Error> netlink_transact(NetlinkRequest& request, std::uint32_t seq, std::string_view what,
                                            OnReply on_reply) {
  const FdGuard sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.get() < 0) return std::unexpected(Error::os(fmt::format("{}: socket(AF_NETLINK)", what), errno));
  const timeval timeout{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const auto message = request.finish();
  if (::send(sock.get(), message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) {
    return std::unexpected(Error::os(fmt::format("{}: netlink send", what), errno));
  }
  alignas(nlmsghdr) std::array<std::byte, 8192> reply{};
  for (int attempt = 0; attempt < 16; ++attempt) {
    const ssize_t received = ::recv(sock.get(), reply.data(), reply.size(), 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error::os(fmt::format("{}: netlink recv", what), errno));
    }
    std::size_t offset = 0;
    const auto total = static_cast<std::size_t>(received);
    while (offset + sizeof(nlmsghdr) <= total) {
      nlmsghdr header{};
      std::memcpy(&header, reply.data() + offset, sizeof(header));
      if (header.nlmsg_len < sizeof(nlmsghdr) || offset + header.nlmsg_len > total) break;
      const std::span<const std::byte> body = std::span<const std::byte>(reply).subspan(
          offset + nl_align(sizeof(nlmsghdr)),
          header.nlmsg_len - std::min<std::size_t>(header.nlmsg_len, nl_align(sizeof(nlmsghdr))));
      if (header.nlmsg_seq == seq && header.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error{};
        if (body.size() < sizeof(nlmsgerr)) {
          return std::unexpected(Error::of(std::string(what), Errc::netlink));
        }
        std::memcpy(&error, body.data(), sizeof(error));
        if (error.error == 0) return {};
        return std::unexpected(Error::os(std::string(what), -error.error));
      }
      if (header.nlmsg_seq == seq && on_reply(header.nlmsg_type, body)) return {};
      offset += nl_align(header.nlmsg_len);
    }
  }
  return std::unexpected(Error::of(std::string(what), Errc::netlink));
}

/// IFF_UP of `name` (false when it cannot be read).
bool interface_is_up(const std::string& name) noexcept {
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return false;
  ifreq request = make_ifreq(name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return false;
  return (request.ifr_flags & IFF_UP) != 0;
}

/// Whether the kernel's route for `address` is already the local one (RTM_GETROUTE, like `ip route get`).
/// An IPv6 address only gets its local route when the kernel's address work (DAD, even when skipped with
/// IFA_F_NODAD) completes, a moment after RTM_NEWADDR was acknowledged; until then packets to it are
/// dropped as not ours (Ip6InAddrErrors).
std::expected<bool, Error> route_is_local(const wire::IpAddress& address, std::string_view what) {
  const std::uint32_t seq = next_netlink_seq();
  NetlinkRequest request(RTM_GETROUTE, NLM_F_REQUEST, seq);
  rtmsg message{};
  message.rtm_family = address.is_v4() ? AF_INET : AF_INET6;
  message.rtm_dst_len = address.is_v4() ? 32 : 128;
  const wire::Bytes bytes = address.bytes();
  if (!request.put_struct(message) || !request.put_attr(RTA_DST, bytes.data(), bytes.size())) {
    return std::unexpected(Error::of(std::string(what), Errc::netlink));
  }
  bool local = false;
  auto result =
      netlink_transact(request, seq, what, [&](std::uint16_t type, std::span<const std::byte> body) {
        if (type != RTM_NEWROUTE || body.size() < sizeof(rtmsg)) return false;
        rtmsg route{};
        std::memcpy(&route, body.data(), sizeof(route));
        local = route.rtm_type == RTN_LOCAL;
        return true;
      });
  if (!result) return false;  // no route at all yet (ENETUNREACH …): not local
  return local;
}

}  // namespace

std::expected<TunDevice, Error> TunDevice::open(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength ||
      name.find_first_of("/: \t\n") != std::string_view::npos || name == "." || name == "..") {
    return std::unexpected(Error::of(fmt::format("'{}'", name), Errc::bad_name));
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::unexpected(Error::os("/dev/net/tun", errno));
  ifreq request = make_ifreq(std::string(name));
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (::ioctl(fd, TUNSETIFF, &request) != 0) {
    const int error = errno;
    ::close(fd);
    return std::unexpected(Error::os(fmt::format("TUNSETIFF {}", name), error));
  }
  request.ifr_name[IFNAMSIZ - 1] = '\0';
  return TunDevice(fd, std::string(request.ifr_name));
}

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_)) {}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) ::close(fd_);
}

unsigned TunDevice::index() const noexcept {
  return ::if_nametoindex(name_.c_str());
}

std::expected<std::uint32_t, Error> TunDevice::mtu() const {
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return std::unexpected(Error::os("socket(AF_INET)", errno));
  ifreq request = make_ifreq(name_);
  if (::ioctl(sock.get(), SIOCGIFMTU, &request) != 0) {
    return std::unexpected(Error::os(fmt::format("SIOCGIFMTU {}", name_), errno));
  }
  return static_cast<std::uint32_t>(request.ifr_mtu);
}

std::expected<void, Error> TunDevice::set_mtu(std::uint32_t mtu) const {
  if (mtu > 65535)
    return std::unexpected(Error::of(fmt::format("MTU {} for {}", mtu, name_), Errc::out_of_range));
  const FdGuard sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return std::unexpected(Error::os("socket(AF_INET)", errno));
  ifreq request = make_ifreq(name_);
  request.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &request) != 0) {
    return std::unexpected(Error::os(fmt::format("SIOCSIFMTU {} {}", name_, mtu), errno));
  }
  return {};
}

std::expected<void, Error> TunDevice::set_up() const {
  return set_interface_up(name_);
}

std::expected<void, Error> TunDevice::add_address(const wire::IpAddress& address,
                                                  std::uint8_t prefix_length) const {
  const std::string what = fmt::format("adding {}/{} to {}", address.to_string(), prefix_length, name_);
  const unsigned ifindex = index();
  if (ifindex == 0) return std::unexpected(Error::os(what, ENODEV));
  const unsigned max_prefix = address.is_v4() ? 32U : 128U;
  if (prefix_length > max_prefix) return std::unexpected(Error::of(what, Errc::out_of_range));

  const std::uint32_t seq = next_netlink_seq();
  NetlinkRequest request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  ifaddrmsg message{};
  message.ifa_family = address.is_v4() ? AF_INET : AF_INET6;
  message.ifa_prefixlen = prefix_length;
  message.ifa_scope = RT_SCOPE_UNIVERSE;
  message.ifa_index = ifindex;
  const std::uint32_t flags = address.is_v6() ? std::uint32_t{IFA_F_NODAD} : 0U;
  message.ifa_flags = static_cast<std::uint8_t>(flags);
  const wire::Bytes bytes = address.bytes();
  const bool fits = request.put_struct(message) && request.put_attr(IFA_LOCAL, bytes.data(), bytes.size()) &&
                    request.put_attr(IFA_ADDRESS, bytes.data(), bytes.size()) &&
                    request.put_attr(IFA_FLAGS, &flags, sizeof(flags));
  if (!fits) return std::unexpected(Error::of(what, Errc::netlink));
  if (auto added = netlink_transact(request, seq, what,
                                    [](std::uint16_t, std::span<const std::byte>) { return false; });
      !added) {
    return added;
  }
  // Return only once the address is usable: wait (at most 2 s) for its local route.
  // (A down interface gets it only when it comes up; there is nothing to wait for yet.)
  if (!interface_is_up(name_)) return {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int attempt = 0; attempt < 400; ++attempt) {
    auto local = route_is_local(address, what);
    if (!local) return std::unexpected(local.error());
    if (*local) return {};
    if (std::chrono::steady_clock::now() > deadline) break;
    ::usleep(5000);
  }
  return std::unexpected(Error::of(what, Errc::address_timeout));
}

std::expected<void, Error> TunDevice::add_route(const wire::IpAddress& prefix,
                                                std::uint8_t prefix_length) const {
  const std::string what = fmt::format("routing {}/{} into {}", prefix.to_string(), prefix_length, name_);
  const unsigned ifindex = index();
  if (ifindex == 0) return std::unexpected(Error::os(what, ENODEV));
  if (prefix_length > (prefix.is_v4() ? 32U : 128U)) {
    return std::unexpected(Error::of(what, Errc::out_of_range));
  }
  const std::uint32_t seq = next_netlink_seq();
  NetlinkRequest request(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  rtmsg message{};
  message.rtm_family = prefix.is_v4() ? AF_INET : AF_INET6;
  message.rtm_dst_len = prefix_length;
  message.rtm_table = RT_TABLE_MAIN;
  message.rtm_protocol = RTPROT_STATIC;
  message.rtm_scope = RT_SCOPE_LINK;
  message.rtm_type = RTN_UNICAST;
  const std::uint32_t oif = ifindex;
  const wire::Bytes bytes = prefix.bytes();
  const bool fits = request.put_struct(message) && request.put_attr(RTA_DST, bytes.data(), bytes.size()) &&
                    request.put_attr(RTA_OIF, &oif, sizeof(oif));
  if (!fits) return std::unexpected(Error::of(what, Errc::netlink));
  return netlink_transact(request, seq, what,
                          [](std::uint16_t, std::span<const std::byte>) { return false; });
}

std::expected<std::size_t, std::error_code> TunDevice::read(wire::MutableBytes buffer) const noexcept {
  for (;;) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return std::unexpected(std::error_code(errno, std::generic_category()));
  }
}

std::expected<std::size_t, std::error_code> TunDevice::write(wire::Bytes datagram) const noexcept {
  for (;;) {
    const ssize_t n = ::write(fd_, datagram.data(), datagram.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return std::unexpected(std::error_code(errno, std::generic_category()));
  }
}

std::expected<void, Error> tun_available() {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::unexpected(Error::os("/dev/net/tun", errno));
  ::close(fd);
  return {};
}

}  // namespace synack::link
