// The owner's views of the ledger's answers (log, explain, approvals, status): each draws the
// JSON document a ledger query returns, whether it came over D-Bus or from the file, and the
// print* shortcuts query the file and draw (or print the document for --json).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/database.hpp"
#include "ledger/review.hpp"
#include "ledger/text.hpp"

namespace steward::stewardctl {

// Reasons are printed whole under their decision, each once, wrapped to `width` (0: no limit).
void renderLog(const boost::json::array& decisions, const ledger::OutputStyle& style,
               std::ostream& out, std::size_t width = 80);
core::Result<void> printLog(ledger::Database& db, const ledger::LogQuery& query,
                            const ledger::OutputStyle& style, std::ostream& out,
                            std::size_t width = 80);

void renderExplanation(const boost::json::object& explanation, const ledger::OutputStyle& style,
                       std::ostream& out);
core::Result<void> printExplanation(ledger::Database& db, std::string_view id,
                                    const ledger::OutputStyle& style, std::ostream& out);

void renderApprovals(const boost::json::array& approvals, const ledger::OutputStyle& style,
                     std::ostream& out);
core::Result<void> printApprovals(ledger::Database& db, bool pending_only,
                                  const ledger::OutputStyle& style, std::ostream& out);

// Budgets whose "limit_minor" is null have no cap; a cap of 0 is a cap (nothing may be spent).
void renderStatus(const boost::json::object& status, const ledger::OutputStyle& style,
                  std::ostream& out);
core::Result<void> printStatus(ledger::Database& db, const ledger::OutputStyle& style,
                               std::ostream& out);

// "[##########----------]" for spent (and reserved as '+') against the cap; blank without a
// cap, full when the cap is 0 and anything is spent or reserved.
std::string budgetBar(std::int64_t spent, std::int64_t reserved, std::optional<std::int64_t> limit,
                      std::size_t width = 20);

// How a listing is laid out: colours, the width to fit (0: --wide, no limit) and "now" for
// relative times ("3 h ago", "in 2 days").
struct Layout {
  ledger::OutputStyle style;
  std::size_t width = 80;
  core::TimePoint now;
};

// `stewardctl devices`: the registry's JSON (discovery's report, the same over D-Bus and --db),
// one row per device with its levels in words and units ("toner black 12 %").
void renderDevices(const boost::json::value& devices, const Layout& layout, std::ostream& out);
// `stewardctl needs`: the needs engine's JSON, one row per need with its forecast and why.
void renderNeeds(const boost::json::value& needs, const Layout& layout, std::ostream& out);

// "2026-12-03 18:15:00 UTC (3 h ago)"; the text itself when it is not a UTC time.
std::string whenText(std::string_view utc, core::TimePoint now);
// "3 h ago", "in 2 days", "just now".
std::string relative(core::TimePoint t, core::TimePoint now);

}  // namespace steward::stewardctl
