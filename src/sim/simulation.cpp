// The simulator's event loop: two stacks, two links, virtual time.
#include "synack/sim/simulation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "synack/observe/tracker.hpp"
#include "synack/sim/pair.hpp"
#include "synack/sim/random.hpp"
#include "synack/stack/stack.hpp"
#include "synack/tcp/error.hpp"
#include "synack/tcp/syn_cookie.hpp"
#include "synack/wire/packet.hpp"

namespace synack::sim {

namespace {

// Stream numbers for Rng(seed, stream): one per consumer.
constexpr std::uint64_t kStreamToServer = 1;
constexpr std::uint64_t kStreamToClient = 2;
constexpr std::uint64_t kStreamIsnKey = 3;
constexpr std::uint64_t kStreamAttacker = 4;
constexpr std::uint64_t kStreamStack = 16;  // + 2 * batch (+1 for the server)

constexpr std::size_t kBuffer = 2048;
constexpr std::uint32_t kFastOpenQueue = 16;  // a Fast Open server's pending-connection bound (RFC 7413 §5.1)
constexpr int kMaxSettleRounds = 10000;       // rounds of arrivals/timers/transmissions at one instant
constexpr std::uint32_t kMaxStalls = 100;     // consecutive instants with an overdue deadline

/// The attacker's spoofed sources: hosts 1-254 of 198.51.100.0/24 and 203.0.113.0/24 (RFC 5737).
wire::IpAddress spoofed_source(Rng& rng) {
  const std::uint32_t host = 1 + static_cast<std::uint32_t>(rng.below(254));
  const std::uint32_t net = rng.below(2) == 0 ? 0xC6336400U : 0xCB007100U;
  return wire::IpAddress::v4(net | host);
}

tcp::Config tcp_config(const HostOptions& o) {
  tcp::Config c;
  c.mtu = static_cast<std::uint32_t>(o.mss) + 40U;
  c.window_scaling = o.window_scaling;
  c.window_shift = o.window_shift;
  c.sack_permitted = o.sack;
  c.timestamps = o.timestamps;
  c.ecn = o.ecn;
  c.send_buffer = o.send_buffer;
  c.recv_buffer = o.recv_buffer;
  return c;
}

std::array<std::byte, 16> isn_key(std::uint64_t seed, std::uint64_t host) {
  Rng rng(seed, kStreamIsnKey + host * 1000);
  std::array<std::byte, 16> key{};
  for (std::size_t i = 0; i < key.size(); i += 8) {
    const std::uint64_t v = rng.next();
    for (std::size_t j = 0; j < 8; ++j) key[i + j] = static_cast<std::byte>((v >> (8U * j)) & 0xFFU);
  }
  return key;
}

std::uint64_t endpoint_key(const wire::Endpoint& e) noexcept {
  const wire::Bytes b = e.address.bytes();
  return (static_cast<std::uint64_t>(wire::load_be32(b, b.size() - 4)) << 16U) | e.port;
}

std::uint64_t id_key(stack::ConnectionId id) noexcept {
  return (static_cast<std::uint64_t>(id.generation) << 32U) | id.index;
}

/// Per-connection bookkeeping while its batch runs.
struct Tracked {
  ConnectionResult result;
  stack::ConnectionId client_id;
  std::optional<stack::ConnectionId> server_id;
  observe::ConnectionTracker tracker;  ///< every segment as sent: ISNs, offers, retransmissions

  /// SYNs without ACK the client sent.
  [[nodiscard]] std::uint32_t client_syns() const noexcept {
    return tracker.syns(observe::Role::client) - tracker.syn_acks(observe::Role::client);
  }
  /// SYN-ACKs sent either way (both sides send one in a simultaneous open).
  [[nodiscard]] std::uint32_t syn_acks() const noexcept {
    return tracker.syn_acks(observe::Role::client) + tracker.syn_acks(observe::Role::server);
  }
  bool started = false;
  bool request_sent = false;
  bool gave_up = false;  ///< aborted at SimConfig::connect_timeout; later events are ignored
};

/// The distinct client addresses of connections first .. first + count - 1.
std::vector<wire::IpAddress> client_addresses(const SimConfig& config, std::uint32_t first,
                                              std::uint32_t count) {
  std::vector<wire::IpAddress> v;
  for (std::uint32_t i = 0; i < count; ++i) {
    const wire::IpAddress a = client_endpoint(config, first + i).address;
    if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
  }
  return v;
}

/// The batch's client stack, owning the addresses of its connections.
std::unique_ptr<stack::Stack> client_stack(const SimConfig& config, std::uint32_t batch_number,
                                           std::uint32_t first, std::uint32_t count) {
  stack::StackConfig cc;
  cc.tcp = tcp_config(config.client);
  cc.max_connections = count + 16;
  cc.control_queue = std::max<std::uint32_t>(256, count * 2);
  cc.addresses = client_addresses(config, first, count);
  return std::make_unique<stack::Stack>(cc, isn_key(config.seed, 0),
                                        Rng(config.seed, kStreamStack + 2ULL * batch_number).next());
}

/// The batch's server stack; none for ServerMode::dead.
std::unique_ptr<stack::Stack> server_stack(const SimConfig& config, std::uint32_t batch_number,
                                           std::uint32_t count) {
  if (config.server_mode == ServerMode::dead) return nullptr;
  stack::StackConfig sc;
  sc.tcp = tcp_config(config.server);
  if (config.syn_cookies) sc.tcp.syn_cookies = *config.syn_cookies;
  if (config.syn_queue) sc.tcp.syn_queue_capacity = *config.syn_queue;
  sc.max_connections = count + 16;
  sc.control_queue = std::max<std::uint32_t>(256, count * 2);
  sc.addresses.push_back(config.server_address);
  return std::make_unique<stack::Stack>(sc, isn_key(config.seed, 1),
                                        Rng(config.seed, kStreamStack + 2ULL * batch_number + 1).next());
}

class Batch {
 public:
  Batch(const SimConfig& config, const SimObserver& observer, RunResult& result,
        std::vector<double>& handshakes, Link& to_server, Link& to_client, std::uint32_t batch_number,
        std::uint32_t first, std::uint32_t count, Instant start)
      : config_(config),
        observer_(observer),
        result_(result),
        handshakes_(handshakes),
        to_server_(to_server),
        to_client_(to_client),
        start_(start),
        now_(start),
        client_(client_stack(config, batch_number, first, count)),
        server_(server_stack(config, batch_number, count)),
        pair_(client_.get(), server_.get(), to_server, to_client, start) {
    if (observer.on_log) {
      client_->set_log_hook(
          [&observer](const stack::LogRecord& r) { observer.on_log(observe::Role::client, r); });
      if (server_) {
        server_->set_log_hook(
            [&observer](const stack::LogRecord& r) { observer.on_log(observe::Role::server, r); });
      }
    }
    if (server_ &&
        (config.server_mode == ServerMode::listen || config.server_mode == ServerMode::tiny_backlog) &&
        !config.simultaneous_open) {
      const std::uint32_t backlog = config.server_mode == ServerMode::tiny_backlog ? config.tiny_backlog : 0;
      const stack::ListenOptions options{backlog, std::nullopt,
                                         config.server.fast_open ? kFastOpenQueue : 0U};
      if (auto l = server_->listen({config.server_address, config.server_port}, options)) listener_ = *l;
    }
    hook_pair();
    client_addresses_ = client_addresses(config, first, count);
    if (config.flood) {
      const double seconds = std::chrono::duration<double>(config.flood->duration).count();
      attack_total_ = static_cast<std::uint64_t>(std::floor(std::max(0.0, config.flood->syn_rate * seconds)));
    }
    const Duration first_connect = config.flood ? config.flood->clients_start : Duration::zero();
    tracked_.resize(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      Tracked& t = tracked_[i];
      t.result.number = first + i + 1;
      t.result.tuple = {client_endpoint(config, first + i), {config.server_address, config.server_port}};
      t.tracker = observe::ConnectionTracker(config.server_address.version());
      t.result.started_at = start + first_connect + config.stagger * static_cast<std::int64_t>(i);
      by_client_endpoint_.emplace(endpoint_key(t.result.tuple.local), i);
    }
  }

  /// Runs until quiet or the time cap; returns when it stopped.
  Instant run() {
    std::size_t next_start = 0;
    std::uint32_t stalls = 0;
    for (;;) {
      while (next_start < tracked_.size() && tracked_[next_start].result.started_at <= now_) {
        start_connection(next_start++);
      }
      while (attack_sent_ < attack_total_ && attack_time(attack_sent_) <= now_) send_attack_syn();
      if (config_.connect_timeout) give_up_connects(next_start);
      const Instant deadline = settle();
      if (config_.flood) sample_queue();
      Instant next = std::min({to_server_.next_delivery(), to_client_.next_delivery(), deadline});
      if (next_start < tracked_.size()) next = std::min(next, tracked_[next_start].result.started_at);
      if (attack_sent_ < attack_total_) next = std::min(next, attack_time(attack_sent_));
      if (config_.connect_timeout && timeout_cursor_ < next_start)
        next = std::min(next, tracked_[timeout_cursor_].result.started_at + *config_.connect_timeout);
      if (next == Instant::max()) break;
      if (observer_.should_stop && observer_.should_stop()) {
        result_.interrupted = true;
        break;
      }
      if (next - start_ > config_.max_virtual_time) {
        result_.hit_time_cap = true;
        break;
      }
      if (next > now_) {
        now_ = next;
        stalls = 0;
      } else if (++stalls > kMaxStalls) {
        // A stack keeps reporting a deadline it has already been woken for: stop this batch rather
        // than spin (settle() already gave it kMaxSettleRounds chances at this instant).
        result_.hit_time_cap = true;
        break;
      } else {
        now_ += std::chrono::milliseconds(1);
      }
    }
    finish();
    return now_;
  }

 private:
  void start_connection(std::size_t i) {
    Tracked& t = tracked_[i];
    t.started = true;
    stack::ConnectOptions options;
    if (config_.client.fast_open) {
      // RFC 7413 §4.2.1: the request rides in the SYN when a cookie is cached (a cookie request otherwise).
      options.fast_open = true;
      options.data = request_;
      t.request_sent = true;
    }
    auto id = client_->connect(now_, t.result.tuple.local, t.result.tuple.remote, options);
    if (!id) return;  // cannot happen with fresh stacks; the connection stays pending
    t.client_id = *id;
    by_client_id_.emplace(id_key(*id), i);
    if (config_.simultaneous_open && server_) {
      auto sid = server_->connect(now_, t.result.tuple.remote, t.result.tuple.local, options);
      if (sid) t.server_id = *sid;
    }
  }

  /// When the attacker's SYN number `k` leaves: evenly spaced from the batch's start.
  [[nodiscard]] Instant attack_time(std::uint64_t k) const {
    const double ns = static_cast<double>(k) * 1e9 / config_.flood->syn_rate;
    return start_ + Duration(static_cast<std::int64_t>(std::llround(ns)));
  }

  /// One spoofed SYN onto the client->server link (FloodSpec).
  void send_attack_syn() {
    ++attack_sent_;
    wire::TcpHeader h;
    h.src_port = static_cast<std::uint16_t>(1024 + attacker_rng_.below(65536 - 1024));
    h.dst_port = config_.server_port;
    h.seq = wire::SeqNum(static_cast<std::uint32_t>(attacker_rng_.next()));
    h.flags = wire::TcpFlags(wire::TcpFlags::kSyn);
    h.window = 64;
    const wire::IpAddress src = spoofed_source(attacker_rng_);
    const auto n = wire::emit_tcp_packet(src, config_.server_address, h, {}, buffer_);
    if (!n) return;
    const wire::Bytes datagram = wire::Bytes(buffer_).first(*n);
    if (observer_.on_datagram) observer_.on_datagram(now_, datagram);
    (void)to_server_.send(now_, datagram);
    ++result_.flood->attacker_syns;
  }

  /// SimConfig::connect_timeout: clients not established in time give up, in start order.
  void give_up_connects(std::size_t started) {
    while (timeout_cursor_ < started &&
           tracked_[timeout_cursor_].result.started_at + *config_.connect_timeout <= now_) {
      Tracked& t = tracked_[timeout_cursor_++];
      if (t.result.established_at || t.result.outcome != observe::Outcome::pending || !t.client_id.valid())
        continue;
      t.gave_up = true;
      t.result.outcome = observe::Outcome::timed_out;
      t.result.ended_at = now_;
      (void)client_->abort(now_, t.client_id);
    }
  }

  /// The server's SYN-queue occupancy now, into the interval it falls in.
  void sample_queue() {
    const auto info = server_ ? server_->listener_info(listener_) : std::nullopt;
    if (!info) return;
    FloodReport& f = *result_.flood;
    const auto q = static_cast<std::uint32_t>(info->syn_queue);
    const auto interval = std::max<std::int64_t>(config_.flood->sample_interval.count(), 1);
    const auto index = static_cast<std::size_t>((now_ - start_).count() / interval);
    constexpr std::size_t kMaxSamples = 100000;
    if (index >= kMaxSamples) return;
    while (f.syn_queue.size() <= index) {
      // Nothing happened in the intervals skipped: the occupancy stayed as it was.
      const double from = static_cast<double>(f.syn_queue.size()) * static_cast<double>(interval) / 1e9;
      f.syn_queue.push_back({from, last_queue_});
    }
    f.syn_queue[index].max = std::max(f.syn_queue[index].max, q);
    f.syn_queue_peak = std::max(f.syn_queue_peak, q);
    last_queue_ = q;
  }

  /// The pair's hooks: every datagram the stacks emit is recorded (SegmentTrace) and every stack event
  /// handled here.
  void hook_pair() {
    pair_.hooks.before_send = [this](Side from, std::span<std::byte> datagram) {
      return before_send(from == Side::a ? Direction::to_server : Direction::to_client, datagram);
    };
    pair_.hooks.after_send = [this](Side from, wire::Bytes datagram, const SendOutcome& sent) {
      record(from == Side::a ? Direction::to_server : Direction::to_client, datagram, sent);
    };
    if (config_.flood) {
      pair_.hooks.after_delivery = [this](Side to, wire::Bytes datagram) {
        if (to == Side::b) after_server_delivery(datagram);
      };
    }
    pair_.hooks.on_event = [this](Side side, const stack::Event& e) {
      if (side == Side::a) {
        client_event(e);
      } else {
        server_event(e);
      }
    };
  }

  /// During a flood, a SYN the server's listener answered with a cookie marks the SYN-ACK that will
  /// follow it (SegmentTrace::syn_cookie).
  void after_server_delivery(wire::Bytes datagram) {
    const std::uint64_t cookies = server_->stats().syncookies_sent;
    if (cookies == cookies_seen_) return;
    cookies_seen_ = cookies;
    const auto parsed = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore);
    if (!parsed) return;
    const auto header = wire::TcpHeader::parse(parsed->tcp());
    if (header) cookie_pending_.insert(endpoint_key({parsed->ip().src, header->src_port}));
  }

  /// Does everything due at now_ (StackPair::settle): arrivals, timers, transmissions, events, until
  /// nothing changes. Returns the earliest stack deadline, read in the last round (which changed nothing,
  /// so it is still current).
  Instant settle() {
    pair_.set_now(now_);
    return pair_.settle(kMaxSettleRounds);
  }

  /// Every datagram a stack emits, before its link: the observer sees it; during a flood a SYN-ACK is
  /// counted, and one for a spoofed source goes nowhere (false).
  bool before_send(Direction dir, wire::Bytes datagram) {
    if (observer_.on_datagram) observer_.on_datagram(now_, datagram);
    cookie_ = false;
    if (!config_.flood || dir != Direction::to_client) return true;
    const auto parsed = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore);
    if (!parsed) return true;
    const auto h = wire::TcpHeader::parse(parsed->tcp());
    if (h && h->flags.syn() && h->flags.ack()) cookie_ = count_syn_ack(parsed->ip().dst, *h);
    if (std::find(client_addresses_.begin(), client_addresses_.end(), parsed->ip().dst) ==
        client_addresses_.end()) {
      // A spoofed source: nobody is there to receive it, or to answer it.
      ++result_.flood->synacks_to_spoofed;
      return false;
    }
    return true;
  }

  /// Every datagram on a link, with its fate: a SegmentTrace for its connection.
  void record(Direction dir, wire::Bytes datagram, const SendOutcome& sent) {
    const auto parsed = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore);
    if (!parsed) return;
    const auto header = wire::TcpHeader::parse(parsed->tcp());
    if (!header) return;
    const wire::Endpoint client = dir == Direction::to_server
                                      ? wire::Endpoint{parsed->ip().src, header->src_port}
                                      : wire::Endpoint{parsed->ip().dst, header->dst_port};
    const auto it = by_client_endpoint_.find(endpoint_key(client));
    if (it == by_client_endpoint_.end()) return;
    Tracked& t = tracked_[it->second];
    SegmentTrace s;
    s.at = now_;
    s.dir = dir;
    s.header = *header;
    s.payload_len = static_cast<std::uint32_t>(parsed->tcp().payload().size());
    s.fate = sent.fate;
    s.reordered = sent.reordered;
    s.syn_cookie = cookie_;
    s.arrival = sent.arrival;
    s.retransmission = t.tracker.observe(now_, dir, *header, s.payload_len);
    ++result_.summary.segments;
    if (observer_.on_segment) observer_.on_segment(t.result.number, s);
    if (config_.record_segments) t.result.segments.push_back(s);
  }

  /// Counts one SYN-ACK of the server during a flood: a cookie, a queue entry's first or a re-sent one.
  bool count_syn_ack(const wire::IpAddress& dst, const wire::TcpHeader& h) {
    FloodReport& f = *result_.flood;
    const std::uint64_t key = endpoint_key({dst, h.dst_port});
    if (cookie_pending_.erase(key) > 0) {
      ++f.cookie_synacks;
      return true;
    }
    const auto [it, inserted] = queue_isn_.try_emplace(key, h.seq.raw());
    if (inserted || it->second != h.seq.raw()) {
      it->second = h.seq.raw();
      ++f.synacks_from_queue;
    } else {
      ++f.synack_retransmits;
    }
    return false;
  }

  void client_event(const stack::Event& e) {
    const auto it = by_client_id_.find(id_key(e.connection));
    if (it == by_client_id_.end()) return;
    Tracked& t = tracked_[it->second];
    if (t.gave_up) return;
    switch (e.kind) {
      case stack::EventKind::established:
        if (!t.result.established_at) t.result.established_at = now_;
        t.result.outcome = observe::Outcome::established;
        if (config_.request_bytes > 0 && !t.request_sent) {
          t.request_sent = true;
          (void)client_->send(t.client_id, request_);
        }
        break;
      case stack::EventKind::refused:
        t.result.outcome = observe::Outcome::refused;
        t.result.ended_at = now_;
        break;
      case stack::EventKind::timed_out:
        // A timeout after the handshake (data retransmissions) ends an established connection.
        t.result.outcome = t.result.established_at ? observe::Outcome::reset : observe::Outcome::timed_out;
        t.result.ended_at = now_;
        break;
      case stack::EventKind::reset:
      case stack::EventKind::aborted:
        t.result.outcome = t.result.established_at ? observe::Outcome::reset : observe::Outcome::refused;
        t.result.ended_at = now_;
        break;
      default:
        break;
    }
  }

  void server_event(const stack::Event& e) {
    if (e.kind != stack::EventKind::acceptable) return;
    if (config_.server_mode == ServerMode::tiny_backlog) return;  // this server never accepts
    while (auto id = server_->accept(listener_)) {
      const auto info = server_->info(*id);
      if (!info) continue;
      const auto it = by_client_endpoint_.find(endpoint_key(info->tuple.remote));
      if (it != by_client_endpoint_.end()) tracked_[it->second].server_id = *id;
    }
  }

  void finish() {
    for (Tracked& t : tracked_) {
      ConnectionResult& r = t.result;
      std::optional<tcp::ConnectionInfo> ci;
      if (t.started && t.client_id.valid()) ci = client_->info(t.client_id);
      std::optional<tcp::ConnectionInfo> si;
      if (t.server_id && server_) si = server_->info(*t.server_id);
      const std::uint32_t syns = t.client_syns();
      const std::uint32_t syn_acks = t.syn_acks();
      r.syn_retransmits = ci ? ci->syn_retransmits : (syns > 0 ? syns - 1 : 0);
      if (config_.simultaneous_open) {
        r.synack_retransmits = syn_acks > 2 ? syn_acks - 2 : 0;
      } else {
        r.synack_retransmits = si ? si->synack_retransmits : (syn_acks > 0 ? syn_acks - 1 : 0);
      }
      r.data_retransmits = ci ? ci->data_retransmits : 0;
      // From the SYN and SYN-ACK as sent, by the same rule as the capture analyzer's.
      r.client_isn = t.tracker.isn(observe::Role::client);
      r.server_isn = t.tracker.isn(observe::Role::server);
      r.negotiated = t.tracker.negotiated();
      add_connection(r, result_.summary, handshakes_);
      if (observer_.on_connection) observer_.on_connection(r);
      if (config_.keep_connections) result_.connections.push_back(std::move(r));
    }
    const auto add = [&](const stack::Stack& s) {
      result_.summary.checksum_drops += s.stats().bad_checksum;
      result_.summary.malformed_drops += s.stats().malformed;
    };
    add(*client_);
    if (server_) add(*server_);
    if (config_.flood && server_) {
      FloodReport& f = *result_.flood;
      const stack::StackStats& s = server_->stats();
      f.syns_received += s.listen_syns;
      f.cookies_sent += s.syncookies_sent;
      f.cookies_recv += s.syncookies_recv;
      f.cookies_failed += s.syncookies_failed;
      f.drops_syn_queue_full += s.syn_queue_full_drops;
      f.drops_accept_queue_full += s.accept_queue_full_drops;
      f.drops_control_queue += s.control_queue_drops;
      f.syn_queue_pruned += s.syn_queue_pruned;
      for (const Tracked& t : tracked_) f.legit_syns += t.client_syns();
    }
  }

  const SimConfig& config_;
  const SimObserver& observer_;
  RunResult& result_;
  std::vector<double>& handshakes_;
  Link& to_server_;
  Link& to_client_;
  Instant start_;
  Instant now_;
  std::unique_ptr<stack::Stack> client_;
  std::unique_ptr<stack::Stack> server_;
  StackPair pair_;  ///< the two stacks over the links (constructed once both exist)
  stack::ListenerId listener_;
  std::vector<Tracked> tracked_;
  std::unordered_map<std::uint64_t, std::size_t> by_client_endpoint_;
  std::unordered_map<std::uint64_t, std::size_t> by_client_id_;
  std::array<std::byte, kBuffer> buffer_{};
  std::vector<std::byte> request_ =
      std::vector<std::byte>(config_.request_bytes, std::byte{'x'});  ///< each client's request
  std::vector<wire::IpAddress> client_addresses_;
  std::size_t timeout_cursor_ = 0;  ///< next connection whose connect_timeout may still fire
  // The flood (SimConfig::flood).
  Rng attacker_rng_{config_.seed, kStreamAttacker};
  std::uint64_t attack_total_ = 0;
  std::uint64_t attack_sent_ = 0;
  std::uint32_t last_queue_ = 0;
  std::uint64_t cookies_seen_ = 0;  ///< the server's syncookies_sent after the last delivery
  bool cookie_ = false;             ///< the datagram being sent is a cookie SYN-ACK
  std::unordered_set<std::uint64_t> cookie_pending_;            ///< peers whose next SYN-ACK is a cookie
  std::unordered_map<std::uint64_t, std::uint32_t> queue_isn_;  ///< peer -> ISN of its last queue SYN-ACK
};

}  // namespace

RunResult run(const SimConfig& config, const SimObserver& observer) {
  RunResult result;
  result.scenario = config.scenario;
  result.seed = config.seed;
  Link to_server(config.to_server, config.seed, kStreamToServer);
  Link to_client(config.to_client, config.seed, kStreamToClient);
  // A flood runs in one batch: the attacker and every client share the server's queue.
  const std::uint32_t batch = config.flood ? std::max<std::uint32_t>(config.connections, 1)
                                           : std::max<std::uint32_t>(config.batch_size, 1);
  if (config.flood) {
    FloodReport f;
    f.cookie_policy = std::string(tcp::to_string(config.syn_cookies.value_or(tcp::Config{}.syn_cookies)));
    f.syn_queue_bound = config.syn_queue.value_or(tcp::Config{}.syn_queue_capacity);
    f.syn_rate = config.flood->syn_rate;
    f.duration_s = std::chrono::duration<double>(config.flood->duration).count();
    result.flood = std::move(f);
  }
  const std::uint32_t total = config.connections;
  if (config.keep_connections) result.connections.reserve(total);
  std::vector<double> handshakes;
  Instant now;
  std::uint32_t done = 0;
  for (std::uint32_t number = 0; done < total; ++number) {
    const std::uint32_t count = std::min(batch, total - done);
    to_server.reset_script_state();
    to_client.reset_script_state();
    Batch b(config, observer, result, handshakes, to_server, to_client, number, done, count, now);
    now = b.run();
    done += count;
    if (observer.on_progress) observer.on_progress(done, total);
    if (result.interrupted) break;
  }
  result.summary.virtual_seconds = now.seconds();
  const auto add = [&](const LinkStats& s) {
    result.summary.dropped += s.dropped;
    result.summary.duplicated += s.duplicated;
    result.summary.corrupted += s.corrupted;
    result.summary.reordered += s.reordered;
  };
  add(to_server.stats());
  add(to_client.stats());
  finish_summary(result.summary, std::move(handshakes));
  return result;
}

}  // namespace synack::sim
