// The wire layer's checksums against packets the Linux kernel produced. A forked child enters a private
// network namespace, creates a TUN device (kernel side 192.0.2.1/24 and 2001:db8::1/64) and makes the
// kernel talk TCP to "192.0.2.2" / "2001:db8::2" — us: a SYN from a non-blocking connect(), the ACK that
// completes the handshake after OUR SYN-ACK (proof the kernel accepted our checksums), a data segment,
// and the RST/ACK to OUR SYN for a closed port. The parent checks every captured packet with GoogleTest.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "netns_child.hpp"
#include "synack/link/netns.hpp"
#include "synack/link/tun.hpp"
#include "synack/wire/checksum.hpp"
#include "synack/wire/ip_address.hpp"
#include "synack/wire/packet.hpp"
#include "synack/wire/tcp.hpp"

namespace synack::link {
namespace {

using test_support::ChildReport;
using test_support::ChildResult;
using test_support::run_in_private_netns;
using wire::Bytes;
using wire::IpAddress;
using wire::load_be16;
using wire::load_be32;
using wire::load_u8;
using wire::TcpFlags;

constexpr std::string_view kTunName = "synack0";
constexpr std::uint16_t kPeerPort = 8080;     // where the kernel connects to (us)
constexpr std::uint16_t kClosedPort = 9;      // a kernel port nobody listens on
constexpr std::uint16_t kOurSynPort = 40000;  // our source port for the SYN to the closed port
constexpr std::uint32_t kOurIsn = 0x10000000;
constexpr std::uint32_t kOurClosedPortSeq = 0x20000000;
constexpr std::string_view kKernelData = "hello from the kernel";
constexpr auto kWaitLimit = std::chrono::seconds(5);
constexpr int kMaxPacketsPerWait = 1000;

IpAddress v6_address(std::uint8_t last) {
  std::array<std::byte, 16> octets{};
  octets[0] = std::byte{0x20};
  octets[1] = std::byte{0x01};
  octets[2] = std::byte{0x0d};
  octets[3] = std::byte{0xb8};
  octets[15] = std::byte{last};
  return IpAddress::v6(octets);
}

struct Family {
  wire::IpVersion version;
  IpAddress kernel;  // the kernel's side of the TUN device
  IpAddress peer;    // the address we play
  std::uint16_t expected_mss;
};

Family family(wire::IpVersion version) {
  if (version == wire::IpVersion::v4) {
    return {version, IpAddress::v4(0xC0000201U), IpAddress::v4(0xC0000202U), 1460};
  }
  return {version, v6_address(1), v6_address(2), 1440};
}

// ---- Independent, deliberately naive parsing and checksumming (not wire/): the child filters captured
// packets with it, and the parent uses it to tell whether a mismatch is the kernel's or ours.

struct RawTcp {
  int version = 0;
  std::size_t tcp_offset = 0;
  std::size_t tcp_length = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t flags = 0;
  std::size_t payload = 0;
  std::optional<std::uint32_t> tsval;
};

std::optional<RawTcp> raw_tcp(Bytes p) {
  if (p.empty()) return std::nullopt;
  RawTcp r;
  r.version = load_u8(p, 0) >> 4U;
  std::size_t end = 0;
  if (r.version == 4) {
    if (p.size() < 20 || load_u8(p, 9) != 6) return std::nullopt;
    r.tcp_offset = (load_u8(p, 0) & 0x0FU) * 4U;
    end = load_be16(p, 2);
  } else if (r.version == 6) {
    if (p.size() < 40 || load_u8(p, 6) != 6) return std::nullopt;
    r.tcp_offset = 40;
    end = 40U + load_be16(p, 4);
  } else {
    return std::nullopt;
  }
  if (end > p.size() || r.tcp_offset + 20 > end) return std::nullopt;
  const Bytes tcp = p.subspan(r.tcp_offset, end - r.tcp_offset);
  const std::size_t header = (load_u8(tcp, 12) >> 4U) * 4U;
  if (header < 20 || header > tcp.size()) return std::nullopt;
  r.tcp_length = tcp.size();
  r.src_port = load_be16(tcp, 0);
  r.dst_port = load_be16(tcp, 2);
  r.seq = load_be32(tcp, 4);
  r.ack = load_be32(tcp, 8);
  r.flags = load_be16(tcp, 12) & 0x1FFU;
  r.payload = tcp.size() - header;
  for (std::size_t i = 20; i < header;) {
    const auto kind = load_u8(tcp, i);
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= header) break;
    const std::size_t length = load_u8(tcp, i + 1);
    if (length < 2 || i + length > header) break;
    if (kind == 8 && length == 10) r.tsval = load_be32(tcp, i + 2);
    i += length;
  }
  return r;
}

/// RFC 1071 the textbook way: 16-bit words summed into 32 bits, folded, complemented.
std::uint16_t reference_checksum(std::initializer_list<Bytes> parts) {
  std::vector<std::byte> all;
  for (const Bytes part : parts) all.insert(all.end(), part.begin(), part.end());
  if (all.size() % 2 != 0) all.push_back(std::byte{0});
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < all.size(); i += 2) sum += load_be16(all, i);
  while (sum > 0xFFFFU) sum = (sum & 0xFFFFU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum & 0xFFFFU);
}

std::vector<std::byte> pseudo_header(const IpAddress& src, const IpAddress& dst, std::size_t tcp_length) {
  std::vector<std::byte> out(src.bytes().begin(), src.bytes().end());
  out.insert(out.end(), dst.bytes().begin(), dst.bytes().end());
  std::array<std::byte, 8> tail{};
  if (src.is_v4()) {
    wire::store_u8(tail, 1, 6);
    wire::store_be16(tail, 2, static_cast<std::uint16_t>(tcp_length));
    out.insert(out.end(), tail.begin(), tail.begin() + 4);
  } else {
    wire::store_be32(tail, 0, static_cast<std::uint32_t>(tcp_length));
    wire::store_u8(tail, 7, 6);
    out.insert(out.end(), tail.begin(), tail.end());
  }
  return out;
}

// ---- The child: make the kernel talk, capture what it says.

std::optional<TunDevice> setup_tun(ChildReport& report) {
  if (auto available = tun_available(); !available) {
    report.skip(available.error().message());
    return std::nullopt;
  }
  auto tun = TunDevice::open(kTunName);
  if (!tun) {
    report.fail(tun.error().message());
    return std::nullopt;
  }
  // Fewer IPv6 housekeeping packets on the device (they would be skipped anyway).
  for (const char* key : {"accept_dad", "router_solicitations"}) {
    if (auto r = write_net_sysctl(fmt::format("net.ipv6.conf.{}.{}", tun->name(), key), "0"); !r) {
      report.note("warning", r.error().message());
    }
  }
  const auto steps = {tun->set_mtu(1500), tun->set_up(),
                      tun->add_address(family(wire::IpVersion::v4).kernel, 24),
                      tun->add_address(family(wire::IpVersion::v6).kernel, 64)};
  for (const auto& step : steps) {
    if (!step) {
      report.fail(step.error().message());
      return std::nullopt;
    }
  }
  return std::move(*tun);
}

/// One line about a packet the capture skipped, for failure messages.
std::string summarize(Bytes p) {
  if (p.empty()) return "empty";
  const int version = load_u8(p, 0) >> 4U;
  if (version == 4 && p.size() >= 20) {
    const auto tcp = raw_tcp(p);
    return fmt::format(
        "IPv4 {} -> {} proto {}{}", IpAddress::from_bytes(p.subspan(12, 4)).to_string(),
        IpAddress::from_bytes(p.subspan(16, 4)).to_string(), load_u8(p, 9),
        tcp ? fmt::format(" {}->{} flags {} seq {} ack {} len {}", tcp->src_port, tcp->dst_port,
                          TcpFlags(tcp->flags).to_string(), tcp->seq, tcp->ack, tcp->payload)
            : "");
  }
  if (version == 6 && p.size() >= 40) {
    const auto tcp = raw_tcp(p);
    return fmt::format(
        "IPv6 {} -> {} next {}{}", IpAddress::from_bytes(p.subspan(8, 16)).to_string(),
        IpAddress::from_bytes(p.subspan(24, 16)).to_string(), load_u8(p, 6),
        tcp ? fmt::format(" {}->{} flags {} seq {} ack {} len {}", tcp->src_port, tcp->dst_port,
                          TcpFlags(tcp->flags).to_string(), tcp->seq, tcp->ack, tcp->payload)
        : p.size() > 40 && load_u8(p, 6) == 58 ? fmt::format(" ICMPv6 type {}", load_u8(p, 40))
                                               : "");
  }
  return fmt::format("{} bytes, version {}", p.size(), version);
}

/// The namespace's non-zero drop/error counters (/proc/net/netstat, snmp, snmp6), to say why the kernel
/// ignored a packet we emitted.
std::string drop_counters() {
  auto read_all = [](const char* path) {
    std::string text;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char chunk[4096];
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n <= 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
  };
  auto split = [](std::string_view text, std::string_view separators) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find_first_of(separators, start);
      if (end == std::string_view::npos) end = text.size();
      if (end > start) out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  auto interesting = [](std::string_view name) {
    for (const std::string_view word :
         {"Drop", "Err", "Discard", "PAWS", "Rej", "Csum", "NoPorts", "Unknown"}) {
      if (name.find(word) != std::string_view::npos) return true;
    }
    return false;
  };
  std::string out;
  for (const char* path : {"/proc/net/netstat", "/proc/net/snmp"}) {
    const std::string text = read_all(path);
    const auto lines = split(text, "\n");
    for (std::size_t i = 0; i + 1 < lines.size(); i += 2) {
      const auto names = split(lines[i], " ");
      const auto values = split(lines[i + 1], " ");
      for (std::size_t k = 1; k < names.size() && k < values.size(); ++k) {
        if (values[k] != "0" && interesting(names[k]))
          out += fmt::format(" {}{}={}", names[0], names[k], values[k]);
      }
    }
  }
  const std::string snmp6 = read_all("/proc/net/snmp6");
  for (const auto line : split(snmp6, "\n")) {
    const auto fields = split(line, " \t");
    if (fields.size() >= 2 && fields.back() != "0" && interesting(fields[0])) {
      out += fmt::format(" {}={}", fields[0], fields.back());
    }
  }
  return out.empty() ? " none" : out;
}

/// Reads from the TUN device until a TCP packet satisfies `wanted` (at most kWaitLimit and
/// kMaxPacketsPerWait packets); reports it under `label`.
template <typename Predicate>
std::optional<RawTcp> capture(const TunDevice& tun, ChildReport& report, std::string_view label,
                              Predicate wanted) {
  static std::array<std::byte, 65536> buffer;
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  int skipped = 0;
  std::string skipped_list;
  for (int count = 0; count < kMaxPacketsPerWait; ++count) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) break;
    pollfd p{.fd = tun.fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const auto n = tun.read(buffer);
    if (!n) {
      report.fail(fmt::format("reading {}: {}", tun.name(), n.error().message()));
      return std::nullopt;
    }
    if (*n == 0) continue;
    const Bytes packet = Bytes(buffer).first(*n);
    const auto tcp = raw_tcp(packet);
    if (tcp && wanted(*tcp)) {
      report.packet(label, packet);
      return tcp;
    }
    if (++skipped <= 8) skipped_list += fmt::format("\n  skipped: {}", summarize(packet));
  }
  report.fail(fmt::format(
      "no '{}' packet from the kernel within {} s ({} other packets skipped){}{}", label, kWaitLimit.count(),
      skipped,
      label == "ack" || label == "rst"
          ? fmt::format("; did the kernel drop the packet we emitted? Drop counters:{}", drop_counters())
          : "",
      skipped_list));
  return std::nullopt;
}

/// Emits a packet with wire::emit_tcp_packet, reports it under `label` and writes it to the device.
bool inject(const TunDevice& tun, ChildReport& report, std::string_view label, const IpAddress& src,
            const IpAddress& dst, const wire::TcpHeader& header) {
  std::array<std::byte, 1500> out{};
  const auto size = wire::emit_tcp_packet(src, dst, header, {}, out);
  if (!size) {
    report.fail(fmt::format("emit_tcp_packet for '{}': {}", label, wire::to_string(size.error())));
    return false;
  }
  const Bytes packet = Bytes(out).first(*size);
  report.packet(label, packet);
  const auto written = tun.write(packet);
  if (!written || *written != packet.size()) {
    report.fail(fmt::format("writing '{}' to the TUN device failed", label));
    return false;
  }
  return true;
}

/// bind() or connect() `fd` to `address`:`port`.
template <typename Call>
int with_sockaddr(Call call, int fd, const IpAddress& address, std::uint16_t port) {
  if (address.is_v4()) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, address.bytes().data(), 4);
    return call(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  std::memcpy(&sa.sin6_addr, address.bytes().data(), 16);
  return call(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
}

/// (a) + (b): the kernel connects to us; we answer its SYN; it ACKs and sends data.
void kernel_connects(const TunDevice& tun, ChildReport& report, const Family& f) {
  const int sock =
      ::socket(f.kernel.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock < 0) return report.fail(fmt::format("socket: {}", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{sock};
  // Pin the SYN's source. add_address() returned only once the address was usable, so no retry here.
  if (with_sockaddr(::bind, sock, f.kernel, 0) != 0) {
    return report.fail(fmt::format("bind to {}: {}", f.kernel.to_string(), std::strerror(errno)));
  }
  if (with_sockaddr(::connect, sock, f.peer, kPeerPort) == 0 || errno != EINPROGRESS) {
    return report.fail(fmt::format("non-blocking connect: {}", std::strerror(errno)));
  }
  const auto syn = capture(tun, report, "syn", [](const RawTcp& t) {
    return t.dst_port == kPeerPort && t.flags == TcpFlags::kSyn;
  });
  if (!syn) return;

  wire::TcpHeader synack;
  synack.src_port = kPeerPort;
  synack.dst_port = syn->src_port;
  synack.seq = wire::SeqNum(kOurIsn);
  synack.ack = wire::SeqNum(syn->seq + 1);
  synack.flags = TcpFlags(TcpFlags::kSyn | TcpFlags::kAck);
  synack.window = 65535;
  synack.options.mss = 1460;
  synack.options.sack_permitted = true;
  synack.options.wscale = 7;
  if (syn->tsval) synack.options.timestamps = wire::Timestamps{.value = 1000, .echo = *syn->tsval};
  if (!inject(tun, report, "our_synack", f.peer, f.kernel, synack)) return;
  // No ACK here most likely means the kernel dropped our SYN-ACK: look at our checksums first.
  const auto ack = capture(tun, report, "ack", [&](const RawTcp& t) {
    return t.src_port == syn->src_port && t.flags == TcpFlags::kAck && t.ack == kOurIsn + 1 && t.payload == 0;
  });
  if (!ack) return;
  pollfd p{.fd = sock, .events = POLLOUT, .revents = 0};
  int so_error = -1;
  socklen_t length = sizeof(so_error);
  if (::poll(&p, 1, 2000) != 1 || ::getsockopt(sock, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0 ||
      so_error != 0) {
    return report.fail(fmt::format("the kernel socket did not connect (SO_ERROR {})", so_error));
  }
  if (::send(sock, kKernelData.data(), kKernelData.size(), 0) != static_cast<ssize_t>(kKernelData.size())) {
    return report.fail(fmt::format("send: {}", std::strerror(errno)));
  }
  capture(tun, report, "data", [&](const RawTcp& t) { return t.src_port == syn->src_port && t.payload > 0; });
}

/// (c): our SYN to a closed kernel port; the kernel answers RST/ACK.
void kernel_resets(const TunDevice& tun, ChildReport& report, const Family& f) {
  wire::TcpHeader closed;
  closed.src_port = kOurSynPort;
  closed.dst_port = kClosedPort;
  closed.seq = wire::SeqNum(kOurClosedPortSeq);
  closed.flags = TcpFlags(TcpFlags::kSyn);
  closed.window = 65535;
  closed.options.mss = 1460;
  if (!inject(tun, report, "our_syn", f.peer, f.kernel, closed)) return;
  // No RST here most likely means the kernel dropped our SYN: look at our checksums first.
  capture(tun, report, "rst", [](const RawTcp& t) {
    return t.src_port == kClosedPort && t.dst_port == kOurSynPort && (t.flags & TcpFlags::kRst) != 0;
  });
}

void kernel_conversation(ChildReport& report, const Family& f) {
  const auto tun = setup_tun(report);
  if (!tun) return;
  kernel_connects(*tun, report, f);
  kernel_resets(*tun, report, f);
}

/// The conversation for one family, run once per test program.
const ChildResult& conversation(wire::IpVersion version) {
  static std::map<wire::IpVersion, ChildResult> cache;
  if (auto it = cache.find(version); it != cache.end()) return it->second;
  const Family f = family(version);
  return cache.emplace(version, run_in_private_netns([&](ChildReport& r) { kernel_conversation(r, f); }))
      .first->second;
}

// ---- The parent's checks.

/// Zeroes the 16-bit field at `offset` (a checksum) when it lies inside `bytes`.
void zero_field(std::vector<std::byte>& bytes, std::size_t offset) {
  if (bytes.size() >= offset + 2)
    std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), 2, std::byte{0});
}

struct Located {
  IpAddress src;
  IpAddress dst;
  Bytes segment;
};

Located locate(Bytes packet) {
  const auto raw = raw_tcp(packet);
  if (!raw) return {};
  if (raw->version == 4) {
    return {IpAddress::from_bytes(packet.subspan(12, 4)), IpAddress::from_bytes(packet.subspan(16, 4)),
            packet.subspan(raw->tcp_offset, raw->tcp_length)};
  }
  return {IpAddress::from_bytes(packet.subspan(8, 16)), IpAddress::from_bytes(packet.subspan(24, 16)),
          packet.subspan(raw->tcp_offset, raw->tcp_length)};
}

/// The TCP checksum recomputed with ChecksumAccumulator over the segment with its field zeroed, the bytes
/// fed in pieces of `piece` bytes (0: all at once).
std::uint16_t accumulator_tcp_checksum(const Located& at, std::size_t piece = 0) {
  if (at.segment.size() < wire::TcpView::kMinHeaderSize) return 0;
  std::vector<std::byte> zeroed(at.segment.begin(), at.segment.end());
  zero_field(zeroed, 16);
  wire::ChecksumAccumulator acc;
  acc.add_pseudo_header(at.src, at.dst, 6, static_cast<std::uint32_t>(zeroed.size()));
  const Bytes all(zeroed);
  if (piece == 0) {
    acc.add(all);
  } else {
    for (std::size_t i = 0; i < all.size(); i += piece)
      acc.add(all.subspan(i, std::min(piece, all.size() - i)));
  }
  return acc.checksum();
}

/// Every check a kernel-produced packet must pass.
void expect_kernel_packet_checksums(const std::vector<std::byte>& bytes) {
  const Bytes packet(bytes);
  const auto raw = raw_tcp(packet);
  ASSERT_TRUE(raw) << "not a TCP packet";
  const Located at = locate(packet);

  if (raw->version == 4) {
    const Bytes header = packet.first(raw->tcp_offset);
    const std::uint16_t kernel_ip = load_be16(header, 10);
    std::vector<std::byte> zeroed(header.begin(), header.end());
    zero_field(zeroed, 10);
    ASSERT_EQ(reference_checksum({zeroed}), kernel_ip)
        << "the test's own reference disagrees with the kernel";
    EXPECT_EQ(wire::internet_checksum(zeroed), kernel_ip) << "IPv4 header checksum: ours vs the kernel's";
    EXPECT_EQ(wire::internet_checksum(header), 0) << "a correct IPv4 header must sum to zero";
  }

  const std::uint16_t kernel_tcp = load_be16(at.segment, 16);
  std::vector<std::byte> zeroed(at.segment.begin(), at.segment.end());
  zero_field(zeroed, 16);
  ASSERT_EQ(reference_checksum({pseudo_header(at.src, at.dst, zeroed.size()), zeroed}), kernel_tcp)
      << "the test's own reference disagrees with the kernel";
  EXPECT_EQ(accumulator_tcp_checksum(at), kernel_tcp) << "TCP checksum: ours vs the kernel's";
  for (const std::size_t piece : {1U, 3U, 7U, 13U}) {
    EXPECT_EQ(accumulator_tcp_checksum(at, piece), kernel_tcp) << "fed in pieces of " << piece;
  }
  EXPECT_TRUE(wire::tcp_checksum_ok(at.src, at.dst, at.segment));

  const auto view = wire::TcpPacketView::parse(packet, wire::ChecksumPolicy::verify);
  ASSERT_TRUE(view) << "TcpPacketView::parse(verify): " << wire::to_string(view.error());
  EXPECT_EQ(view->ip().src, at.src);
  EXPECT_EQ(view->ip().dst, at.dst);
  EXPECT_EQ(view->tcp().checksum(), kernel_tcp);
  EXPECT_EQ(view->tcp().src_port(), raw->src_port);
  EXPECT_EQ(view->tcp().dst_port(), raw->dst_port);
  EXPECT_EQ(view->tcp().seq().raw(), raw->seq);
  EXPECT_EQ(view->tcp().flags().bits(), raw->flags);
  EXPECT_EQ(view->tcp().payload().size(), raw->payload);
  EXPECT_TRUE(view->tcp().options()) << "options of a kernel packet must parse";
}

/// Re-emitting the kernel's packet from its parsed header must give the kernel's bytes, checksums and all.
void expect_reemission_identical(const std::vector<std::byte>& bytes) {
  const Bytes packet(bytes);
  const auto view = wire::TcpPacketView::parse(packet, wire::ChecksumPolicy::verify);
  ASSERT_TRUE(view);
  const auto header = wire::TcpHeader::parse(view->tcp());
  ASSERT_TRUE(header) << wire::to_string(header.error());
  wire::IpParams params;
  params.ttl = view->ip().ttl;
  params.ecn = view->ip().ecn;
  if (view->version() == wire::IpVersion::v4) {
    params.dscp = static_cast<std::uint8_t>(load_u8(packet, 1) >> 2U);
    params.identification = load_be16(packet, 4);
    if ((load_u8(packet, 6) & 0x40U) == 0) GTEST_SKIP() << "the kernel did not set DF; emit always does";
  } else {
    params.dscp = static_cast<std::uint8_t>((load_be16(packet, 0) >> 6U) & 0x3FU);
    params.flow_label = load_be32(packet, 0) & 0xFFFFFU;
  }
  std::array<std::byte, 1600> out{};
  const auto size =
      wire::emit_tcp_packet(view->ip().src, view->ip().dst, *header, view->tcp().payload(), out, params);
  ASSERT_TRUE(size) << wire::to_string(size.error());
  const Bytes emitted = Bytes(out).first(*size);
  ASSERT_EQ(emitted.size(), packet.size());
  for (std::size_t i = 0; i < packet.size(); ++i) {
    EXPECT_EQ(emitted[i], packet[i]) << "first difference at byte " << i;
    if (emitted[i] != packet[i]) break;
  }
}

/// Changes fields of a kernel packet, updates the checksums incrementally (RFC 1624) and compares each
/// result with a full recompute; the final packet must verify.
void expect_incremental_updates(const std::vector<std::byte>& original) {
  std::vector<std::byte> packet = original;
  const auto raw = raw_tcp(packet);
  ASSERT_TRUE(raw);
  const wire::MutableBytes p(packet);
  const wire::MutableBytes tcp = p.subspan(raw->tcp_offset, raw->tcp_length);
  auto full_tcp = [&] { return accumulator_tcp_checksum(locate(packet)); };
  auto full_ip = [&] {
    std::vector<std::byte> header(packet.begin(),
                                  packet.begin() + static_cast<std::ptrdiff_t>(raw->tcp_offset));
    zero_field(header, 10);
    return reference_checksum({header});
  };

  if (raw->version == 4) {
    // TTL (shares a 16-bit word with the protocol): only the IP header checksum changes.
    const std::uint16_t old_word = load_be16(p, 8);
    const auto new_word = static_cast<std::uint16_t>(old_word - 0x0100U);  // TTL - 1
    const std::uint16_t ip_before = load_be16(p, 10);
    wire::store_be16(p, 8, new_word);
    const std::uint16_t ip_after = wire::checksum_update(ip_before, old_word, new_word);
    EXPECT_EQ(ip_after, full_ip()) << "TTL decrement";
    wire::store_be16(p, 10, ip_after);

    // The destination address: the IP header checksum and (pseudo-header) the TCP checksum change.
    const std::uint32_t old_dst = load_be32(p, 16);
    const std::uint32_t new_dst = 0xC000024DU;  // 192.0.2.77
    wire::store_be32(p, 16, new_dst);
    const std::uint16_t ip_nat = wire::checksum_update(load_be16(p, 10), old_dst, new_dst);
    EXPECT_EQ(ip_nat, full_ip()) << "IPv4 destination rewrite, IP header";
    wire::store_be16(p, 10, ip_nat);
    const std::uint16_t tcp_nat = wire::checksum_update(load_be16(tcp, 16), old_dst, new_dst);
    EXPECT_EQ(tcp_nat, full_tcp()) << "IPv4 destination rewrite, TCP pseudo-header";
    wire::store_be16(tcp, 16, tcp_nat);
  } else {
    // Hop limit is outside every checksum; the destination's last 32 bits are in the pseudo-header.
    wire::store_u8(p, 7, static_cast<std::uint8_t>(load_u8(p, 7) - 1U));
    const std::uint32_t old_low = load_be32(p, 36);
    const std::uint32_t new_low = 0x0000004DU;  // 2001:db8::4d
    wire::store_be32(p, 36, new_low);
    const std::uint16_t tcp_nat = wire::checksum_update(load_be16(tcp, 16), old_low, new_low);
    EXPECT_EQ(tcp_nat, full_tcp()) << "IPv6 destination rewrite, TCP pseudo-header";
    wire::store_be16(tcp, 16, tcp_nat);
  }

  // Ports (16-bit) and the sequence number (32-bit).
  const std::uint16_t old_port = load_be16(tcp, 0);
  const auto new_port = static_cast<std::uint16_t>(old_port ^ 0x5A5AU);
  wire::store_be16(tcp, 0, new_port);
  const std::uint16_t after_port = wire::checksum_update(load_be16(tcp, 16), old_port, new_port);
  EXPECT_EQ(after_port, full_tcp()) << "source port rewrite";
  wire::store_be16(tcp, 16, after_port);

  const std::uint16_t old_dport = load_be16(tcp, 2);
  const std::uint16_t new_dport = 443;
  wire::store_be16(tcp, 2, new_dport);
  const std::uint16_t after_dport = wire::checksum_update(load_be16(tcp, 16), old_dport, new_dport);
  EXPECT_EQ(after_dport, full_tcp()) << "destination port rewrite";
  wire::store_be16(tcp, 16, after_dport);

  const std::uint32_t old_seq = load_be32(tcp, 4);
  const std::uint32_t new_seq = old_seq + 0x12345678U;
  wire::store_be32(tcp, 4, new_seq);
  const std::uint16_t after_seq = wire::checksum_update(load_be16(tcp, 16), old_seq, new_seq);
  EXPECT_EQ(after_seq, full_tcp()) << "sequence number rewrite";
  wire::store_be16(tcp, 16, after_seq);

  const auto view = wire::TcpPacketView::parse(Bytes(packet), wire::ChecksumPolicy::verify);
  EXPECT_TRUE(view) << "the incrementally updated packet must verify: "
                    << (view ? "" : std::string(wire::to_string(view.error())));
}

const std::vector<std::byte>& packet_or_fail(const ChildResult& result, std::string_view label) {
  static const std::vector<std::byte> empty;
  const auto* record = result.find_packet(label);
  if (record == nullptr) {
    ADD_FAILURE() << "the child captured no '" << label << "' packet";
    return empty;
  }
  return record->bytes;
}

void check_syn(wire::IpVersion version) {
  const auto& result = conversation(version);
  SYNACK_CHECK_CHILD(result);
  const auto& syn = packet_or_fail(result, "syn");
  if (syn.empty()) return;
  {
    SCOPED_TRACE("kernel SYN");
    expect_kernel_packet_checksums(syn);
  }
  const auto view = wire::TcpPacketView::parse(Bytes(syn), wire::ChecksumPolicy::verify);
  ASSERT_TRUE(view);
  const Family f = family(version);
  EXPECT_EQ(view->ip().src, f.kernel);
  EXPECT_EQ(view->ip().dst, f.peer);
  EXPECT_EQ(view->tcp().dst_port(), kPeerPort);
  EXPECT_EQ(view->tcp().flags(), TcpFlags(TcpFlags::kSyn));
  const auto options = view->tcp().options();
  ASSERT_TRUE(options) << wire::to_string(options.error());
  EXPECT_EQ(options->mss, f.expected_mss) << "MSS for a 1500-byte MTU";
  EXPECT_TRUE(options->sack_permitted);
  ASSERT_TRUE(options->timestamps.has_value());
  EXPECT_EQ(options->timestamps->echo, 0U);
  ASSERT_TRUE(options->wscale.has_value());
  EXPECT_LE(*options->wscale, wire::kMaxWindowShift);
  EXPECT_TRUE(options->unknown.empty());
  {
    SCOPED_TRACE("re-emitting the kernel SYN");
    expect_reemission_identical(syn);
  }
}

void check_handshake(wire::IpVersion version) {
  const auto& result = conversation(version);
  SYNACK_CHECK_CHILD(result);
  const auto& syn = packet_or_fail(result, "syn");
  const auto& ack = packet_or_fail(result, "ack");
  const auto& data = packet_or_fail(result, "data");
  if (syn.empty() || ack.empty() || data.empty()) return;
  const auto syn_view = wire::TcpPacketView::parse(Bytes(syn), wire::ChecksumPolicy::ignore);
  ASSERT_TRUE(syn_view);
  {
    SCOPED_TRACE("kernel ACK of our SYN-ACK");
    expect_kernel_packet_checksums(ack);
    const auto view = wire::TcpPacketView::parse(Bytes(ack), wire::ChecksumPolicy::verify);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->tcp().flags(), TcpFlags(TcpFlags::kAck));
    EXPECT_EQ(view->tcp().seq(), syn_view->tcp().seq() + 1);
    EXPECT_EQ(view->tcp().ack(), wire::SeqNum(kOurIsn + 1));
    const auto options = view->tcp().options();
    ASSERT_TRUE(options);
    ASSERT_TRUE(options->timestamps.has_value());
    EXPECT_EQ(options->timestamps->echo, 1000U) << "the kernel echoes our TSval";
  }
  {
    SCOPED_TRACE("kernel data segment");
    expect_kernel_packet_checksums(data);
    const auto view = wire::TcpPacketView::parse(Bytes(data), wire::ChecksumPolicy::verify);
    ASSERT_TRUE(view);
    EXPECT_TRUE(view->tcp().flags().ack());
    EXPECT_EQ(view->tcp().seq(), syn_view->tcp().seq() + 1);
    const Bytes payload = view->tcp().payload();
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), kKernelData);
    expect_reemission_identical(data);
  }
}

void check_rst(wire::IpVersion version) {
  const auto& result = conversation(version);
  SYNACK_CHECK_CHILD(result);
  const auto& rst = packet_or_fail(result, "rst");
  if (rst.empty()) return;
  expect_kernel_packet_checksums(rst);
  const auto view = wire::TcpPacketView::parse(Bytes(rst), wire::ChecksumPolicy::verify);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tcp().flags(), TcpFlags(TcpFlags::kRst | TcpFlags::kAck));
  EXPECT_EQ(view->tcp().ack(), wire::SeqNum(kOurClosedPortSeq + 1));
  EXPECT_EQ(view->tcp().seq(), wire::SeqNum(0));
  EXPECT_EQ(view->tcp().payload().size(), 0U);
}

void check_incremental(wire::IpVersion version) {
  const auto& result = conversation(version);
  SYNACK_CHECK_CHILD(result);
  for (const char* label : {"syn", "ack", "data", "rst"}) {
    SCOPED_TRACE(label);
    const auto& packet = packet_or_fail(result, label);
    if (!packet.empty()) expect_incremental_updates(packet);
  }
}

void check_ours_verify(wire::IpVersion version) {
  const auto& result = conversation(version);
  SYNACK_CHECK_CHILD(result);
  for (const char* label : {"our_synack", "our_syn"}) {
    SCOPED_TRACE(label);
    const auto& packet = packet_or_fail(result, label);
    if (!packet.empty()) expect_kernel_packet_checksums(packet);  // the same checks, on our own output
  }
}

TEST(KernelPackets, SynFromKernelIpv4_ChecksumsMatch) {
  check_syn(wire::IpVersion::v4);
}
TEST(KernelPackets, SynFromKernelIpv6_ChecksumsMatch) {
  check_syn(wire::IpVersion::v6);
}
TEST(KernelPackets, AckAndDataAfterOurSynAckIpv4_ChecksumsMatch) {
  check_handshake(wire::IpVersion::v4);
}
TEST(KernelPackets, AckAndDataAfterOurSynAckIpv6_ChecksumsMatch) {
  check_handshake(wire::IpVersion::v6);
}
TEST(KernelPackets, RstFromClosedPortIpv4_ChecksumsMatch) {
  check_rst(wire::IpVersion::v4);
}
TEST(KernelPackets, RstFromClosedPortIpv6_ChecksumsMatch) {
  check_rst(wire::IpVersion::v6);
}
TEST(KernelPackets, IncrementalUpdateOnKernelPacketsIpv4_MatchesFullRecompute) {
  check_incremental(wire::IpVersion::v4);
}
TEST(KernelPackets, IncrementalUpdateOnKernelPacketsIpv6_MatchesFullRecompute) {
  check_incremental(wire::IpVersion::v6);
}
TEST(KernelPackets, OurEmittedPacketsIpv4_PassTheSameChecks) {
  check_ours_verify(wire::IpVersion::v4);
}
TEST(KernelPackets, OurEmittedPacketsIpv6_PassTheSameChecks) {
  check_ours_verify(wire::IpVersion::v6);
}

}  // namespace
}  // namespace synack::link
