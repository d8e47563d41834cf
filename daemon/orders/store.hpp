// The purchasing module's tables (migration "orders"): purchases, the needs each holds and the
// budget reservations each made. Joins the caller's open transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "ledger/database.hpp"
#include "orders/purchasing.hpp"

namespace steward::orders::store {

core::Result<void> migrate(ledger::Database& db);

// Inserts a new purchase (id 0) and returns its id, or updates the one with `p.id`.
core::Result<std::int64_t> save(ledger::Database& db, const Purchase& p);

core::Result<std::optional<Purchase>> byId(ledger::Database& db, std::int64_t id);
core::Result<std::optional<Purchase>> byBasket(ledger::Database& db, std::int64_t basket);
core::Result<std::optional<Purchase>> byApproval(ledger::Database& db, std::string_view approval);
// Oldest first; live ones only (awaiting approval or sourcing) when `live_only`.
core::Result<std::vector<Purchase>> list(ledger::Database& db, bool live_only);

}  // namespace steward::orders::store
