// The seccomp filter of the packet path and the capture reader (docs/security.md "The sandbox"). The lists
// below were found by running each command under `strace -f -c` after the drop point; a call outside them
// is a bug in synack (or a new libc doing things differently) and ends the process with one clear line.
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "synack/sandbox/sandbox.hpp"

#ifdef SYNACK_SANDBOX_TEST_HOOK
#include <sys/syscall.h>
#endif

namespace synack::sandbox {
namespace {

// The calls every sandboxed command makes after set-up: I/O on the fds it already holds, waiting, the
// clock, the allocator, signals (the signalfd is read with read()), randomness, and exiting.
constexpr std::array kIo = {"read", "write", "readv", "writev", "pread64", "pwrite64"};
constexpr std::array kBase = {
    "close",          "lseek",
    "fstat",          "newfstatat",
    "fcntl",                   // stdio and libpcap on fds already open
    "ppoll",          "poll",  // the TUN driver's wait
    "clock_gettime",  "clock_getres",
    "gettimeofday",   "clock_nanosleep",
    "nanosleep",      "brk",
    "munmap",         "mremap",
    "madvise",        "futex",  // the allocator (mmap/mprotect: no PROT_EXEC)
    "getrandom",                // libsodium, the stack's randomness
    "getpid",         "gettid",
    "sched_yield",    "rt_sigreturn",
    "rt_sigprocmask", "restart_syscall",  // signals (and this filter's SIGSYS handler)
    "exit",           "exit_group"};
// `synack demo`'s kernel-side peer: plain kernel sockets on threads of their own.
constexpr std::array kKernelSockets = {
    "bind",       "listen",     "accept4", "connect",         "getsockname", "getpeername",
    "getsockopt", "setsockopt", "sendto",  "recvfrom",        "sendmsg",     "recvmsg",
    "shutdown",   "clone",      "clone3",  "set_robust_list", "rseq",        "sched_getaffinity"};
// `synack forward`'s upstream connections: non-blocking sockets in one epoll set, no threads.
constexpr std::array kUpstreamSockets = {"connect",   "getsockopt", "setsockopt",  "sendto",
                                         "recvfrom",  "shutdown",   "getsockname", "getpeername",
                                         "epoll_ctl", "epoll_wait", "epoll_pwait"};
// Allowed with an argument check: mmap/mprotect (never PROT_EXEC), ioctl (TCGETS: isatty), tgkill (this
// process only: abort()), socket (AF_INET/AF_INET6, kernel_sockets only).
constexpr std::array kChecked = {"mmap", "mprotect", "ioctl", "tgkill"};

// Syscall names for the SIGSYS handler, resolved before the filter is loaded (the handler may only use
// async-signal-safe calls: no allocation, no libseccomp).
constexpr int kNames = 1024;
std::array<const char*, kNames> g_names{};

void append(char* buffer, std::size_t& n, std::size_t cap, const char* text) {
  for (; *text != '\0' && n + 1 < cap; ++text) buffer[n++] = *text;
}

void append_number(char* buffer, std::size_t& n, std::size_t cap, long value) {
  char digits[24];
  std::size_t k = 0;
  const bool negative = value < 0;
  unsigned long v = negative ? 0UL - static_cast<unsigned long>(value) : static_cast<unsigned long>(value);
  do {
    digits[k++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0 && k < sizeof(digits));
  if (negative && n + 1 < cap) buffer[n++] = '-';
  while (k > 0 && n + 1 < cap) buffer[n++] = digits[--k];
}

extern "C" void on_sigsys(int /*signal*/, siginfo_t* info, void* /*context*/) {
  std::array<char, 256> line{};
  std::size_t n = 0;
  const int nr = info->si_syscall;
  append(line.data(), n, line.size(), "synack: sandbox violation: syscall ");
  append_number(line.data(), n, line.size(), nr);
  if (nr >= 0 && nr < kNames && g_names[static_cast<std::size_t>(nr)] != nullptr) {
    append(line.data(), n, line.size(), " (");
    append(line.data(), n, line.size(), g_names[static_cast<std::size_t>(nr)]);
    append(line.data(), n, line.size(), ")");
  }
  append(line.data(), n, line.size(),
         " is not allowed; this is a bug, please report it (see docs/security.md)\n");
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), n);
  ::_exit(kViolationExitCode);
}

std::unexpected<SandboxError> fail(int error, std::string context) {
  return std::unexpected(SandboxError{std::error_code(error, std::generic_category()), std::move(context)});
}

scmp_arg_cmp arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  return scmp_arg_cmp{.arg = index, .op = op, .datum_a = a, .datum_b = b};
}

class Filter {
 public:
  Filter() : ctx_(seccomp_init(SCMP_ACT_TRAP)) {}
  ~Filter() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  [[nodiscard]] bool ok() const { return ctx_ != nullptr && error_ == 0; }
  [[nodiscard]] int error() const { return error_ != 0 ? error_ : ENOMEM; }
  [[nodiscard]] const std::string& where() const { return where_; }
  [[nodiscard]] scmp_filter_ctx get() const { return ctx_; }

  /// Allows `name` (with `checks` all true); a name this architecture lacks (e.g. poll on arm64) is skipped.
  void allow(const char* name, std::initializer_list<scmp_arg_cmp> checks = {}) {
    if (!ok()) return;
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;
    const int rc = seccomp_rule_add_array(ctx_, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(checks.size()),
                                          checks.size() == 0 ? nullptr : checks.begin());
    if (rc != 0) {
      error_ = -rc;
      where_ = fmt::format("seccomp_rule_add({})", name);
    }
  }

 private:
  scmp_filter_ctx ctx_;
  int error_ = 0;
  std::string where_ = "seccomp_init";
};

}  // namespace

std::vector<std::string_view> allowed_syscalls(const Policy& policy) {
  std::vector<std::string_view> names(kIo.begin(), kIo.end());
  names.insert(names.end(), kBase.begin(), kBase.end());
  names.insert(names.end(), kChecked.begin(), kChecked.end());
  if (policy.kernel_sockets) {
    names.insert(names.end(), kKernelSockets.begin(), kKernelSockets.end());
    names.emplace_back("socket");
    names.emplace_back("rt_sigaction");
  }
  if (policy.upstream_sockets) {
    for (const char* name : kUpstreamSockets) {
      if (std::ranges::find(names, std::string_view(name)) == names.end()) names.emplace_back(name);
    }
    if (!policy.kernel_sockets) names.emplace_back("socket");
  }
  return names;
}

std::expected<void, SandboxError> enter_sandbox(const Policy& policy) {
  for (int nr = 0; nr < kNames; ++nr) {
    // Strings from libseccomp's own tables; kept for the life of the process (the handler reads them).
    g_names[static_cast<std::size_t>(nr)] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  }
  Filter filter;
  for (const char* name : kIo) {
    if (policy.io_fds.empty()) {
      filter.allow(name);
    } else {
      for (int fd : policy.io_fds) {
        filter.allow(name, {arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(fd))});
      }
    }
  }
  for (const char* name : kBase) filter.allow(name);
  filter.allow("mmap", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  filter.allow("mprotect", {arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  filter.allow("ioctl", {arg(1, SCMP_CMP_EQ, TCGETS)});
  filter.allow("tgkill", {arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid()))});
  if (policy.kernel_sockets) {
    for (const char* name : kKernelSockets) filter.allow(name);
    // glibc's first pthread_create installs its SIGCANCEL/SIGSETXID handlers (signals 32 and 33).
    filter.allow("rt_sigaction", {arg(0, SCMP_CMP_EQ, 32)});
    filter.allow("rt_sigaction", {arg(0, SCMP_CMP_EQ, 33)});
    filter.allow("socket", {arg(0, SCMP_CMP_EQ, AF_INET)});
    filter.allow("socket", {arg(0, SCMP_CMP_EQ, AF_INET6)});
  }
  if (policy.upstream_sockets) {
    for (const char* name : kUpstreamSockets) filter.allow(name);
    if (!policy.kernel_sockets) {
      filter.allow("socket", {arg(0, SCMP_CMP_EQ, AF_INET)});
      filter.allow("socket", {arg(0, SCMP_CMP_EQ, AF_INET6)});
    }
  }
  if (!filter.ok()) return fail(filter.error(), filter.where());
  // Every thread, including any the process already has (none, by the precondition).
  if (const int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return fail(-rc, "seccomp_attr_set(TSYNC)");
  }

  struct sigaction action{};
  action.sa_sigaction = on_sigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGSYS, &action, nullptr) != 0) return fail(errno, "sigaction(SIGSYS)");
  sigset_t sys;
  sigemptyset(&sys);
  sigaddset(&sys, SIGSYS);
  if (::sigprocmask(SIG_UNBLOCK, &sys, nullptr) != 0) return fail(errno, "sigprocmask(SIGSYS)");

#ifdef SYNACK_SANDBOX_TEST_HOOK
  // Test builds only (CMake SYNACK_SANDBOX_TEST_HOOK): make a forbidden call right after the filter is in
  // place, so a test can see what a violation looks like (tests/cli/privdrop_e2e.py).
  const bool violate = std::getenv("SYNACK_SANDBOX_TEST_VIOLATION") != nullptr;
#endif
  if (const int rc = seccomp_load(filter.get()); rc != 0) return fail(-rc, "seccomp_load");
#ifdef SYNACK_SANDBOX_TEST_HOOK
  if (violate) (void)::syscall(SYS_getppid);
#endif
  return {};
}

}  // namespace synack::sandbox
