// libsynack-packetdrill.so's C entry points: packetdrill_interface_init and one trampoline per slot of the
// hook table, each forwarding to the Shim that `userdata` points to.
#include <fcntl.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "errno_map.hpp"
#include "interface.hpp"
#include "shim.hpp"

namespace {

using synack::packetdrill::Shim;

Shim& shim(void* userdata) {
  return *static_cast<Shim*>(userdata);
}

extern "C" {

void pd_free(void* u) {
  delete static_cast<Shim*>(u);
}
int pd_socket(void* u, int domain, int type, int protocol) {
  return shim(u).socket(domain, type, protocol);
}
int pd_bind(void* u, int fd, const sockaddr* addr, socklen_t len) {
  return shim(u).bind(fd, addr, len);
}
int pd_listen(void* u, int fd, int backlog) {
  return shim(u).listen(fd, backlog);
}
int pd_accept(void* u, int fd, sockaddr* addr, socklen_t* len) {
  return shim(u).accept(fd, addr, len);
}
int pd_connect(void* u, int fd, const sockaddr* addr, socklen_t len) {
  return shim(u).connect(fd, addr, len);
}
ssize_t pd_read(void* u, int fd, void* buf, size_t count) {
  return shim(u).recv(fd, buf, count, 0);
}
ssize_t pd_readv(void* u, int fd, const iovec* iov, int iovcnt) {
  return shim(u).readv(fd, iov, iovcnt, 0);
}
ssize_t pd_recv(void* u, int fd, void* buf, size_t len, int flags) {
  return shim(u).recv(fd, buf, len, flags);
}
ssize_t pd_recvfrom(void* u, int fd, void* buf, size_t len, int flags, sockaddr* addr, socklen_t* addrlen) {
  // A connected stream socket reports no source address (Linux leaves *addrlen at 0).
  if (addr != nullptr && addrlen != nullptr) *addrlen = 0;
  return shim(u).recv(fd, buf, len, flags);
}
ssize_t pd_recvmsg(void* u, int fd, msghdr* msg, int flags) {
  if (msg == nullptr) return synack::packetdrill::fail(EFAULT);
  msg->msg_namelen = 0;
  msg->msg_controllen = 0;
  msg->msg_flags = 0;
  return shim(u).readv(fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
}
ssize_t pd_write(void* u, int fd, const void* buf, size_t count) {
  return shim(u).send(fd, buf, count, 0);
}
ssize_t pd_writev(void* u, int fd, const iovec* iov, int iovcnt) {
  return shim(u).writev(fd, iov, iovcnt, 0);
}
ssize_t pd_send(void* u, int fd, const void* buf, size_t len, int flags) {
  return shim(u).send(fd, buf, len, flags);
}
ssize_t pd_sendto(void* u, int fd, const void* buf, size_t len, int flags, const sockaddr* /*dest*/,
                  socklen_t /*len*/) {
  return shim(u).send(fd, buf, len, flags);  // a connected stream socket ignores the address (Linux)
}
ssize_t pd_sendmsg(void* u, int fd, const msghdr* msg, int flags) {
  if (msg == nullptr) return synack::packetdrill::fail(EFAULT);
  return shim(u).writev(fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
}
int pd_fcntl(void* u, int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  const long arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(args, int) : 0;
  va_end(args);
  return shim(u).fcntl(fd, cmd, arg);
}
int pd_ioctl(void* u, int fd, unsigned long request, ...) {
  va_list args;
  va_start(args, request);
  void* arg = va_arg(args, void*);
  va_end(args);
  return shim(u).ioctl(fd, request, arg);
}
int pd_close(void* u, int fd) {
  return shim(u).close(fd);
}
int pd_shutdown(void* u, int fd, int how) {
  return shim(u).shutdown(fd, how);
}
int pd_getsockopt(void* u, int fd, int level, int name, void* value, socklen_t* len) {
  return shim(u).getsockopt(fd, level, name, value, len);
}
int pd_setsockopt(void* u, int fd, int level, int name, const void* value, socklen_t len) {
  return shim(u).setsockopt(fd, level, name, value, len);
}
int pd_poll(void* u, pollfd* fds, nfds_t nfds, int timeout) {
  return shim(u).poll(fds, nfds, timeout);
}
int pd_netdev_send(void* u, const void* buf, size_t count) {
  return shim(u).netdev_send(buf, count);
}
int pd_netdev_receive(void* u, void* buf, size_t* count, long long* time_usecs) {
  return shim(u).netdev_receive(buf, count, time_usecs);
}
int pd_usleep(void* u, useconds_t usec) {
  return shim(u).usleep(usec);
}
int pd_gettimeofday(void* u, timeval* tv, void* /*tz*/) {
  return shim(u).gettimeofday(tv);
}
int pd_epoll_create(void* u, int size) {
  return shim(u).epoll_create(size);
}
int pd_epoll_ctl(void* u, int epfd, int op, int fd, epoll_event* event) {
  return shim(u).epoll_ctl(epfd, op, fd, event);
}
int pd_epoll_wait(void* u, int epfd, epoll_event* events, int max, int timeout) {
  return shim(u).epoll_wait(epfd, events, max, timeout);
}
// Pipes and splice are outside a TCP stack: refused, never a crash.
int pd_pipe(void* /*u*/, int* /*fds*/) {
  return synack::packetdrill::fail(ENOSYS);
}
int pd_splice(void* /*u*/, int /*in*/, loff_t* /*off_in*/, int /*out*/, loff_t* /*off_out*/, size_t /*len*/,
              unsigned int /*flags*/) {
  return synack::packetdrill::fail(ENOSYS);
}

}  // extern "C"
}  // namespace

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(
    const char* flags, SynackPacketdrillInterface* ifc) {
  auto options = synack::packetdrill::parse_flags(flags != nullptr ? flags : "");
  if (!options) {
    std::fprintf(stderr, "synack-packetdrill: --so_flags: %s\n", options.error().c_str());
    std::exit(2);
  }
  *ifc = SynackPacketdrillInterface{
      .userdata = new Shim(*options),
      .free = pd_free,
      .socket = pd_socket,
      .bind = pd_bind,
      .listen = pd_listen,
      .accept = pd_accept,
      .connect = pd_connect,
      .read = pd_read,
      .readv = pd_readv,
      .recv = pd_recv,
      .recvfrom = pd_recvfrom,
      .recvmsg = pd_recvmsg,
      .write = pd_write,
      .writev = pd_writev,
      .send = pd_send,
      .sendto = pd_sendto,
      .sendmsg = pd_sendmsg,
      .fcntl = pd_fcntl,
      .ioctl = pd_ioctl,
      .close = pd_close,
      .shutdown = pd_shutdown,
      .getsockopt = pd_getsockopt,
      .setsockopt = pd_setsockopt,
      .poll = pd_poll,
      .netdev_send = pd_netdev_send,
      .netdev_receive = pd_netdev_receive,
      .usleep = pd_usleep,
      .gettimeofday = pd_gettimeofday,
      .epoll_create = pd_epoll_create,
      .epoll_ctl = pd_epoll_ctl,
      .epoll_wait = pd_epoll_wait,
      .pipe = pd_pipe,
      .splice = pd_splice,
  };
}
