// What the household buys or books for a device's signal: the needs module asks a Catalog, which
// the Hub implements over the household policy (lead times, safety days, approved retailers).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "discovery/signals.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

struct CatalogQuery {
  std::string
      device_id;  // the implementation resolves the device's kind and model from the registry
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  std::string key;           // "toner-black", "battery", "E24", "electricity"
  std::string product_hint;  // what the device suggests ("TN-2420"); may be empty
  std::string unit;
};

struct CatalogItem {
  // One need per item id in the household: two printers taking the same toner share an id.
  std::string item_id;      // "toner:TN-2420", "repair:washer-1", "meter-report:electricity"
  std::string category;     // "toner", "battery", "filter", "repair", "outage", "meter-report"
  std::string description;  // for people: "Brother TN-2420 black toner"
  // Approved retailers (or service providers / the supplier) that can fulfil it, in policy order.
  std::vector<std::string> retailers;
  core::Duration lead_time{};  // delivery or visit lead time
  core::Duration safety{};     // the policy's safety days: order this much earlier still
  std::optional<core::Money> estimated_price;  // per unit, for the budget pre-check; may be unknown
  std::vector<std::string> visit_windows;      // services: the policy's windows, passed through
  std::optional<ReportSchedule> report_schedule;        // meters: when readings are due
  core::Duration expire_after = std::chrono::days{30};  // an open need nobody repeats expires
  double empty_level = 0.0;  // consumables: the level at which it has run out, in the signal's unit
  std::string policy_revision;  // revision of the policy the answer came from
};

class Catalog {
 public:
  virtual ~Catalog() = default;
  // nullopt: the household does not track this signal (it is ignored, not an error).
  // Must be cheap and side-effect free: it is called on every signal and tick.
  virtual std::optional<CatalogItem> lookup(const CatalogQuery& query) const = 0;
};

}  // namespace steward::needs
