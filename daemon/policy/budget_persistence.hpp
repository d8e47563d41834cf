// Between the in-memory BudgetBook and the ledger's BudgetStore: converting entries, and
// rebuilding the book at start-up. The Hub saves an entry after each reserve/commit/release, in
// the same transaction as the ledger decision that caused it.
#pragma once

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/budget_store.hpp"
#include "policy/budget.hpp"

namespace steward::policy {

ledger::BudgetEntry toEntry(const Reservation& r, core::TimePoint now);
// Fails on a row that does not describe a valid entry (bad month, currency or state).
core::Result<Reservation> fromEntry(const ledger::BudgetEntry& e);

// Loads every live entry from `store` into `book` (BudgetBook::restore: all or nothing).
core::Result<void> restoreBudgets(BudgetBook& book, ledger::BudgetStore& store);

}  // namespace steward::policy
