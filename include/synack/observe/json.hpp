// The JSON form of the observation vocabulary (docs/json.md): one writer and one reader for outcomes,
// offers and negotiated options, and the schema version every top-level document synack prints carries.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "synack/observe/handshake.hpp"

namespace synack::observe {

using Json = nlohmann::ordered_json;

/// The version of docs/json.md: every top-level document (and every --json-stream line) starts with
/// "schema": kSchemaVersion. Raised when a key is renamed or removed or its meaning changes.
inline constexpr int kSchemaVersion = 1;

/// {"schema": kSchemaVersion}: the start of a top-level document.
[[nodiscard]] Json document();
/// {"schema": kSchemaVersion, "event": event}: the start of a --json-stream line.
[[nodiscard]] Json event(std::string_view name);

/// {"mss", "wscale", "sack_permitted", "timestamps", "fast_open", "ecn", "accecn"}.
[[nodiscard]] Json to_json(const Offer& offer);
/// {"mss_client_to_server", "mss_server_to_client", "window_scaling", "wscale_client", "wscale_server",
///  "sack", "timestamps", "ecn", "accecn"}.
[[nodiscard]] Json to_json(const Agreed& agreed);
/// {"offered": {"client": Offer | null, "server": Offer | null}, "agreed": Agreed | null}.
[[nodiscard]] Json to_json(const Negotiated& negotiated);

/// The readers: what to_json() wrote, or a message naming the first key that is missing or mistyped.
[[nodiscard]] std::expected<Offer, std::string> offer_from_json(const Json& j);
[[nodiscard]] std::expected<Agreed, std::string> agreed_from_json(const Json& j);
[[nodiscard]] std::expected<Negotiated, std::string> negotiated_from_json(const Json& j);
[[nodiscard]] std::expected<Outcome, std::string> outcome_from_json(const Json& j);

}  // namespace synack::observe
