// Least privilege for the commands that parse untrusted bytes (docs/security.md): drop root for an
// unprivileged user once the privileged set-up is done, then a seccomp filter that allows only the
// system calls the packet path (or the capture reader) still makes.
//
//   open the device / namespace / files            (root: CAP_NET_ADMIN, the file system)
//   sandbox::drop_privileges({.user = "nobody"})    (single-threaded: setgroups, setgid, setuid, no caps)
//   sandbox::enter_sandbox(policy)                  (PR_SET_NO_NEW_PRIVS is already set; seccomp from here)
//   the event loop                                  (read/write/ppoll/clock/alloc/exit ... nothing else)
//
// Anything a later command (e.g. `synack forward`'s upstream sockets in another namespace) still needs
// with privilege is opened before drop_privileges(), or by a small privileged helper that passes the fd.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace synack::sandbox {

/// A failed step, with the errno it failed with (code) and what was being done (context).
struct SandboxError {
  std::error_code code;
  std::string context;  ///< "setresuid(65534)", "user 'foo' does not exist", ...
  [[nodiscard]] std::string message() const;
};

struct DropOptions {
  std::string user = "nobody";  ///< the unprivileged user to become (never uid 0)
};

/// What drop_privileges() did.
struct Dropped {
  enum class How : std::uint8_t {
    switched_user,  ///< was root: now the user's uid/gid, no supplementary groups, no capabilities
    not_root,       ///< was not root: the uid stays; every capability dropped anyway
    unmapped_user,  ///< root of a user namespace that maps only one uid: uid 0 stays, no capabilities
  };
  How how = How::switched_user;
  uid_t uid = 0;
  gid_t gid = 0;
  /// One line worth telling the user (empty when the drop went as expected: switched_user, not_root).
  std::string note;
};

/// Becomes `options.user` and gives up every privilege for good: the bounding and ambient capability
/// sets are emptied (while CAP_SETPCAP is still held), supplementary groups cleared, setresgid and
/// setresuid to the user, then every capability cleared (libcap) and PR_SET_NO_NEW_PRIVS set. Each step is
/// checked afterwards (getresuid/getresgid/getgroups/cap_get_proc; setuid(0) must fail).
/// Preconditions: the process has one thread (capabilities are per thread); the user is resolved here,
/// before anything is dropped (NSS may read files). Already-open fds stay open.
[[nodiscard]] std::expected<Dropped, SandboxError> drop_privileges(const DropOptions& options);

/// What the seccomp filter allows beyond the base set (docs/security.md lists every call).
struct Policy {
  /// When non-empty, read/write/readv/writev (and pread64/pwrite64) are allowed on these fds only.
  std::vector<int> io_fds;
  /// Kernel sockets and threads (`synack demo`'s kernel-side peer: socket, bind, listen, accept4,
  /// connect, send/recv, shutdown, getsockopt/setsockopt, clone3 ...).
  bool kernel_sockets = false;
  /// Outgoing kernel sockets driven by epoll, without threads (`synack forward`'s upstream connections:
  /// socket, connect, getsockopt/setsockopt, sendto/recvfrom, shutdown, getsockname/getpeername,
  /// epoll_ctl/epoll_wait/epoll_pwait).
  bool upstream_sockets = false;
};

/// The exit status of a process that made a system call the filter does not allow (src/cli/exit_codes.hpp
/// kExitSandboxViolation says the same; the handler writes one line to stderr first).
inline constexpr int kViolationExitCode = 8;

/// Loads the seccomp filter (libseccomp) for this thread and every thread started later. A call outside
/// the list raises SIGSYS; its handler writes "synack: sandbox violation: syscall N (name) ..." to stderr
/// with write(2) and _exit()s with kViolationExitCode. Needs PR_SET_NO_NEW_PRIVS (drop_privileges sets it)
/// or CAP_SYS_ADMIN. Call from a single-threaded process.
[[nodiscard]] std::expected<void, SandboxError> enter_sandbox(const Policy& policy);

/// The system call names the filter allows for `policy` (for docs and tests).
[[nodiscard]] std::vector<std::string_view> allowed_syscalls(const Policy& policy);

}  // namespace synack::sandbox
