/// @file
/// The Linux TUN device: an RAII handle on a layer-3 (IFF_TUN | IFF_NO_PI) interface whose reads and
/// writes are whole IPv4/IPv6 datagrams, plus the kernel-side configuration (MTU, up, addresses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "synack/link/device.hpp"
#include "synack/link/error.hpp"
#include "synack/wire/bytes.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::link {

/// One's own end of a TUN interface, a link::Device. Move-only; the destructor closes the fd (which removes a
/// non-persistent device). Every call acts in the network namespace the device was created in, which
/// must be the caller's current one for the configuration calls.
class TunDevice final : public Device {
 public:
  /// Longest interface name Linux accepts (IFNAMSIZ - 1).
  static constexpr std::size_t kMaxNameLength = 15;

  /// Opens /dev/net/tun and creates (or attaches to) the interface `name` with IFF_TUN | IFF_NO_PI. The
  /// fd is non-blocking and close-on-exec. The name is validated before anything is opened; a "%d" in it
  /// lets the kernel pick a number (name() then tells which).
  [[nodiscard]] static std::expected<TunDevice, Error> open(std::string_view name);

  /// @{
  /// Takes over `other`'s fd (`other` is left with -1; assignment closes this device's fd first).
  TunDevice(TunDevice&& other) noexcept;
  TunDevice& operator=(TunDevice&& other) noexcept;
  /// @}
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice() override;

  /// The interface name the kernel gave the device.
  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  /// The file descriptor, for poll/epoll (-1 after a move).
  [[nodiscard]] int fd() const noexcept override { return fd_; }
  /// read(), as a Device (the time is not needed).
  [[nodiscard]] std::expected<std::size_t, std::error_code> receive(Instant /*now*/,
                                                                    wire::MutableBytes buffer) override {
    return read(buffer);
  }
  /// write(), as a Device.
  [[nodiscard]] std::expected<std::size_t, std::error_code> transmit(Instant /*now*/,
                                                                     wire::Bytes datagram) override {
    return write(datagram);
  }
  /// The interface index (if_nametoindex), 0 when it cannot be found.
  [[nodiscard]] unsigned index() const noexcept;

  /// The interface MTU as the kernel sees it.
  [[nodiscard]] std::expected<std::uint32_t, Error> mtu() const;
  /// Sets the interface MTU (the kernel rejects values below 68, and IPv6 needs 1280).
  [[nodiscard]] std::expected<void, Error> set_mtu(std::uint32_t mtu) const;
  /// Brings the interface up (IFF_UP).
  [[nodiscard]] std::expected<void, Error> set_up() const;
  /// Adds `address`/`prefix_length` to the kernel's side of the interface over rtnetlink (RTM_NEWADDR,
  /// replacing an equal address). IPv6 addresses get IFA_F_NODAD (no duplicate address detection). The
  /// prefix's connected route comes with the address. When the interface is up, returns only once the
  /// address is usable (its local route exists; for IPv6 the kernel finishes that asynchronously, and
  /// until then drops packets to the address), waiting at most 2 s; so call set_up() first.
  [[nodiscard]] std::expected<void, Error> add_address(const wire::IpAddress& address,
                                                       std::uint8_t prefix_length) const;

  /// Routes `prefix`/`prefix_length` into this interface in the main table (RTM_NEWROUTE, scope link,
  /// replacing an equal route), like `ip route replace PREFIX dev NAME`. The interface must be up. The
  /// host bits of `prefix` must be zero (the kernel refuses the route otherwise).
  [[nodiscard]] std::expected<void, Error> add_route(const wire::IpAddress& prefix,
                                                     std::uint8_t prefix_length) const;
  /// Reads one datagram into `buffer` (size it to the MTU or more). Returns its size, or 0 when no
  /// datagram is waiting (the fd would block); a real failure is an error. Never allocates.
  [[nodiscard]] std::expected<std::size_t, std::error_code> read(wire::MutableBytes buffer) const noexcept;
  /// Writes one whole datagram. Returns the bytes written, or 0 when the fd would block.
  [[nodiscard]] std::expected<std::size_t, std::error_code> write(wire::Bytes datagram) const noexcept;

 private:
  TunDevice(int fd, std::string name) noexcept : fd_(fd), name_(std::move(name)) {}
  int fd_ = -1;
  std::string name_;
};

/// Checks that /dev/net/tun can be opened read-write (opening alone creates nothing). The error keeps the
/// errno: "/dev/net/tun: Permission denied".
[[nodiscard]] std::expected<void, Error> tun_available();

}  // namespace synack::link
