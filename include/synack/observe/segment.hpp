/// @file
/// One TCP segment as the observation layer reads it: the fixed header fields decoded, the options parsed
/// only when asked for. A capture's decoder (the analyzer) fills it from the captured bytes and leaves the
/// options as a view of them, so a segment whose options nobody reads (most of a capture) costs the fixed
/// header only; the Stack's observer and the simulator hand in a parsed header instead (from()).
#pragma once

#include <cstdint>
#include <optional>

#include "synack/wire/bytes.hpp"
#include "synack/wire/tcp.hpp"
#include "synack/wire/tcp_options.hpp"

namespace synack::observe {

/// See the file comment. The option bytes (or the header given to from()) must outlive the segment's use.
class Segment {
 public:
  std::uint32_t seq = 0;             ///< SEG.SEQ
  std::uint32_t ack = 0;             ///< SEG.ACK
  wire::TcpFlags flags;              ///< the flag bits
  std::uint16_t window = 0;          ///< SEG.WND as sent (unscaled)
  std::uint32_t payload_length = 0;  ///< from the IP length fields, not the bytes captured
  bool options_cut = false;          ///< the options run past a capture's cut: nothing is known of them
  wire::Bytes option_bytes;          ///< the options as captured (a view), until parsed

  /// A parsed header's segment: its options are read from `header` (not copied).
  [[nodiscard]] static Segment from(const wire::TcpHeader& header, std::uint32_t payload_length) noexcept;

  /// A SYN without ACK.
  [[nodiscard]] bool is_pure_syn() const noexcept { return flags.syn() && !flags.ack(); }
  /// A SYN with ACK.
  [[nodiscard]] bool is_synack() const noexcept { return flags.syn() && flags.ack(); }

  /// The options (empty when unknown), parsed on first use.
  [[nodiscard]] const wire::TcpOptions& options() const noexcept {
    if (parsed_from_ != nullptr) return *parsed_from_;
    if (!parsed_) parse_options();
    return *parsed_;
  }
  /// The options were cut off by a capture's snaplen or are malformed: nothing is known of them.
  [[nodiscard]] bool options_unknown() const noexcept {
    if (parsed_from_ == nullptr && !parsed_) parse_options();
    return options_cut || malformed_;
  }
  /// The segment carries a Timestamps option, or its options are unknown: what "timestamps dropped" asks,
  /// answered without the full parse when a Timestamps option comes first (the common case).
  [[nodiscard]] bool timestamps_or_unknown() const noexcept;

  /// Forgets the options of the segment decoded before, so that a decoder can fill the same object again
  /// (cheaper than a fresh one for each packet).
  void reset_options() noexcept {
    parsed_.reset();
    malformed_ = false;
    options_cut = false;
  }
  /// For decoders that parse the options themselves (a copy of a cut datagram).
  void set_options(const wire::TcpOptions& options, bool malformed) noexcept {
    parsed_ = options;
    malformed_ = malformed;
    option_bytes = {};
  }

 private:
  void parse_options() const noexcept;
  const wire::TcpOptions* parsed_from_ = nullptr;  ///< from(): the header's own options
  mutable std::optional<wire::TcpOptions> parsed_;
  mutable bool malformed_ = false;
};

}  // namespace synack::observe
