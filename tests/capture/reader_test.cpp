// Tests for CaptureReader, synack's own pcap / pcapng reader: hand-built pcapng bytes for every block and
// field rule (sections in both byte orders, several interfaces with their own link types, if_tsresol and
// if_tsoffset, Enhanced / Simple / obsolete Packet Blocks, unknown blocks), damage at every length, the
// pipe path, classic pcap against libpcap, and the BPF filter across link types.
#include "synack/capture/reader.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include "frames.hpp"
#include "pcapng_builder.hpp"
#include "synack/capture/pcap.hpp"

namespace synack::capture {
namespace {

using namespace std::chrono_literals;
using testing::ByteVector;
using testing::ethernet;
using ::testing::HasSubstr;
using testing::ipv4_datagram;
using testing::ipv6_datagram;
using testing::PcapngBuilder;
using testing::sll2;
namespace ethertype = wire::ethertype;
namespace dlt = wire::dlt;

constexpr std::uint16_t kLinktypeEthernet = 1;
constexpr std::uint16_t kLinktypeRaw = 101;
constexpr std::uint16_t kLinktypeSll2 = 276;

/// A record with its bytes copied out (a record's span may die with the next read).
struct Copied {
  Record record;
  ByteVector bytes;
};

struct ReadResult {
  std::vector<Copied> records;
  CaptureReader::Next last = CaptureReader::Next::end;
  std::string error;
};

ReadResult read_all(CaptureReader& reader) {
  ReadResult result;
  Record record;
  for (;;) {
    result.last = reader.next(record);
    if (result.last != CaptureReader::Next::record) break;
    result.records.push_back({record, ByteVector(record.data.begin(), record.data.end())});
  }
  if (result.last == CaptureReader::Next::error) result.error = reader.error().message;
  return result;
}

ReadResult read_bytes(const ByteVector& bytes) {
  auto reader = CaptureReader::from_bytes(wire::Bytes(bytes.data(), bytes.size()), "test.pcapng");
  EXPECT_TRUE(reader.has_value()) << reader.error().message;
  if (!reader) return {};
  return read_all(*reader);
}

std::string open_error(const ByteVector& bytes) {
  auto reader = CaptureReader::from_bytes(wire::Bytes(bytes.data(), bytes.size()), "test.pcapng");
  return reader ? std::string() : reader.error().message;
}

TEST(CaptureReaderTest, Pcapng_ThreeInterfacesOfDifferentLinkTypesAndResolutions_EachRecordCarriesItsOwn) {
  const ByteVector v4 = ipv4_datagram(60);
  const ByteVector v6 = ipv6_datagram(80);
  PcapngBuilder b;
  b.section()
      .interface(kLinktypeEthernet)         // microseconds (no if_tsresol)
      .interface(kLinktypeRaw, 65535, 9)    // nanoseconds
      .interface(kLinktypeSll2, 262144, 3)  // milliseconds
      .packet(0, 1'700'000'000'000'001ULL, ethernet(ethertype::kIpv4, v4, {{ethertype::kVlan, 7}}))
      .packet(1, 1'700'000'000'000'000'002ULL, v6)
      .packet(2, 1'700'000'000'003ULL, sll2(ethertype::kIpv4, v4));
  auto reader = CaptureReader::from_bytes(wire::Bytes(b.bytes().data(), b.bytes().size()), "multi");
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_EQ(reader->format(), CaptureFormat::pcapng);
  EXPECT_EQ(reader->linktype(), dlt::kEn10Mb);
  ASSERT_EQ(reader->interfaces().size(), 3U);  // all declared before the first packet
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.last, CaptureReader::Next::end) << r.error;
  ASSERT_EQ(r.records.size(), 3U);
  EXPECT_EQ(r.records[0].record.linktype, dlt::kEn10Mb);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(1'700'000'000'000'001'000LL));
  EXPECT_EQ(r.records[1].record.linktype, dlt::kRaw);  // LINKTYPE_RAW reads as DLT_RAW
  EXPECT_EQ(r.records[1].record.interface, 1U);
  EXPECT_EQ(r.records[1].record.timestamp, Timestamp(1'700'000'000'000'000'002LL));
  EXPECT_EQ(r.records[1].bytes, v6);
  EXPECT_EQ(r.records[2].record.linktype, dlt::kLinuxSll2);
  EXPECT_EQ(r.records[2].record.timestamp, Timestamp(1'700'000'000'003'000'000LL));
  EXPECT_EQ(r.records[2].record.index, 2U);
  for (const auto& c : r.records)
    EXPECT_TRUE(wire::decapsulate(c.record.linktype, c.record.data).has_value());
}

TEST(CaptureReaderTest, Pcapng_BigEndianSection_ReadsAsTheLittleEndianOne) {
  const ByteVector v4 = ipv4_datagram(44);
  PcapngBuilder little;
  PcapngBuilder big;
  little.section(false).interface(kLinktypeRaw, 1000, 6, 5).packet(0, 123'456'789, v4, 1400);
  big.section(true).interface(kLinktypeRaw, 1000, 6, 5).packet(0, 123'456'789, v4, 1400);
  const ReadResult a = read_bytes(little.bytes());
  const ReadResult b = read_bytes(big.bytes());
  ASSERT_EQ(a.records.size(), 1U);
  ASSERT_EQ(b.records.size(), 1U);
  EXPECT_EQ(a.records[0].record.timestamp, b.records[0].record.timestamp);
  EXPECT_EQ(b.records[0].record.timestamp,
            Timestamp(5'000'000'000LL + 123'456'789'000LL));  // if_tsoffset 5 s
  EXPECT_EQ(b.records[0].record.origlen, 1400U);
  EXPECT_TRUE(b.records[0].record.is_truncated());
  EXPECT_EQ(b.records[0].bytes, v4);
}

TEST(CaptureReaderTest, Pcapng_SecondSectionOtherByteOrder_InterfaceIdsRestartInIt) {
  const ByteVector first = ipv4_datagram(40, 1);
  const ByteVector second = ipv4_datagram(40, 9);
  PcapngBuilder b;
  b.section(false).interface(kLinktypeRaw).packet(0, 1, first);
  b.section(true).interface(kLinktypeEthernet).packet(0, 2, ethernet(ethertype::kIpv4, second));
  b.packet(1, 3, second);  // the second section has one interface: id 1 does not exist there
  auto reader = CaptureReader::from_bytes(wire::Bytes(b.bytes().data(), b.bytes().size()), "two");
  ASSERT_TRUE(reader.has_value());
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.last, CaptureReader::Next::end) << r.error;
  ASSERT_EQ(r.records.size(), 2U);
  EXPECT_EQ(r.records[1].record.interface, 1U);  // file-wide numbering
  EXPECT_EQ(r.records[1].record.linktype, dlt::kEn10Mb);
  EXPECT_EQ(reader->counters().sections, 2U);
  EXPECT_EQ(reader->counters().unknown_interface, 1U);
  ASSERT_EQ(reader->interfaces().size(), 2U);
  EXPECT_EQ(reader->interfaces()[1].section, 1U);
}

TEST(CaptureReaderTest, Pcapng_BinaryResolutionAndNegativeOffset_ConvertedToNanoseconds) {
  PcapngBuilder b;
  // 2^-20 s units: 3.5 s = 3.5 * 2^20 units; offset -1 s.
  b.section().interface(kLinktypeRaw, 0, 0x80 | 20, -1).packet(0, 3'670'016, ipv4_datagram());
  const ReadResult r = read_bytes(b.bytes());
  ASSERT_EQ(r.records.size(), 1U);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(2'500'000'000LL));
}

TEST(CaptureReaderTest, Pcapng_SimplePacketBlock_UsesInterfaceZeroAndItsSnaplen) {
  const ByteVector v4 = ipv4_datagram(100);
  const ByteVector cut(v4.begin(), v4.begin() + 64);
  PcapngBuilder b;
  b.section().interface(kLinktypeRaw, 64).simple(v4, 100);
  const ReadResult r = read_bytes(b.bytes());
  ASSERT_EQ(r.records.size(), 1U);
  EXPECT_EQ(r.records[0].bytes, cut);
  EXPECT_EQ(r.records[0].record.origlen, 100U);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(0));  // no timestamp in the block
}

TEST(CaptureReaderTest, Pcapng_ObsoletePacketBlock_Read) {
  PcapngBuilder b;
  b.section()
      .interface(kLinktypeRaw)
      .interface(kLinktypeEthernet)
      .obsolete(1, 7, ethernet(0x0800, ipv4_datagram()));
  const ReadResult r = read_bytes(b.bytes());
  ASSERT_EQ(r.records.size(), 1U);
  EXPECT_EQ(r.records[0].record.linktype, dlt::kEn10Mb);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(7'000));
}

TEST(CaptureReaderTest, Pcapng_UnknownBlocksAndInterfaceAfterPackets_SkippedAndRead) {
  PcapngBuilder b;
  b.section().interface(kLinktypeRaw);
  b.block(5, ByteVector(28, std::byte{0}));          // interface statistics
  b.block(0x80000001, ByteVector(8, std::byte{1}));  // a custom block
  b.packet(0, 1, ipv4_datagram());
  b.interface(kLinktypeEthernet).packet(1, 2, ethernet(0x0800, ipv4_datagram()));
  auto reader = CaptureReader::from_bytes(wire::Bytes(b.bytes().data(), b.bytes().size()), "x");
  ASSERT_TRUE(reader.has_value());
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.records.size(), 2U) << r.error;
  EXPECT_EQ(reader->counters().blocks_skipped, 2U);
  EXPECT_EQ(r.records[1].record.linktype, dlt::kEn10Mb);
}

TEST(CaptureReaderTest, Pcapng_PacketOnUndeclaredInterfaceOrTimeAfter2262_CountedAndSkipped) {
  PcapngBuilder b;
  b.section().interface(kLinktypeRaw, 0, 0);  // whole seconds
  b.packet(4, 1, ipv4_datagram());
  b.packet(0, 10'000'000'000ULL, ipv4_datagram());  // 10^10 s: past int64 nanoseconds
  b.packet(0, 5, ipv4_datagram());
  auto reader = CaptureReader::from_bytes(wire::Bytes(b.bytes().data(), b.bytes().size()), "x");
  ASSERT_TRUE(reader.has_value());
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.records.size(), 1U);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(5'000'000'000LL));
  EXPECT_EQ(reader->counters().unknown_interface, 1U);
  EXPECT_EQ(reader->counters().timestamp_overflow, 1U);
  EXPECT_EQ(reader->counters().dropped(), 2U);
}

/// A valid file, then one damaged block: the record before it is returned, then an error naming why.
ReadResult after_one_packet(const ByteVector& damage) {
  PcapngBuilder b;
  b.section().interface(kLinktypeRaw).packet(0, 1, ipv4_datagram()).raw(damage);
  return read_bytes(b.bytes());
}

ByteVector le32s(std::initializer_list<std::uint32_t> words) {
  ByteVector out;
  for (auto w : words) testing::append_le32(out, w);
  return out;
}

TEST(CaptureReaderTest, Pcapng_MalformedBlockLengths_ErrorAfterTheRecordsBefore) {
  struct Case {
    ByteVector bytes;
    const char* says;
  };
  const std::vector<Case> cases = {
      {le32s({6, 8, 8}), "length 8"},                     // shorter than a block's 12 bytes
      {le32s({6, 14, 0, 14}), "length 14"},               // not a multiple of 4
      {le32s({6, 0xFFFFFFF0}), "length 4294967280"},      // absurd
      {le32s({99, 16, 0, 20}), "trailing length 20"},     // trailer disagrees
      {le32s({6, 64, 0, 0}), "truncated block"},          // runs past the end of the file
      {le32s({6, 16, 0, 16}), "packet block of 16"},      // too short for an EPB
      {le32s({6, 32, 0, 0, 0, 9, 0, 32}), "room for 0"},  // caplen 9 past the block
      {le32s({3, 12, 12}), "simple packet block"},        // SPB without its length field
      {le32s({1, 16, 1, 16}), "interface description"},   // IDB too short
      {ByteVector{std::byte{6}, std::byte{0}}, "2 bytes after the last block"},
  };
  for (const auto& c : cases) {
    const ReadResult r = after_one_packet(c.bytes);
    EXPECT_EQ(r.records.size(), 1U) << c.says;
    EXPECT_EQ(r.last, CaptureReader::Next::error) << c.says;
    EXPECT_THAT(r.error, HasSubstr("damaged after 1 frame: ")) << c.says;
    EXPECT_THAT(r.error, HasSubstr(c.says));
  }
}

TEST(CaptureReaderTest, Pcapng_MalformedInterfaceOptions_Error) {
  struct Case {
    std::vector<std::uint32_t> words;
    const char* says;
  };
  // IDB body: linktype/reserved, snaplen, then one option.
  const std::vector<Case> cases = {
      {{1, 0, 0x00080009, 1, 0}, "if_tsresol of 8 bytes"},
      {{1, 0, 0x00010009, 0x14, 0}, "finer than 64-bit"},  // 10^-20
      {{1, 0, 0x00010009, 0xC0, 0}, "finer than 64-bit"},  // 2^-64
      {{1, 0, 0x0004000E, 0, 0}, "if_tsoffset of 4 bytes"},
      {{1, 0, 0x0040000B, 0}, "runs past its block"},  // 64-byte option in 4
  };
  for (const auto& c : cases) {
    PcapngBuilder b;
    ByteVector body;
    for (auto w : c.words) testing::append_le32(body, w);
    b.section().block(1, body);
    EXPECT_THAT(open_error(b.bytes()), HasSubstr(c.says));
  }
}

TEST(CaptureReaderTest, Pcapng_BadSectionHeader_OpenFailsNamingWhy) {
  PcapngBuilder version;
  version.section(false, 2);
  EXPECT_THAT(open_error(version.bytes()), HasSubstr("pcapng version 2.0"));
  ByteVector magic = le32s({0x0A0D0D0A, 28, 0x11223344, 0, 0, 0, 28});
  EXPECT_THAT(open_error(magic), HasSubstr("byte-order magic"));
  ByteVector short_shb = le32s({0x0A0D0D0A, 24, 0x1A2B3C4D, 1, 0, 24});
  EXPECT_THAT(open_error(short_shb), HasSubstr("section header of 24 bytes"));
  EXPECT_THAT(open_error(le32s({0x0A0D0D0A})), HasSubstr("truncated section header"));
  EXPECT_THAT(open_error(ByteVector{}), HasSubstr("empty file"));
  EXPECT_THAT(open_error(le32s({0x12345678, 0})), HasSubstr("unknown file format"));
}

TEST(CaptureReaderTest, Pcapng_CutAtEveryLength_ReturnsAPrefixThenEndOrError) {
  PcapngBuilder b;
  b.section().interface(kLinktypeEthernet).interface(kLinktypeRaw, 65535, 9);
  for (std::uint32_t i = 0; i < 6; ++i) {
    b.packet(i % 2, 1000 + i, i % 2 == 0 ? ethernet(0x0800, ipv4_datagram(40 + i)) : ipv4_datagram(40 + i));
  }
  b.simple(ipv4_datagram(), 40);
  const ReadResult whole = read_bytes(b.bytes());
  ASSERT_EQ(whole.records.size(), 7U);
  for (std::size_t cut = 0; cut < b.bytes().size(); ++cut) {
    const ByteVector part(b.bytes().begin(), b.bytes().begin() + static_cast<std::ptrdiff_t>(cut));
    auto reader = CaptureReader::from_bytes(wire::Bytes(part.data(), part.size()), "cut");
    if (!reader) continue;  // cut inside the section header
    const ReadResult r = read_all(*reader);
    ASSERT_LE(r.records.size(), whole.records.size()) << cut;
    for (std::size_t i = 0; i < r.records.size(); ++i) EXPECT_EQ(r.records[i].bytes, whole.records[i].bytes);
    // A cut at a block boundary ends cleanly; anywhere else is damage.
    if (r.last == CaptureReader::Next::error) {
      EXPECT_THAT(r.error, HasSubstr("damaged after"));
    }
  }
}

class CaptureReaderFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/synack-reader-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return dir_ / name; }
  static void write(const std::filesystem::path& path, const ByteVector& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::path dir_;
};

TEST_F(CaptureReaderFileTest, ClassicPcapWrittenByLibpcap_SameRecordsAsLibpcapReads) {
  const auto path = file("classic.pcap");
  {
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer.has_value());
    for (int i = 0; i < 50; ++i) {
      const ByteVector d = ipv4_datagram(20 + static_cast<std::size_t>(i));
      ASSERT_TRUE(writer
                      ->write(Timestamp(1'700'000'000'123'456'789LL + i * 1'000'001LL),
                              wire::Bytes(d.data(), d.size()))
                      .has_value());
    }
    ASSERT_TRUE(writer->close().has_value());
  }
  auto ours = CaptureReader::open(path);
  ASSERT_TRUE(ours.has_value()) << ours.error().message;
  EXPECT_TRUE(ours->is_mapped());
  const double before = ours->share_read();
  EXPECT_GT(before, 0.0) << "the file header is read";
  EXPECT_LT(before, 0.1);
  EXPECT_EQ(ours->format(), CaptureFormat::pcap);
  EXPECT_EQ(ours->linktype(), dlt::kRaw);
  auto theirs = PcapReader::open(path);
  ASSERT_TRUE(theirs.has_value());
  const ReadResult r = read_all(*ours);
  ASSERT_EQ(r.records.size(), 50U);
  EXPECT_DOUBLE_EQ(ours->share_read(), 1.0) << "every byte read";
  for (const auto& c : r.records) {
    auto frame = theirs->next();
    ASSERT_TRUE(frame.has_value() && frame->has_value());
    EXPECT_EQ((*frame)->timestamp, c.record.timestamp);
    EXPECT_EQ((*frame)->caplen, c.record.caplen);
    EXPECT_EQ((*frame)->origlen, c.record.origlen);
  }
}

TEST_F(CaptureReaderFileTest, ClassicPcapBigEndianMicroseconds_Read) {
  ByteVector bytes;
  for (std::uint32_t w : {0xA1B2C3D4U}) testing::append_be32(bytes, w);
  testing::append_be16(bytes, 2);
  testing::append_be16(bytes, 4);
  for (std::uint32_t w : {0U, 0U, 65535U, 1U}) testing::append_be32(bytes, w);  // Ethernet
  const ByteVector frame =
      ethernet(ethertype::kIpv4, ipv4_datagram(), {{ethertype::kQinQ, 1}, {ethertype::kVlan, 2}});
  for (std::uint32_t w : {100U, 250U, static_cast<std::uint32_t>(frame.size()), 1514U}) {
    testing::append_be32(bytes, w);
  }
  testing::append(bytes, frame);
  const auto path = file("big.pcap");
  write(path, bytes);
  auto reader = CaptureReader::open(path);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.records.size(), 1U);
  EXPECT_EQ(r.records[0].record.timestamp, Timestamp(100'000'250'000LL));
  EXPECT_EQ(r.records[0].record.origlen, 1514U);
  auto payload = wire::decapsulate(r.records[0].record.linktype, r.records[0].record.data);
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(payload->vlan_tags, 2U);
}

TEST_F(CaptureReaderFileTest, PcapngThroughAPipe_SameRecordsAsMapped) {
  PcapngBuilder b;
  b.section().interface(kLinktypeEthernet).interface(kLinktypeRaw, 65535, 9);
  for (std::uint32_t i = 0; i < 3000; ++i) {
    b.packet(i % 2, i,
             i % 2 == 0 ? ethernet(0x0800, ipv4_datagram(40 + i % 1400)) : ipv4_datagram(60 + i % 1000));
  }
  const ByteVector bytes = b.bytes();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    // Odd-sized writes, so blocks straddle the reader's reads.
    for (std::size_t at = 0; at < bytes.size(); at += 4093) {
      const std::size_t n = std::min<std::size_t>(4093, bytes.size() - at);
      if (::write(fds[1], bytes.data() + at, n) != static_cast<ssize_t>(n)) break;
    }
    ::close(fds[1]);
  });
  auto piped = CaptureReader::open(fds[0], "pipe");
  ReadResult from_pipe;
  if (piped) from_pipe = read_all(*piped);
  writer.join();
  ASSERT_TRUE(piped.has_value()) << piped.error().message;
  EXPECT_FALSE(piped->is_mapped());
  const auto path = file("same.pcapng");
  write(path, bytes);
  auto mapped = CaptureReader::open(path);
  ASSERT_TRUE(mapped.has_value());
  const ReadResult from_file = read_all(*mapped);
  ASSERT_EQ(from_pipe.last, CaptureReader::Next::end) << from_pipe.error;
  ASSERT_EQ(from_pipe.records.size(), 3000U);
  ASSERT_EQ(from_file.records.size(), 3000U);
  for (std::size_t i = 0; i < 3000; ++i) {
    EXPECT_EQ(from_pipe.records[i].bytes, from_file.records[i].bytes) << i;
    EXPECT_EQ(from_pipe.records[i].record.timestamp, from_file.records[i].record.timestamp) << i;
  }
}

TEST_F(CaptureReaderFileTest, MissingFile_OpenFailsWithOsMessage) {
  auto reader = CaptureReader::open(file("nope.pcapng"));
  ASSERT_FALSE(reader.has_value());
  EXPECT_THAT(reader.error().message, HasSubstr("nope.pcapng: No such file"));
  EXPECT_EQ(reader.error().os_errno, ENOENT);
}

TEST(CaptureReaderTest, Filter_CompiledPerLinkType_SelectsOnEveryInterface) {
  // The same TCP segment to port 80 on an Ethernet and a raw-IP interface, and one to port 22.
  auto tcp = [](std::uint16_t port) {
    ByteVector d = ipv4_datagram(40);
    d[9] = std::byte{6};  // protocol TCP
    d[20 + 2] = std::byte{static_cast<unsigned char>(port >> 8U)};
    d[20 + 3] = std::byte{static_cast<unsigned char>(port & 0xFFU)};
    d[6] = std::byte{0};  // not a fragment
    d[7] = std::byte{0};
    return d;
  };
  PcapngBuilder b;
  b.section().interface(kLinktypeEthernet).interface(kLinktypeRaw);
  b.packet(0, 1, ethernet(0x0800, tcp(80))).packet(1, 2, tcp(80)).packet(1, 3, tcp(22));
  auto reader = CaptureReader::from_bytes(wire::Bytes(b.bytes().data(), b.bytes().size()), "f");
  ASSERT_TRUE(reader.has_value());
  ASSERT_TRUE(reader->set_filter("tcp dst port 80").has_value());
  const ReadResult r = read_all(*reader);
  ASSERT_EQ(r.records.size(), 2U);
  EXPECT_EQ(r.records[0].record.interface, 0U);
  EXPECT_EQ(r.records[1].record.interface, 1U);
  EXPECT_EQ(reader->counters().filtered_out, 1U);
  auto bad = reader->set_filter("tcp port");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind, CaptureError::Kind::filter);
}

}  // namespace
}  // namespace synack::capture
