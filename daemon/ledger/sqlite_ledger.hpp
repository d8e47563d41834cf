// The SQLite implementation of the ledger (see ledger.hpp).
#pragma once

#include <memory>
#include <string>

#include "core/clock.hpp"
#include "ledger/ledger.hpp"

namespace steward::ledger {

class SqliteLedger final : public Ledger {
 public:
  // Opens or creates the database at `path` and brings the ledger's schema up to date.
  static Result<std::unique_ptr<SqliteLedger>> open(const std::string& path,
                                                    const core::Clock& clock);

  Result<RecordedDecision> record(const Decision& decision) override;
  Database& database() override { return db_; }

  struct Head {
    std::int64_t seq = 0;
    std::string hash;
  };
  // The last record's sequence number and hash, read inside the current transaction so a
  // rolled-back append never leaves a stale head behind.
  Result<Head> head();

 private:
  SqliteLedger(Database db, const core::Clock& clock) : db_(std::move(db)), clock_(clock) {}

  Database db_;
  const core::Clock& clock_;
  Statement insert_;
  Statement head_;
};

// The canonical form a decision's hash is taken over; shared with `stewardctl verify`.
struct DecisionRow {
  std::int64_t seq = 0;
  std::string id;
  std::int64_t at_ms = 0;
  std::string kind, subject, input, outcome, reasons, policy_revision, causes, prev_hash;
};
std::string canonicalForm(const DecisionRow& row);
std::string sha256Hex(std::string_view data);

}  // namespace steward::ledger
