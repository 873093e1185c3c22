// Stack: the log hook (Stack::set_log_hook) — state transitions from the engine's TransitionSink, drops and
// notes from the counters a call moved. Nothing here runs unless a hook is installed.
#include <algorithm>
#include <array>
#include <string_view>

#include "stack_core.hpp"
#include "synack/wire/packet.hpp"

namespace synack::stack {
namespace {

/// Counters that move with every ordinary exchange: not worth a log line.
constexpr std::array<std::string_view, 7> kRoutine{"TcpInSegs",        "TcpOutSegs",        "TcpOutRsts",
                                                   "SynackListenSyns", "SynackSynAcksSent", "SynackOffers",
                                                   "TcpExtListenDrops"};  // ListenDrops is the sum of the two
                                                                          // queue drops, logged alone
/// Counters that count something done without dropping anything.
constexpr std::array<std::string_view, 8> kNotes{
    "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",      "SynackSynQueuePruned", "TcpExtTCPChallengeACK",
    "SynackTimeWaitReuses", "TcpExtTCPTimeWaitOverflow", "SynackOffersExpired",  "SynackOffersCookie"};

bool among(std::span<const std::string_view> names, std::string_view name) noexcept {
  return std::ranges::find(names, name) != names.end();
}

}  // namespace

void StackLog::on_transition(const tcp::Connection& connection, const tcp::Transition& transition) noexcept {
  LogRecord r;
  r.at = now;
  r.kind = LogKind::transition;
  r.connection = core_->id_of(connection.tuple());
  r.tuple = connection.tuple();
  r.transition = transition;
  hook(r);
}

void StackLog::counters(const StackStats& before, const StackStats& after,
                        const wire::FourTuple& tuple) const {
  const std::vector<NamedCounter> old_values = named_counters(before);
  const std::vector<NamedCounter> new_values = named_counters(after);
  for (std::size_t i = 0; i < new_values.size() && i < old_values.size(); ++i) {
    const NamedCounter& c = new_values[i];
    if (c.value <= old_values[i].value || among(kRoutine, c.name)) continue;
    LogRecord r;
    r.at = now;
    r.kind = among(kNotes, c.name) ? LogKind::note : LogKind::drop;
    r.tuple = tuple;
    r.reason = c.name;
    r.count = c.value - old_values[i].value;
    hook(r);
  }
}

void StackCore::set_log_hook(LogHook hook) {
  log_ = hook ? std::make_unique<StackLog>(*this, std::move(hook)) : nullptr;
  config_.tcp.transition_sink = log_.get();
  forwarder_tcp_.transition_sink = log_.get();
}

ConnectionId StackCore::id_of(const wire::FourTuple& tuple) const {
  const auto ref = flow_find(flows_.hash(tuple), tuple);
  if (!ref || ref->kind != FlowRef::Kind::connection) return ConnectionId{};
  return ConnectionId{ref->index, slots_[ref->index].generation};
}

void StackCore::on_packet_logged(Instant now, wire::Bytes datagram) {
  log_->now = now;
  const StackStats before = stats();  // the listeners' counts included
  on_packet(now, datagram);
  wire::FourTuple tuple{};
  if (const auto view = wire::TcpPacketView::parse(datagram, wire::ChecksumPolicy::ignore)) {
    tuple = view->tuple_at_receiver();
  }
  if (log_) log_->counters(before, stats(), tuple);
}

void StackCore::on_packets_logged(Instant now, std::span<const wire::Bytes> datagrams) {
  for (const wire::Bytes d : datagrams) on_packet_logged(now, d);
}

void StackCore::on_timeout_logged(Instant now) {
  log_->now = now;
  const StackStats before = stats();
  on_timeout(now);
  if (log_) log_->counters(before, stats(), wire::FourTuple{});
}

}  // namespace synack::stack
