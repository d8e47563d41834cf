// Budget reservations on disk: one row per reservation (reserved, committed or released) in the
// ledger database, so money held by orders in flight survives a restart. The caps themselves are
// enforced by policy::BudgetBook; this only stores and returns its entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/database.hpp"

namespace steward::ledger {

struct BudgetEntry {
  std::string id;
  std::string category;
  std::string retailer_id;  // "" when none
  std::string month;        // "2026-12", in the household's time zone
  std::int64_t amount_minor = 0;
  std::string currency;  // ISO 4217 code
  std::string state;     // "reserved", "committed" or "released"
  core::TimePoint updated_at;
};

class BudgetStore {
 public:
  // Brings the "budgets" schema up to date on a writable database.
  static Result<BudgetStore> open(Database& db);
  // For read-only use (stewardctl): no migration; a database without the table reads as empty.
  static BudgetStore reader(Database& db) { return BudgetStore(db); }

  // Inserts or replaces the row with the entry's id. Joins an open transaction, so the caller can
  // store the entry together with the ledger decision that caused it.
  Result<void> save(const BudgetEntry& entry);
  // Entries still holding money: reserved or committed, ordered by id.
  Result<std::vector<BudgetEntry>> live();
  Result<std::optional<BudgetEntry>> find(const std::string& id);

 private:
  explicit BudgetStore(Database& db) : db_(&db) {}
  Result<bool> hasTable();

  Database* db_;
};

}  // namespace steward::ledger
