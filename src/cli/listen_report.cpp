// `synack listen`'s summary (listen_report.hpp).
#include "listen_report.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/core.h>

#include "synack/observe/json.hpp"

namespace synack::cli {

using tun_cli::grouped;

void print_listening(const tun_cli::TunSession& s, const std::vector<std::uint16_t>& ports,
                     std::string_view mode, bool json) {
  if (json) {
    observe::Json j = observe::event("listening");
    j["device"] = s.device->name();
    j["addresses"] = nlohmann::json::array();
    for (const auto& a : s.addresses) j["addresses"].push_back(a.to_string());
    j["ports"] = ports;
    j["mode"] = mode;
    j["pid"] = ::getpid();
    fmt::print("{}\n", j.dump());
  } else {
    std::string addrs;
    for (const auto& a : s.addresses) addrs += (addrs.empty() ? "" : ", ") + a.to_string();
    std::string list;
    for (auto p : ports) list += (list.empty() ? "" : ", ") + std::to_string(p);
    fmt::print("synack listening on {} port {} ({}) via {}; Ctrl-C for a summary\n", addrs, list, mode,
               s.device->name());
  }
  std::fflush(stdout);
}

void print_listen_summary(const tun_cli::TunSession& s, const ListenSummary& sum) {
  const auto& d = s.driver->stats();
  if (sum.json) {
    observe::Json j = sum.document ? observe::document() : observe::event("summary");
    if (sum.document) j["document"] = "listen";
    j["signal"] = sum.signal;
    j["connections"] = sum.accepted;
    j["open"] = sum.open;
    j["bytes_in"] = sum.bytes_in;
    j["bytes_out"] = sum.bytes_out;
    j["resets"] = sum.totals.reset + sum.totals.timed_out + sum.totals.aborted;
    j["handshakes"] = sum.accepted;
    j["ends"] = {{"closed", sum.totals.closed},
                 {"reset", sum.totals.reset},
                 {"timed_out", sum.totals.timed_out},
                 {"aborted", sum.totals.aborted}};
    j["live_connections"] = s.stack->connection_count();
    j["time_wait"] = s.stack->time_wait_count();
    j["peak_connections"] = sum.peak;
    j["lines_suppressed"] = sum.suppressed;
    j["datagrams_in"] = d.datagrams_in;
    j["datagrams_out"] = d.datagrams_out;
    j["write_drops"] = d.write_drops;
    j["malformed"] = s.stack->stats().malformed;
    j["bad_checksum"] = s.stack->stats().bad_checksum;
    j["counters"] = tun_cli::counters_json(s);
    // Each listener's SYN queue at exit and what left it: with the counters, SYNs received = entries
    // created + cookies sent + drops (an entry ends established, timed out, pruned or still queued).
    j["listeners"] = nlohmann::json::array();
    for (const auto& [port, l] : sum.listeners) {
      const tcp::ListenerStats& ls = l.stats;
      j["listeners"].push_back(
          {{"port", port},
           {"syn_queue", l.syn_queue},
           {"syns_received", ls.syns_received},
           {"established", ls.established},
           {"synack_retransmits", ls.synack_retransmits},
           {"half_open_timeouts", ls.half_open_timeouts},
           {"fast_open", l.fast_open_queue == 0
                             ? nlohmann::json(nullptr)
                             : nlohmann::json{{"queue", l.fast_open_queue},
                                              {"cookies_sent", l.fast_open_cookies_sent},
                                              {"syn_data_accepted", l.fast_open_accepted},
                                              {"invalid_cookies", l.fast_open_invalid},
                                              {"queue_overflows", l.fast_open_overflows}}}});
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "synack listen: {} connection(s) accepted, {} still open, {} reset; {} B received, {} B sent; "
        "{} datagrams in, {} out\n",
        grouped(sum.accepted), sum.open,
        grouped(sum.totals.reset + sum.totals.timed_out + sum.totals.aborted), grouped(sum.bytes_in),
        grouped(sum.bytes_out), grouped(d.datagrams_in), grouped(d.datagrams_out));
    fmt::print(
        "  ends: {} closed, {} reset by the peer, {} timed out, {} aborted; {} live in the stack at exit "
        "({} in TIME-WAIT), peak {}\n",
        grouped(sum.totals.closed), grouped(sum.totals.reset), grouped(sum.totals.timed_out),
        grouped(sum.totals.aborted), s.stack->connection_count(), s.stack->time_wait_count(), sum.peak);
    for (const auto& [port, l] : sum.listeners) {
      if (l.fast_open_queue == 0) continue;
      fmt::print(
          "  fast open on port {}: {} cookie(s) sent, {} SYN(s) with data accepted, {} invalid cookie(s), "
          "{} past the queue ({})\n",
          port, grouped(l.fast_open_cookies_sent), grouped(l.fast_open_accepted),
          grouped(l.fast_open_invalid), grouped(l.fast_open_overflows), l.fast_open_queue);
    }
    tun_cli::print_counters(stdout, s);
  }
  std::fflush(stdout);
}

}  // namespace synack::cli
