// `synack demo`'s kernel side: a kernel server and a kernel client on plain blocking sockets, each on a
// thread of its own, inside the demo's namespace; what TCP_INFO says of every connection they made.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "synack/wire/ip_address.hpp"

namespace synack::cli::demo {

inline constexpr std::uint16_t kKernelPort = 8080;  ///< where the kernel's server listens

/// One kernel socket of the tour, as the kernel saw it.
struct KernelView {
  std::string local;  ///< the kernel socket's own endpoint
  std::string text;   ///< what TCP_INFO says, or the error
};

/// The kernel's server (on `addresses`, port kKernelPort) and its clients.
class KernelSide {
 public:
  ~KernelSide() { stop(); }

  /// Listens on the kernel's addresses, port kKernelPort; serves until stop().
  std::expected<void, std::string> start_server(std::vector<wire::IpAddress> addresses);

  /// Runs the kernel's client connections (to synack) on a thread; done() tells when they finished.
  void start_clients(std::vector<wire::Endpoint> targets) {
    client_ = std::thread([this, targets = std::move(targets)] {
      for (const auto& t : targets) connect_one(t);
      clients_done_ = true;
    });
  }
  [[nodiscard]] bool clients_done() const { return clients_done_.load(); }

  void stop() {
    stopping_ = true;
    if (server_.joinable()) server_.join();
    if (client_.joinable()) client_.join();
    for (int fd : listeners_) ::close(fd);
    listeners_.clear();
  }

  [[nodiscard]] std::vector<std::pair<std::string, KernelView>> views() {
    const std::lock_guard lock(mutex_);
    return views_;
  }

 private:
  void serve();
  void connect_one(const wire::Endpoint& target);

  void record(std::string key, KernelView view) {
    const std::lock_guard lock(mutex_);
    views_.emplace_back(std::move(key), std::move(view));
  }

  std::vector<int> listeners_;
  std::thread server_, client_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> clients_done_{false};
  std::mutex mutex_;
  std::vector<std::pair<std::string, KernelView>> views_;
};

}  // namespace synack::cli::demo
