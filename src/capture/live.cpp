// LiveCapture over libpcap (see live.hpp): pcap_create + options + pcap_activate, as tcpdump opens an
// interface; frames are handed out straight from libpcap's ring (no copy) by pcap_dispatch().
#include "synack/capture/live.hpp"

#include <cerrno>
#include <cstdio>
#include <utility>

#include <climits>
#include <fmt/format.h>
#include <pcap/pcap.h>

namespace synack::capture {
namespace {

CaptureError live_error(CaptureError::Kind kind, std::string message, int os_errno = 0) {
  return CaptureError{kind, std::move(message), os_errno};
}

/// pcap_activate()'s warnings are not failures; its errors are, with a message a person can act on.
std::expected<void, CaptureError> activate(pcap_t* handle, const std::string& interface) {
  const int status = pcap_activate(handle);
  if (status >= 0) return {};
  std::string why = pcap_geterr(handle);
  if (status == PCAP_ERROR_NO_SUCH_DEVICE && why.empty()) why = "no such device";
  if (status == PCAP_ERROR_PERM_DENIED && why.empty()) why = "permission denied (needs CAP_NET_RAW)";
  if (why.empty()) why = pcap_statustostr(status);
  return std::unexpected(live_error(CaptureError::Kind::open, fmt::format("{}: {}", interface, why)));
}

}  // namespace

LiveCapture::LiveCapture(pcap* handle) noexcept
    : handle_(handle), linktype_(static_cast<std::uint32_t>(pcap_datalink(handle))) {}

std::expected<LiveCapture, CaptureError> LiveCapture::open(const std::string& interface,
                                                           const LiveOptions& options) {
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  pcap_t* handle = pcap_create(interface.c_str(), errbuf.data());
  if (handle == nullptr) {
    return std::unexpected(
        live_error(CaptureError::Kind::open, fmt::format("{}: {}", interface, errbuf.data())));
  }
  LiveCapture capture(handle);
  const int snaplen =
      options.snaplen == 0 || options.snaplen > INT_MAX ? 262144 : static_cast<int>(options.snaplen);
  // Not immediate mode: that makes libpcap use TPACKET_V2, one snaplen-sized slot per frame (64 KiB on an
  // interface with offloads), so a short burst fills an 8 MiB ring; TPACKET_V3 packs frames into blocks,
  // and a block is handed over when full or `block_timeout_ms` after its first frame (the latency bound).
  if (pcap_set_snaplen(handle, snaplen) != 0 || pcap_set_promisc(handle, options.promiscuous ? 1 : 0) != 0 ||
      pcap_set_timeout(handle, options.block_timeout_ms) != 0 ||
      pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_NANO) != 0 ||
      (options.buffer_bytes != 0 && options.buffer_bytes <= INT_MAX &&
       pcap_set_buffer_size(handle, static_cast<int>(options.buffer_bytes)) != 0)) {
    return std::unexpected(
        live_error(CaptureError::Kind::open,
                   fmt::format("{}: cannot set the capture's options: {}", interface, pcap_geterr(handle))));
  }
  if (auto activated = activate(handle, interface); !activated) return std::unexpected(activated.error());
  capture.linktype_ = static_cast<std::uint32_t>(pcap_datalink(handle));
  if (pcap_setnonblock(handle, 1, errbuf.data()) != 0) {
    return std::unexpected(
        live_error(CaptureError::Kind::open, fmt::format("{}: {}", interface, errbuf.data())));
  }
  return capture;
}

LiveCapture::LiveCapture(LiveCapture&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      dumper_(std::exchange(other.dumper_, nullptr)),
      linktype_(other.linktype_),
      frames_(other.frames_),
      leave_open_(other.leave_open_) {}

LiveCapture& LiveCapture::operator=(LiveCapture&& other) noexcept {
  if (this != &other) {
    release();
    handle_ = std::exchange(other.handle_, nullptr);
    dumper_ = std::exchange(other.dumper_, nullptr);
    linktype_ = other.linktype_;
    frames_ = other.frames_;
    leave_open_ = other.leave_open_;
  }
  return *this;
}

LiveCapture::~LiveCapture() {
  release();
}

void LiveCapture::release() noexcept {
  if (dumper_ != nullptr) pcap_dump_close(dumper_);
  dumper_ = nullptr;
  if (handle_ != nullptr && !leave_open_) pcap_close(handle_);
  handle_ = nullptr;
}

std::expected<void, CaptureError> LiveCapture::set_filter(const std::string& expression) {
  if (handle_ == nullptr) return std::unexpected(live_error(CaptureError::Kind::filter, "no capture open"));
  bpf_program program{};
  if (pcap_compile(handle_, &program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return std::unexpected(live_error(CaptureError::Kind::filter, pcap_geterr(handle_)));
  }
  const int set = pcap_setfilter(handle_, &program);  // attached to the socket: the kernel runs it
  pcap_freecode(&program);
  if (set != 0) return std::unexpected(live_error(CaptureError::Kind::filter, pcap_geterr(handle_)));
  return {};
}

std::expected<void, CaptureError> LiveCapture::save_to(const std::filesystem::path& path) {
  if (handle_ == nullptr) return std::unexpected(live_error(CaptureError::Kind::open, "no capture open"));
  errno = 0;
  pcap_dumper_t* dumper =
      path == "-" ? pcap_dump_fopen(handle_, stdout) : pcap_dump_open(handle_, path.c_str());
  if (dumper == nullptr) {
    return std::unexpected(live_error(CaptureError::Kind::open,
                                      fmt::format("{}: {}", path.string(), pcap_geterr(handle_)), errno));
  }
  if (dumper_ != nullptr) pcap_dump_close(dumper_);
  dumper_ = dumper;
  return {};
}

namespace {

struct DispatchContext {
  void (*callback)(void*, const LiveFrame&);
  void* context;
  pcap_dumper_t* dumper;
  std::uint64_t* frames;
};

extern "C" void on_live_frame(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  auto* ctx = reinterpret_cast<DispatchContext*>(user);
  if (ctx->dumper != nullptr) pcap_dump(reinterpret_cast<u_char*>(ctx->dumper), header, bytes);
  LiveFrame frame;
  // NANO precision was asked for: tv_usec holds nanoseconds.
  frame.timestamp = std::chrono::seconds(header->ts.tv_sec) + std::chrono::nanoseconds(header->ts.tv_usec);
  frame.origlen = header->len;
  frame.data = wire::Bytes(reinterpret_cast<const std::byte*>(bytes), header->caplen);
  ++*ctx->frames;
  ctx->callback(ctx->context, frame);
}

}  // namespace

std::expected<std::uint64_t, CaptureError> LiveCapture::dispatch_raw(RawCallback callback, void* context) {
  if (handle_ == nullptr) return std::unexpected(live_error(CaptureError::Kind::read, "no capture open"));
  DispatchContext ctx{callback, context, dumper_, &frames_};
  const int n = pcap_dispatch(handle_, -1, on_live_frame, reinterpret_cast<u_char*>(&ctx));
  if (n < 0) {
    return std::unexpected(live_error(CaptureError::Kind::read, n == PCAP_ERROR_BREAK
                                                                    ? std::string("capture stopped")
                                                                    : pcap_geterr(handle_)));
  }
  return static_cast<std::uint64_t>(n);
}

std::expected<void, CaptureError> LiveCapture::flush() {
  if (dumper_ != nullptr && pcap_dump_flush(dumper_) != 0) {
    return std::unexpected(live_error(CaptureError::Kind::write, "cannot flush the save file", errno));
  }
  return {};
}

std::expected<LiveStats, CaptureError> LiveCapture::stats() const {
  pcap_stat s{};
  if (handle_ == nullptr || pcap_stats(handle_, &s) != 0) {
    return std::unexpected(
        live_error(CaptureError::Kind::read, handle_ == nullptr ? "no capture open" : pcap_geterr(handle_)));
  }
  return LiveStats{s.ps_recv, s.ps_drop};
}

int LiveCapture::selectable_fd() const noexcept {
  return handle_ == nullptr ? -1 : pcap_get_selectable_fd(handle_);
}

int LiveCapture::save_fd() const noexcept {
  if (dumper_ == nullptr) return -1;
  std::FILE* file = pcap_dump_file(dumper_);
  return file == nullptr ? -1 : ::fileno(file);
}

std::string_view LiveCapture::linktype_name() const noexcept {
  const char* name = pcap_datalink_val_to_name(static_cast<int>(linktype_));
  return name == nullptr ? std::string_view{} : std::string_view{name};
}

}  // namespace synack::capture
