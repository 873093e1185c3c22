// The packetdrill facade through its C interface (packetdrill_interface_init and the hook table), as
// packetdrill calls it: misuse of the socket API gets the errno Linux returns, never a crash (this suite runs
// under ASan and UBSan in the sanitizer build), and time is virtual. Two facades talk to each other: each
// one's netdev_receive feeds the other's netdev_send.
#include "shim.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "interface.hpp"

namespace {

constexpr const char* kServerAddress = "192.0.2.1";
constexpr const char* kClientAddress = "198.51.100.1";
constexpr std::uint16_t kPort = 8080;

class Facade {
 public:
  explicit Facade(const char* flags) { packetdrill_interface_init(flags, &ifc_); }
  ~Facade() { ifc_.free(ifc_.userdata); }
  Facade(const Facade&) = delete;
  Facade& operator=(const Facade&) = delete;
  SynackPacketdrillInterface* operator->() { return &ifc_; }
  void* u() const { return ifc_.userdata; }
  SynackPacketdrillInterface& ifc() { return ifc_; }

 private:
  SynackPacketdrillInterface ifc_{};
};

sockaddr_in address(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

const sockaddr* sa(const sockaddr_in& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

// One datagram from `from` to `to`; false when `from` has nothing to send.
bool forward(Facade& from, Facade& to, long long* when = nullptr) {
  std::vector<std::byte> buffer(65536);
  std::size_t n = buffer.size();
  long long at = 0;
  EXPECT_EQ(from->netdev_receive(from.u(), buffer.data(), &n, &at), 0);
  if (n == 0) return false;
  if (when != nullptr) *when = at;
  EXPECT_EQ(to->netdev_send(to.u(), buffer.data(), n), 0);
  return true;
}

// A listening server (fd returned) on kServerAddress:kPort.
int listening(Facade& server) {
  const int fd = server->socket(server.u(), AF_INET, SOCK_STREAM, IPPROTO_TCP);
  EXPECT_GE(fd, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_EQ(server->bind(server.u(), fd, sa(a), sizeof a), 0);
  EXPECT_EQ(server->listen(server.u(), fd, 8), 0);
  return fd;
}

struct Pair {
  Facade server{"local=192.0.2.1"};
  Facade client{"local=198.51.100.1,seed=7"};
};

// Expects `call` to return -1 with errno `error`.
#define EXPECT_ERRNO(call, error) \
  do {                            \
    errno = 0;                    \
    EXPECT_EQ((call), -1);        \
    EXPECT_EQ(errno, (error));    \
  } while (false)

TEST(PacketdrillShim, Init_FillsEverySlot) {
  Facade f("local=192.0.2.1");
  const auto* slots = reinterpret_cast<void* const*>(&f.ifc());
  for (std::size_t i = 0; i <= synack::packetdrill::kInterfaceSlots; ++i) {
    EXPECT_NE(slots[i], nullptr) << "slot " << i;
  }
}

TEST(PacketdrillShim, ClosedAndUnknownFds_FailWithEbadf) {
  Facade f("local=192.0.2.1");
  void* u = f.u();
  const int fd = f->socket(u, AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(f->close(u, fd), 0);
  char buf[16] = {};
  socklen_t len = sizeof(int);
  int value = 1;
  const auto a = address(kServerAddress, kPort);
  for (const int bad : {fd, 9999, -1}) {
    EXPECT_ERRNO(f->close(u, bad), EBADF);
    EXPECT_ERRNO(f->read(u, bad, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(f->write(u, bad, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(f->bind(u, bad, sa(a), sizeof a), EBADF);
    EXPECT_ERRNO(f->listen(u, bad, 1), EBADF);
    EXPECT_ERRNO(f->accept(u, bad, nullptr, nullptr), EBADF);
    EXPECT_ERRNO(f->connect(u, bad, sa(a), sizeof a), EBADF);
    EXPECT_ERRNO(f->shutdown(u, bad, SHUT_WR), EBADF);
    EXPECT_ERRNO(f->getsockopt(u, bad, SOL_SOCKET, SO_ERROR, &value, &len), EBADF);
    EXPECT_ERRNO(f->setsockopt(u, bad, SOL_SOCKET, SO_REUSEADDR, &value, sizeof value), EBADF);
    EXPECT_ERRNO(f->fcntl(u, bad, F_GETFL), EBADF);
    EXPECT_ERRNO(f->ioctl(u, bad, FIONBIO, &value), EBADF);
  }
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(f->poll(u, &p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLNVAL);
}

TEST(PacketdrillShim, AcceptOnNonListener_IsEinval) {
  Pair p;
  const int fresh = p.server->socket(p.server.u(), AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(p.server->accept(p.server.u(), fresh, nullptr, nullptr), EINVAL);
  const int c = p.client->socket(p.client.u(), AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(p.client->connect(p.client.u(), c, sa(a), sizeof a), EINPROGRESS);
  EXPECT_ERRNO(p.client->accept(p.client.u(), c, nullptr, nullptr), EINVAL);
  EXPECT_ERRNO(p.client->listen(p.client.u(), c, 1), EINVAL);
}

TEST(PacketdrillShim, ConnectTwice_EalreadyThenZeroThenEisconn) {
  Pair p;
  const int l = listening(p.server);
  void* cu = p.client.u();
  const int c = p.client->socket(cu, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EINPROGRESS);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EALREADY);
  ASSERT_TRUE(forward(p.client, p.server));  // SYN
  ASSERT_TRUE(forward(p.server, p.client));  // SYN-ACK
  ASSERT_TRUE(forward(p.client, p.server));  // ACK
  EXPECT_EQ(p.client->connect(cu, c, sa(a), sizeof a), 0);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EISCONN);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  const int s = p.server->accept(p.server.u(), l, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(s, 0);
  EXPECT_EQ(len, sizeof(sockaddr_in));
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  EXPECT_STREQ(text, kClientAddress);
  EXPECT_ERRNO(p.server->connect(p.server.u(), l, sa(a), sizeof a), EISCONN);  // a listener
}

TEST(PacketdrillShim, UnconnectedSocket_WriteEpipeReadEnotconnShutdownEnotconn) {
  Facade f("local=192.0.2.1");
  void* u = f.u();
  const int fd = f->socket(u, AF_INET, SOCK_STREAM, 0);
  char buf[8] = {};
  EXPECT_ERRNO(f->write(u, fd, buf, sizeof buf), EPIPE);
  EXPECT_ERRNO(f->read(u, fd, buf, sizeof buf), ENOTCONN);
  EXPECT_ERRNO(f->shutdown(u, fd, SHUT_WR), ENOTCONN);
  EXPECT_ERRNO(f->shutdown(u, fd, 42), EINVAL);
  const auto a = address(kServerAddress, kPort);
  EXPECT_EQ(f->bind(u, fd, sa(a), sizeof a), 0);
  EXPECT_ERRNO(f->bind(u, fd, sa(a), sizeof a), EINVAL);  // bound twice
  const auto other = address("203.0.113.9", kPort);
  const int fd2 = f->socket(u, AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(f->bind(u, fd2, sa(other), sizeof other), EADDRNOTAVAIL);
  EXPECT_ERRNO(f->bind(u, fd2, sa(a), sizeof a), EADDRINUSE);
  EXPECT_ERRNO(f->bind(u, fd2, sa(a), 3), EINVAL);
  EXPECT_ERRNO(f->bind(u, fd2, nullptr, sizeof a), EFAULT);
}

TEST(PacketdrillShim, UnsupportedCalls_FailCleanly) {
  Facade f("local=192.0.2.1");
  void* u = f.u();
  EXPECT_ERRNO(f->socket(u, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT);
  EXPECT_ERRNO(f->socket(u, AF_INET, SOCK_DGRAM, 0), ESOCKTNOSUPPORT);
  EXPECT_ERRNO(f->socket(u, AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
  const int fd = f->socket(u, AF_INET, SOCK_STREAM, 0);
  int one = 1;
  EXPECT_ERRNO(f->setsockopt(u, fd, IPPROTO_TCP, TCP_FASTOPEN, &one, sizeof one), ENOPROTOOPT);
  EXPECT_ERRNO(f->setsockopt(u, fd, SOL_SOCKET, SO_REUSEADDR, &one, 2), EINVAL);
  EXPECT_ERRNO(f->setsockopt(u, fd, IPPROTO_TCP, TCP_MAXSEG, &one, sizeof one), EINVAL);
  int fds[2] = {-1, -1};
  EXPECT_ERRNO(f->pipe(u, fds), ENOSYS);
  EXPECT_ERRNO(f->splice(u, fd, nullptr, fd, nullptr, 1, 0), ENOSYS);
  EXPECT_ERRNO(f->ioctl(u, fd, 0x1234, &one), ENOTTY);
  EXPECT_ERRNO(f->fcntl(u, fd, F_DUPFD, 0), EINVAL);
  EXPECT_EQ(f->fcntl(u, fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  EXPECT_EQ(f->fcntl(u, fd, F_GETFL), O_RDWR | O_NONBLOCK);
  const int ep = f->epoll_create(u, 1);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  EXPECT_ERRNO(f->epoll_ctl(u, ep, EPOLL_CTL_ADD, 9999, &ev), EBADF);
  EXPECT_ERRNO(f->epoll_ctl(u, fd, EPOLL_CTL_ADD, ep, &ev), EINVAL);  // fd is no epoll instance
  EXPECT_EQ(f->epoll_ctl(u, ep, EPOLL_CTL_ADD, fd, &ev), 0);
  EXPECT_ERRNO(f->epoll_ctl(u, ep, EPOLL_CTL_ADD, fd, &ev), EEXIST);
  EXPECT_ERRNO(f->listen(u, ep, 1), ENOTSOCK);
  std::array<epoll_event, 4> out{};
  EXPECT_EQ(f->epoll_wait(u, ep, out.data(), 4, 0), 1);  // an unconnected socket is writable (POLLOUT|HUP)
  EXPECT_EQ(f->close(u, ep), 0);
}

TEST(PacketdrillShim, GarbageDatagrams_AreDroppedNotFatal) {
  Facade f("local=192.0.2.1");
  void* u = f.u();
  std::array<std::byte, 60> junk{};
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::byte>(i * 37 + 11);
  junk[0] = std::byte{0x45};
  for (std::size_t n = 0; n <= junk.size(); ++n) EXPECT_EQ(f->netdev_send(u, junk.data(), n), 0);
  std::array<std::byte, 1500> out{};
  std::size_t count = out.size();
  long long at = 0;
  EXPECT_EQ(f->netdev_receive(u, out.data(), &count, &at), 0);
  EXPECT_EQ(count, 0U);  // nothing to send and no timer: reported as an empty datagram
}

TEST(PacketdrillShim, BlockingCallOnMainThreadThatNothingCanComplete_FailsInsteadOfHanging) {
  Pair p;
  const int l = listening(p.server);
  EXPECT_ERRNO(p.server->accept(p.server.u(), l, nullptr, nullptr), EAGAIN);
}

TEST(PacketdrillShim, ClosedPort_ConnectRefused) {
  Pair p;
  void* cu = p.client.u();
  const int c = p.client->socket(cu, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EINPROGRESS);
  ASSERT_TRUE(forward(p.client, p.server));  // SYN to no listener
  ASSERT_TRUE(forward(p.server, p.client));  // RST
  int error = 0;
  socklen_t len = sizeof error;
  EXPECT_EQ(p.client->getsockopt(cu, c, SOL_SOCKET, SO_ERROR, &error, &len), 0);
  EXPECT_EQ(error, ECONNREFUSED);
  EXPECT_EQ(p.client->getsockopt(cu, c, SOL_SOCKET, SO_ERROR, &error, &len), 0);
  EXPECT_EQ(error, 0);  // read once
  char buf[4];
  EXPECT_EQ(p.client->read(cu, c, buf, sizeof buf), 0);
  EXPECT_ERRNO(p.client->write(cu, c, buf, sizeof buf), EPIPE);
  EXPECT_EQ(p.client->close(cu, c), 0);
}

TEST(PacketdrillShim, SynRetransmissions_FollowVirtualTime) {
  Facade f("local=198.51.100.1");
  void* u = f.u();
  const int c = f->socket(u, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(f->connect(u, c, sa(a), sizeof a), EINPROGRESS);
  std::vector<long long> times;
  std::array<std::byte, 1500> out{};
  for (;;) {
    std::size_t count = out.size();
    long long at = 0;
    ASSERT_EQ(f->netdev_receive(u, out.data(), &count, &at), 0);
    if (count == 0) break;
    times.push_back(at);
  }
  ASSERT_EQ(times.size(), 7U);  // the SYN and six retransmissions, then ETIMEDOUT (docs/engine.md)
  const std::array<long long, 7> expected = {0, 1, 3, 7, 15, 31, 63};
  for (std::size_t i = 0; i < times.size(); ++i) EXPECT_EQ((times[i] - times[0]) / 1'000'000, expected[i]);
  EXPECT_EQ(f->usleep(u, 64'000'000), 0);
  int error = 0;
  socklen_t len = sizeof error;
  EXPECT_EQ(f->getsockopt(u, c, SOL_SOCKET, SO_ERROR, &error, &len), 0);
  EXPECT_EQ(error, ETIMEDOUT);
}

TEST(PacketdrillShim, BlockingAcceptOnSecondThread_ReturnsWhenHandshakeCompletes) {
  Pair p;
  const int l = listening(p.server);
  int accepted = -2;
  sockaddr_in peer{};
  std::thread blocked([&] {
    socklen_t len = sizeof peer;
    accepted = p.server->accept(p.server.u(), l, reinterpret_cast<sockaddr*>(&peer), &len);
  });
  void* cu = p.client.u();
  const int c = p.client->socket(cu, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EINPROGRESS);
  ASSERT_TRUE(forward(p.client, p.server));
  ASSERT_TRUE(forward(p.server, p.client));
  ASSERT_TRUE(forward(p.client, p.server));
  blocked.join();
  EXPECT_GE(accepted, 0);
  EXPECT_EQ(peer.sin_family, AF_INET);
  // Data both ways through read/write on the accepted socket.
  EXPECT_EQ(p.client->write(cu, c, "hello", 5), 5);
  ASSERT_TRUE(forward(p.client, p.server));
  char buf[8] = {};
  EXPECT_EQ(p.server->read(p.server.u(), accepted, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  pollfd pfd{accepted, POLLIN | POLLOUT, 0};
  EXPECT_EQ(p.server->poll(p.server.u(), &pfd, 1, 0), 1);
  EXPECT_EQ(pfd.revents, POLLOUT);
}

TEST(PacketdrillShim, BlockingWriteOnSecondThread_QueuesEverythingAsTheWindowOpens) {
  Pair p;
  const int l = listening(p.server);
  void* cu = p.client.u();
  const int c = p.client->socket(cu, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto a = address(kServerAddress, kPort);
  EXPECT_ERRNO(p.client->connect(cu, c, sa(a), sizeof a), EINPROGRESS);
  ASSERT_TRUE(forward(p.client, p.server));
  ASSERT_TRUE(forward(p.server, p.client));
  ASSERT_TRUE(forward(p.client, p.server));
  const int s = p.server->accept(p.server.u(), l, nullptr, nullptr);
  ASSERT_GE(s, 0);
  ASSERT_EQ(p.client->fcntl(cu, c, F_SETFL, O_RDWR), 0);  // blocking from now on
  // Four send buffers' worth (4 x 256 KiB): the write returns only once all of it is queued.
  const std::vector<char> data(std::size_t{1} << 20U, 'x');
  ssize_t written = -2;
  std::thread writer([&] { written = p.client->write(cu, c, data.data(), data.size()); });
  std::vector<char> sink(65536);
  std::size_t received = 0;
  for (int rounds = 0; received < data.size() && rounds < 100000; ++rounds) {
    const bool moved = forward(p.client, p.server);
    for (;;) {
      const ssize_t n = p.server->recv(p.server.u(), s, sink.data(), sink.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
    while (forward(p.server, p.client)) {
    }
    if (!moved) {
      EXPECT_EQ(p.client->usleep(cu, 1000), 0);
    }
  }
  writer.join();
  EXPECT_EQ(written, static_cast<ssize_t>(data.size()));
  EXPECT_EQ(received, data.size());
}

TEST(PacketdrillShim, Flags_ParseAndReject) {
  EXPECT_TRUE(synack::packetdrill::parse_flags("local=192.0.2.1 pcap=/tmp/x.pcap seed=3").has_value());
  EXPECT_TRUE(synack::packetdrill::parse_flags("local=192.0.2.1,local=2001:db8::1").has_value());
  EXPECT_FALSE(synack::packetdrill::parse_flags("").has_value());
  EXPECT_FALSE(synack::packetdrill::parse_flags("local=nope").has_value());
  const auto bad = synack::packetdrill::parse_flags("local=192.0.2.1 colour=blue");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("colour=blue"), std::string::npos);
}

}  // namespace
