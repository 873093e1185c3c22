// The table a packetdrill `--so_filename` library fills in (packetdrill_interface_init), declared here from
// the interface's documented layout: an opaque `userdata` pointer followed by one function pointer per hook,
// in a fixed order, each taking `userdata` first. packetdrill itself is GPL-2.0 and a test dependency only;
// nothing of it is copied here. The static_asserts pin the layout on this ABI (LP64: every slot is one
// pointer), and tests/packetdrill/layout_check.sh compares it with packetdrill's own header when that is
// available (scripts/packetdrill.sh builds it).
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>

extern "C" {

/// The hook table, slot for slot. Every slot must be filled: packetdrill calls a slot without checking it.
struct SynackPacketdrillInterface {
  void* userdata;
  void (*free)(void* userdata);
  int (*socket)(void* userdata, int domain, int type, int protocol);
  int (*bind)(void* userdata, int sockfd, const struct sockaddr* addr, socklen_t addrlen);
  int (*listen)(void* userdata, int sockfd, int backlog);
  int (*accept)(void* userdata, int sockfd, struct sockaddr* addr, socklen_t* addrlen);
  int (*connect)(void* userdata, int sockfd, const struct sockaddr* addr, socklen_t addrlen);
  ssize_t (*read)(void* userdata, int fd, void* buf, size_t count);
  ssize_t (*readv)(void* userdata, int fd, const struct iovec* iov, int iovcnt);
  ssize_t (*recv)(void* userdata, int sockfd, void* buf, size_t len, int flags);
  ssize_t (*recvfrom)(void* userdata, int sockfd, void* buf, size_t len, int flags, struct sockaddr* src_addr,
                      socklen_t* addrlen);
  ssize_t (*recvmsg)(void* userdata, int sockfd, struct msghdr* msg, int flags);
  ssize_t (*write)(void* userdata, int fd, const void* buf, size_t count);
  ssize_t (*writev)(void* userdata, int fd, const struct iovec* iov, int iovcnt);
  ssize_t (*send)(void* userdata, int sockfd, const void* buf, size_t len, int flags);
  ssize_t (*sendto)(void* userdata, int sockfd, const void* buf, size_t len, int flags,
                    const struct sockaddr* dest_addr, socklen_t addrlen);
  ssize_t (*sendmsg)(void* userdata, int sockfd, const struct msghdr* msg, int flags);
  int (*fcntl)(void* userdata, int fd, int cmd, ...);
  int (*ioctl)(void* userdata, int fd, unsigned long request, ...);
  int (*close)(void* userdata, int fd);
  int (*shutdown)(void* userdata, int sockfd, int how);
  int (*getsockopt)(void* userdata, int sockfd, int level, int optname, void* optval, socklen_t* optlen);
  int (*setsockopt)(void* userdata, int sockfd, int level, int optname, const void* optval, socklen_t optlen);
  int (*poll)(void* userdata, struct pollfd* fds, nfds_t nfds, int timeout);
  /// A datagram from the script's remote side to the stack: 0, or -1 on error.
  int (*netdev_send)(void* userdata, const void* buf, size_t count);
  /// The next datagram the stack sends: in `buf` (capacity `*count`), its size in `*count` (0: none will
  /// ever come), its send time in `*time_usecs`. 0, or -1 on error.
  int (*netdev_receive)(void* userdata, void* buf, size_t* count, long long* time_usecs);
  int (*usleep)(void* userdata, useconds_t usec);
  int (*gettimeofday)(void* userdata, struct timeval* tv, void* tz);
  int (*epoll_create)(void* userdata, int size);
  int (*epoll_ctl)(void* userdata, int epfd, int op, int fd, struct epoll_event* event);
  int (*epoll_wait)(void* userdata, int epfd, struct epoll_event* events, int maxevents, int timeout);
  int (*pipe)(void* userdata, int pipefd[2]);
  int (*splice)(void* userdata, int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
                unsigned int flags);
};

/// The library's one export: fills `ifc` for a stack configured by `flags` (docs/packetdrill.md).
void packetdrill_interface_init(const char* flags, SynackPacketdrillInterface* ifc);
}

namespace synack::packetdrill {
/// Slots after `userdata`, in order.
inline constexpr std::size_t kInterfaceSlots = 32;
static_assert(sizeof(SynackPacketdrillInterface) == (kInterfaceSlots + 1) * sizeof(void*),
              "one pointer per slot, no padding");
static_assert(offsetof(SynackPacketdrillInterface, free) == 1 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, read) == 7 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, fcntl) == 17 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, poll) == 23 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, netdev_send) == 24 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, gettimeofday) == 27 * sizeof(void*));
static_assert(offsetof(SynackPacketdrillInterface, splice) == 32 * sizeof(void*));
}  // namespace synack::packetdrill
