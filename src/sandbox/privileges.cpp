// Dropping root (docs/security.md "What runs with which privilege"): the order matters. The bounding and
// ambient capability sets can only be emptied while CAP_SETPCAP is held, so they go first; setresuid()
// from uid 0 then clears the permitted and effective sets (no SECBIT_KEEP_CAPS); cap_set_proc() clears
// whatever is left (a non-root caller with file capabilities, or root of a user namespace that maps one
// uid); PR_SET_NO_NEW_PRIVS makes sure no execve() can ever give any of it back. Every step is checked.
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "synack/sandbox/sandbox.hpp"

namespace synack::sandbox {
namespace {

std::unexpected<SandboxError> fail(int error, std::string context) {
  return std::unexpected(SandboxError{std::error_code(error, std::generic_category()), std::move(context)});
}

/// "Threads:" of /proc/self/status; nullopt when it cannot be read.
std::optional<int> thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
  }
  return std::nullopt;
}

/// True when /proc/self/setgroups says "deny" (a user namespace made by an unprivileged user).
bool setgroups_denied() {
  std::ifstream f("/proc/self/setgroups");
  std::string word;
  return static_cast<bool>(f >> word) && word == "deny";
}

/// Clears the effective, permitted and inheritable sets of the calling thread (libcap).
std::expected<void, SandboxError> clear_capabilities() {
  cap_t none = cap_init();  // all three sets empty
  if (none == nullptr) return fail(errno, "cap_init");
  const int rc = cap_set_proc(none);
  const int error = errno;
  cap_free(none);
  if (rc != 0) return fail(error, "cap_set_proc(empty)");
  return {};
}

std::expected<void, SandboxError> check_no_capabilities() {
  cap_t now = cap_get_proc();
  if (now == nullptr) return fail(errno, "cap_get_proc");
  cap_t none = cap_init();
  const bool empty = none != nullptr && cap_compare(now, none) == 0;
  cap_free(none);
  cap_free(now);
  if (!empty) return fail(EPERM, "capabilities are still held after cap_set_proc(empty)");
  return {};
}

struct Identity {
  uid_t uid;
  gid_t gid;
};

// The user to become (root only; otherwise our own ids). Resolved before anything is dropped: NSS may open
// files and sockets the sandbox will not allow later.
std::expected<Identity, SandboxError> resolve_user(const std::string& user, bool root) {
  if (!root) return Identity{::getuid(), ::getgid()};
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  const int lookup = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr)
    return fail(lookup != 0 ? lookup : ENOENT, fmt::format("user '{}' does not exist", user));
  if (entry.pw_uid == 0) return fail(EINVAL, fmt::format("user '{}' is root; choose another", user));
  return Identity{entry.pw_uid, entry.pw_gid};
}

// After the switch: every uid and gid is the target's, no supplementary group is left, and root cannot be
// regained.
std::expected<void, SandboxError> verify_switched(Identity id, bool groups_fixed) {
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&r, &e, &s) != 0 || r != id.uid || e != id.uid || s != id.uid) {
    return fail(EPERM, fmt::format("the uid did not change to {}", id.uid));
  }
  if (::getresgid(&rg, &eg, &sg) != 0 || rg != id.gid || eg != id.gid || sg != id.gid) {
    return fail(EPERM, fmt::format("the gid did not change to {}", id.gid));
  }
  if (!groups_fixed && ::getgroups(0, nullptr) != 0) return fail(EPERM, "supplementary groups are still set");
  if (::setuid(0) == 0) return fail(EPERM, "setuid(0) succeeded after the drop");
  return {};
}

// Root becomes `id` (groups, then gid, then uid); in a user namespace that maps only one id the switch
// is impossible and the process stays that id, without capabilities (said in `d.note`).
std::expected<void, SandboxError> switch_identity(Identity id, const std::string& user, Dropped& d) {
  bool groups_fixed = false;
  if (::setgroups(0, nullptr) != 0) {
    // In a user namespace made by an unprivileged user setgroups is denied; its groups are fixed.
    if (errno != EPERM || !setgroups_denied()) return fail(errno, "setgroups(0)");
    groups_fixed = true;
  }
  if (::setresgid(id.gid, id.gid, id.gid) != 0) {
    // EINVAL: the gid is not mapped in this user namespace (`unshare -r` maps only one id).
    if (errno != EINVAL) return fail(errno, fmt::format("setresgid({})", id.gid));
    d.how = Dropped::How::unmapped_user;
    d.uid = ::getuid();
    d.gid = ::getgid();
    d.note = fmt::format(
        "user {} (uid {}) is not mapped in this user namespace: staying its uid {}, with no capabilities",
        user, id.uid, d.uid);
    return {};
  }
  if (::setresuid(id.uid, id.uid, id.uid) != 0) return fail(errno, fmt::format("setresuid({})", id.uid));
  d.uid = id.uid;
  d.gid = id.gid;
  return verify_switched(id, groups_fixed);
}

}  // namespace

std::string SandboxError::message() const {
  return code ? fmt::format("{}: {}", context, code.message()) : context;
}

std::expected<Dropped, SandboxError> drop_privileges(const DropOptions& options) {
  if (auto threads = thread_count(); threads && *threads > 1) {
    return fail(EBUSY,
                fmt::format("dropping privileges needs a single-threaded process ({} threads)", *threads));
  }
  Dropped d;
  const bool root = ::geteuid() == 0;
  const auto id = resolve_user(options.user, root);
  if (!id) return std::unexpected(id.error());
  // Ambient and bounding sets: emptied while CAP_SETPCAP is still held (fails harmlessly without it).
  if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0 && root) return fail(errno, "cap_reset_ambient");
  const bool may_drop_bound = root && CAP_IS_SUPPORTED(CAP_SETPCAP);
  if (may_drop_bound) {
    for (cap_value_t c = 0; c < static_cast<cap_value_t>(cap_max_bits()); ++c) {
      if (cap_drop_bound(c) != 0) return fail(errno, fmt::format("cap_drop_bound({})", cap_to_name(c)));
    }
  }
  if (!root) {
    d.how = Dropped::How::not_root;
    d.uid = id->uid;
    d.gid = id->gid;
  } else if (auto switched = switch_identity(*id, options.user, d); !switched) {
    return std::unexpected(switched.error());
  }
  if (auto cleared = clear_capabilities(); !cleared) return std::unexpected(cleared.error());
  if (auto checked = check_no_capabilities(); !checked) return std::unexpected(checked.error());
  if (may_drop_bound) {
    for (cap_value_t c = 0; c < static_cast<cap_value_t>(cap_max_bits()); ++c) {
      if (cap_get_bound(c) != 0) return fail(EPERM, fmt::format("{} is still in the bounding set", c));
    }
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return fail(EPERM, "PR_SET_NO_NEW_PRIVS did not stick");
  return d;
}

}  // namespace synack::sandbox
