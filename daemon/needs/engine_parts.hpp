// The needs engine's parts share this (engine.cpp: transactions, loading, views; intake.cpp:
// signals; lifecycle.cpp: state moves; ticks.cpp: time-driven work; sourcing.cpp: baskets). Not
// a public header: only the engine's own files include it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/duration.hpp"
#include "ledger/ledger.hpp"
#include "needs/engine.hpp"

namespace steward::needs::detail {

// The ledger's caps on one decision; reasons and causes are cut to fit rather than refused.
using ledger::hasControl;
using ledger::kMaxCauses;
using ledger::kMaxReasons;
constexpr std::size_t kMaxReasonBytes = ledger::kMaxTextBytes;

// Cuts at a UTF-8 character boundary.
inline std::string clip(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  s.resize(cut);
  return s + "...";
}

inline std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

inline std::string subjectOf(NeedId id) {
  return "need:" + std::to_string(id);
}

inline bool isLevelKind(discovery::SignalKind k) {
  return k == discovery::SignalKind::consumable || k == discovery::SignalKind::battery;
}

inline int severityRank(discovery::Severity s) {
  switch (s) {
    case discovery::Severity::info:
      return 0;
    case discovery::Severity::warning:
      return 1;
    case discovery::Severity::critical:
      return 2;
  }
  return 0;
}

// Consumables: one per device that needs it; services and tasks: one.
inline int quantityOf(const Need& n) {
  if (!isLevelKind(n.kind)) return 1;
  std::set<std::string> devices;
  for (const auto& s : n.sources)
    if (s.active && isLevelKind(s.kind)) devices.insert(s.device_id);
  return std::max<int>(1, static_cast<int>(devices.size()));
}

inline boost::json::value timeJson(const std::optional<core::TimePoint>& t) {
  if (!t) return nullptr;
  return boost::json::value(formatUtc(*t));
}

inline const char* statusName(ForecastStatus s) {
  switch (s) {
    case ForecastStatus::insufficient:
      return "insufficient";
    case ForecastStatus::idle:
      return "idle";
    case ForecastStatus::depleting:
      return "depleting";
  }
  return "?";
}

inline boost::json::object forecastJson(const Forecast& f, const std::string& unit,
                                        core::TimePoint now) {
  boost::json::object o;
  o["status"] = statusName(f.status);
  o["level"] = std::round(f.level * 10.0) / 10.0;
  o["unit"] = unit;
  o["rate_per_day"] = std::round(f.rate_per_day * 1000.0) / 1000.0;
  o["runout"] = timeJson(f.runout);
  o["uncertainty_days"] =
      std::round(std::chrono::duration<double, std::ratio<86400>>(f.uncertainty).count() * 10.0) /
      10.0;
  o["readings"] = f.points;
  o["last_reading"] = timeJson(f.points ? std::optional(f.last_at) : std::nullopt);
  o["stale"] = f.staleAt(now);
  return o;
}

// What the gate is asked about one need bought from `retailer`.
inline ItemCheck itemCheck(const Need& n, const std::string& retailer, core::TimePoint now) {
  ItemCheck c;
  c.need_id = n.id;
  c.item_id = n.item_id;
  c.category = n.category;
  c.quantity = n.quantity;
  c.unit_price = n.unit_price;
  c.estimate = n.estimate();
  for (const auto& src : n.sources)
    if (src.active) c.devices.push_back(src.device_id);
  c.retailer = retailer;
  c.needed_by = n.needed_by;
  c.at = now;
  return c;
}

// When a forecast need falls due: run-out − lead − safety − the forecast's own uncertainty.
inline core::TimePoint dueOf(const Forecast& f, const CatalogItem& item) {
  return *f.runout - item.lead_time - item.safety - f.uncertainty;
}

inline core::Duration roundedToHours(core::Duration d) {
  return std::chrono::duration_cast<core::Duration>(std::chrono::round<std::chrono::hours>(d));
}

inline boost::json::value moneyJson(const std::optional<core::Money>& m) {
  if (!m) return nullptr;
  return boost::json::value(core::formatMoney(*m));
}

}  // namespace steward::needs::detail

namespace steward::needs {

struct NeedsEngine::Series {
  std::string device_id, key, item_id, unit;
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  LevelSeries levels;
  Forecast forecast;
  std::optional<core::TimePoint> due;
  std::optional<core::TimePoint> last_refill_at;
};

struct NeedsEngine::Change {
  core::TimePoint now;
  std::map<NeedId, Need> needs;
  std::map<Key, std::optional<Series>> series;  // nullopt: delete
  std::set<Key> observed;                       // series whose readings changed
  std::map<Key, std::optional<store::MeterRow>> meters;
  std::map<Key, std::optional<store::QuietRow>> quiet;
  std::set<BasketId> touched_baskets;
  std::vector<Basket> ready;
  std::vector<NeedId> closed;
};

struct NeedsEngine::OpenRequest {
  std::string device_id, key;
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  discovery::Severity severity = discovery::Severity::info;
  std::string reason;
  std::string outcome = "opened";
  core::TimePoint order_from, order_by, needed_by;
  boost::json::object evidence;
};

template <class T>
Result<T> NeedsEngine::transact(const std::function<Result<T>(Change&)>& action) {
  // Memory follows the commit of the outermost transaction: inside another module's unit of
  // work (a savepoint here), the change is applied only once that commits, and never if it rolls
  // back. Until then this engine still shows the state before the change.
  ledger::Database& db = ledger_.database();
  const bool joined = db.inTransaction();
  ledger::Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto ch = std::make_shared<Change>();
  ch->now = clock_.now();
  auto result = action(*ch);
  if (!result) return result.error();
  if (auto r = persist(*ch); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  if (joined) {
    db.afterCommit([this, ch] { apply(*ch); });
  } else {
    apply(*ch);
  }
  return result;
}

}  // namespace steward::needs
