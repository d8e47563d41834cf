// stewardctl backup: a consistent copy of the hub's database, taken with SQLite's online backup
// API while stewardd keeps running (WAL: the copy is one snapshot and never blocks the hub's
// writers). The copy is checked (integrity check, then the decision chain) before it is given
// its name, so a file at the destination is always a complete, verified backup.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "ledger/verify.hpp"

namespace steward::stewardctl {

struct BackupReport {
  std::int64_t bytes = 0;      // size of the copy
  ledger::VerifyReport chain;  // the copy's decision chain, as verify sees it
};

// Copies the database at `source` to `destination`. Fails, leaving nothing at `destination`,
// when the destination already exists (backups are never overwritten), names the source itself,
// its directory cannot be written, the source cannot be read or is not a Steward ledger, or the
// copy fails SQLite's integrity check. A copy whose chain shows tampering is still written (it
// is what the hub holds); the report's chain says so and the caller decides.
core::Result<BackupReport> backupDatabase(const std::string& source,
                                          const std::string& destination);

}  // namespace steward::stewardctl
