// The fork/pipe harness behind run_in_private_netns().
#include "netns_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "synack/link/netns.hpp"

namespace synack::link::test_support {
namespace {

void write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// Frame: kind (1) | label length (2, host order) | label | body length (4, host order) | body.
bool take_record(std::vector<std::byte>& stream, std::size_t& offset, Record& out) {
  auto need = [&](std::size_t n) { return stream.size() - offset >= n; };
  std::size_t at = offset;
  if (!need(1 + 2)) return false;
  std::uint8_t kind = 0;
  std::uint16_t label_size = 0;
  std::memcpy(&kind, stream.data() + at, 1);
  std::memcpy(&label_size, stream.data() + at + 1, 2);
  at += 3;
  if (stream.size() - at < label_size + 4U) return false;
  std::string label(reinterpret_cast<const char*>(stream.data() + at), label_size);
  at += label_size;
  std::uint32_t body_size = 0;
  std::memcpy(&body_size, stream.data() + at, 4);
  at += 4;
  if (stream.size() - at < body_size) return false;
  out.kind = static_cast<Record::Kind>(kind);
  out.label = std::move(label);
  out.bytes.assign(stream.begin() + static_cast<std::ptrdiff_t>(at),
                   stream.begin() + static_cast<std::ptrdiff_t>(at + body_size));
  offset = at + body_size;
  return true;
}

wire::Bytes as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace

std::string Record::text() const {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void ChildReport::send(Record::Kind kind, std::string_view label, wire::Bytes bytes) {
  const auto kind_byte = static_cast<std::uint8_t>(kind);
  const auto label_size = static_cast<std::uint16_t>(label.size());
  const auto body_size = static_cast<std::uint32_t>(bytes.size());
  write_all(fd_, &kind_byte, 1);
  write_all(fd_, &label_size, 2);
  write_all(fd_, label.data(), label_size);
  write_all(fd_, &body_size, 4);
  write_all(fd_, bytes.data(), body_size);
}

void ChildReport::note(std::string_view label, std::string_view text) {
  send(Record::Kind::note, label, as_bytes(text));
}
void ChildReport::fail(std::string_view text) {
  failed_ = true;
  send(Record::Kind::failure, "", as_bytes(text));
}
void ChildReport::skip(std::string_view reason) {
  send(Record::Kind::skip, "", as_bytes(reason));
}
void ChildReport::packet(std::string_view label, wire::Bytes bytes) {
  send(Record::Kind::packet, label, bytes);
}

const Record* ChildResult::find_packet(std::string_view label) const {
  for (const auto& record : records) {
    if (record.kind == Record::Kind::packet && record.label == label) return &record;
  }
  return nullptr;
}

std::vector<std::string> ChildResult::notes(std::string_view label) const {
  std::vector<std::string> out;
  for (const auto& record : records) {
    if (record.kind == Record::Kind::note && record.label == label) out.push_back(record.text());
  }
  return out;
}

ChildResult run_in_private_netns(const std::function<void(ChildReport&)>& body,
                                 std::chrono::milliseconds timeout) {
  ChildResult result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.failures.push_back(fmt::format("pipe2: {}", std::strerror(errno)));
    return result;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.failures.push_back(fmt::format("fork: {}", std::strerror(errno)));
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ChildReport report(fds[1]);
    int status = 0;
    try {
      if (auto entered = enter_private_netns(); !entered) {
        report.skip(entered.error().message());
      } else {
        body(report);
        status = report.failed() ? 1 : 0;
      }
    } catch (const std::exception& e) {
      report.fail(fmt::format("exception in child: {}", e.what()));
      status = 1;
    }
    ::close(fds[1]);
    ::_exit(status);  // no atexit handlers: the parent's GoogleTest state is not ours to flush
  }

  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::byte> stream;
  bool timed_out = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{.fd = fds[0], .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    std::byte chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child exited (or closed its end)
    stream.insert(stream.end(), chunk, chunk + n);
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
    result.failures.push_back(
        fmt::format("child {} did not finish within {} ms and was killed", pid, timeout.count()));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  std::size_t offset = 0;
  Record record;
  while (take_record(stream, offset, record)) {
    if (record.kind == Record::Kind::skip) result.skip_reason = record.text();
    if (record.kind == Record::Kind::failure) result.failures.push_back(record.text());
    result.records.push_back(std::move(record));
    record = Record{};
  }
  if (offset != stream.size())
    result.failures.push_back("the child's report ended in the middle of a record");
  if (!timed_out) {
    if (WIFSIGNALED(status)) {
      result.failures.push_back(fmt::format("child killed by signal {}", WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && result.failures.empty()) {
      result.failures.push_back(fmt::format("child exited with status {}", WEXITSTATUS(status)));
    }
  }
  return result;
}

}  // namespace synack::link::test_support
