// The device decorators over an in-memory device: link::PcapDevice records what crosses it (both ways, with
// the recorder's clock offset) and sim::ImpairedDevice loses, delays and holds datagrams as its seeded Links
// decide — the same seed, the same fates — waking its driver through next_deadline()/advance().
#include "synack/link/device.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/memory_device.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/link/error.hpp"
#include "synack/link/pcap_device.hpp"
#include "synack/sim/impaired_device.hpp"

namespace synack::link {
namespace {

using namespace std::chrono_literals;
using Datagram = std::vector<std::byte>;

using test::MemoryDevice;

Datagram datagram(std::size_t n) {
  // An IPv4 header's first byte and a counter: enough for the Link (it parses TCP only for scripted rules).
  Datagram d(40, std::byte{0});
  d[0] = std::byte{0x45};
  d[39] = static_cast<std::byte>(n);
  return d;
}

const Instant kT0 = Instant::from_nanoseconds(1'000'000'000);

TEST(PcapDevice, BothDirections_RecordedWithTheRecordersOffset) {
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("synack-pcapdev-{}.pcap", ::getpid())).string();
  MemoryDevice inner;
  inner.inbox.push_back(datagram(1));
  {
    auto recorder = PcapRecorder::open(path, std::chrono::seconds(1'700'000'000));
    ASSERT_TRUE(recorder.has_value());
    PcapDevice captured(inner, *recorder);
    std::array<std::byte, 2048> buffer{};
    EXPECT_EQ(*captured.transmit(kT0, datagram(2)), 40U);
    EXPECT_EQ(*captured.receive(kT0 + 1ms, buffer), 40U);
    EXPECT_EQ(*captured.receive(kT0 + 2ms, buffer), 0U);  // nothing waiting: nothing recorded
    EXPECT_EQ(recorder->frames(), 2U);
    EXPECT_EQ(captured.errors(), 0U);
    ASSERT_TRUE(recorder->close().has_value());
  }
  EXPECT_EQ(inner.sent.size(), 1U);
  auto reader = capture::PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  auto first = reader->next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->timestamp, std::chrono::seconds(1'700'000'001));
  auto second = reader->next();
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->timestamp, std::chrono::seconds(1'700'000'001) + 1ms);
  std::filesystem::remove(path);
}

TEST(PcapRecorder, Directory_ErrorNamesThePathOnce) {
  auto recorder = PcapRecorder::open(std::filesystem::temp_directory_path(), Duration::zero());
  ASSERT_FALSE(recorder.has_value());
  const std::string message = recorder.error().message;
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_NE(message.find(dir), std::string::npos) << message;
  EXPECT_EQ(message.find(dir, message.find(dir) + dir.size()), std::string::npos) << message;
}

sim::Impairments none() {
  sim::Impairments i;
  i.delay = Duration::zero();
  return i;
}

TEST(ImpairedDevice, NoImpairment_PassesThroughAtOnce) {
  MemoryDevice inner;
  inner.inbox.push_back(datagram(7));
  sim::ImpairedDevice dev(inner, none(), none(), 1);
  std::array<std::byte, 2048> buffer{};
  EXPECT_EQ(*dev.transmit(kT0, datagram(1)), 40U);
  EXPECT_EQ(inner.sent.size(), 1U);
  EXPECT_EQ(*dev.receive(kT0, buffer), 40U);
  EXPECT_EQ(buffer[39], std::byte{7});
  EXPECT_EQ(dev.next_deadline(), Instant::max());
}

TEST(ImpairedDevice, LossOne_DropsEveryDatagramEachWayAndCountsThem) {
  MemoryDevice inner;
  sim::Impairments lossy = none();
  lossy.loss = 1.0;
  sim::ImpairedDevice dev(inner, lossy, lossy, 1);
  std::array<std::byte, 2048> buffer{};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(*dev.transmit(kT0, datagram(i)), 40U);  // accepted, then lost on the way
    inner.inbox.push_back(datagram(i));
    EXPECT_EQ(*dev.receive(kT0, buffer), 0U);
  }
  EXPECT_TRUE(inner.sent.empty());
  EXPECT_EQ(dev.transmitted().dropped, 10U);
  EXPECT_EQ(dev.received().dropped, 10U);
}

TEST(ImpairedDevice, Delay_HeldUntilTheDeadlineThenAdvanced) {
  MemoryDevice inner;
  sim::Impairments slow = none();
  slow.delay = 5ms;
  sim::ImpairedDevice dev(inner, slow, slow, 1);
  std::array<std::byte, 2048> buffer{};
  (void)dev.transmit(kT0, datagram(1));
  inner.inbox.push_back(datagram(2));
  EXPECT_EQ(*dev.receive(kT0, buffer), 0U);
  EXPECT_TRUE(inner.sent.empty());
  EXPECT_EQ(dev.next_deadline(), kT0 + 5ms);
  EXPECT_FALSE(*dev.advance(kT0 + 4ms));
  EXPECT_TRUE(inner.sent.empty());
  EXPECT_TRUE(*dev.advance(kT0 + 5ms));  // the received one is due: the driver reads
  EXPECT_EQ(inner.sent.size(), 1U);      // the transmitted one went on to the device
  EXPECT_EQ(*dev.receive(kT0 + 5ms, buffer), 40U);
  EXPECT_EQ(buffer[39], std::byte{2});
  EXPECT_EQ(dev.next_deadline(), Instant::max());
}

std::vector<bool> fates(std::uint64_t seed) {
  MemoryDevice inner;
  sim::Impairments half = none();
  half.loss = 0.5;
  sim::ImpairedDevice dev(inner, half, none(), seed);
  std::vector<bool> delivered;
  for (std::size_t i = 0; i < 200; ++i) {
    const std::size_t before = inner.sent.size();
    (void)dev.transmit(kT0, datagram(i));
    delivered.push_back(inner.sent.size() > before);
  }
  return delivered;
}

TEST(ImpairedDevice, SameSeed_SameFates_OtherSeed_OtherFates) {
  EXPECT_EQ(fates(1), fates(1));
  EXPECT_NE(fates(1), fates(2));
}

TEST(LinkError, MessageNamesWhatOnceAndKeepsErrno) {
  const Error os = Error::os("/dev/net/tun", EACCES);
  EXPECT_EQ(os.message(), "/dev/net/tun: Permission denied");
  EXPECT_EQ(os.code, std::errc::permission_denied);
  EXPECT_TRUE(os.is_permission());
  const Error own = Error::of("'a/b'", Errc::bad_name);
  EXPECT_EQ(own.code.category().name(), std::string("synack.link"));
  EXPECT_EQ(own.code, Errc::bad_name);
  EXPECT_FALSE(own.is_permission());
  EXPECT_EQ(fmt::format("{}", own), own.message());
}

}  // namespace
}  // namespace synack::link
