// PcapWriter and PcapReader over libpcap (see pcap.hpp). libpcap reports through return codes and
// pcap_geterr(); every failure becomes a CaptureError value, nothing is thrown.
#include "synack/capture/pcap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <pcap/pcap.h>

namespace synack::capture {
namespace {

constexpr std::int64_t kMaxPcapSeconds = 0xFFFFFFFFLL;  // the pcap record header holds 32-bit seconds
constexpr std::int64_t kTwoTo32 = 0x100000000LL;

CaptureError make_error(CaptureError::Kind kind, std::string message, int os_errno = 0) {
  return CaptureError{kind, std::move(message), os_errno};
}

class CaptureCategory final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "synack.capture"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<CaptureError::Kind>(value)) {
      case CaptureError::Kind::open:
        return "the capture could not be opened";
      case CaptureError::Kind::read:
        return "the capture is damaged";
      case CaptureError::Kind::write:
        return "the capture could not be written";
      case CaptureError::Kind::invalid_argument:
        return "a value the capture format cannot hold";
      case CaptureError::Kind::filter:
        return "the filter expression does not compile";
    }
    return "unknown capture error";
  }
};

std::string errno_text(int error) {
  return std::strerror(error);
}

/// "PATH: reason", the path named once: libpcap's messages sometimes start with it already.
std::string with_path(const std::string& path, const std::string& message) {
  if (message.starts_with(path + ": ")) return message;
  return fmt::format("{}: {}", path, message);
}

}  // namespace

const std::error_category& capture_category() noexcept {
  static const CaptureCategory category;
  return category;
}

std::error_code make_error_code(CaptureError::Kind kind) noexcept {
  return {static_cast<int>(kind), capture_category()};
}

std::error_code CaptureError::code() const noexcept {
  return make_error_code(kind);
}

std::error_code CaptureError::os_error() const noexcept {
  return os_errno == 0 ? std::error_code{} : std::error_code(os_errno, std::generic_category());
}

namespace {

/// Opens the dump file; "-" is standard output (as `tcpdump -w -`) through a descriptor of its own, so that
/// closing the capture (pcap_dump_close() closes its FILE) leaves the program's stdout open.
pcap_dumper_t* open_dumper(pcap_t* handle, const std::filesystem::path& path) {
  if (path != "-") return pcap_dump_open(handle, path.c_str());
  std::FILE* out = nullptr;
  if (const int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0); fd >= 0) {
    out = ::fdopen(fd, "wb");
    if (out == nullptr) ::close(fd);
  }
  if (out == nullptr) return nullptr;
  pcap_dumper_t* dumper = pcap_dump_fopen(handle, out);
  if (dumper == nullptr) (void)std::fclose(out);
  // The dumper owns `out` now (pcap_dump_close() closes it); the analyzer cannot see into libpcap.
  return dumper;  // NOLINT(clang-analyzer-unix.Stream)
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// PcapWriter

PcapWriter::PcapWriter(pcap* handle, pcap_dumper* dumper, WriterOptions options) noexcept
    : handle_(handle), dumper_(dumper), options_(options) {}

std::expected<PcapWriter, CaptureError> PcapWriter::open(const std::filesystem::path& path,
                                                         const WriterOptions& options) {
  if (options.snaplen == 0 || options.snaplen > static_cast<std::uint32_t>(INT32_MAX)) {
    return std::unexpected(
        make_error(CaptureError::Kind::invalid_argument,
                   fmt::format("{}: snaplen {} out of range", path.string(), options.snaplen)));
  }
  pcap_t* handle = pcap_open_dead_with_tstamp_precision(static_cast<int>(options.linktype),
                                                        static_cast<int>(options.snaplen),
                                                        static_cast<u_int>(PCAP_TSTAMP_PRECISION_NANO));
  if (handle == nullptr) {
    return std::unexpected(make_error(
        CaptureError::Kind::open,
        fmt::format("{}: pcap_open_dead failed for link type {}", path.string(), options.linktype)));
  }
  errno = 0;
  pcap_dumper_t* dumper = open_dumper(handle, path);
  if (dumper == nullptr) {
    auto error = make_error(CaptureError::Kind::open, with_path(path.string(), pcap_geterr(handle)), errno);
    pcap_close(handle);
    return std::unexpected(std::move(error));
  }
  return PcapWriter(handle, dumper, options);
}

PcapWriter::PcapWriter(PcapWriter&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      dumper_(std::exchange(other.dumper_, nullptr)),
      options_(other.options_),
      frames_written_(other.frames_written_) {}

PcapWriter& PcapWriter::operator=(PcapWriter&& other) noexcept {
  if (this != &other) {
    release();
    handle_ = std::exchange(other.handle_, nullptr);
    dumper_ = std::exchange(other.dumper_, nullptr);
    options_ = other.options_;
    frames_written_ = other.frames_written_;
  }
  return *this;
}

PcapWriter::~PcapWriter() {
  release();
}

void PcapWriter::release() noexcept {
  if (dumper_ != nullptr) {
    pcap_dump_close(dumper_);  // flushes and closes the FILE
    dumper_ = nullptr;
  }
  if (handle_ != nullptr) {
    pcap_close(handle_);
    handle_ = nullptr;
  }
}

std::expected<void, CaptureError> PcapWriter::write(Timestamp timestamp, wire::Bytes frame) noexcept {
  if (dumper_ == nullptr) {
    return std::unexpected(make_error(CaptureError::Kind::write, "pcap writer is closed"));
  }
  const auto seconds = std::chrono::floor<std::chrono::seconds>(timestamp);
  const std::int64_t whole_seconds = seconds.count();
  if (timestamp.count() < 0 || whole_seconds > kMaxPcapSeconds) {
    return std::unexpected(make_error(
        CaptureError::Kind::invalid_argument,
        fmt::format("timestamp {} ns does not fit a pcap record (1970 to 2106)", timestamp.count())));
  }
  const std::int64_t nanoseconds = (timestamp - seconds).count();

  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<decltype(header.ts.tv_sec)>(whole_seconds);
  header.ts.tv_usec = static_cast<decltype(header.ts.tv_usec)>(nanoseconds);  // nanoseconds: NANO file
  header.len = static_cast<bpf_u_int32>(frame.size());
  header.caplen = static_cast<bpf_u_int32>(frame.size() < options_.snaplen ? frame.size() : options_.snaplen);
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, reinterpret_cast<const u_char*>(frame.data()));

  std::FILE* file = pcap_dump_file(dumper_);
  if (file != nullptr && std::ferror(file) != 0) {
    return std::unexpected(make_error(CaptureError::Kind::write,
                                      fmt::format("pcap write failed: {}", errno_text(errno)), errno));
  }
  ++frames_written_;
  return {};
}

int PcapWriter::fd() const noexcept {
  if (dumper_ == nullptr) return -1;
  std::FILE* file = pcap_dump_file(dumper_);
  return file == nullptr ? -1 : ::fileno(file);
}

std::expected<void, CaptureError> PcapWriter::flush() noexcept {
  if (dumper_ == nullptr) {
    return std::unexpected(make_error(CaptureError::Kind::write, "pcap writer is closed"));
  }
  if (pcap_dump_flush(dumper_) != 0) {
    return std::unexpected(make_error(CaptureError::Kind::write,
                                      fmt::format("pcap flush failed: {}", errno_text(errno)), errno));
  }
  return {};
}

std::expected<void, CaptureError> PcapWriter::close() noexcept {
  if (dumper_ == nullptr) {
    return std::unexpected(make_error(CaptureError::Kind::write, "pcap writer is already closed"));
  }
  std::expected<void, CaptureError> result = flush();
  // pcap_dump_close() swallows fclose()'s result, so the error check happens on the flush above.
  release();
  return result;
}

// ---------------------------------------------------------------------------------------------------
// PcapReader

PcapReader::PcapReader(pcap* handle, std::string path) noexcept
    : handle_(handle),
      path_(std::move(path)),
      linktype_(static_cast<std::uint32_t>(pcap_datalink(handle))),
      snaplen_(static_cast<std::uint32_t>(pcap_snapshot(handle))) {}

std::expected<PcapReader, CaptureError> PcapReader::open(const std::filesystem::path& path) {
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  errno = 0;  // kept when the OS refused the open (ENOENT, EACCES); 0 when the file is not a capture
  pcap_t* handle = pcap_open_offline_with_tstamp_precision(
      path.c_str(), static_cast<u_int>(PCAP_TSTAMP_PRECISION_NANO), errbuf.data());
  if (handle == nullptr) {
    return std::unexpected(
        make_error(CaptureError::Kind::open, with_path(path.string(), errbuf.data()), errno));
  }
  return PcapReader(handle, path.string());
}

std::expected<PcapReader, CaptureError> PcapReader::open(std::FILE* file, const std::string& name) {
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  pcap_t* handle = pcap_fopen_offline_with_tstamp_precision(
      file, static_cast<u_int>(PCAP_TSTAMP_PRECISION_NANO), errbuf.data());
  if (handle == nullptr) {
    std::fclose(file);
    return std::unexpected(make_error(CaptureError::Kind::open, with_path(name, errbuf.data())));
  }
  return PcapReader(handle, name);
}

PcapReader::PcapReader(PcapReader&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      path_(std::move(other.path_)),
      linktype_(other.linktype_),
      snaplen_(other.snaplen_),
      frames_read_(other.frames_read_),
      state_(other.state_),
      error_(std::move(other.error_)) {}

PcapReader& PcapReader::operator=(PcapReader&& other) noexcept {
  if (this != &other) {
    release();
    handle_ = std::exchange(other.handle_, nullptr);
    path_ = std::move(other.path_);
    linktype_ = other.linktype_;
    snaplen_ = other.snaplen_;
    frames_read_ = other.frames_read_;
    state_ = other.state_;
    error_ = std::move(other.error_);
  }
  return *this;
}

PcapReader::~PcapReader() {
  release();
}

void PcapReader::release() noexcept {
  if (handle_ != nullptr) {
    pcap_close(handle_);
    handle_ = nullptr;
  }
}

std::expected<void, CaptureError> PcapReader::set_filter(const std::string& expression) {
  if (handle_ == nullptr) return std::unexpected(make_error(CaptureError::Kind::filter, "no capture open"));
  bpf_program program{};
  if (pcap_compile(handle_, &program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return std::unexpected(make_error(CaptureError::Kind::filter, pcap_geterr(handle_)));
  }
  // On a capture file libpcap runs the filter in userspace, in pcap_next_ex().
  const int set = pcap_setfilter(handle_, &program);
  pcap_freecode(&program);
  if (set != 0) return std::unexpected(make_error(CaptureError::Kind::filter, pcap_geterr(handle_)));
  return {};
}

std::string_view PcapReader::linktype_name() const noexcept {
  const char* name = pcap_datalink_val_to_name(static_cast<int>(linktype_));
  return name == nullptr ? std::string_view{} : std::string_view{name};
}

std::expected<std::optional<Frame>, CaptureError> PcapReader::next() noexcept {
  if (state_ == State::end || handle_ == nullptr) return std::optional<Frame>{};
  if (state_ == State::failed) return std::unexpected(make_error(CaptureError::Kind::read, error_));

  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int status = pcap_next_ex(handle_, &header, &data);
  if (status == PCAP_ERROR_BREAK) {  // a clean end of file
    state_ = State::end;
    return std::optional<Frame>{};
  }
  if (status != 1 || header == nullptr) {
    state_ = State::failed;
    error_ =
        fmt::format("{}: damaged after {} frame{}: {}", path_, frames_read_, frames_read_ == 1 ? "" : "s",
                    status == PCAP_ERROR ? pcap_geterr(handle_) : "unexpected pcap_next_ex result");
    return std::unexpected(make_error(CaptureError::Kind::read, error_));
  }

  // A classic pcap record holds 32-bit seconds, which libpcap 1.10 sign-extends; the format defines
  // them as unsigned, so a negative value is a time after 2038.
  auto seconds = static_cast<std::int64_t>(header->ts.tv_sec);
  if (seconds < 0) seconds += kTwoTo32;
  const auto nanoseconds = static_cast<std::int64_t>(header->ts.tv_usec);  // NANO precision was asked for

  Frame frame;
  frame.index = frames_read_++;
  frame.timestamp = std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanoseconds);
  frame.caplen = header->caplen;
  frame.origlen = header->len;
  frame.data = wire::Bytes(reinterpret_cast<const std::byte*>(data), header->caplen);
  frame.ip = wire::decapsulate(linktype_, frame.data);
  return std::optional<Frame>{frame};
}

}  // namespace synack::capture
