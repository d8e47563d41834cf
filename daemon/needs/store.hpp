// The needs module's own tables (migration "needs"): needs and their sources, baskets, level
// series with their readings and latest forecast, and meters. The engine writes them inside the
// transaction of the decision that changes them; the report reads them (read-only works).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "ledger/database.hpp"
#include "needs/forecast.hpp"
#include "needs/need.hpp"

namespace steward::needs::store {

using core::Result;

Result<void> migrate(ledger::Database& db);
// Whether the tables exist (a read-only reader of a database the daemon never ran on).
Result<bool> present(ledger::Database& db);

// Inserts the need and its sources; returns the new id.
Result<NeedId> insertNeed(ledger::Database& db, const Need& need);
// Rewrites the need's row and upserts its sources.
Result<void> updateNeed(ledger::Database& db, const Need& need);
// Needs with their sources, oldest first; closed ones only when asked.
Result<std::vector<Need>> loadNeeds(ledger::Database& db, bool include_closed);

Result<BasketId> insertBasket(ledger::Database& db, const Basket& basket, std::string_view state);
Result<void> setBasketState(ledger::Database& db, BasketId id, std::string_view state);
// Baskets in `state` ("sourcing", "denied", "done"), oldest first.
Result<std::vector<Basket>> basketsInState(ledger::Database& db, std::string_view state);

struct SeriesRow {
  std::string device_id, key;
  std::string item_id;  // as the catalog last named it
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  std::string unit;
  int refills = 0;
  std::optional<core::TimePoint> last_refill_at;
  Forecast forecast;                         // the latest, for stewardctl
  std::optional<core::TimePoint> due;        // run-out − lead − safety, when known
  std::deque<Observation> segment, pending;  // loadSeries(with_observations) only
};

Result<void> saveSeries(ledger::Database& db, const SeriesRow& row);
// Makes the stored readings of (device, key) equal to `segment` + `pending`, touching only what
// changed: the newest reading is inserted, dropped ones deleted.
Result<void> syncObservations(ledger::Database& db, const std::string& device_id,
                              const std::string& key, const std::deque<Observation>& segment,
                              const std::deque<Observation>& pending);
Result<std::vector<SeriesRow>> loadSeries(ledger::Database& db, bool with_observations);
Result<void> deleteSeries(ledger::Database& db, const std::string& device_id,
                          const std::string& key);

struct QuietRow {
  std::string device_id, key;
  core::TimePoint until;
  std::string reason;
};

Result<void> setQuiet(ledger::Database& db, const QuietRow& row);
Result<void> clearQuiet(ledger::Database& db, const std::string& device_id, const std::string& key);
Result<std::vector<QuietRow>> loadQuiet(ledger::Database& db);

struct MeterRow {
  std::string device_id, key;
  std::string item_id;
  std::string unit;
  double value = 0.0;
  core::TimePoint read_at;
  std::optional<core::TimePoint> next_due;
  std::optional<core::TimePoint> reported_read_at;  // the reading the last task carried
};

Result<void> saveMeter(ledger::Database& db, const MeterRow& row);
Result<std::vector<MeterRow>> loadMeters(ledger::Database& db);
Result<void> deleteMeter(ledger::Database& db, const std::string& device_id,
                         const std::string& key);

}  // namespace steward::needs::store
