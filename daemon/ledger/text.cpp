// See text.hpp.
#include "ledger/text.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "core/time_format.hpp"

namespace steward::ledger {
namespace {

struct Civil {
  int year;
  unsigned month, day;
  long long hh, mm, ss, ms;
};

Civil civil(core::TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  long long rest = (t - day).count();  // ms since midnight
  return Civil{int(ymd.year()),    unsigned(ymd.month()), unsigned(ymd.day()), rest / 3'600'000,
               rest / 60'000 % 60, rest / 1000 % 60,      rest % 1000};
}

bool readInt(std::string_view& text, std::size_t digits, int& out) {
  if (text.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  std::from_chars(text.data(), text.data() + digits, out);
  text.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::string formatUtc(core::TimePoint t) {
  return core::formatUtcMillis(t);
}

std::string formatUtcShort(core::TimePoint t) {
  const Civil c = civil(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld:%02lld", c.year, c.month, c.day,
                c.hh, c.mm, c.ss);
  return buf;
}

core::Result<core::TimePoint> parseUtc(std::string_view text) {
  using namespace std::chrono;
  const std::string original(text);
  auto bad = [&] {
    return core::fail(
        "expected a UTC time like \"2026-05-01\" or \"2026-05-01T10:22:03Z\", got \"" + original +
        "\"");
  };
  int y = 0, mo = 0, d = 0, hh = 0, mi = 0, ss = 0, ms = 0;
  if (!readInt(text, 4, y) || !expect(text, '-') || !readInt(text, 2, mo) || !expect(text, '-') ||
      !readInt(text, 2, d)) {
    return bad();
  }
  if (!text.empty() && (text.front() == 'T' || text.front() == ' ')) {
    text.remove_prefix(1);
    if (!readInt(text, 2, hh) || !expect(text, ':') || !readInt(text, 2, mi)) return bad();
    if (!text.empty() && text.front() == ':') {
      text.remove_prefix(1);
      if (!readInt(text, 2, ss)) return bad();
      if (!text.empty() && text.front() == '.') {
        text.remove_prefix(1);
        if (!readInt(text, 3, ms)) return bad();
      }
    }
  }
  if (!text.empty() && text.front() == 'Z') text.remove_prefix(1);
  if (!text.empty()) return bad();
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok() || hh > 23 || mi > 59 || ss > 59) return bad();
  return core::TimePoint{sys_days(ymd).time_since_epoch() + hours(hh) + minutes(mi) + seconds(ss) +
                         milliseconds(ms)};
}

std::string toHex(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::optional<std::vector<unsigned char>> fromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<unsigned char> out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<unsigned char>(hi << 4 | lo));
  }
  return out;
}

std::string paint(std::string_view text, Colour colour, const OutputStyle& style) {
  if (!style.colour || colour == Colour::none) return std::string(text);
  const char* code = "";
  switch (colour) {
    case Colour::red:
      code = "\033[31m";
      break;
    case Colour::green:
      code = "\033[32m";
      break;
    case Colour::yellow:
      code = "\033[33m";
      break;
    case Colour::dim:
      code = "\033[2m";
      break;
    case Colour::bold:
      code = "\033[1m";
      break;
    case Colour::none:
      break;
  }
  return std::string(code) + std::string(text) + "\033[0m";
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  return out;
}

std::size_t displayWidth(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xc0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

std::string truncateDisplay(std::string_view text, std::size_t width) {
  if (width == 0 || displayWidth(text) <= width) return std::string(text);
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xc0) != 0x80) {
      if (n == width - 1) break;
      ++n;
    }
    out += text[i];
  }
  return out + "…";
}

void TextTable::add(std::vector<std::string> cells, std::vector<Colour> colours) {
  cells.resize(columns_.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    // Control characters would break the layout (and could drive the terminal).
    cells[i] = truncateDisplay(printable(cells[i]), columns_[i].max_width);
  }
  colours.resize(columns_.size(), Colour::none);
  rows_.push_back(std::move(cells));
  colours_.push_back(std::move(colours));
}

void TextTable::print(std::ostream& out, const OutputStyle& style, std::string_view indent) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i)
    width[i] = displayWidth(columns_[i].header);
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], displayWidth(row[i]));
  }
  auto line = [&](const std::vector<std::string>& cells, const std::vector<Colour>* colours,
                  bool header) {
    std::string text(indent);
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const bool last = i + 1 == cells.size();
      const std::size_t pad = width[i] - displayWidth(cells[i]);
      Colour c = header ? Colour::bold : (colours ? (*colours)[i] : Colour::none);
      if (columns_[i].right) text.append(pad, ' ');
      text += paint(cells[i], c, style);
      if (!columns_[i].right && !last) text.append(pad, ' ');
      if (!last) text += "  ";
    }
    out << text << '\n';
  };
  std::vector<std::string> headers;
  for (const auto& c : columns_)
    headers.push_back(c.header);
  line(headers, nullptr, true);
  for (std::size_t r = 0; r < rows_.size(); ++r)
    line(rows_[r], &colours_[r], false);
}

}  // namespace steward::ledger
