// See budget_store.hpp.
#include "ledger/budget_store.hpp"

#include <array>

namespace steward::ledger {
namespace {

// Append-only: never edit a step that has shipped.
constexpr std::array<std::string_view, 1> kSchema{{
    "CREATE TABLE budget_reservations("
    "  id TEXT PRIMARY KEY,"
    "  category TEXT NOT NULL,"
    "  retailer_id TEXT NOT NULL DEFAULT '',"
    "  month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),"
    "  currency TEXT NOT NULL CHECK (length(currency) = 3),"
    "  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX budget_reservations_live ON budget_reservations(state, month);",
}};

constexpr std::string_view kColumns =
    "id, category, retailer_id, month, amount_minor, currency, state, updated_ms";

BudgetEntry rowToEntry(const Statement& s) {
  return BudgetEntry{s.text(0),  s.text(1), s.text(2), s.text(3),
                     s.int64(4), s.text(5), s.text(6), core::fromUnixMillis(s.int64(7))};
}

}  // namespace

Result<BudgetStore> BudgetStore::open(Database& db) {
  if (auto r = db.migrate("budgets", kSchema); !r) return r.error();
  return BudgetStore(db);
}

Result<bool> BudgetStore::hasTable() {
  auto s = db_->prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'budget_reservations'");
  if (!s) return s.error();
  return s->step();
}

Result<void> BudgetStore::save(const BudgetEntry& e) {
  auto s = db_->prepare("INSERT INTO budget_reservations(" + std::string(kColumns) +
                        ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                        "ON CONFLICT(id) DO UPDATE SET category = excluded.category, "
                        "retailer_id = excluded.retailer_id, month = excluded.month, "
                        "amount_minor = excluded.amount_minor, currency = excluded.currency, "
                        "state = excluded.state, updated_ms = excluded.updated_ms");
  if (!s) return s.error();
  s->bind(1, e.id)
      .bind(2, e.category)
      .bind(3, e.retailer_id)
      .bind(4, e.month)
      .bind(5, e.amount_minor)
      .bind(6, e.currency)
      .bind(7, e.state)
      .bind(8, static_cast<std::int64_t>(core::toUnixMillis(e.updated_at)));
  return s->run();
}

Result<std::vector<BudgetEntry>> BudgetStore::live() {
  auto exists = hasTable();
  if (!exists) return exists.error();
  std::vector<BudgetEntry> out;
  if (!*exists) return out;
  auto s = db_->prepare("SELECT " + std::string(kColumns) +
                        " FROM budget_reservations WHERE state IN ('reserved', 'committed') "
                        "ORDER BY id");
  if (!s) return s.error();
  if (auto done = s->forEach([&](auto&) { out.push_back(rowToEntry(*s)); }); !done)
    return done.error();
  return out;
}

Result<std::optional<BudgetEntry>> BudgetStore::find(const std::string& id) {
  auto exists = hasTable();
  if (!exists) return exists.error();
  if (!*exists) return std::optional<BudgetEntry>{};
  auto s =
      db_->prepare("SELECT " + std::string(kColumns) + " FROM budget_reservations WHERE id = ?1");
  if (!s) return s.error();
  s->bind(1, id);
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return std::optional<BudgetEntry>{};
  return std::optional<BudgetEntry>{rowToEntry(*s)};
}

}  // namespace steward::ledger
