// The driver loop (driver/driver.hpp) over a device in memory, against a client Stack driven by hand: what
// the loop writes for a burst of datagrams read in one wake-up. The engine acknowledges every data segment
// at once (no delayed ACK); a driver that fed a whole burst before writing would send one stretch ACK for
// it, and one duplicate ACK for a burst of out-of-order segments instead of one each (RFC 5681 §4.2).
#include "synack/driver/driver.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "support/memory_device.hpp"
#include "synack/link/device.hpp"
#include "synack/stack/stack.hpp"
#include "synack/wire/packet.hpp"

namespace synack::driver {
namespace {

using namespace std::chrono_literals;
using Datagram = std::vector<std::byte>;

using test::MemoryDevice;

stack::StackConfig config_for(const char* address) {
  stack::StackConfig c;
  c.addresses = {*wire::IpAddress::parse(address)};
  return c;
}

/// A client Stack (driven here) and a server Stack behind a Driver over a MemoryDevice, connected.
class DriverBurst : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.listen(wire::Endpoint{wire::IpAddress{}, 7}).has_value());
    auto id = client_.connect(link::monotonic_now(), wire::Endpoint{},
                              wire::Endpoint{*wire::IpAddress::parse("192.0.2.2"), 7});
    ASSERT_TRUE(id.has_value());
    id_ = *id;
    for (int round = 0; round < 4 && !established_; ++round) {
      feed_server(client_datagrams());
      ASSERT_TRUE(driver_.step(link::monotonic_now()).has_value());
      deliver_to_client();
    }
    ASSERT_TRUE(established_);
    feed_server(client_datagrams());
    ASSERT_TRUE(driver_.step(link::monotonic_now()).has_value());  // the handshake's last ACK
    device_.sent.clear();
  }

  /// What the client has to send now.
  std::vector<Datagram> client_datagrams() {
    std::vector<Datagram> out;
    while (auto n = client_.poll_transmit(link::monotonic_now(), buffer_)) {
      out.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    return out;
  }
  void feed_server(const std::vector<Datagram>& datagrams) {
    device_.inbox.insert(device_.inbox.end(), datagrams.begin(), datagrams.end());
  }
  void deliver_to_client() {
    for (const auto& d : device_.sent) client_.on_packet(link::monotonic_now(), d);
    device_.sent.clear();
    while (auto e = client_.poll_event()) {
      if (e->kind == stack::EventKind::established) established_ = true;
    }
  }
  /// The ACK number of each datagram the server wrote (all of them must be TCP).
  std::vector<std::uint32_t> acks_sent() const {
    std::vector<std::uint32_t> acks;
    for (const auto& d : device_.sent) {
      const auto view = wire::TcpPacketView::parse(d);
      EXPECT_TRUE(view.has_value());
      if (view) acks.push_back(view->tcp().ack().raw());
    }
    return acks;
  }

  const std::array<std::byte, 16> key_{};
  stack::Stack client_{config_for("192.0.2.1"), key_, 1};
  stack::Stack server_{config_for("192.0.2.2"), key_, 2};
  MemoryDevice device_;
  Driver driver_{device_, server_};
  stack::ConnectionId id_{};
  bool established_ = false;
  std::array<std::byte, 2048> buffer_{};
};

TEST_F(DriverBurst, Established_BurstOfDataSegments_OneAckEach) {
  const std::vector<std::byte> data(8 * 1000, std::byte{0x5A});
  ASSERT_EQ(*client_.send(id_, data), data.size());
  const auto segments = client_datagrams();
  ASSERT_GE(segments.size(), 6U);
  feed_server(segments);
  ASSERT_TRUE(driver_.step(link::monotonic_now()).has_value());
  EXPECT_EQ(driver_.stats().datagrams_in, 2 + segments.size());  // (the handshake's SYN and ACK first)
  const auto acks = acks_sent();
  ASSERT_EQ(acks.size(), segments.size()) << "one ACK per data segment, not one for the burst";
  for (std::size_t i = 1; i < acks.size(); ++i) {
    EXPECT_GT(static_cast<std::int32_t>(acks[i] - acks[i - 1]), 0) << "ACK " << i << " acknowledges more";
  }
}

TEST_F(DriverBurst, Established_BurstOfOutOfOrderSegments_OneDuplicateAckEach) {
  const std::vector<std::byte> data(8 * 1000, std::byte{0x5A});
  ASSERT_EQ(*client_.send(id_, data), data.size());
  const auto segments = client_datagrams();
  ASSERT_GE(segments.size(), 6U);
  // The first segment is lost: every later one arrives out of order, in one read.
  feed_server({segments.begin() + 1, segments.end()});
  ASSERT_TRUE(driver_.step(link::monotonic_now()).has_value());
  const auto acks = acks_sent();
  ASSERT_EQ(acks.size(), segments.size() - 1) << "a duplicate ACK for each out-of-order segment";
  EXPECT_TRUE(std::all_of(acks.begin(), acks.end(), [&](std::uint32_t a) { return a == acks.front(); }));
}

}  // namespace
}  // namespace synack::driver
