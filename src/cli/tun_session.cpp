// The TUN toolbox shared by `listen`, `connect`, `demo` and `forward`: the TUN options, the session that
// owns device + stack + driver + pcap + signalfd (creating the device and configuring the kernel's side,
// its addresses and routes, only inside a private namespace), the handshake log fed by the stack's segment
// observer, and the one-line / JSON descriptions of options.
#include "tun_session.hpp"

#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "exit_codes.hpp"
#include "numbers.hpp"
#include "synack/link/netns.hpp"
#include "synack/observe/json.hpp"
#include "synack/stack/entropy.hpp"

namespace synack::cli::tun_cli {

using wire::IpAddress;

std::optional<Prefixed> parse_prefixed(std::string_view text) {
  const auto slash = text.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const std::string_view digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  unsigned prefix = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10U + static_cast<unsigned>(c - '0');
  }
  if (prefix > (address->is_v4() ? 32U : 128U)) return std::nullopt;
  return Prefixed{*address, static_cast<std::uint8_t>(prefix)};
}

void add_tun_options(CLI::App* cmd, TunOptions& o) {
  cmd->add_option("--tun", o.device, "TUN device to create or attach to")->capture_default_str();
  // Repeatable options take one value per occurrence (allow_extra_args(false)): `--addr A HOST PORT`
  // leaves HOST and PORT to the positionals.
  cmd->add_option("--addr", o.addrs,
                  "An address the synack stack owns (repeatable; default 192.0.2.2 and 2001:db8::2)")
      ->allow_extra_args(false);
  cmd->add_option("--kernel-addr", o.kernel_addrs,
                  "ADDR/PREFIX for the kernel's side of the device (repeatable; default 192.0.2.1/24 and "
                  "2001:db8::1/64)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-configure", o.no_configure, "Leave the kernel's side of the device as it is");
  add_link_flags(cmd, o.link, LinkKind::device);
  add_log_flags(cmd, o.log);
  cmd->add_option("--mss", o.mss, "The MSS synack offers over IPv4 (IPv6: 20 less); default from the MTU")
      ->check(whole(88, 65495));
  cmd->add_option("--syn-retries", o.syn_retries, "SYN retransmissions before a connect times out")
      ->capture_default_str()
      ->check(whole(0, 20));
  cmd->add_option("--buffers", o.buffers,
                  "Send and receive buffer bytes per connection (default: the engine's, 256 KiB each)")
      ->check(whole(1024U, 1U << 30U));
  cmd->add_flag("--no-timestamps", o.no_timestamps, "Do not offer TCP timestamps");
  cmd->add_flag("--no-sack", o.no_sack, "Do not offer SACK-permitted");
  add_ecn_option(cmd, o.ecn);
  cmd->add_flag("--no-wscale", o.no_wscale, "Do not offer window scaling");
}

void add_ecn_option(CLI::App* cmd, std::string& ecn) {
  cmd->add_option(
         "--ecn", ecn,
         "ECN: off, passive (agree to RFC 3168 ECN when the peer's SYN asks; the default, as Linux), on "
         "(ask for RFC 3168 ECN in every SYN) or accecn (ask for Accurate ECN, RFC 9768, and agree to "
         "either)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "passive", "on", "accecn"}));
}

void add_fast_open_listen_option(CLI::App* cmd, TunOptions& o) {
  cmd->add_option(
         "--fastopen", o.fast_open,
         "TCP Fast Open (RFC 7413): hand out cookies and accept data in SYNs, at most QLEN Fast Open "
         "connections waiting for their final ACK (--fastopen alone: 16)")
      ->expected(0, 1)
      ->default_str("16")
      ->check(whole(1, 1U << 20U));
}

void add_fast_open_connect_options(CLI::App* cmd, TunOptions& o) {
  cmd->add_flag(
      "--fastopen", o.fast_open,
      "TCP Fast Open (RFC 7413): ask for a cookie, or with a cached one put --send's data in the SYN");
  cmd->add_option("--fastopen-cache", o.fast_open_cache,
                  "File keeping Fast Open cookies across runs (read at start, written at the end)");
}

// ---- handshake log --------------------------------------------------------------------------------

void HandshakeLog::observe(const stack::SegmentRecord& record) {
  const wire::TcpFlags flags = record.header.flags;
  if (!flags.syn() || flags.rst()) return;
  if (map_.size() >= kMax && !map_.contains(record.tuple)) {
    // Forget half at random (unordered order): bounded memory under a SYN flood.
    std::size_t n = 0;
    for (auto it = map_.begin(); it != map_.end() && n < kMax / 2; ++n) it = map_.erase(it);
  }
  Handshake& h = map_[record.tuple];
  if (record.direction == stack::Direction::in) {
    if (!h.peer) {
      h.peer_syn_at = record.at;
      h.peer = observe::Offer::from(record.header);
    }
  } else {
    if (!h.ours) h.ours = observe::Offer::from(record.header);
    if (h.our_syns.size() < 64) h.our_syns.push_back(record.at);
  }
}

const Handshake* HandshakeLog::find(const wire::FourTuple& tuple) const {
  const auto it = map_.find(tuple);
  return it == map_.end() ? nullptr : &it->second;
}

// ---- session --------------------------------------------------------------------------------------

TunSession::~TunSession() {
  driver.reset();
  captured.reset();
  if (pcap) (void)pcap->close();
  if (signal_fd >= 0) ::close(signal_fd);
  if (fast_open_fd >= 0) ::close(fast_open_fd);
}

int TunSession::take_signal() const {
  signalfd_siginfo info{};
  if (signal_fd < 0) return 0;
  if (::read(signal_fd, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) return 0;
  return static_cast<int>(info.ssi_signo);
}

stack::StackConfig stack_config(const TunOptions& o, const std::vector<IpAddress>& addrs) {
  stack::StackConfig config;
  config.addresses = addrs;
  config.tcp.syn_retries = o.syn_retries;
  config.tcp.timestamps = !o.no_timestamps;
  config.tcp.sack_permitted = !o.no_sack;
  config.tcp.ecn = tcp::parse_ecn_mode(o.ecn).value_or(tcp::EcnMode::passive);
  config.tcp.window_scaling = !o.no_wscale;
  config.tcp.syn_cookies = o.syn_cookies;
  if (o.syn_queue) config.tcp.syn_queue_capacity = *o.syn_queue;
  // The MSS follows from the MTU (IPv4 MSS = MTU - 40): an --mss sets the MTU the stack assumes.
  if (o.mss) config.tcp.mtu = std::uint32_t{*o.mss} + 40U;
  if (o.buffers) config.tcp.send_buffer = config.tcp.recv_buffer = *o.buffers;
  return config;
}

namespace {

struct Plan {
  std::vector<IpAddress> addresses;
  std::vector<Prefixed> kernel;
  std::vector<Prefixed> routes;
};

/// The addresses, the kernel's prefixes and the routes the options name, or a usage error.
std::expected<Plan, Failure> plan(const TunOptions& o) {
  Plan p;
  const std::vector<std::string> addr_text = o.own_no_address ? std::vector<std::string>{}
                                             : o.addrs.empty()
                                                 ? std::vector<std::string>{"192.0.2.2", "2001:db8::2"}
                                                 : o.addrs;
  const std::vector<std::string> kernel_text =
      o.kernel_addrs.empty() ? std::vector<std::string>{"192.0.2.1/24", "2001:db8::1/64"} : o.kernel_addrs;
  for (const auto& text : addr_text) {
    auto a = IpAddress::parse(text);
    if (!a)
      return std::unexpected(Failure{kExitUsage, fmt::format("--addr: '{}' is not an IP address", text)});
    p.addresses.push_back(*a);
  }
  for (const auto& text : kernel_text) {
    auto prefixed = parse_prefixed(text);
    if (!prefixed)
      return std::unexpected(
          Failure{kExitUsage, fmt::format("--kernel-addr: '{}' is not ADDR/PREFIX", text)});
    if (std::ranges::find(p.addresses, prefixed->address) != p.addresses.end()) {
      return std::unexpected(Failure{
          kExitUsage, fmt::format("--kernel-addr {} is also a synack --addr; they must differ", text)});
    }
    p.kernel.push_back(*prefixed);
  }
  for (const auto& text : o.routes) {
    auto prefixed = parse_prefixed(text);
    if (!prefixed)
      return std::unexpected(Failure{kExitUsage, fmt::format("--route: '{}' is not PREFIX/LENGTH", text)});
    p.routes.push_back(*prefixed);
  }
  return p;
}

Failure os_failure(const link::Error& error) {
  return Failure{error.is_permission() ? kExitUnavailable : kExitFailure, error.message()};
}

/// Brings the device up and gives the kernel's side its addresses and routes (unless --no-configure).
std::expected<void, Failure> configure(const link::TunDevice& dev, const TunOptions& o, const Plan& p) {
  if (o.no_configure) {
    (void)dev.set_up();
    return {};
  }
  // Keep the device quiet: no router solicitations over it (the pcap then holds only our traffic).
  (void)link::write_net_sysctl(fmt::format("net/ipv6/conf/{}/router_solicitations", dev.name()), "0");
  (void)link::write_net_sysctl(fmt::format("net/ipv6/conf/{}/accept_ra", dev.name()), "0");
  if (auto up = dev.set_up(); !up) return std::unexpected(os_failure(up.error()));
  for (const Prefixed& k : p.kernel) {
    if (auto added = dev.add_address(k.address, k.prefix); !added)
      return std::unexpected(os_failure(added.error()));
  }
  for (const Prefixed& r : p.routes) {
    if (auto added = dev.add_route(r.address, r.prefix); !added)
      return std::unexpected(os_failure(added.error()));
  }
  return {};
}

/// The pcap the flags ask for. "-" is standard output, which from then on carries the capture only:
/// the original stdout is kept for it and fd 1 becomes a copy of stderr, so everything the command prints
/// there goes to stderr.
std::expected<link::PcapRecorder, Failure> open_pcap(const std::string& path) {
  std::string open_as = path;
  int kept = -1;
  if (path == "-") {
    std::fflush(stdout);
    kept = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (kept < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
      if (kept >= 0) ::close(kept);
      return std::unexpected(Failure{kExitFailure, "cannot write the capture to standard output"});
    }
    open_as = fmt::format("/proc/self/fd/{}", kept);
  }
  auto recorder = link::PcapRecorder::open(open_as, link::realtime_offset());
  if (kept >= 0) ::close(kept);
  if (!recorder) {
    const std::string what = path == "-" ? std::string("standard output") : recorder.error().message;
    return std::unexpected(Failure{kExitFailure, fmt::format("cannot write {}", what)});  // "PATH: why"
  }
  return std::move(*recorder);
}

/// The device under its decorators: impairments next to the device, the capture outside them.
std::expected<void, Failure> decorate(TunSession& s, const LinkFlags& flags) {
  s.link = &*s.device;
  if (flags.impaired()) {
    sim::Impairments out;
    sim::Impairments in;
    out.delay = in.delay = Duration::zero();  // the simulator's default one-way 10 ms is not a device's
    apply_impairments(flags, out, in);
    s.impaired = std::make_unique<sim::ImpairedDevice>(*s.link, std::move(out), std::move(in), flags.seed);
    s.link = s.impaired.get();
  }
  if (!flags.pcap.empty()) {
    auto recorder = open_pcap(flags.pcap);
    if (!recorder) return std::unexpected(recorder.error());
    s.pcap.emplace(std::move(*recorder));
    s.captured = std::make_unique<link::PcapDevice>(*s.link, *s.pcap);
    s.link = s.captured.get();
  }
  return {};
}

void block_signals_into_signalfd(TunSession& s) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &signals, nullptr) == 0) {
    s.signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.signal_fd >= 0) s.signal_watch = s.driver->watch(s.signal_fd);
  }
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::expected<std::unique_ptr<TunSession>, Failure> open_session(const TunOptions& o) {
  auto planned = plan(o);
  if (!planned) return std::unexpected(planned.error());
  auto session = std::make_unique<TunSession>();
  session->addresses = planned->addresses;
  if (!o.no_configure) {
    // Never touch the addresses or routes of a namespace we cannot prove private (fail closed).
    if (auto private_ns = link::check_private_network_namespace(); !private_ns) {
      return std::unexpected(Failure{
          kExitUnavailable,
          fmt::format(
              "refusing to add addresses here: {}; run synack in a network namespace of its own "
              "(e.g. 'ip netns add NAME; ip netns exec NAME synack ...' or 'unshare -rn synack ...'), or "
              "pass --no-configure and configure the device yourself",
              private_ns.error().message())});
    }
  }
  auto device = link::TunDevice::open(o.device);
  if (!device) {
    Failure failure = os_failure(device.error());
    if (failure.exit_code == kExitUnavailable)
      failure.message += " (creating a TUN device needs CAP_NET_ADMIN)";
    return std::unexpected(std::move(failure));
  }
  session->device.emplace(std::move(*device));
  if (auto configured = configure(*session->device, o, *planned); !configured)
    return std::unexpected(configured.error());

  stack::StackConfig config = stack_config(o, session->addresses);
  if (auto mtu = session->device->mtu(); mtu && !o.mss) config.tcp.mtu = *mtu;
  const auto key = stack::random_isn_key();
  session->stack = std::make_unique<stack::Stack>(config, key, stack::random_seed());
  TunSession* raw = session.get();
  session->stack->set_observer([raw](const stack::SegmentRecord& r) { raw->log.observe(r); });
  attach_log(*session->stack, o.log, "");

  if (!o.fast_open_cache.empty()) {
    // Opened now, read and written later through this fd (the sandbox allows I/O on it only).
    session->fast_open_fd = ::open(o.fast_open_cache.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (session->fast_open_fd < 0)
      return std::unexpected(Failure{
          kExitFailure, fmt::format("--fastopen-cache {}: {}", o.fast_open_cache, std::strerror(errno))});
    std::string text;
    std::array<char, 4096> buf{};
    for (ssize_t n;
         (n = ::read(session->fast_open_fd, buf.data(), buf.size())) > 0 && text.size() < (1U << 20U);)
      text.append(buf.data(), static_cast<std::size_t>(n));
    session->fast_open_size = text.size();
    (void)session->stack->fast_open_cache().parse(text);
  }
  if (auto decorated = decorate(*session, o.link); !decorated) return std::unexpected(decorated.error());
  session->driver = std::make_unique<driver::Driver>(*session->link, *session->stack);
  block_signals_into_signalfd(*session);
  return session;
}

sandbox::Policy sandbox_policy(const TunSession& s) {
  sandbox::Policy policy;
  policy.io_fds = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, s.device->fd()};
  if (s.signal_fd >= 0) policy.io_fds.push_back(s.signal_fd);
  if (s.pcap && s.pcap->fd() >= 0) policy.io_fds.push_back(s.pcap->fd());
  if (s.fast_open_fd >= 0) policy.io_fds.push_back(s.fast_open_fd);
  return policy;
}

void save_fast_open_cache(TunSession& s) {
  if (s.fast_open_fd < 0) return;
  std::string text = s.stack->fast_open_cache().serialize();
  // No ftruncate in the sandbox: a shorter text is padded with blank lines, which parse() skips.
  if (text.size() < s.fast_open_size) text.append(s.fast_open_size - text.size(), '\n');
  if (::pwrite(s.fast_open_fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    s.fast_open_size = text.size();
}

nlohmann::json fast_open_json(const tcp::FastOpenInfo& i) {
  if (!i.used) return nullptr;
  return {{"cookie_requested", i.cookie_requested}, {"cookie_sent", i.cookie_sent},
          {"cookie_received", i.cookie_received},   {"syn_data_bytes", i.syn_data},
          {"syn_data_accepted", i.syn_data_acked},  {"fell_back", i.fell_back}};
}

std::string describe(const tcp::FastOpenInfo& i) {
  std::string s;
  const auto add = [&s](std::string_view part) { s += (s.empty() ? "" : ", ") + std::string(part); };
  if (i.cookie_requested) add("cookie requested");
  if (i.cookie_sent) add("cookie sent");
  if (i.cookie_received) add("cookie received");
  if (i.syn_data > 0)
    add(fmt::format("{} B in the SYN {}", i.syn_data, i.syn_data_acked ? "accepted" : "not acknowledged"));
  if (i.fell_back) add("SYN with data unanswered: retried plain (RFC 7413 §7.1)");
  return s.empty() ? "none" : s;
}

// ---- descriptions ---------------------------------------------------------------------------------

observe::Negotiated negotiated(const Handshake* h, bool passive, wire::IpVersion version) {
  observe::Negotiated n;
  if (h == nullptr) return n;
  n.client = passive ? h->peer : h->ours;
  n.server = passive ? h->ours : h->peer;
  if (n.client && n.server) n.agreed = observe::agree(*n.client, *n.server, version);
  return n;
}

std::string describe(const std::optional<observe::Offer>& offer) {
  return offer ? observe::to_string(*offer) : "?";
}

std::string describe(const observe::Negotiated& negotiated) {
  return negotiated.agreed ? observe::to_string(*negotiated.agreed) : "?";
}

double millis(Duration d) {
  return static_cast<double>(std::chrono::round<std::chrono::microseconds>(d).count()) / 1000.0;
}

Sha256::Sha256() {
  crypto_hash_sha256_init(&state_);
}

void Sha256::update(wire::Bytes data) {
  crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string Sha256::hex_digest() {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state_, digest.data());
  std::string hex;
  for (unsigned char b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

// ---- numbers and counters -------------------------------------------------------------------------

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Duration quantile(std::vector<Duration>& v, double q) {
  if (v.empty()) return Duration::zero();
  const auto k = static_cast<std::size_t>(std::lround(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::vector<stack::NamedCounter> counters(const TunSession& s) {
  std::vector<stack::NamedCounter> v = stack::named_counters(s.stack->stats());
  v.push_back({"SynackTunWriteDrops", s.driver->stats().write_drops});
  if (s.impaired) {
    v.push_back({"SynackImpairDroppedOut", s.impaired->transmitted().dropped});
    v.push_back({"SynackImpairDroppedIn", s.impaired->received().dropped});
  }
  return v;
}

nlohmann::json counters_json(const TunSession& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const stack::NamedCounter& c : counters(s)) j[std::string(c.name)] = c.value;
  return j;
}

void print_counters(std::FILE* to, const TunSession& s) {
  const auto all = counters(s);
  for (std::size_t i = 0; i < all.size(); i += 6) {
    std::string line = i == 0 ? "  counters: " : "            ";
    for (std::size_t k = i; k < std::min(all.size(), i + 6); ++k) {
      line += fmt::format("{}{} {}", k == i ? "" : ", ", all[k].name, grouped(all[k].value));
    }
    fmt::print(to, "{}\n", line);
  }
}

void dump_counters(const TunSession& s, std::string_view command, double elapsed_s, bool json) {
  if (json) {
    observe::Json j = observe::event("counters");
    j["elapsed_s"] = elapsed_s;
    j["counters"] = counters_json(s);
    fmt::print(stderr, "{}\n", j.dump());
  } else {
    fmt::print(stderr, "synack {}: counters after {:.1f} s (SIGUSR1)\n", command, elapsed_s);
    print_counters(stderr, s);
  }
  std::fflush(stderr);
}

}  // namespace synack::cli::tun_cli
