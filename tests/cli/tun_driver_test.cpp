// The TUN driver (link/tun_driver.hpp): its clock arithmetic (unit), and its loop against the Linux kernel
// in a private network namespace (kernel): a kernel client completes a handshake with a Stack driven by
// driver::Driver, the bytes arrive, the pcap decorator records every datagram, and an idle driver sleeps
// instead of spinning; and once a connection is established, datagrams through the loop allocate nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../link/netns_child.hpp"
#include "synack/capture/pcap.hpp"
#include "synack/driver/driver.hpp"
#include "synack/link/netns.hpp"
#include "synack/link/pcap_device.hpp"
#include "synack/link/tun.hpp"
#include "synack/stack/stack.hpp"

// Every allocation of this test binary is counted (operator new below), so a test can assert that a stretch
// of the driver loop allocated nothing.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

// NOLINTBEGIN(misc-new-delete-overloads,cppcoreguidelines-no-malloc,hicpp-no-malloc,clang-analyzer-cplusplus.NewDelete)
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept {
  std::free(p);
}
// NOLINTEND(misc-new-delete-overloads,cppcoreguidelines-no-malloc,hicpp-no-malloc,clang-analyzer-cplusplus.NewDelete)

namespace synack::link {
namespace {

using namespace std::chrono_literals;
using driver::Driver;
using driver::wait_time;

TEST(WaitTime, IsZeroWhenTheDeadlineIsDue) {
  const Instant now = Instant::from_nanoseconds(5'000'000'000);
  EXPECT_EQ(wait_time(now, now, 1s), Duration::zero());
  EXPECT_EQ(wait_time(now, now - 1ms, 1s), Duration::zero());
}

TEST(WaitTime, IsTheTimeLeftBoundedByMaxWait) {
  const Instant now = Instant::from_nanoseconds(5'000'000'000);
  EXPECT_EQ(wait_time(now, now + 250ms, 1s), Duration(250ms));
  EXPECT_EQ(wait_time(now, now + 5s, 1s), Duration(1s));
  EXPECT_EQ(wait_time(now, Instant::max(), 1s), Duration(1s));
}

TEST(MonotonicNow, NeverGoesBackAndMatchesRealtimeThroughTheOffset) {
  const Instant a = monotonic_now();
  const Instant b = monotonic_now();
  EXPECT_LE(a, b);
  const auto real = std::chrono::system_clock::now().time_since_epoch();
  const Duration capture_time = monotonic_now().since_origin() + realtime_offset();
  EXPECT_LT(std::chrono::abs(capture_time - std::chrono::duration_cast<Duration>(real)), Duration(1s));
}

TEST(TunDriverKernel, KernelClientHandshakeDataAndCaptureThroughTheLoop) {
  const std::string pcap_path =
      (std::filesystem::temp_directory_path() / fmt::format("synack-driver-{}.pcap", ::getpid())).string();
  const auto result = test_support::run_in_private_netns(
      [&](test_support::ChildReport& report) {
        auto dev = TunDevice::open("synack0");
        if (!dev) return report.skip(dev.error().message());
        if (auto up = dev->set_up(); !up) return report.fail(up.error().message());
        if (auto a = dev->add_address(*wire::IpAddress::parse("192.0.2.1"), 24); !a)
          return report.fail(a.error().message());
        stack::StackConfig config;
        config.addresses = {*wire::IpAddress::parse("192.0.2.2")};
        const std::array<std::byte, 16> key{};
        stack::Stack st(config, key, 1);
        auto listener = st.listen(wire::Endpoint{wire::IpAddress{}, 7});
        if (!listener) return report.fail("listen failed");
        auto recorder = PcapRecorder::open(pcap_path, realtime_offset());
        if (!recorder) return report.fail("pcap open failed");
        PcapDevice captured(*dev, *recorder);  // the capture as a decorator over the TUN device
        Driver driver(captured, st);

        // A kernel client, non-blocking: connect, then send once connected.
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return report.fail("socket() failed");
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(7);
        ::inet_pton(AF_INET, "192.0.2.2", &to.sin_addr);
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
        bool accepted = false;
        bool sent = false;
        std::string got;
        std::array<std::byte, 256> buf{};
        std::optional<stack::ConnectionId> id;
        const Instant limit = monotonic_now() + 5s;
        while (got.size() < 5 && monotonic_now() < limit) {
          auto step = driver.step(monotonic_now() + 10ms);
          if (!step) return report.fail(step.error());
          while (auto e = st.poll_event()) {
            if (e->kind == stack::EventKind::acceptable) {
              id = *st.accept(e->listener);
              accepted = true;
            }
          }
          if (!sent && ::send(fd, "hello", 5, MSG_NOSIGNAL) == 5) sent = true;
          if (id) {
            auto n = st.recv(*id, buf);
            if (n && *n > 0) got.append(reinterpret_cast<const char*>(buf.data()), *n);
          }
        }
        if (!accepted) report.fail("the stack never accepted the kernel's connection");
        if (got != "hello") report.fail(fmt::format("received '{}'", got));

        // Idle: with nothing to do, a step sleeps until its wake-up time instead of spinning.
        const auto steps_before = driver.stats().steps;
        const Instant idle_until = monotonic_now() + 300ms;
        while (monotonic_now() < idle_until) {
          if (!driver.step(idle_until)) break;
        }
        const auto idle_steps = driver.stats().steps - steps_before;
        report.note("idle_steps", std::to_string(idle_steps));
        report.note("datagrams_in", std::to_string(driver.stats().datagrams_in));
        report.note("datagrams_out", std::to_string(driver.stats().datagrams_out));
        ::close(fd);
        (void)recorder->close();
      },
      10s);
  SYNACK_CHECK_CHILD(result);
  ASSERT_EQ(result.notes("idle_steps").size(), 1U);
  EXPECT_LE(std::stoul(result.notes("idle_steps")[0]), 20U) << "the driver spins while idle";
  const auto in = std::stoul(result.notes("datagrams_in")[0]);
  const auto out = std::stoul(result.notes("datagrams_out")[0]);
  EXPECT_GE(in, 3U);
  EXPECT_GE(out, 2U);
  auto reader = capture::PcapReader::open(pcap_path);
  ASSERT_TRUE(reader.has_value());
  std::uint64_t frames = 0;
  for (int i = 0; i < 10000; ++i) {
    auto f = reader->next();
    if (!f || !*f) break;
    ++frames;
  }
  EXPECT_EQ(frames, in + out);
  std::filesystem::remove(pcap_path);
}

TEST(TunDriverKernel, Established_KernelSendsData_NoAllocationPerDatagram) {
  const auto result = test_support::run_in_private_netns(
      [&](test_support::ChildReport& report) {
        auto dev = TunDevice::open("synack0");
        if (!dev) return report.skip(dev.error().message());
        if (auto up = dev->set_up(); !up) return report.fail(up.error().message());
        if (auto a = dev->add_address(*wire::IpAddress::parse("192.0.2.1"), 24); !a)
          return report.fail(a.error().message());
        stack::StackConfig config;
        config.addresses = {*wire::IpAddress::parse("192.0.2.2")};
        const std::array<std::byte, 16> key{};
        stack::Stack st(config, key, 1);
        auto listener = st.listen(wire::Endpoint{wire::IpAddress{}, 7});
        if (!listener) return report.fail("listen failed");
        Driver driver(*dev, st);

        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return report.fail("socket() failed");
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(7);
        ::inet_pton(AF_INET, "192.0.2.2", &to.sin_addr);
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
        std::optional<stack::ConnectionId> id;
        std::array<std::byte, 4096> buf{};
        std::array<char, 1000> chunk{};
        std::uint64_t received = 0;
        std::uint64_t allocations_at_start = 0;
        std::uint64_t datagrams_at_start = 0;
        constexpr std::uint64_t kWarmUp = 20'000;     // bytes before counting starts
        constexpr std::uint64_t kMeasured = 400'000;  // bytes counted (about 300 datagrams)
        const Instant limit = monotonic_now() + 5s;
        while (received < kWarmUp + kMeasured && monotonic_now() < limit) {
          auto step = driver.step(monotonic_now() + 10ms);
          if (!step) return report.fail(step.error());
          while (auto e = st.poll_event()) {
            if (e->kind == stack::EventKind::acceptable) id = *st.accept(e->listener);
          }
          (void)::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
          if (!id) continue;
          for (;;) {
            auto n = st.recv(*id, buf);
            if (!n || *n == 0) break;
            if (received < kWarmUp && received + *n >= kWarmUp) {
              allocations_at_start = g_allocations.load();
              datagrams_at_start = driver.stats().datagrams_in + driver.stats().datagrams_out;
            }
            received += *n;
          }
        }
        const std::uint64_t allocations = g_allocations.load() - allocations_at_start;
        const std::uint64_t datagrams =
            driver.stats().datagrams_in + driver.stats().datagrams_out - datagrams_at_start;
        ::close(fd);
        if (received < kWarmUp + kMeasured) return report.fail(fmt::format("only {} B arrived", received));
        report.note("allocations", std::to_string(allocations));
        report.note("datagrams", std::to_string(datagrams));
      },
      10s);
  SYNACK_CHECK_CHILD(result);
  ASSERT_EQ(result.notes("allocations").size(), 1U);
  EXPECT_GE(std::stoul(result.notes("datagrams")[0]), 200U);
  EXPECT_EQ(std::stoul(result.notes("allocations")[0]), 0U)
      << "allocations while " << result.notes("datagrams")[0] << " datagrams crossed the loop";
}

}  // namespace
}  // namespace synack::link
