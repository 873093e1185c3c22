#include "flow_table.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "synack/wire/link_layer.hpp"

namespace synack::analyze {

using detail::DecodedSegment;
using detail::Handshake;

FlowTable::FlowTable(AnalyzerConfig config) : config_(std::move(config)) {
  std::sort(config_.record_connections.begin(), config_.record_connections.end());
}

Handshake::Limits FlowTable::limits_for(std::uint64_t number) const {
  const bool record = config_.record_all || std::binary_search(config_.record_connections.begin(),
                                                               config_.record_connections.end(), number);
  if (!record) return {config_.post_handshake_packets, 0};
  // A drawn connection is watched as far as its ladder goes (to its FIN exchange when that fits), so the
  // ladder is cut only by the segment limit, and then says so.
  const std::size_t limit = std::max<std::size_t>(config_.max_recorded_segments, 1);
  const auto watch =
      static_cast<std::uint32_t>(std::min<std::size_t>(limit, std::numeric_limits<std::uint32_t>::max()));
  return {std::max(config_.post_handshake_packets, watch), limit};
}

void FlowTable::add(Timestamp time, wire::Bytes datagram, bool cut_short) {
  ++counters_.packets;
  if (cut_short) ++counters_.truncated;
  DecodedSegment& segment = segment_;  // one object for every packet, reset: cheaper than a fresh one
  segment.reset();
  if (const auto error = detail::decode_segment(datagram, cut_short, segment)) {
    if (*error == detail::DecodeError::not_tcp) {
      ++counters_.not_tcp;
    } else {
      ++counters_.malformed;
    }
    return;
  }
  ++counters_.tcp;
  if (!started_ || time > now_) now_ = time;
  if (!started_) {
    last_sweep_ = time;
    started_ = true;
  }
  on_segment(time, segment);
  if (!deadlines_.empty() && deadlines_.top().when <= now_) check_deadlines(now_);
  if (!refused_.empty()) expire_refused(now_);
  if (now_ - last_sweep_ > config_.idle_timeout / 8 || flows_.size() > config_.max_flows) sweep(now_);
}

ConnectionReport& FlowTable::place_of(std::uint64_t number) {
  // Numbers are handed out 1, 2, 3 … and each gets exactly one report: its place is number - 1, so the
  // reports end in number order without a pass to sort them.
  return done_.at(number - 1);
}

std::size_t FlowTable::emit(ConnectionReport report) {
  if (config_.on_connection) config_.on_connection(report);
  ConnectionReport& place = place_of(report.number);
  place = std::move(report);
  return place.number - 1;
}

void FlowTable::count_ecn(const Flow& flow, const DecodedSegment& s) noexcept {
  // RFC 3168 §5: the IP header's ECN field; §6.1: ECE and CWR on segments after the SYNs (on a SYN and a
  // SYN-ACK they set ECN up instead: OfferedOptions).
  const bool ece_cwr =
      !s.flags.syn() && (s.flags.bits() & (wire::TcpFlags::kEce | wire::TcpFlags::kCwr)) != 0;
  if (s.ip_ecn == 0 && !ece_cwr) return;
  ConnectionReport* report = nullptr;
  if (Handshake* h = handshake_of(flow)) {
    report = &h->report_in_progress();
  } else if (flow.report != kNoReport) {
    report = &done_[flow.report];
  } else {
    return;
  }
  EcnCounts& e = report->ecn[s.src == report->client ? 0 : 1];
  e.ect1 += s.ip_ecn == 1 ? 1U : 0U;
  e.ect0 += s.ip_ecn == 2 ? 1U : 0U;
  e.ce += s.ip_ecn == 3 ? 1U : 0U;
  if (ece_cwr) {
    e.ece += s.flags.ece() ? 1U : 0U;
    e.cwr += s.flags.cwr() ? 1U : 0U;
  }
}

Handshake& FlowTable::adopt(Flow& flow, Handshake::Start start, std::uint64_t number, Timestamp time,
                            const DecodedSegment& first) {
  const Handshake::Limits limits = limits_for(number);
  if (free_.empty()) {
    Handshake& made = *pool_.emplace_back(std::in_place, start, number, time, first, limits);
    flow.handshake = static_cast<std::uint32_t>(pool_.size() - 1);
    return made;
  }
  const std::uint32_t slot = free_.back();
  Handshake& made = pool_[slot].emplace(start, number, time, first, limits);
  free_.pop_back();
  flow.handshake = slot;
  return made;
}

void FlowTable::retire(Flow& flow, Timestamp when) {
  Handshake* handshake = handshake_of(flow);
  if (handshake == nullptr) return;
  ConnectionReport& report = place_of(handshake->number());  // built in its place
  handshake->finalise(report);
  flow.was_established = report.outcome == observe::Outcome::established;
  if (config_.on_verdict) tell_final(*handshake, report, when);
  if (config_.on_connection) config_.on_connection(report);
  flow.report = report.number - 1;
  free_.push_back(flow.handshake);
  flow.handshake = kNoHandshake;
}

void FlowTable::tell_final(Handshake& handshake, const ConnectionReport& report, Timestamp when) {
  using Told = Handshake::Told;
  // A verdict told on its deadline stands when the end of the capture (or idle) agrees with it.
  if (handshake.told == Told::final) return;
  if (handshake.told == Told::by_deadline && report.outcome == observe::Outcome::timed_out) return;
  handshake.told = Told::final;
  config_.on_verdict(report, when);
}

void FlowTable::tell_after_segment(const Key& key, Handshake& h, Timestamp time) {
  using Told = Handshake::Told;
  if (h.verdict_known()) {
    if (h.told != Told::final) {
      h.told = Told::final;
      config_.on_verdict(h.snapshot(), time);
    }
    return;
  }
  if (h.armed) return;
  const Timestamp when = h.verdict_deadline(config_.verdict_initial_rto);
  if (h.told == Told::by_deadline && when == h.told_deadline) return;  // told already; nothing moved
  h.armed = true;
  deadlines_.push(Deadline{when, key, h.number()});
}

void FlowTable::check_deadlines(Timestamp now) {
  using Told = Handshake::Told;
  while (!deadlines_.empty() && deadlines_.top().when <= now) {
    const Deadline d = deadlines_.top();
    deadlines_.pop();
    Flow* flow = flows_.find(d.key);
    Handshake* found = flow != nullptr ? handshake_of(*flow) : nullptr;
    if (found == nullptr || found->number() != d.number) continue;
    Handshake& h = *found;
    h.armed = false;
    if (h.verdict_known()) continue;
    const Timestamp when = h.verdict_deadline(config_.verdict_initial_rto);
    if (when > now) {  // a retransmission moved it
      h.armed = true;
      deadlines_.push(Deadline{when, d.key, d.number});
      continue;
    }
    if (h.told == Told::by_deadline && when == h.told_deadline) continue;
    h.told = Told::by_deadline;
    h.told_deadline = when;
    // The waiting side gave up when its next retransmission was due, before the grace.
    config_.on_verdict(h.snapshot(), h.gave_up_at(config_.verdict_initial_rto));
  }
}

void FlowTable::start(const Key& key, Flow& flow, Timestamp time, const DecodedSegment& s) {
  flow.last_seen = time;
  if (s.is_pure_syn()) {
    const auto number = next_number_++;
    flow.number = number;
    Handshake& handshake = adopt(flow, Handshake::Start::syn, number, time, s);
    flow.client_isn = s.seq;
    flow.has_client_isn = true;
    if (config_.on_verdict) tell_after_segment(key, handshake, time);
    return;
  }
  if (s.is_synack() && !s.flags.rst()) {
    const auto number = next_number_++;
    flow.number = number;
    Handshake& handshake = adopt(flow, Handshake::Start::synack, number, time, s);
    flow.client_isn = s.ack - 1U;
    flow.has_client_isn = true;
    if (config_.on_verdict) tell_after_segment(key, handshake, time);
    return;
  }
  const bool bare_ack = s.flags.bits() == wire::TcpFlags::kAck && s.payload_length == 0;
  if (bare_ack) {
    const auto number = next_number_++;
    auto report = Handshake::incomplete_from_ack(number, time, s, limits_for(number).max_segments > 0);
    if (config_.on_verdict) config_.on_verdict(report, time);
    flow.report = emit(std::move(report));
  } else {
    ++counters_.untracked;
  }
  // A tombstone: later packets of this tuple allocate nothing.
}

namespace {

// RFC 9293 §3.10.7: every segment after the SYN carries ACK, and SYN and FIN are never sent together; a
// segment with no flags, a FIN without ACK (also nmap's Xmas: FIN+PSH+URG) or SYN+FIN is a scanner's probe.
bool is_probe(wire::TcpFlags f) noexcept {
  const std::uint16_t bits = f.bits() & (wire::TcpFlags::kFin | wire::TcpFlags::kSyn | wire::TcpFlags::kRst |
                                         wire::TcpFlags::kPsh | wire::TcpFlags::kAck | wire::TcpFlags::kUrg);
  if (bits == 0) return true;
  if (f.syn() && f.fin()) return true;
  return f.fin() && !f.ack() && !f.rst();
}

// a < b in wire::Endpoint's order (family, the address bytes in network order, the port), from the
// address's two words instead of a byte comparison: once per packet, for the flow's key.
bool endpoint_less(const wire::Endpoint& a, const wire::Endpoint& b) noexcept {
  if (a.address.version() != b.address.version()) return a.address.version() < b.address.version();
  const auto x = a.address.words();
  const auto y = b.address.words();
  for (std::size_t i = 0; i < x.size(); ++i) {
    // The words in network order as numbers.
    const std::uint64_t xi = std::endian::native == std::endian::little ? std::byteswap(x[i]) : x[i];
    const std::uint64_t yi = std::endian::native == std::endian::little ? std::byteswap(y[i]) : y[i];
    if (xi != yi) return xi < yi;
  }
  return a.port < b.port;
}

}  // namespace

void FlowTable::on_segment(Timestamp time, const DecodedSegment& s) {
  if (is_probe(s.flags)) {
    ++counters_.probes;
    return;
  }
  Key key = endpoint_less(s.src, s.dst) ? Key{s.src, s.dst} : Key{s.dst, s.src};
  auto [flow, inserted] = flows_.try_emplace(key);
  if (inserted) {
    (void)is_duplicate(flow, time, s);
    start(key, flow, time, s);
    count_ecn(flow, s);
    return;
  }
  if (is_duplicate(flow, time, s)) {
    ++counters_.duplicates;
    return;
  }
  const Timestamp previously_seen = flow.last_seen;
  flow.last_seen = std::max(flow.last_seen, time);
  // A SYN with a new ISN on a known tuple is a new connection (a reused port, or a new attempt).
  if (s.is_pure_syn() && (!flow.has_client_isn || s.seq != flow.client_isn)) {
    const Handshake* open = handshake_of(flow);
    const bool from_client = open == nullptr || s.src == open->client();
    const bool simultaneous = open != nullptr && !from_client && open->awaiting_answer();
    if (!simultaneous) {
      const bool was_pending = open != nullptr && open->awaiting_answer() && from_client;
      retire(flow, time);
      const std::uint64_t previous = flow.number;
      const bool was_established = flow.was_established;
      start(key, flow, time, s);
      if (previous != 0 && handshake_of(flow) != nullptr) {
        link_previous(flow, previous, was_pending, was_established, time - previously_seen, s);
      }
      count_ecn(flow, s);
      return;
    }
  }
  count_ecn(flow, s);
  Handshake* handshake = handshake_of(flow);
  if (handshake == nullptr) {
    ++counters_.untracked;
    return;
  }
  const bool watching = handshake->watching_retries();
  if (handshake->on_segment(time, s)) {
    retire(flow, time);
    return;
  }
  if (!watching && handshake->watching_retries()) refused_.emplace_back(key, time);
  if (config_.on_verdict) tell_after_segment(key, *handshake, time);
}

bool FlowTable::is_duplicate(Flow& flow, Timestamp time, const DecodedSegment& s) noexcept {
  // IPv4: the Identification field and the checksum name the datagram; IPv6 has no Identification, so the
  // segment's own fields stand in (with the checksum, which covers the payload).
  std::uint64_t print = (static_cast<std::uint64_t>(s.has_ip_id ? s.ip_id : s.window) << 48U) ^
                        (static_cast<std::uint64_t>(s.tcp_checksum) << 32U) ^ s.seq;
  print = print * 0x9E3779B97F4A7C15ULL ^ (static_cast<std::uint64_t>(s.ack) << 16U) ^ s.flags.bits() ^
          (static_cast<std::uint64_t>(s.payload_length) << 48U) ^ s.src.port;
  const bool duplicate = print == flow.last_print &&
                         time - flow.last_print_time <= config_.duplicate_window &&
                         time >= flow.last_print_time;
  flow.last_print = print;
  flow.last_print_time = time;
  return duplicate;
}

void FlowTable::link_previous(Flow& flow, std::uint64_t previous, bool was_pending, bool was_established,
                              std::chrono::nanoseconds since, const DecodedSegment& syn) {
  const double seconds = static_cast<double>(since.count()) / 1e9;
  std::string note;
  if (was_pending) {
    note = fmt::format(
        "a new attempt on the 4-tuple of connection {}: a SYN with a new ISN ({}) {:.3f} s after that "
        "connection's last unanswered SYN",
        previous, syn.seq, seconds);
  } else if (was_established && since < std::chrono::seconds(240)) {
    // RFC 9293 §3.4.2 / §3.6.1: the side that closed first holds the tuple in TIME-WAIT for 2×MSL; a new SYN
    // then is accepted only when its ISN (or timestamp, RFC 6191) is above the old connection's.
    note = fmt::format(
        "the 4-tuple of connection {} reused {:.3f} s after its last packet: the old connection may still "
        "be in TIME-WAIT on the side that closed first (2×MSL, 240 s in RFC 9293; Linux holds 60 s)",
        previous, seconds);
  }
  handshake_of(flow)->link_previous(previous, std::move(note));
}

void FlowTable::expire_refused(Timestamp now) {
  while (!refused_.empty() && now - refused_.front().second > config_.refused_retry_window) {
    const auto [key, since] = refused_.front();
    refused_.pop_front();
    Flow* flow = flows_.find(key);
    const Handshake* handshake = flow != nullptr ? handshake_of(*flow) : nullptr;
    if (handshake == nullptr || !handshake->watching_retries()) continue;
    if (now - flow->last_seen > config_.refused_retry_window) {
      retire(*flow, now);  // the tombstone stays: later packets of the tuple allocate nothing
    } else {
      refused_.emplace_back(key, flow->last_seen);  // a retry came since: watch on from it
    }
  }
}

void FlowTable::sweep(Timestamp now) {
  last_sweep_ = now;
  flows_.erase_if([&](const Key&, Flow& flow) {
    if (now - flow.last_seen <= config_.idle_timeout) return false;
    retire(flow, now);
    return true;
  });
  if (flows_.size() <= config_.max_flows) return;
  // Still too many: finalise the least recently seen half.
  std::vector<Timestamp> seen;
  seen.reserve(flows_.size());
  flows_.for_each([&seen](const Key&, const Flow& flow) { seen.push_back(flow.last_seen); });
  auto middle = seen.begin() + static_cast<std::ptrdiff_t>(seen.size() / 2);
  std::nth_element(seen.begin(), middle, seen.end());
  const Timestamp cutoff = *middle;
  std::size_t remaining = flows_.size();
  flows_.erase_if([&](const Key&, Flow& flow) {
    if (flow.last_seen > cutoff || remaining <= config_.max_flows / 2) return false;
    if (handshake_of(flow) != nullptr) ++counters_.flows_evicted_early;
    retire(flow, now);
    --remaining;
    return true;
  });
}

void FlowTable::expect(double share_read) {
  if (std::isnan(share_read) || share_read <= 0.0 || share_read > 1.0) return;
  const auto scaled = [share_read](std::size_t n) {
    return static_cast<std::size_t>(static_cast<double>(n) / share_read * 1.125) + 64;
  };
  done_.reserve(scaled(next_number_ - 1));
  flows_.reserve(std::min(scaled(flows_.size()), config_.max_flows + 1));
}

AnalysisResult FlowTable::finish(std::size_t top_failing) {
  flows_.for_each([this](const Key&, Flow& flow) { retire(flow, now_); });
  flows_.clear();
  pool_.clear();
  free_.clear();
  refused_.clear();
  deadlines_ = {};
  AnalysisResult result;
  result.connections = done_.take();  // in number order: each report is at its place
  result.summary = summarize(result.connections, top_failing);
  result.counters = counters_;
  counters_ = {};
  next_number_ = 1;
  started_ = false;
  return result;
}

// ---- Analyzer: the public face of the flow table -------------------------------------------------------

Analyzer::Analyzer(AnalyzerConfig config) : table_(std::make_unique<FlowTable>(std::move(config))) {}
Analyzer::Analyzer(Analyzer&&) noexcept = default;
Analyzer& Analyzer::operator=(Analyzer&&) noexcept = default;
Analyzer::~Analyzer() = default;

void Analyzer::add_datagram(Timestamp time, wire::Bytes datagram, bool cut_short) {
  table_->add(time, datagram, cut_short);
}

void Analyzer::add_frame(std::uint32_t linktype, Timestamp time, wire::Bytes frame,
                         std::uint32_t original_length) {
  auto payload = wire::decapsulate(linktype, frame);
  if (!payload) {
    table_->count_unusable(payload.error() == wire::Error::link_truncated);
    return;
  }
  table_->add(time, payload->datagram, frame.size() < original_length);
}

void Analyzer::expect(double share_read) {
  table_->expect(share_read);
}

void Analyzer::advance(Timestamp now) {
  table_->check_deadlines(now);
}

const PacketCounters& Analyzer::counters() const noexcept {
  return table_->counters();
}
std::size_t Analyzer::open_flows() const noexcept {
  return table_->size();
}
AnalysisResult Analyzer::finish(std::size_t top_failing) {
  return table_->finish(top_failing);
}

}  // namespace synack::analyze
