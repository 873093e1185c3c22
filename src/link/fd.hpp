// What netns.cpp and tun.cpp share: an fd closed at scope exit.
#pragma once

#include <unistd.h>

namespace synack::link::detail {

/// Closes an fd at scope exit.
class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace synack::link::detail
