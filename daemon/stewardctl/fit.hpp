// Tables that fit the terminal, and JSON whose numbers read as people write them.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/text.hpp"

namespace steward::stewardctl {

// Columns are dropped, least important first (lowest `keep`; 0 is never dropped), until the table
// fits `width`; then the widest `shrinks` column is cut (with "…") to what is left. Width 0: no
// limit (--wide).
struct FitColumn {
  std::string header;
  bool right = false;
  int keep = 0;
  bool shrinks = false;
};
void printFitted(const std::vector<FitColumn>& columns,
                 const std::vector<std::vector<std::string>>& rows, std::size_t width,
                 const ledger::OutputStyle& style, std::ostream& out);

// `text` broken at spaces into lines of at most `width` display characters; a word longer than
// a line is split. Width 0: one line. Never returns an empty list.
std::vector<std::string> wrapText(std::string_view text, std::size_t width);

// A number as a person writes it: 93, 1.2, -0.25 (shortest round-trip form, never "9.3E1").
std::string plainNumber(double value);
// `value` as JSON with every number in that form.
void writePlainJson(const boost::json::value& value, std::ostream& out);

}  // namespace steward::stewardctl
