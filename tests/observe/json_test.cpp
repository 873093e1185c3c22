// The JSON writer and reader of the observation vocabulary (docs/json.md).
#include "synack/observe/json.hpp"

#include <gtest/gtest.h>

namespace synack::observe {
namespace {

Negotiated sample() {
  const Offer client{.mss = 1460, .wscale = 7, .sack_permitted = true, .timestamps = true};
  const Offer server{.mss = 1360, .wscale = 9, .sack_permitted = true};
  return Negotiated::from_offers(client, server, wire::IpVersion::v4);
}

TEST(ObserveJson, Negotiated_Write_KeysInDocumentedOrder) {
  const Json j = to_json(sample());
  EXPECT_EQ(
      j.dump(),
      R"({"offered":{"client":{"mss":1460,"wscale":7,"sack_permitted":true,"timestamps":true,"fast_open":false,)"
      R"("ecn":false,"accecn":false},"server":{"mss":1360,"wscale":9,"sack_permitted":true,"timestamps":false,)"
      R"("fast_open":false,"ecn":false,"accecn":false}},"agreed":{"mss_client_to_server":1360,)"
      R"("mss_server_to_client":1360,"window_scaling":true,"wscale_client":7,"wscale_server":9,"sack":true,)"
      R"("timestamps":false,"ecn":false,"accecn":false}})");
}

TEST(ObserveJson, Negotiated_ReadWhatWasWritten_SameValue) {
  const Negotiated n = sample();
  EXPECT_EQ(negotiated_from_json(to_json(n)), n);
  const Negotiated unseen{.client = n.client, .server = std::nullopt, .agreed = std::nullopt};
  const Json j = to_json(unseen);
  EXPECT_TRUE(j["offered"]["server"].is_null());
  EXPECT_TRUE(j["agreed"].is_null());
  EXPECT_EQ(negotiated_from_json(j), unseen);
}

TEST(ObserveJson, Negotiated_MissingOrMistypedKey_NamesIt) {
  Json j = to_json(sample());
  j["agreed"].erase("sack");
  EXPECT_EQ(negotiated_from_json(j).error(), "agreed: missing key \"sack\"");
  j = to_json(sample());
  j["offered"]["client"]["mss"] = "1460";
  EXPECT_EQ(negotiated_from_json(j).error(), "offered.client: \"mss\" is not an unsigned integer");
  j = to_json(sample());
  j["agreed"]["window_scaling"] = false;
  EXPECT_FALSE(negotiated_from_json(j).has_value());
  j = to_json(sample());
  j["offered"]["server"]["wscale"] = 256;
  EXPECT_EQ(negotiated_from_json(j).error(), "offered.server: \"wscale\" is out of range");
}

TEST(ObserveJson, Outcome_ReadWhatWasWritten_UnknownRejected) {
  for (const Outcome o : kAllOutcomes) EXPECT_EQ(outcome_from_json(Json(to_string(o))), o);
  EXPECT_FALSE(outcome_from_json(Json("timeout")).has_value());
  EXPECT_FALSE(outcome_from_json(Json(3)).has_value());
}

TEST(ObserveJson, Document_StartsWithSchema) {
  EXPECT_EQ(document().dump(), R"({"schema":1})");
  EXPECT_EQ(event("summary").dump(), R"({"schema":1,"event":"summary"})");
}

}  // namespace
}  // namespace synack::observe
