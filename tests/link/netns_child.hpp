// Runs test work inside a private network namespace in a forked child, so the test process itself never
// leaves the root namespace. The child reports back over a pipe: notes, failures, captured packets, or a
// one-line reason to skip; the parent then asserts with GoogleTest.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "synack/wire/bytes.hpp"

namespace synack::link::test_support {

/// One thing the child reported.
struct Record {
  enum class Kind : std::uint8_t { note = 1, failure = 2, skip = 3, packet = 4 };
  Kind kind = Kind::note;
  std::string label;             ///< a note's key, a packet's name ("syn", "ack" …)
  std::vector<std::byte> bytes;  ///< a note's or failure's text, or a packet's bytes
  [[nodiscard]] std::string text() const;
};

/// The child's side: write-only, never uses GoogleTest (its results would be lost).
class ChildReport {
 public:
  explicit ChildReport(int fd) noexcept : fd_(fd) {}
  void note(std::string_view label, std::string_view text);
  void fail(std::string_view text);
  void skip(std::string_view reason);
  void packet(std::string_view label, wire::Bytes bytes);
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  void send(Record::Kind kind, std::string_view label, wire::Bytes bytes);
  int fd_;
  bool failed_ = false;
};

/// What the parent collected.
struct ChildResult {
  std::vector<Record> records;
  std::string skip_reason;            ///< non-empty when the child could not get a namespace or a TUN
  std::vector<std::string> failures;  ///< the child's failures plus abnormal exit / timeout
  [[nodiscard]] const Record* find_packet(std::string_view label) const;
  [[nodiscard]] std::vector<std::string> notes(std::string_view label) const;
};

/// Forks; the child enters a private network namespace (skip when it cannot) and runs `body`. The parent
/// collects the report for at most `timeout`, then kills the child by its PID.
ChildResult run_in_private_netns(const std::function<void(ChildReport&)>& body,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace synack::link::test_support

/// Skips the current test when the child could not set up, and records every failure the child reported.
#define SYNACK_CHECK_CHILD(result)                                                      \
  do {                                                                                  \
    if (!(result).skip_reason.empty()) GTEST_SKIP() << (result).skip_reason;            \
    for (const auto& child_failure : (result).failures) ADD_FAILURE() << child_failure; \
  } while (false)
