// `stewardctl devices [--json]`: the registry as the database holds it, as an aligned table or
// JSON. Reads only (works on a database opened read-only while the daemon runs, thanks to WAL).
#pragma once

#include <ostream>

#include "core/result.hpp"
#include "ledger/database.hpp"

namespace steward::discovery {

enum class ReportFormat { table, json };

// Writes every device (ordered by id) with its sources, availability, last seen, levels and open
// needs. A database without the registry's tables lists no devices. Fails on a database error.
core::Result<void> printDevices(ledger::Database& db, std::ostream& out, ReportFormat format);

}  // namespace steward::discovery
