// The TUN toolbox shared by `listen`, `connect`, `demo` and `forward`: the TUN options, the session that owns
// device + stack + driver + pcap + signals, the handshake log fed by the stack's segment observer, and the
// one-line / JSON descriptions of options.
#pragma once

#include <cstdint>
#include <cstdio>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "link_flags.hpp"
#include "log_flags.hpp"
#include "synack/driver/driver.hpp"
#include "synack/link/pcap_device.hpp"
#include "synack/link/tun.hpp"
#include "synack/observe/handshake.hpp"
#include "synack/sandbox/sandbox.hpp"
#include "synack/sim/impaired_device.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/connection.hpp"
#include "synack/tcp/options.hpp"
#include "synack/tcp/syn_cookie.hpp"
#include "synack/time.hpp"
#include "synack/wire/ip_address.hpp"

namespace synack::cli::tun_cli {

/// An address with its prefix length ("192.0.2.1/24").
struct Prefixed {
  wire::IpAddress address;
  std::uint8_t prefix = 0;
};
[[nodiscard]] std::optional<Prefixed> parse_prefixed(std::string_view text);

/// Command-line options shared by listen and connect.
struct TunOptions {
  std::string device = "synack0";
  std::vector<std::string> addrs;         ///< the stack's addresses (default 192.0.2.2, 2001:db8::2)
  std::vector<std::string> kernel_addrs;  ///< the kernel side's (default 192.0.2.1/24, 2001:db8::1/64)
  bool no_configure = false;              ///< attach only: leave the kernel side as it is
  LinkFlags link;                         ///< --pcap, --seed and the impairments (link_flags.hpp)
  LogFlags log;                           ///< -v: the stack's transitions and drops on stderr
  std::optional<std::uint16_t> mss;       ///< the MSS synack offers (IPv4; IPv6 offers 20 less)
  std::uint32_t syn_retries = 6;
  std::optional<std::uint32_t> buffers;  ///< send and receive buffer bytes per connection (engine default)
  bool no_timestamps = false;
  bool no_sack = false;
  std::string ecn = "passive";  ///< --ecn: off, passive (agree when asked), on (ask in every SYN), accecn
  bool no_wscale = false;
  tcp::SynCookieMode syn_cookies = tcp::SynCookieMode::when_full;  ///< listen --syn-cookies
  std::optional<std::uint32_t> syn_queue;                          ///< listen --syn-queue
  std::vector<std::string> routes;  ///< forward --route: PREFIXes routed into the device (kernel side)
  bool own_no_address = false;      ///< forward: the stack owns no address (it answers for any, as offers)
  /// TCP Fast Open (RFC 7413): listen --fastopen[=QLEN] (the queue length), connect --fastopen (nonzero).
  std::uint32_t fast_open = 0;
  std::string fast_open_cache;  ///< connect --fastopen-cache FILE: cookies kept across runs
};
/// The TUN options of listen and connect, the link flags (add_link_flags) among them.
void add_tun_options(CLI::App* cmd, TunOptions& options);
/// --ecn off|passive|on|accecn (TunOptions::ecn), for commands that take only some of the TUN options
/// (forward).
void add_ecn_option(CLI::App* cmd, std::string& ecn);
/// listen --fastopen[=QLEN].
void add_fast_open_listen_option(CLI::App* cmd, TunOptions& options);
/// connect --fastopen and --fastopen-cache FILE.
void add_fast_open_connect_options(CLI::App* cmd, TunOptions& options);

struct Failure {
  int exit_code = 1;
  std::string message;
};

/// What one connection's handshake looked like from the stack's side (from the segment observer).
struct Handshake {
  std::optional<observe::Offer> peer;  ///< the peer's first SYN (passive) or SYN-ACK (active)
  std::optional<observe::Offer> ours;  ///< our first SYN or SYN-ACK
  std::vector<Instant> our_syns;       ///< when each of our SYNs / SYN-ACKs left (retransmissions too)
  std::optional<Instant> peer_syn_at;
};

/// Keyed by the 4-tuple as the stack sees it (local = synack). Bounded: the oldest half is forgotten
/// when it grows past kMax entries (a SYN flood cannot make it grow without bound).
class HandshakeLog {
 public:
  static constexpr std::size_t kMax = 4096;
  void observe(const stack::SegmentRecord& record);
  [[nodiscard]] const Handshake* find(const wire::FourTuple& tuple) const;
  void erase(const wire::FourTuple& tuple) { map_.erase(tuple); }

 private:
  std::unordered_map<wire::FourTuple, Handshake> map_;
};

/// Device, its decorators, stack, driver and signals of one command run over TUN. The driver drives `link`:
/// the TUN device under the capture (outermost: it records what the stack sends and what reaches it) and
/// the impairments, each only when asked for.
struct TunSession {
  std::optional<link::TunDevice> device;
  std::unique_ptr<sim::ImpairedDevice> impaired;  ///< --loss, --delay, ...
  std::optional<link::PcapRecorder> pcap;         ///< --pcap
  std::unique_ptr<link::PcapDevice> captured;
  link::Device* link = nullptr;  ///< what the driver drives
  std::unique_ptr<stack::Stack> stack;
  std::unique_ptr<driver::Driver> driver;
  HandshakeLog log;
  std::vector<wire::IpAddress> addresses;
  int signal_fd = -1;
  int signal_watch = -1;
  int fast_open_fd = -1;           ///< --fastopen-cache, opened before privileges are dropped
  std::size_t fast_open_size = 0;  ///< its size when read (a shorter save pads with blank lines)
  TunSession() = default;
  TunSession(const TunSession&) = delete;
  TunSession& operator=(const TunSession&) = delete;
  ~TunSession();
  /// Reads the pending signal from signal_fd; its number or 0.
  int take_signal() const;
};

/// The stack configuration the options describe.
[[nodiscard]] stack::StackConfig stack_config(const TunOptions& options,
                                              const std::vector<wire::IpAddress>& addrs);
/// Opens (or attaches to) the device, configures the kernel side, builds the stack and the driver, opens
/// the pcap and blocks SIGINT/SIGTERM into a signalfd the driver watches.
[[nodiscard]] std::expected<std::unique_ptr<TunSession>, Failure> open_session(const TunOptions& options);

/// The seccomp policy of a session's event loop: I/O on stdin/stdout/stderr, the device, the signalfd and
/// the pcap only (docs/security.md).
[[nodiscard]] sandbox::Policy sandbox_policy(const TunSession& session);

/// What was negotiated on a connection, in the vocabulary of sim and analyze: both offers from the handshake
/// log (`h` may be null) and what both agreed (observe::agree). `passive`: synack was the server.
[[nodiscard]] observe::Negotiated negotiated(const Handshake* h, bool passive, wire::IpVersion version);
/// One offer's text ("mss 1460, wscale 7, sackOK, TS"), or "?" when it was not seen.
[[nodiscard]] std::string describe(const std::optional<observe::Offer>& offer);
/// What both agreed ("MSS 1360 c>s / 1460 s>c, ..."), or "?" when it is not known.
[[nodiscard]] std::string describe(const observe::Negotiated& negotiated);
/// The Fast Open outcome as JSON (docs/json.md) and as text ("cookie requested, cookie received").
[[nodiscard]] nlohmann::json fast_open_json(const tcp::FastOpenInfo& info);
[[nodiscard]] std::string describe(const tcp::FastOpenInfo& info);
/// Writes the stack's Fast Open cookie cache back to --fastopen-cache (no-op without one).
void save_fast_open_cache(TunSession& session);
/// Milliseconds between two instants, 3 decimals.
[[nodiscard]] double millis(Duration d);

/// Incremental SHA-256 (libsodium) of a byte stream, for checksums of transfers.
class Sha256 {
 public:
  Sha256();
  void update(wire::Bytes data);
  [[nodiscard]] std::string hex_digest();  ///< finalises; call once

 private:
  crypto_hash_sha256_state state_{};
};

/// 1234567 -> "1,234,567".
[[nodiscard]] std::string grouped(std::uint64_t n);
/// The q-quantile (0..1) of `v` (reorders it); zero when empty.
[[nodiscard]] Duration quantile(std::vector<Duration>& v, double q);
/// The stack's counters under their nstat-style names (docs/engine.md "Counters"), the driver's write
/// drops, and with impairments what they dropped each way.
[[nodiscard]] std::vector<stack::NamedCounter> counters(const TunSession& s);
/// The same as one JSON object (name -> value).
[[nodiscard]] nlohmann::json counters_json(const TunSession& s);
/// "  counters: Name value, …" six to a line, every counter (zeros too: an operator looks for them).
void print_counters(std::FILE* to, const TunSession& s);

/// The counters to stderr now (SIGUSR1): one block, or one JSON line {"event": "counters", ...}.
void dump_counters(const TunSession& s, std::string_view command, double elapsed_s, bool json);

}  // namespace synack::cli::tun_cli
