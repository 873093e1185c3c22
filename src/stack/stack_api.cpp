// The public Stack: every call forwards to its StackCore (src/stack/stack_core.hpp) through one pointer,
// so a Stack moves and synack/stack/stack.hpp needs none of the engine's internal types.
#include <utility>

#include "stack_core.hpp"
#include "synack/stack/stack.hpp"

namespace synack::stack {

Stack::Stack(StackConfig config, std::span<const std::byte, 16> isn_key, std::uint64_t rng_seed)
    : core_(std::make_unique<StackCore>(std::move(config), isn_key, rng_seed)), due_(core_->due()) {}
Stack::Stack(Stack&&) noexcept = default;
Stack& Stack::operator=(Stack&&) noexcept = default;
Stack::~Stack() = default;

void Stack::on_packet(Instant now, wire::Bytes ip_datagram) {
  if (core_->logging()) [[unlikely]] {
    core_->on_packet_logged(now, ip_datagram);
    return;
  }
  core_->on_packet(now, ip_datagram);
}
void Stack::on_packets(Instant now, std::span<const wire::Bytes> ip_datagrams) {
  if (core_->logging()) [[unlikely]] {
    core_->on_packets_logged(now, ip_datagrams);
    return;
  }
  core_->on_packets(now, ip_datagrams);
}
std::optional<std::size_t> Stack::poll_transmit_due(Instant now, wire::MutableBytes out) {
  // No log_time(): sending changes no connection's state, and this call runs several times per segment.
  // poll_transmit() saw the due bit: straight to the queues, a tail call.
  return core_->poll_transmit_queued(now, out);
}
std::optional<Event> Stack::poll_event_due() {
  return core_->poll_event();
}
Instant Stack::next_deadline() const {
  return core_->next_deadline();
}
void Stack::on_timeout(Instant now) {
  if (core_->logging()) [[unlikely]] {
    core_->on_timeout_logged(now);
    return;
  }
  core_->on_timeout(now);
}

std::expected<ConnectionId, std::error_code> Stack::connect(Instant now, wire::Endpoint local,
                                                            wire::Endpoint remote,
                                                            const ConnectOptions& options) {
  core_->log_time(now);
  return core_->connect(now, local, remote, options);
}
std::size_t Stack::connect(Instant now, std::span<const ConnectRequest> requests,
                           std::span<std::expected<ConnectionId, std::error_code>> results) {
  core_->log_time(now);
  return core_->connect_burst(now, requests, results);
}
std::expected<ListenerId, std::error_code> Stack::listen(wire::Endpoint local, std::uint32_t backlog) {
  return core_->listen(local, backlog);
}
std::expected<ListenerId, std::error_code> Stack::listen(wire::Endpoint local, const ListenOptions& options) {
  return core_->listen(local, options);
}
void Stack::rekey_syn_cookies(Instant now, std::span<const std::byte, 16> key) noexcept {
  core_->rekey_syn_cookies(now, key);
}
void Stack::rekey_fast_open(Instant now, std::span<const std::byte, 16> key) noexcept {
  core_->rekey_fast_open(now, key);
}
tcp::FastOpenCache& Stack::fast_open_cache() noexcept {
  return core_->fast_open_cache();
}
std::expected<ConnectionId, std::error_code> Stack::accept(ListenerId id) {
  return core_->accept(id);
}
std::error_code Stack::close_listener(Instant now, ListenerId id) {
  core_->log_time(now);
  return core_->close_listener(now, id);
}

std::expected<std::size_t, std::error_code> Stack::send(ConnectionId id, wire::Bytes data) {
  return core_->send(id, data);
}
std::expected<std::size_t, std::error_code> Stack::recv(ConnectionId id, wire::MutableBytes out) {
  return core_->recv(id, out);
}
std::error_code Stack::shutdown_write(Instant now, ConnectionId id) {
  core_->log_time(now);
  return core_->shutdown_write(now, id);
}
std::error_code Stack::close(Instant now, ConnectionId id) {
  core_->log_time(now);
  return core_->close(now, id);
}
std::error_code Stack::abort(Instant now, ConnectionId id) {
  core_->log_time(now);
  return core_->abort(now, id);
}
std::error_code Stack::set_user_data(ConnectionId id, std::uint64_t user) {
  return core_->set_user_data(id, user);
}
std::error_code Stack::set_user_data(OfferId id, std::uint64_t user) {
  return core_->set_user_data(id, user);
}
std::optional<std::uint64_t> Stack::user_data(ConnectionId id) const {
  return core_->user_data(id);
}
std::optional<tcp::ConnectionInfo> Stack::info(ConnectionId id) const {
  return core_->info(id);
}

void Stack::set_forwarder(std::optional<ForwarderConfig> config) {
  core_->set_forwarder(config);
}
std::optional<SynOffer> Stack::offer(OfferId id) const {
  return core_->offer(id);
}
std::error_code Stack::decide(Instant now, OfferId id, Verdict verdict) {
  core_->log_time(now);
  return core_->decide(now, id, verdict);
}

void Stack::set_observer(SegmentObserver observer) {
  core_->set_observer(std::move(observer));
}
void Stack::set_log_hook(LogHook hook) {
  core_->set_log_hook(std::move(hook));
}
const StackStats& Stack::stats() const noexcept {
  return core_->stats();
}
const tcp::BufferPool& Stack::buffer_pool() const noexcept {
  return core_->buffer_pool();
}
std::size_t Stack::connection_count() const noexcept {
  return core_->connection_count();
}
std::size_t Stack::time_wait_count() const noexcept {
  return core_->time_wait_count();
}
std::size_t Stack::pending_offer_count() const noexcept {
  return core_->pending_offer_count();
}
std::optional<ListenerInfo> Stack::listener_info(ListenerId id) const noexcept {
  return core_->listener_info(id);
}
const tcp::Listener* Stack::listener(ListenerId id) const noexcept {
  return core_->listener(id);
}
const tcp::Config& Stack::tcp_config() const noexcept {
  return core_->tcp_config();
}

}  // namespace synack::stack
