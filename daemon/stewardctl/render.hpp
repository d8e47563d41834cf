// The answers to changes (approve, pause, ...), drawn from the daemon's JSON reply.
#pragma once

#include <boost/json/value.hpp>
#include <ostream>
#include <string_view>

#include "ledger/text.hpp"

namespace steward::stewardctl {

// "approved A3" plus the answer's fields, one per line; the answer's own "message" if it has one.
void renderAnswer(std::string_view what, const boost::json::value& answer,
                  const ledger::OutputStyle& style, std::ostream& out);

}  // namespace steward::stewardctl
