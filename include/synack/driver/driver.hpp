/// @file
/// The driver layer: the event loop that connects one Stack to one link::Device (a TUN device, or one
/// decorated with a capture and impairments). Each step does the device's due work, writes what the
/// stack has to send, reads at once when the device may hold datagrams (the kernel answers a write within
/// it), and otherwise sleeps in ppoll() until a datagram arrives, the stack's next deadline, a caller's
/// wake-up time or a watched fd (a signalfd, stdin) — never busy-polls — then reads up to a batch of
/// datagrams into a ring of buffers allocated once, feeds them to the stack with the CLOCK_MONOTONIC time
/// one by one, writing what each made due before the next (so every data segment gets its own ACK, as the
/// engine means it to: docs/tun.md), fires the stack's timers when due, and writes what the stack emits.
/// Nothing is allocated per packet.
///
/// Capture and impairments are decorators over the device (link::PcapDevice, sim::ImpairedDevice), not the
/// driver's business. The driver is single-threaded and owns neither the device nor the stack.
#pragma once

#include <poll.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "synack/link/device.hpp"
#include "synack/stack/stack.hpp"
#include "synack/time.hpp"
#include "synack/wire/bytes.hpp"

namespace synack::driver {

/// How long ppoll() should sleep from `now` until `deadline`: zero when due, `max_wait` at most (and for
/// Instant::max()). Never negative.
[[nodiscard]] Duration wait_time(Instant now, Instant deadline, Duration max_wait) noexcept;

/// Sizes and limits of a Driver, fixed at construction.
struct DriverConfig {
  std::size_t batch = 64;                       ///< datagrams read per wake-up (the ring's size)
  std::size_t buffer_size = 65536;              ///< bytes per ring buffer (>= the device MTU)
  std::size_t max_writes_per_step = 512;        ///< then the next step polls without sleeping
  Duration max_wait = std::chrono::seconds(1);  ///< longest sleep (a safety net; no timer is missed)
};

/// What a Driver counted since construction (monotonic).
struct DriverStats {
  std::uint64_t steps = 0;          ///< step() calls
  std::uint64_t datagrams_in = 0;   ///< datagrams read from the device and fed to the stack
  std::uint64_t datagrams_out = 0;  ///< datagrams written to the device
  std::uint64_t bytes_in = 0;       ///< bytes of the datagrams read
  std::uint64_t bytes_out = 0;      ///< bytes of the datagrams written
  std::uint64_t full_batches = 0;   ///< reads that filled the whole ring (more may have waited)
  std::uint64_t polls = 0;          ///< ppoll() calls (a step that found datagrams by reading skips it)
  std::uint64_t write_drops = 0;    ///< datagrams the device refused (EAGAIN/ENOBUFS): TCP retransmits
  std::uint64_t timeouts = 0;       ///< Stack::on_timeout calls
};

/// The event loop joining one link::Device and one Stack (see the file comment). Not copyable; keeps pointers
/// to both, which must outlive it.
class Driver {
 public:
  /// The most fds watch() accepts.
  static constexpr std::size_t kMaxWatched = 4;

  /// Both must outlive the driver. Allocates the ring and the transmit buffer here, once.
  Driver(link::Device& device, stack::Stack& stack, DriverConfig config = {});
  /// Adds an fd to wait on for `events` (POLLIN …); step() reports which ones were ready. At most
  /// kMaxWatched; returns the watch's index, or -1 when full.
  int watch(int fd, short events = POLLIN) noexcept;
  /// Stops (or resumes) waiting on watch `index` without forgetting it.
  void set_watch_enabled(int index, bool enabled) noexcept;

  /// What one step() did.
  struct Step {
    Instant now;                ///< the time after waking
    std::uint32_t watched = 0;  ///< bit i set: watch i was ready
    std::size_t received = 0;   ///< datagrams fed to the stack
    std::size_t sent = 0;       ///< datagrams written to the device
  };
  /// One turn of the loop (see the file comment). `wake_by` bounds the sleep for the caller's own timers.
  /// An error is a failure of the device itself (one line).
  [[nodiscard]] std::expected<Step, std::string> step(Instant wake_by = Instant::max());
  /// Writes what the stack has to send right now (call after send()/close() outside step()). Returns the
  /// datagrams written.
  [[nodiscard]] std::expected<std::size_t, std::string> flush(Instant now);

  /// What the driver counted so far.
  [[nodiscard]] const DriverStats& stats() const noexcept { return stats_; }
  /// The sizes it was built with.
  [[nodiscard]] const DriverConfig& config() const noexcept { return config_; }

 private:
  /// Reads up to `batch` datagrams into the ring (non-blocking); sets device_empty_ when a read found none.
  [[nodiscard]] std::expected<std::size_t, std::string> read_batch(Instant now);
  /// Feeds the ring's first `count` datagrams to the stack one by one, writing what each made due before
  /// the next; returns the datagrams written.
  [[nodiscard]] std::expected<std::size_t, std::string> feed(Instant now, std::size_t count);

  /// Steps in a row that found datagrams without ppoll(); then one ppoll() (zero timeout) checks the
  /// watched fds.
  static constexpr std::uint32_t kMaxStepsWithoutPoll = 64;

  link::Device* device_;
  stack::Stack* stack_;
  DriverConfig config_;
  std::vector<std::byte> ring_;      ///< batch * buffer_size bytes
  std::vector<std::size_t> sizes_;   ///< datagram size per ring slot
  std::vector<std::byte> transmit_;  ///< one datagram being emitted
  std::array<pollfd, 1 + kMaxWatched> fds_{};
  std::array<bool, kMaxWatched> enabled_{};
  std::size_t watched_ = 0;
  bool more_to_write_ = false;
  bool device_empty_ = true;  ///< the last read found no datagram and nothing was written since
  std::uint32_t steps_without_poll_ = 0;
  DriverStats stats_;
};

}  // namespace synack::driver
