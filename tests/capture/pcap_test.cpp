// Tests for PcapWriter and PcapReader: nanosecond round trips, hand-built captures of every link type
// (microsecond pcap through libpcap directly, pcapng built byte by byte), damaged and garbage files.
#include "synack/capture/pcap.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include "frames.hpp"
#include "synack/wire/packet.hpp"

namespace synack::capture {
namespace {

using namespace std::chrono_literals;
using testing::append;
using testing::append_le16;
using testing::append_le32;
using testing::ByteVector;
using testing::ethernet;
using testing::ipv4_datagram;
using testing::ipv6_datagram;
using testing::loopback;
using testing::sll;
using testing::sll2;
namespace ethertype = wire::ethertype;
namespace dlt = wire::dlt;

wire::Bytes as_bytes(const ByteVector& v) {
  return wire::Bytes(v.data(), v.size());
}
ByteVector to_vector(wire::Bytes b) {
  return ByteVector(b.begin(), b.end());
}

// A fresh directory per test, removed afterwards.
class CaptureFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& ch : name) {
      if (ch == '/') ch = '_';
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("synack-capture-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return dir_ / name; }

  static ByteVector read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ByteVector out;
    for (char ch : chars) out.push_back(static_cast<std::byte>(ch));
    return out;
  }
  static void write_file(const std::filesystem::path& path, const ByteVector& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (std::byte b : bytes) out.put(static_cast<char>(b));
  }

  std::filesystem::path dir_;
};

struct Record {
  Timestamp timestamp;
  ByteVector bytes;
};

// Writes a classic microsecond pcap straight through libpcap, as tcpdump would.
void write_microsecond_pcap(const std::filesystem::path& path, int linktype,
                            const std::vector<Record>& records) {
  pcap_t* dead = pcap_open_dead(linktype, 65535);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
  for (const Record& r : records) {
    pcap_pkthdr header{};
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(r.timestamp).count();
    header.ts.tv_sec = static_cast<time_t>(us / 1'000'000);
    header.ts.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
    header.caplen = static_cast<bpf_u_int32>(r.bytes.size());
    header.len = static_cast<bpf_u_int32>(r.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, reinterpret_cast<const u_char*>(r.bytes.data()));
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

// Reads every frame, expecting a clean end of file. A Frame's spans die with the next read, so the
// frame bytes go to `data` and each decapsulated datagram (or nothing) to `datagrams`.
std::vector<Frame> read_all(PcapReader& reader, std::vector<ByteVector>& data,
                            std::vector<ByteVector>* datagrams = nullptr) {
  std::vector<Frame> frames;
  for (;;) {
    auto next = reader.next();
    EXPECT_TRUE(next.has_value()) << (next ? "" : next.error().message);
    if (!next || !next->has_value()) break;
    Frame frame = **next;
    data.push_back(to_vector(frame.data));
    if (datagrams != nullptr) datagrams->push_back(frame.ip ? to_vector(frame.ip->datagram) : ByteVector{});
    frame.data = {};
    if (frame.ip) frame.ip->datagram = {};
    frames.push_back(frame);
  }
  return frames;
}

std::vector<Record> mixed_records(std::size_t count) {
  std::vector<Record> records;
  for (std::size_t i = 0; i < count; ++i) {
    const auto seed = static_cast<std::uint8_t>(i);
    ByteVector bytes = (i % 3 == 2) ? ipv6_datagram(40 + i * 7, seed) : ipv4_datagram(20 + i * 13, seed);
    records.push_back(
        {Timestamp(1'700'000'000'000'000'000LL + static_cast<std::int64_t>(i) * 1'234'567'891LL +
                   static_cast<std::int64_t>(i)),
         std::move(bytes)});
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------
// Writer + reader round trips

TEST_F(CaptureFileTest, PcapWriter_RoundTrip_BytesAndNanosecondTimestampsExact) {
  const auto path = file("round-trip.pcap");
  std::vector<Record> records = mixed_records(40);
  // Edge timestamps: the epoch, one nanosecond, the last nanosecond of a second, past 2038, last of 2106.
  records.push_back({Timestamp(0), ipv4_datagram(20)});
  records.push_back({Timestamp(1), ipv6_datagram(40)});
  records.push_back({Timestamp(999'999'999), ipv4_datagram(1500)});
  records.push_back({std::chrono::seconds(3'000'000'000LL) + 5ns, ipv4_datagram(64)});
  records.push_back({std::chrono::seconds(0xFFFFFFFFLL) + 999'999'999ns, ipv6_datagram(100)});
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value()) << writer.error().message;
    for (const Record& r : records) {
      auto written = writer->write(r.timestamp, as_bytes(r.bytes));
      ASSERT_TRUE(written.has_value()) << written.error().message;
    }
    EXPECT_EQ(writer->frames_written(), records.size());
    ASSERT_TRUE(writer->close().has_value());
  }

  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_EQ(reader->linktype(), static_cast<std::uint32_t>(DLT_RAW));
  EXPECT_EQ(reader->linktype_name(), "RAW");
  EXPECT_EQ(reader->snaplen(), 262144U);
  std::vector<ByteVector> data;
  const std::vector<Frame> frames = read_all(*reader, data);
  ASSERT_EQ(frames.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(frames[i].index, i);
    EXPECT_EQ(frames[i].timestamp, records[i].timestamp);
    EXPECT_EQ(data[i], records[i].bytes);
    EXPECT_EQ(frames[i].caplen, records[i].bytes.size());
    EXPECT_EQ(frames[i].origlen, records[i].bytes.size());
    EXPECT_FALSE(frames[i].is_truncated());
    ASSERT_TRUE(frames[i].ip.has_value());
    EXPECT_EQ(frames[i].ip->version,
              records[i].bytes[0] == std::byte{0x45} ? wire::IpVersion::v4 : wire::IpVersion::v6);
  }
  EXPECT_EQ(reader->frames_read(), records.size());
  // End of file is sticky.
  auto again = reader->next();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

TEST_F(CaptureFileTest, PcapWriter_FileHeader_IsNanosecondLinktypeRaw) {
  const auto path = file("header.pcap");
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value());
  }  // the destructor closes
  const ByteVector bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 24U);
  std::uint32_t magic = 0;
  std::uint32_t linktype = 0;
  std::memcpy(&magic, bytes.data(), 4);  // written in the writer's host byte order
  std::memcpy(&linktype, bytes.data() + 20, 4);
  EXPECT_EQ(magic, 0xA1B23C4DU) << "nanosecond pcap magic";
  EXPECT_EQ(linktype, 101U) << "LINKTYPE_RAW";
}

TEST_F(CaptureFileTest, PcapWriter_SnaplenShorterThanDatagram_RecordsOriginalLength) {
  const auto path = file("snaplen.pcap");
  const ByteVector datagram = ipv4_datagram(100);
  {
    auto writer = PcapWriter::open(path, {.linktype = dlt::kRaw, .snaplen = 64});
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->write(1s, as_bytes(datagram)).has_value());
    ASSERT_TRUE(writer->flush().has_value());
  }
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ(reader->snaplen(), 64U);
  auto frame = reader->next();
  ASSERT_TRUE(frame.has_value() && frame->has_value());
  EXPECT_EQ((*frame)->caplen, 64U);
  EXPECT_EQ((*frame)->origlen, 100U);
  EXPECT_TRUE((*frame)->is_truncated());
  EXPECT_EQ(to_vector((*frame)->data), ByteVector(datagram.begin(), datagram.begin() + 64));
}

TEST_F(CaptureFileTest, PcapWriter_TimestampOutOfRange_IsInvalidArgument) {
  auto writer = PcapWriter::open(file("range.pcap"));
  ASSERT_TRUE(writer.has_value());
  const ByteVector datagram = ipv4_datagram();
  auto negative = writer->write(-1ns, as_bytes(datagram));
  ASSERT_FALSE(negative.has_value());
  EXPECT_EQ(negative.error().kind, CaptureError::Kind::invalid_argument);
  auto too_late = writer->write(std::chrono::seconds(0x100000000LL), as_bytes(datagram));
  ASSERT_FALSE(too_late.has_value());
  EXPECT_EQ(too_late.error().kind, CaptureError::Kind::invalid_argument);
  EXPECT_EQ(writer->frames_written(), 0U);
}

TEST_F(CaptureFileTest, PcapWriter_AfterClose_WritesFail) {
  auto writer = PcapWriter::open(file("closed.pcap"));
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE(writer->close().has_value());
  EXPECT_FALSE(writer->is_open());
  const ByteVector datagram = ipv4_datagram();
  EXPECT_FALSE(writer->write(1s, as_bytes(datagram)).has_value());
  EXPECT_FALSE(writer->flush().has_value());
  EXPECT_FALSE(writer->close().has_value());
}

TEST_F(CaptureFileTest, PcapWriter_Moved_KeepsWritingToTheSameFile) {
  const auto path = file("moved.pcap");
  const ByteVector a = ipv4_datagram(30, 1);
  const ByteVector b = ipv6_datagram(50, 2);
  {
    auto opened = PcapWriter::open(path);
    ASSERT_TRUE(opened.has_value());
    PcapWriter first = std::move(*opened);
    ASSERT_TRUE(first.write(1s, as_bytes(a)).has_value());
    PcapWriter second = std::move(first);
    EXPECT_FALSE(first.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    ASSERT_TRUE(second.write(2s, as_bytes(b)).has_value());
    EXPECT_EQ(second.frames_written(), 2U);
  }
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  std::vector<ByteVector> data;
  read_all(*reader, data);
  ASSERT_EQ(data.size(), 2U);
  EXPECT_EQ(data[0], a);
  EXPECT_EQ(data[1], b);
}

TEST_F(CaptureFileTest, PcapWriter_DirectoryMissing_OpenFailsWithMessage) {
  auto writer = PcapWriter::open(file("no-such-dir/out.pcap"));
  ASSERT_FALSE(writer.has_value());
  EXPECT_EQ(writer.error().kind, CaptureError::Kind::open);
  EXPECT_NE(writer.error().message.find("no-such-dir"), std::string::npos) << writer.error().message;
}

// ---------------------------------------------------------------------------------------------------
// Reading captures of other link types (classic microsecond pcap, as tcpdump writes them)

struct LinkCapture {
  std::string name;
  int linktype;
  ByteVector frame;
  wire::IpVersion version;
  std::size_t header_length;
};

TEST_F(CaptureFileTest, PcapReader_MicrosecondCapturesOfEveryLinkType_DecapsulateAndScaleTimestamps) {
  const ByteVector v4 = ipv4_datagram(40, 9);
  const ByteVector v6 = ipv6_datagram(72, 7);
  const std::vector<LinkCapture> cases = {
      {"ethernet-two-vlan-tags", DLT_EN10MB,
       ethernet(ethertype::kIpv6, v6, {{ethertype::kQinQ, 10}, {ethertype::kVlan, 20}}), wire::IpVersion::v6,
       22},
      {"ethernet-one-vlan-tag", DLT_EN10MB, ethernet(ethertype::kIpv4, v4, {{ethertype::kVlan, 30}}),
       wire::IpVersion::v4, 18},
      {"linux-sll", DLT_LINUX_SLL, sll(ethertype::kIpv4, v4), wire::IpVersion::v4, 16},
      {"linux-sll2", DLT_LINUX_SLL2, sll2(ethertype::kIpv6, v6), wire::IpVersion::v6, 20},
      {"null-little-endian", DLT_NULL, loopback(2, true, v4), wire::IpVersion::v4, 4},
      {"null-big-endian-darwin", DLT_NULL, loopback(30, false, v6), wire::IpVersion::v6, 4},
      {"loop", DLT_LOOP, loopback(24, false, v6), wire::IpVersion::v6, 4},
      {"raw", DLT_RAW, v4, wire::IpVersion::v4, 0},
  };
  for (const LinkCapture& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = file(c.name + ".pcap");
    const ByteVector arp = ethernet(ethertype::kArp, ByteVector(28, std::byte{1}));
    std::vector<Record> records = {{1'600'000'000s + 123'456us, c.frame}, {1'600'000'001s + 1us, c.frame}};
    if (c.linktype == DLT_EN10MB) records.push_back({1'600'000'002s, arp});
    write_microsecond_pcap(path, c.linktype, records);

    auto reader = PcapReader::open(path);
    ASSERT_TRUE(reader.has_value()) << reader.error().message;
    EXPECT_EQ(reader->linktype(), static_cast<std::uint32_t>(c.linktype));
    std::vector<ByteVector> data;
    std::vector<ByteVector> datagrams;
    const std::vector<Frame> frames = read_all(*reader, data, &datagrams);
    ASSERT_EQ(frames.size(), records.size());
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(frames[i].timestamp, records[i].timestamp);
      EXPECT_EQ(data[i], c.frame);
      ASSERT_TRUE(frames[i].ip.has_value()) << wire::to_string(frames[i].ip.error());
      EXPECT_EQ(frames[i].ip->version, c.version);
      EXPECT_EQ(frames[i].ip->header_length, c.header_length);
      EXPECT_EQ(datagrams[i], c.version == wire::IpVersion::v4 ? v4 : v6);
    }
    if (c.linktype == DLT_EN10MB) {
      ASSERT_FALSE(frames[2].ip.has_value());
      EXPECT_EQ(frames[2].ip.error(), wire::Error::link_not_ip);
    }
  }
}

TEST_F(CaptureFileTest, PcapReader_UnsupportedLinktype_FramesCarryLinkUnsupported) {
  const auto path = file("ieee802_11.pcap");
  write_microsecond_pcap(path, DLT_IEEE802_11, {{5s, ByteVector(30, std::byte{0})}});
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  auto frame = reader->next();
  ASSERT_TRUE(frame.has_value() && frame->has_value());
  ASSERT_FALSE((*frame)->ip.has_value());
  EXPECT_EQ((*frame)->ip.error(), wire::Error::link_unsupported);
}

TEST_F(CaptureFileTest, PcapReader_PaddedEthernetSynWithVlanTag_ParsesAsTcpAfterDecapsulation) {
  const auto src = wire::IpAddress::parse("192.0.2.1");
  const auto dst = wire::IpAddress::parse("198.51.100.7");
  ASSERT_TRUE(src && dst);
  wire::TcpHeader syn;
  syn.src_port = 40000;
  syn.dst_port = 80;
  syn.seq = wire::SeqNum(12345);
  syn.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
  syn.window = 65535;
  ByteVector datagram(wire::tcp_packet_size(wire::IpVersion::v4, syn, 0));
  auto emitted = wire::emit_tcp_packet(*src, *dst, syn, {}, wire::MutableBytes(datagram));
  ASSERT_TRUE(emitted.has_value()) << wire::to_string(emitted.error());
  datagram.resize(*emitted);
  ByteVector frame = ethernet(ethertype::kIpv4, datagram, {{ethertype::kVlan, 42}});
  frame.resize(64, std::byte{0});  // Ethernet minimum (60) plus the 4-byte tag, padded with zeros

  const auto path = file("syn.pcap");
  {
    auto writer = PcapWriter::open(path, {.linktype = dlt::kEn10Mb});
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->write(1s, as_bytes(frame)).has_value());
  }
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  auto next = reader->next();
  ASSERT_TRUE(next.has_value() && next->has_value());
  const Frame& read = **next;
  ASSERT_TRUE(read.ip.has_value()) << wire::to_string(read.ip.error());
  auto packet = wire::TcpPacketView::parse(read.ip->datagram);
  ASSERT_TRUE(packet.has_value()) << wire::to_string(packet.error());
  EXPECT_EQ(packet->ip().src, *src);
  EXPECT_EQ(packet->tcp().src_port(), 40000);
  EXPECT_EQ(packet->tcp().dst_port(), 80);
  EXPECT_TRUE(packet->tcp().flags().syn());
}

// ---------------------------------------------------------------------------------------------------
// pcapng

// Little-endian pcapng: a section header, one interface (with if_tsresol when given) and one enhanced
// packet block per record, timestamps in units of 10^-resolution seconds.
ByteVector build_pcapng(std::uint16_t linktype, std::optional<std::uint8_t> tsresol,
                        const std::vector<Record>& records) {
  ByteVector out;
  auto block = [&out](std::uint32_t type, const ByteVector& body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    append_le32(out, type);
    append_le32(out, total);
    append(out, body);
    append_le32(out, total);
  };
  ByteVector shb;
  append_le32(shb, 0x1A2B3C4D);  // byte-order magic
  append_le16(shb, 1);
  append_le16(shb, 0);
  append_le32(shb, 0xFFFFFFFF);  // section length: unknown
  append_le32(shb, 0xFFFFFFFF);
  block(0x0A0D0D0A, shb);

  ByteVector idb;
  append_le16(idb, linktype);
  append_le16(idb, 0);
  append_le32(idb, 65535);
  if (tsresol) {
    append_le16(idb, 9);  // if_tsresol
    append_le16(idb, 1);
    testing::append_u8(idb, *tsresol);
    for (int i = 0; i < 3; ++i) testing::append_u8(idb, 0);
    append_le32(idb, 0);  // opt_endofopt
  }
  block(1, idb);

  std::uint64_t units_per_second = 1'000'000;
  if (tsresol) {
    units_per_second = 1;
    for (int i = 0; i < *tsresol; ++i) units_per_second *= 10;
  }
  for (const Record& r : records) {
    const auto ns = static_cast<std::uint64_t>(r.timestamp.count());
    const std::uint64_t units = ns / (1'000'000'000ULL / units_per_second);
    ByteVector epb;
    append_le32(epb, 0);  // interface 0
    append_le32(epb, static_cast<std::uint32_t>(units >> 32U));
    append_le32(epb, static_cast<std::uint32_t>(units & 0xFFFFFFFFU));
    append_le32(epb, static_cast<std::uint32_t>(r.bytes.size()));
    append_le32(epb, static_cast<std::uint32_t>(r.bytes.size()));
    append(epb, r.bytes);
    while (epb.size() % 4 != 0) testing::append_u8(epb, 0);
    block(6, epb);
  }
  return out;
}

TEST_F(CaptureFileTest, PcapReader_HandBuiltPcapngWithNanosecondResolution_ReadsExactTimestamps) {
  const auto path = file("nano.pcapng");
  const std::vector<Record> records = mixed_records(12);
  write_file(path, build_pcapng(101, 9, records));
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_EQ(reader->linktype(), static_cast<std::uint32_t>(DLT_RAW));
  std::vector<ByteVector> data;
  const std::vector<Frame> frames = read_all(*reader, data);
  ASSERT_EQ(frames.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(frames[i].timestamp, records[i].timestamp) << i;
    EXPECT_EQ(data[i], records[i].bytes) << i;
    EXPECT_TRUE(frames[i].ip.has_value()) << i;
  }
}

TEST_F(CaptureFileTest, PcapReader_HandBuiltPcapngEthernetDefaultResolution_ScalesMicroseconds) {
  const auto path = file("micro.pcapng");
  const ByteVector v6 = ipv6_datagram(64);
  const std::vector<Record> records = {
      {1'650'000'000s + 250'000us, ethernet(ethertype::kIpv6, v6, {{ethertype::kVlan, 5}})},
      {1'650'000'001s + 1us, ethernet(ethertype::kArp, ByteVector(28, std::byte{0}))},
  };
  write_file(path, build_pcapng(1, std::nullopt, records));
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_EQ(reader->linktype(), static_cast<std::uint32_t>(DLT_EN10MB));
  std::vector<ByteVector> data;
  std::vector<ByteVector> datagrams;
  const std::vector<Frame> frames = read_all(*reader, data, &datagrams);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].timestamp, records[0].timestamp);
  EXPECT_EQ(frames[1].timestamp, records[1].timestamp);
  ASSERT_TRUE(frames[0].ip.has_value());
  EXPECT_EQ(datagrams[0], v6);
  ASSERT_FALSE(frames[1].ip.has_value());
  EXPECT_EQ(frames[1].ip.error(), wire::Error::link_not_ip);
}

TEST_F(CaptureFileTest, PcapReader_EditcapConvertedPcapng_MatchesTheOriginal) {
  if (std::system("command -v editcap >/dev/null 2>&1") != 0) GTEST_SKIP() << "editcap not installed";
  const auto pcap_path = file("original.pcap");
  const auto pcapng_path = file("converted.pcapng");
  const std::vector<Record> records = mixed_records(20);
  {
    auto writer = PcapWriter::open(pcap_path);
    ASSERT_TRUE(writer.has_value());
    for (const Record& r : records) ASSERT_TRUE(writer->write(r.timestamp, as_bytes(r.bytes)).has_value());
  }
  const std::string command =
      "editcap -F pcapng '" + pcap_path.string() + "' '" + pcapng_path.string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const ByteVector converted = read_file(pcapng_path);
  ASSERT_GE(converted.size(), 4U);
  EXPECT_EQ(converted[0], std::byte{0x0A}) << "not a pcapng section header";

  auto reader = PcapReader::open(pcapng_path);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  std::vector<ByteVector> data;
  const std::vector<Frame> frames = read_all(*reader, data);
  ASSERT_EQ(frames.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(frames[i].timestamp, records[i].timestamp) << i;
    EXPECT_EQ(data[i], records[i].bytes) << i;
  }
}

// ---------------------------------------------------------------------------------------------------
// Damaged and garbage files

TEST_F(CaptureFileTest, PcapReader_FileCutAtEveryLength_ReturnsCompleteRecordsThenError) {
  const auto path = file("whole.pcap");
  const std::vector<Record> records = mixed_records(5);
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value());
    for (const Record& r : records) ASSERT_TRUE(writer->write(r.timestamp, as_bytes(r.bytes)).has_value());
  }
  const ByteVector whole = read_file(path);
  std::vector<std::size_t> record_ends;  // file offset just past each record
  std::size_t offset = 24;
  for (const Record& r : records) {
    offset += 16 + r.bytes.size();
    record_ends.push_back(offset);
  }
  ASSERT_EQ(record_ends.back(), whole.size());

  const auto cut_path = file("cut.pcap");
  for (std::size_t length = 0; length <= whole.size(); ++length) {
    SCOPED_TRACE("cut at " + std::to_string(length));
    write_file(cut_path, ByteVector(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(length)));
    auto reader = PcapReader::open(cut_path);
    if (length < 24) {
      ASSERT_FALSE(reader.has_value());
      EXPECT_EQ(reader.error().kind, CaptureError::Kind::open);
      continue;
    }
    ASSERT_TRUE(reader.has_value()) << reader.error().message;
    std::size_t complete = 0;
    bool at_boundary = (length == 24);
    for (std::size_t end : record_ends) {
      if (end <= length) ++complete;
      if (end == length) at_boundary = true;
    }
    for (std::size_t i = 0; i < complete; ++i) {
      auto frame = reader->next();
      ASSERT_TRUE(frame.has_value()) << frame.error().message;
      ASSERT_TRUE(frame->has_value());
      EXPECT_EQ(to_vector((*frame)->data), records[i].bytes);
    }
    auto last = reader->next();
    if (at_boundary) {
      ASSERT_TRUE(last.has_value()) << last.error().message;
      EXPECT_FALSE(last->has_value());
    } else {
      ASSERT_FALSE(last.has_value()) << "a partial record was returned";
      EXPECT_EQ(last.error().kind, CaptureError::Kind::read);
      EXPECT_NE(last.error().message.find("truncated"), std::string::npos) << last.error().message;
      EXPECT_NE(last.error().message.find("after " + std::to_string(complete) + " frame"), std::string::npos)
          << last.error().message;
      auto sticky = reader->next();
      EXPECT_FALSE(sticky.has_value()) << "the error is sticky";
      EXPECT_EQ(reader->frames_read(), complete);
    }
  }
}

TEST_F(CaptureFileTest, PcapReader_GarbageFile_OpenFailsWithLibpcapMessage) {
  const auto path = file("garbage.pcap");
  ByteVector garbage;
  for (std::uint32_t i = 0; i < 200; ++i) testing::append_u8(garbage, i * 37U + 11U);
  write_file(path, garbage);
  auto reader = PcapReader::open(path);
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().kind, CaptureError::Kind::open);
  EXPECT_NE(reader.error().message.find("garbage.pcap"), std::string::npos) << reader.error().message;
  EXPECT_NE(reader.error().message.find("unknown file format"), std::string::npos) << reader.error().message;
}

TEST(CaptureError, Formats_AsItsMessage) {
  const CaptureError error{CaptureError::Kind::read, "x.pcap: damaged after 3 frames: truncated"};
  EXPECT_EQ(fmt::format("error: {}", error), "error: x.pcap: damaged after 3 frames: truncated");
}

TEST_F(CaptureFileTest, PcapReader_MissingFile_OpenFailsWithOsMessage) {
  auto reader = PcapReader::open(file("does-not-exist.pcap"));
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().kind, CaptureError::Kind::open);
  EXPECT_NE(reader.error().message.find("No such file"), std::string::npos) << reader.error().message;
  // The kind as a registered std::error_code, and the OS's errno behind it.
  EXPECT_EQ(reader.error().code(), CaptureError::Kind::open);
  EXPECT_STREQ(reader.error().code().category().name(), "synack.capture");
  EXPECT_EQ(reader.error().os_error(), std::errc::no_such_file_or_directory);
}

TEST(CaptureError, Kind_IsAnErrorCodeWhoseZeroMeansSuccess) {
  const std::error_code ok;
  EXPECT_FALSE(ok);
  for (auto kind : {CaptureError::Kind::open, CaptureError::Kind::read, CaptureError::Kind::write,
                    CaptureError::Kind::invalid_argument, CaptureError::Kind::filter}) {
    const std::error_code code = kind;
    EXPECT_TRUE(code);
    EXPECT_FALSE(code.message().empty());
  }
  EXPECT_FALSE(CaptureError{}.os_error());
}

TEST_F(CaptureFileTest, PcapReader_Moved_ContinuesWhereItWas) {
  const auto path = file("move.pcap");
  const std::vector<Record> records = mixed_records(3);
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value());
    for (const Record& r : records) ASSERT_TRUE(writer->write(r.timestamp, as_bytes(r.bytes)).has_value());
  }
  auto opened = PcapReader::open(path);
  ASSERT_TRUE(opened.has_value());
  auto first = opened->next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  PcapReader moved = std::move(*opened);
  std::vector<ByteVector> data;
  const std::vector<Frame> rest = read_all(moved, data);
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0].index, 1U);
  EXPECT_EQ(data[1], records[2].bytes);
}

// A BPF filter, as tcpdump's: only the frames it selects are returned (libpcap runs it in userspace).
TEST_F(CaptureFileTest, PcapReader_Filter_ReturnsOnlyTheFramesItSelects) {
  const auto path = file("filter.pcap");
  const std::vector<Record> records = mixed_records(9);  // every third an IPv6 datagram
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value());
    for (const Record& r : records) ASSERT_TRUE(writer->write(r.timestamp, as_bytes(r.bytes)).has_value());
  }
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE(reader->set_filter("ip6").has_value());
  std::vector<ByteVector> data;
  const std::vector<Frame> frames = read_all(*reader, data);
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(data[0], records[2].bytes);
  EXPECT_EQ(data[2], records[8].bytes);
}

TEST_F(CaptureFileTest, PcapReader_FilterThatDoesNotCompile_IsAFilterError) {
  const auto path = file("filter-bad.pcap");
  {
    ASSERT_TRUE(PcapWriter::open(path).has_value());
  }
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.has_value());
  const auto set = reader->set_filter("tcp port banana");
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().kind, CaptureError::Kind::filter);
  EXPECT_FALSE(set.error().message.empty());
}

}  // namespace
}  // namespace synack::capture
