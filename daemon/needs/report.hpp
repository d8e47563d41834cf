// What `stewardctl needs [--json]` prints: each need with its forecast and why it was opened,
// read straight from the database (a read-only connection is enough; the daemon need not run).
#pragma once

#include <boost/json/array.hpp>
#include <ostream>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/database.hpp"

namespace steward::needs {

struct ReportOptions {
  bool json = false;
  bool include_closed = false;  // also fulfilled, cancelled and expired needs
};

// The needs as JSON: one object per need with its sources and each source's latest forecast.
// `now` decides which forecasts are stale. A database without the needs tables gives [].
core::Result<boost::json::array> needsJson(ledger::Database& db, core::TimePoint now,
                                           bool include_closed);

// Writes the table (or the JSON array and a newline) to `out`.
core::Result<void> writeNeedsReport(ledger::Database& db, core::TimePoint now,
                                    const ReportOptions& options, std::ostream& out);

}  // namespace steward::needs
