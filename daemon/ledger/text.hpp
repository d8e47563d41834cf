// Small text helpers shared by the ledger's review functions: UTC timestamps, hex, aligned
// tables and terminal colour (used only when the caller says the output is a terminal).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace steward::ledger {

// "2026-05-01T10:22:03.120Z" (millis) or "2026-05-01 10:22:03" (for tables).
std::string formatUtc(core::TimePoint t);
std::string formatUtcShort(core::TimePoint t);
// Accepts "2026-05-01", "2026-05-01T10:22", "2026-05-01T10:22:03", optional ".mmm", optional
// "Z"; a space may replace the 'T'. Always UTC.
core::Result<core::TimePoint> parseUtc(std::string_view text);

std::string toHex(std::span<const unsigned char> bytes);
// nullopt unless `hex` is an even number of hex digits.
std::optional<std::vector<unsigned char>> fromHex(std::string_view hex);

// How review output is written. `colour` only when stdout is a terminal (the caller checks
// isatty; the functions here never do).
struct OutputStyle {
  bool json = false;
  bool colour = false;
};

enum class Colour { none, red, green, yellow, dim, bold };
std::string paint(std::string_view text, Colour colour, const OutputStyle& style);

// A table whose columns are as wide as their widest cell; numeric columns right-aligned.
// Cells are truncated to `max_width` display characters (with "…") where a column sets one.
class TextTable {
 public:
  struct Column {
    std::string header;
    bool right = false;
    std::size_t max_width = 0;  // 0: no limit
  };
  explicit TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // One cell per column; colour applies to the cell's text after padding is computed.
  void add(std::vector<std::string> cells, std::vector<Colour> colours = {});
  void print(std::ostream& out, const OutputStyle& style, std::string_view indent = "") const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<Colour>> colours_;
};

// `text` with control characters (which could drive the terminal) replaced by spaces.
std::string printable(std::string_view text);

// Display width of UTF-8 text (code points; good enough for the names and ids shown).
std::size_t displayWidth(std::string_view text);
// `text` cut to `width` display characters, ending in "…" when cut.
std::string truncateDisplay(std::string_view text, std::size_t width);

}  // namespace steward::ledger
