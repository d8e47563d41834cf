// Output stewardctl draws itself, for documents no module renders: the listings the daemon sends
// for devices and needs (an array of objects as an aligned table) and the answers to changes.
#pragma once

#include <boost/json/value.hpp>
#include <ostream>
#include <string_view>

#include "ledger/text.hpp"

namespace steward::stewardctl {

// Columns are the keys in order of first appearance; nested values are shown compactly.
void renderTable(const boost::json::value& rows, const ledger::OutputStyle& style,
                 std::ostream& out);

// "approved A3" plus the answer's fields, one per line; the answer's own "message" if it has one.
void renderAnswer(std::string_view what, const boost::json::value& answer,
                  const ledger::OutputStyle& style, std::ostream& out);

}  // namespace steward::stewardctl
