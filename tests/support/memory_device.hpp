// Test helper: a link::Device in memory, for the device decorators' tests and the driver loop's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <expected>
#include <string>
#include <system_error>
#include <vector>

#include "synack/link/device.hpp"

namespace synack::test {

/// A device in memory: `inbox` is read oldest first, and advance() says when it holds a datagram (as a
/// decorator holding datagrams does, so a driver reads without a readable fd); what is written is kept in
/// `sent`. No fd: a driver's ppoll() ignores it.
class MemoryDevice final : public link::Device {
 public:
  using Datagram = std::vector<std::byte>;

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] int fd() const noexcept override { return -1; }
  [[nodiscard]] std::expected<std::size_t, std::error_code> receive(Instant /*now*/,
                                                                    wire::MutableBytes buffer) override {
    if (inbox.empty()) return 0;
    const Datagram d = inbox.front();
    inbox.pop_front();
    std::copy(d.begin(), d.end(), buffer.begin());
    return d.size();
  }
  [[nodiscard]] std::expected<std::size_t, std::error_code> transmit(Instant /*now*/,
                                                                     wire::Bytes datagram) override {
    sent.emplace_back(datagram.begin(), datagram.end());
    return datagram.size();
  }
  [[nodiscard]] std::expected<bool, std::error_code> advance(Instant /*now*/) override {
    return !inbox.empty();
  }

  std::deque<Datagram> inbox;
  std::vector<Datagram> sent;

 private:
  std::string name_ = "mem0";
};

}  // namespace synack::test
