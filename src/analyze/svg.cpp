// An SVG sequence diagram of one connection, in the style of the seed's handshake pictures: the client's
// lifeline on the left, the server's on the right, one slanted arrow per segment (time flows down).
#include <algorithm>

#include <fmt/format.h>

#include "format.hpp"
#include "synack/analyze/report.hpp"
#include "synack/observe/ladder.hpp"

namespace synack::analyze {
namespace {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\n' || ch == '\t') out.push_back(ch);
    }
  }
  return out;
}

/// The arrow-head marker of a paint (one per palette entry, defined in <defs>).
std::string marker_of(observe::Paint paint) {
  return fmt::format("paint{}", static_cast<int>(paint));
}

/// The lines under the diagram from `y` down: the anomalies, then whether the ladder was cut.
void append_notes(std::string& out, const ConnectionReport& c, int y) {
  for (const auto& a : c.anomalies) {
    out += fmt::format("<text x=\"20\" y=\"{}\" fill=\"{}\">{}</text>\n", y,
                       observe::svg_colour(observe::Paint::bad), escape("! " + a));
    y += 18;
  }
  if (c.segments_truncated) {
    out +=
        fmt::format("<text x=\"20\" y=\"{}\" fill=\"#555555\">{}</text>\n", y, escape(detail::cut_note(c)));
  }
}

}  // namespace

std::string render_svg(const ConnectionReport& c) {
  constexpr int kWidth = 960;
  constexpr int kLeft = 240;
  constexpr int kRight = 720;
  constexpr int kTop = 110;
  constexpr int kRow = 74;
  constexpr int kSlant = 30;
  const int rows = static_cast<int>(std::max<std::size_t>(c.segments.size(), 1));
  const int anomaly_lines = static_cast<int>(c.anomalies.size());
  const int note_lines = anomaly_lines + (c.segments_truncated ? 1 : 0);
  const int height = kTop + rows * kRow + 40 + note_lines * 18;

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans Mono, monospace\" font-size=\"12\">\n",
      kWidth, height);
  out += "<defs>\n";
  for (int p = 0; p <= static_cast<int>(observe::Paint::accent); ++p) {
    const auto paint = static_cast<observe::Paint>(p);
    out += fmt::format(
        "<marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" "
        "markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
        "fill=\"{}\"/></marker>\n",
        marker_of(paint), observe::svg_colour(paint));
  }
  out += "</defs>\n";
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n", kWidth, height);
  out += fmt::format("<text x=\"{}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", 20,
                     escape(fmt::format("Connection {}: {} → {} — {}", c.number, c.client.to_string(),
                                        c.server.to_string(), observe::to_string(c.outcome))));
  out += fmt::format("<text x=\"20\" y=\"44\">{}</text>\n", escape(c.reason.text()));
  out += fmt::format("<text x=\"{}\" y=\"80\" text-anchor=\"middle\" font-weight=\"bold\">client {}</text>\n",
                     kLeft, escape(c.client.to_string()));
  out += fmt::format("<text x=\"{}\" y=\"80\" text-anchor=\"middle\" font-weight=\"bold\">server {}</text>\n",
                     kRight, escape(c.server.to_string()));
  const int bottom = kTop + rows * kRow;
  for (int x : {kLeft, kRight}) {
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"90\" x2=\"{0}\" y2=\"{1}\" stroke=\"#888888\" stroke-width=\"2\"/>\n", x,
        bottom);
  }
  if (c.segments.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no segments recorded</text>\n",
                       (kLeft + kRight) / 2, kTop + kRow / 2);
  }
  const detail::RelativeSeq relative(c);
  const Timestamp origin = c.segments.empty() ? Timestamp{} : c.segments.front().time;
  const auto retransmitted = detail::retransmissions(c);
  int y = kTop;
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    const auto& s = c.segments[i];
    const bool to_server = s.direction == Direction::to_server;
    const int x1 = to_server ? kLeft : kRight;
    const int x2 = to_server ? kRight : kLeft;
    const observe::Paint paint = observe::paint_of(s.flags, retransmitted[i]);
    const std::string_view colour = observe::svg_colour(paint);
    out += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.6\" "
        "marker-end=\"url(#{})\"/>\n",
        x1, y, x2, y + kSlant, colour, marker_of(paint));
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLeft - 12, y + 4,
                       escape(fmt::format("{:.3f} ms", detail::to_ms(s.time - origin))));
    const int mid = (kLeft + kRight) / 2;
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n", mid, y - 4, colour,
        escape(detail::describe_segment(s, relative) + (retransmitted[i] ? " (retransmission)" : "")));
    const auto options = describe_options(s);
    if (!options.empty()) {
      out += fmt::format(
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555555\">{}</text>\n", mid,
          y + kSlant + 16, escape(options));
    }
    y += kRow;
  }
  append_notes(out, c, bottom + 28);
  out += "</svg>\n";
  return out;
}

}  // namespace synack::analyze
