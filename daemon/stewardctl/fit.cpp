// See fit.hpp.
#include "stewardctl/fit.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <numeric>

namespace steward::stewardctl {

namespace json = boost::json;

void printFitted(const std::vector<FitColumn>& columns,
                 const std::vector<std::vector<std::string>>& rows, std::size_t width,
                 const ledger::OutputStyle& style, std::ostream& out) {
  const std::size_t n = columns.size();
  std::vector<std::size_t> widths(n);
  for (std::size_t c = 0; c < n; ++c) {
    widths[c] = ledger::displayWidth(columns[c].header);
    for (const auto& row : rows)
      if (c < row.size()) widths[c] = std::max(widths[c], ledger::displayWidth(row[c]));
  }
  std::vector<bool> shown(n, true);
  auto total = [&] {
    std::size_t sum = 0, count = 0;
    for (std::size_t c = 0; c < n; ++c)
      if (shown[c]) sum += widths[c], ++count;
    return sum + (count > 0 ? 2 * (count - 1) : 0);
  };
  if (width > 0) {
    // Drop the least important columns (rightmost first among equals) while too wide.
    while (total() > width) {
      std::size_t drop = n;
      for (std::size_t c = n; c-- > 0;)
        if (shown[c] && columns[c].keep > 0 && (drop == n || columns[c].keep < columns[drop].keep))
          drop = c;
      if (drop == n) break;
      shown[drop] = false;
    }
    // Then cut the widest shrinkable column to what is left (never below its header or 8).
    while (total() > width) {
      std::size_t cut = n;
      for (std::size_t c = 0; c < n; ++c)
        if (shown[c] && columns[c].shrinks && (cut == n || widths[c] > widths[cut])) cut = c;
      if (cut == n) break;
      const std::size_t floor = std::max<std::size_t>(8, ledger::displayWidth(columns[cut].header));
      if (widths[cut] <= floor) break;
      widths[cut] = std::max(floor, widths[cut] - std::min(widths[cut], total() - width));
    }
  }
  auto line = [&](auto cell, bool header) {
    std::string text;
    bool first = true;
    for (std::size_t c = 0; c < n; ++c) {
      if (!shown[c]) continue;
      std::string v = ledger::truncateDisplay(cell(c), widths[c]);
      const std::size_t pad = widths[c] - std::min(widths[c], ledger::displayWidth(v));
      if (!first) text += "  ";
      first = false;
      bool last = true;
      for (std::size_t d = c + 1; d < n; ++d)
        if (shown[d]) last = false;
      if (columns[c].right) text += std::string(pad, ' ');
      text += header ? ledger::paint(v, ledger::Colour::bold, style) : v;
      if (!columns[c].right && !last) text += std::string(pad, ' ');
    }
    out << text << '\n';
  };
  line([&](std::size_t c) { return columns[c].header; }, true);
  for (const auto& row : rows)
    line([&](std::size_t c) { return c < row.size() ? row[c] : std::string(); }, false);
}

std::string plainNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

void writePlainJson(const json::value& value, std::ostream& out) {
  switch (value.kind()) {
    case json::kind::double_:
      out << plainNumber(value.get_double());
      return;
    case json::kind::array: {
      out << '[';
      bool first = true;
      for (const auto& e : value.get_array()) {
        if (!first) out << ',';
        first = false;
        writePlainJson(e, out);
      }
      out << ']';
      return;
    }
    case json::kind::object: {
      out << '{';
      bool first = true;
      for (const auto& [k, v] : value.get_object()) {
        if (!first) out << ',';
        first = false;
        out << json::serialize(json::string(k)) << ':';
        writePlainJson(v, out);
      }
      out << '}';
      return;
    }
    default:
      out << json::serialize(value);
  }
}

std::vector<std::string> wrapText(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t line_width = 0;
  auto flush = [&] {
    lines.push_back(std::move(line));
    line.clear();
    line_width = 0;
  };
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find(' ', at), text.size());
    std::string_view word = text.substr(at, end - at);
    at = end + 1;
    if (word.empty()) continue;
    std::size_t word_width = ledger::displayWidth(word);
    if (width > 0 && line_width > 0 && line_width + 1 + word_width > width) flush();
    while (width > 0 && word_width > width) {  // longer than a line: split it at a code point
      if (line_width > 0) flush();
      std::size_t cut = 0;
      for (std::size_t n = 0; cut < word.size() && n < width; ++n) {
        ++cut;
        while (cut < word.size() && (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80)
          ++cut;
      }
      line = std::string(word.substr(0, cut));
      flush();
      word.remove_prefix(cut);
      word_width = ledger::displayWidth(word);
    }
    if (word.empty()) continue;
    if (line_width > 0) {
      line += ' ';
      ++line_width;
    }
    line += word;
    line_width += word_width;
  }
  if (!line.empty() || lines.empty()) flush();
  return lines;
}

}  // namespace steward::stewardctl
