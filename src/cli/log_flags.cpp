// -v: the library's log on standard error (log_flags.hpp).
#include "log_flags.hpp"

#include <chrono>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "synack/tcp/state.hpp"
#include "synack/tcp/transition.hpp"

namespace synack::cli {

void add_log_flags(CLI::App* cmd, LogFlags& flags) {
  cmd->add_flag("-v,--verbose", flags.verbose,
                "Print the stack's events on standard error: every connection's state transitions with "
                "their cause, every dropped datagram with its reason");
}

std::string format_log(const stack::LogRecord& r, std::string_view label, Instant origin) {
  const double seconds = std::chrono::duration<double>(r.at - origin).count();
  std::string line = label.empty() ? std::string{} : fmt::format("[{}] ", label);
  line += fmt::format("+{:.6f} s ", seconds);
  const bool has_tuple = r.tuple.local.port != 0 || r.tuple.remote.port != 0;
  const std::string tuple =
      has_tuple ? fmt::format("{} < {}", r.tuple.local.to_string(), r.tuple.remote.to_string()) : "?";
  switch (r.kind) {
    case stack::LogKind::transition:
      line += fmt::format("{} {} -> {} ({})", tuple, tcp::to_string(r.transition.from),
                          tcp::to_string(r.transition.to), tcp::describe(r.transition));
      break;
    case stack::LogKind::drop:
    case stack::LogKind::note:
      line += fmt::format("{} {}", r.kind == stack::LogKind::drop ? "drop" : "note", r.reason);
      if (r.count > 1) line += fmt::format(" x{}", r.count);
      if (has_tuple) line += " " + tuple;
      break;
  }
  return line;
}

namespace {

/// Prints one record; times from the first record this printer saw.
class Printer {
 public:
  explicit Printer(std::FILE* out) : out_(out) {}
  void print(const stack::LogRecord& r, std::string_view label) {
    if (!origin_) origin_ = r.at;
    try {
      fmt::print(out_, "synack: {}\n", format_log(r, label, *origin_));
    } catch (...) {  // NOLINT(bugprone-empty-catch): a log line that cannot be written is lost, not fatal
    }
  }

 private:
  std::FILE* out_;
  std::optional<Instant> origin_;
};

}  // namespace

void attach_log(stack::Stack& stack, const LogFlags& flags, std::string label, std::FILE* out) {
  if (flags.verbose == 0) {
    stack.set_log_hook({});
    return;
  }
  stack.set_log_hook([label = std::move(label), printer = Printer(out)](const stack::LogRecord& r) mutable {
    printer.print(r, label);
  });
}

std::function<void(observe::Role, const stack::LogRecord&)> log_printer(const LogFlags& flags,
                                                                        std::FILE* out) {
  if (flags.verbose == 0) return {};
  return [printer = Printer(out)](observe::Role side, const stack::LogRecord& r) mutable {
    printer.print(r, side == observe::Role::client ? "client" : "server");
  };
}

}  // namespace synack::cli
