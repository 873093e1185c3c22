// The JSON writer and reader of the observation vocabulary (docs/json.md). Key order is fixed
// (ordered_json); the readers accept exactly what the writers produce.
#include "synack/observe/json.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace synack::observe {
namespace {

template <typename T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

// The value of `key` in object `j` as T (nullopt for null when `nullable`), or what is wrong with it.
template <typename T>
std::expected<std::optional<T>, std::string> read(const Json& j, std::string_view key, bool nullable) {
  const auto it = j.find(key);
  if (it == j.end()) return std::unexpected(fmt::format("missing key \"{}\"", key));
  if (it->is_null()) {
    if (nullable) return std::optional<T>{};
    return std::unexpected(fmt::format("\"{}\" is null", key));
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return std::unexpected(fmt::format("\"{}\" is not a boolean", key));
    return std::optional<T>{it->template get<bool>()};
  } else {
    // A parsed document holds non-negative integers as unsigned; one built in code may hold them as signed.
    const bool non_negative =
        it->is_number_unsigned() || (it->is_number_integer() && it->template get<std::int64_t>() >= 0);
    if (!non_negative) return std::unexpected(fmt::format("\"{}\" is not an unsigned integer", key));
    const auto v = it->template get<std::uint64_t>();
    if (v > std::numeric_limits<T>::max()) return std::unexpected(fmt::format("\"{}\" is out of range", key));
    return std::optional<T>{static_cast<T>(v)};
  }
}

// A boolean key that documents before it existed lack ("accecn"): false when absent.
std::expected<bool, std::string> read_optional_flag(const Json& j, std::string_view key) {
  if (!j.contains(key)) return false;
  auto v = read<bool>(j, key, false);
  if (!v) return std::unexpected(v.error());
  return **v;
}

}  // namespace

Json document() {
  Json j;
  j["schema"] = kSchemaVersion;
  return j;
}

Json event(std::string_view name) {
  Json j = document();
  j["event"] = name;
  return j;
}

Json to_json(const Offer& o) {
  Json j;
  j["mss"] = or_null(o.mss);
  j["wscale"] = or_null(o.wscale);
  j["sack_permitted"] = o.sack_permitted;
  j["timestamps"] = o.timestamps;
  j["fast_open"] = o.fast_open;
  j["ecn"] = o.ecn;
  j["accecn"] = o.accecn;
  return j;
}

Json to_json(const Agreed& a) {
  Json j;
  j["mss_client_to_server"] = a.mss_client_to_server;
  j["mss_server_to_client"] = a.mss_server_to_client;
  j["window_scaling"] = a.window_scaling();
  j["wscale_client"] = or_null(a.wscale_client);
  j["wscale_server"] = or_null(a.wscale_server);
  j["sack"] = a.sack;
  j["timestamps"] = a.timestamps;
  j["ecn"] = a.ecn;
  j["accecn"] = a.accecn;
  return j;
}

Json to_json(const Negotiated& n) {
  Json offered;
  offered["client"] = n.client ? to_json(*n.client) : Json(nullptr);
  offered["server"] = n.server ? to_json(*n.server) : Json(nullptr);
  Json j;
  j["offered"] = std::move(offered);
  j["agreed"] = n.agreed ? to_json(*n.agreed) : Json(nullptr);
  return j;
}

std::expected<Offer, std::string> offer_from_json(const Json& j) {
  if (!j.is_object()) return std::unexpected("an offer is not an object");
  Offer o;
  auto mss = read<std::uint16_t>(j, "mss", true);
  auto wscale = read<std::uint8_t>(j, "wscale", true);
  if (!mss) return std::unexpected(mss.error());
  if (!wscale) return std::unexpected(wscale.error());
  o.mss = *mss;
  o.wscale = *wscale;
  for (auto [key, field] :
       {std::pair{"sack_permitted", &o.sack_permitted}, std::pair{"timestamps", &o.timestamps},
        std::pair{"fast_open", &o.fast_open}, std::pair{"ecn", &o.ecn}}) {
    auto v = read<bool>(j, key, false);
    if (!v) return std::unexpected(v.error());
    *field = **v;
  }
  if (auto v = read_optional_flag(j, "accecn"); v) {
    o.accecn = *v;
  } else {
    return std::unexpected(v.error());
  }
  return o;
}

std::expected<Agreed, std::string> agreed_from_json(const Json& j) {
  if (!j.is_object()) return std::unexpected("\"agreed\" is not an object");
  Agreed a;
  for (auto [key, field] : {std::pair{"mss_client_to_server", &a.mss_client_to_server},
                            std::pair{"mss_server_to_client", &a.mss_server_to_client}}) {
    auto v = read<std::uint16_t>(j, key, false);
    if (!v) return std::unexpected(v.error());
    *field = **v;
  }
  for (auto [key, field] :
       {std::pair{"wscale_client", &a.wscale_client}, std::pair{"wscale_server", &a.wscale_server}}) {
    auto v = read<std::uint8_t>(j, key, true);
    if (!v) return std::unexpected(v.error());
    *field = *v;
  }
  for (auto [key, field] :
       {std::pair{"sack", &a.sack}, std::pair{"timestamps", &a.timestamps}, std::pair{"ecn", &a.ecn}}) {
    auto v = read<bool>(j, key, false);
    if (!v) return std::unexpected(v.error());
    *field = **v;
  }
  if (auto v = read_optional_flag(j, "accecn"); v) {
    a.accecn = *v;
  } else {
    return std::unexpected(v.error());
  }
  auto scaling = read<bool>(j, "window_scaling", false);
  if (!scaling) return std::unexpected(scaling.error());
  if (**scaling != a.wscale_client.has_value() ||
      a.wscale_client.has_value() != a.wscale_server.has_value()) {
    return std::unexpected(R"("window_scaling" disagrees with "wscale_client" / "wscale_server")");
  }
  return a;
}

std::expected<Negotiated, std::string> negotiated_from_json(const Json& j) {
  if (!j.is_object()) return std::unexpected("\"negotiated\" is not an object");
  const auto offered = j.find("offered");
  if (offered == j.end() || !offered->is_object()) return std::unexpected("missing object \"offered\"");
  Negotiated n;
  for (auto [key, field] : {std::pair{"client", &n.client}, std::pair{"server", &n.server}}) {
    const auto it = offered->find(key);
    if (it == offered->end()) return std::unexpected(fmt::format("missing key \"offered.{}\"", key));
    if (it->is_null()) continue;
    auto o = offer_from_json(*it);
    if (!o) return std::unexpected(fmt::format("offered.{}: {}", key, o.error()));
    *field = *o;
  }
  const auto agreed = j.find("agreed");
  if (agreed == j.end()) return std::unexpected("missing key \"agreed\"");
  if (!agreed->is_null()) {
    auto a = agreed_from_json(*agreed);
    if (!a) return std::unexpected(fmt::format("agreed: {}", a.error()));
    n.agreed = *a;
  }
  return n;
}

std::expected<Outcome, std::string> outcome_from_json(const Json& j) {
  if (!j.is_string()) return std::unexpected("an outcome is not a string");
  const auto o = outcome_from_string(j.get_ref<const std::string&>());
  if (!o) return std::unexpected(fmt::format("unknown outcome \"{}\"", j.get_ref<const std::string&>()));
  return *o;
}

}  // namespace synack::observe
