// See household.hpp.
#include "app/household.hpp"

#include <algorithm>
#include <map>

namespace steward::app {

using core::Duration;
using core::formatMoney;
using core::Logger;
using core::Money;
using core::Result;
using core::TimePoint;
namespace {

constexpr std::string_view kRepairPrefix = "repair:";
constexpr std::string_view kOutagePrefix = "outage:";
constexpr std::string_view kMeterPrefix = "meter-report:";

// Service visits and reports have no lead time in the policy; a technician is rarely there the
// same day, so plan for two.
constexpr Duration kServiceLeadTime = std::chrono::days{2};

std::vector<std::string> ids(const std::vector<const policy::Retailer*>& retailers) {
  std::vector<std::string> out;
  for (const auto* r : retailers)
    out.push_back(r->id);
  return out;
}

std::vector<std::string> windowTexts(const std::vector<policy::TimeWindow>& windows) {
  std::vector<std::string> out;
  for (const auto& w : windows)
    out.push_back(w.text);
  return out;
}

// The first hour-long slot from `from` on that lies in a visit window and outside quiet hours,
// searched in half-hour steps over two weeks: the visit a service request proposes.
std::optional<std::pair<TimePoint, TimePoint>> firstVisitSlot(const policy::Policy& p,
                                                              TimePoint from) {
  const auto& s = p.service;
  const auto inAny = [&](const std::vector<policy::TimeWindow>& ws, TimePoint t) {
    const auto local = p.household.time_zone.toLocal(t);
    return std::any_of(ws.begin(), ws.end(), [&](const auto& w) { return w.contains(local); });
  };
  constexpr auto step = std::chrono::minutes{30};
  TimePoint t = std::chrono::ceil<std::chrono::hours>(from);
  for (int i = 0; i < 14 * 48; ++i, t += step) {
    const TimePoint end = t + std::chrono::hours{1} - std::chrono::milliseconds{1};
    const bool windowOk =
        s.visit_windows.empty() || (inAny(s.visit_windows, t) && inAny(s.visit_windows, end));
    const bool quiet = inAny(s.quiet_hours, t) || inAny(s.quiet_hours, end);
    if (windowOk && !quiet) return std::make_pair(t, t + std::chrono::hours{1});
  }
  return std::nullopt;
}

needs::Verdict verdictOf(policy::Outcome o) {
  switch (o) {
    case policy::Outcome::allow:
      return needs::Verdict::allow;
    case policy::Outcome::needsApproval:
      return needs::Verdict::needsApproval;
    case policy::Outcome::deny:
      break;
  }
  return needs::Verdict::deny;
}

// A budget state that also counts, per category, the items of the basket checked before.
class WithPending final : public policy::BudgetState {
 public:
  WithPending(const policy::BudgetState& base, const std::map<std::string, std::int64_t>& pending)
      : base_(base), pending_(pending) {}
  policy::BudgetTotals totals(std::string_view category, policy::Month month) const override {
    auto t = base_.totals(category, month);
    if (auto it = pending_.find(std::string(category)); it != pending_.end())
      t.reserved += it->second;
    return t;
  }
  policy::BudgetTotals retailerTotals(std::string_view category, std::string_view retailer,
                                      policy::Month month) const override {
    return base_.retailerTotals(category, retailer, month);
  }

 private:
  const policy::BudgetState& base_;
  const std::map<std::string, std::int64_t>& pending_;
};

}  // namespace

std::optional<needs::CatalogItem> PolicyCatalog::lookup(const needs::CatalogQuery& q) const {
  const auto p = policy_.current();
  if (!p || p->deviceDisabled(q.device_id)) return std::nullopt;
  if (auto paused = controls_.pausedFor(q.device_id);
      paused && *paused && !(*paused)->device.empty())
    return std::nullopt;
  const discovery::Device* device = registry_.find(q.device_id);
  const std::string kind = device ? device->kind : "";
  const std::string name = device && !device->name.empty() ? device->name : q.device_id;

  needs::CatalogItem out;
  out.policy_revision = p->revision;
  switch (q.kind) {
    case discovery::SignalKind::consumable:
    case discovery::SignalKind::battery: {
      const policy::Item* item = p->findItem(q.device_id, kind, q.key);
      if (!item) return std::nullopt;
      out.item_id = item->id;
      out.category = p->categoryFor(q.device_id, item, item->category);
      out.description = item->id + (item->products.empty() ? "" : " (" + item->products[0] + ")");
      out.retailers = ids(p->retailersFor(*item));
      out.lead_time = item->lead_time;
      out.safety = item->order_ahead;
      out.estimated_price = item->max_unit_price;
      return out;
    }
    case discovery::SignalKind::fault:
    case discovery::SignalKind::outage: {
      const bool fault = q.kind == discovery::SignalKind::fault;
      // One visit per device however many fault codes it reports; one per outage kind.
      out.item_id =
          std::string(fault ? kRepairPrefix : kOutagePrefix) + (fault ? q.device_id : q.key);
      out.category = p->categoryFor(q.device_id, nullptr, p->service.category);
      out.description = fault ? "service visit for " + name + " (" + q.key + ")"
                              : q.key + " outage reported by " + name;
      out.retailers = p->service.providers;
      out.lead_time = kServiceLeadTime;
      out.estimated_price = p->service.max_call_out_fee;
      out.visit_windows = windowTexts(p->service.visit_windows);
      return out;
    }
    case discovery::SignalKind::meter: {
      out.item_id = std::string(kMeterPrefix) + q.key;
      out.category = "energy";
      out.description = "report the " + q.key + " meter reading of " + name;
      for (const auto& [id, r] : p->retailers)
        if (r.serves("energy")) out.retailers.push_back(id);
      if (out.retailers.empty()) return std::nullopt;  // no supplier to report to
      out.report_schedule = needs::ReportSchedule{p->meter.report_day, p->meter.every_months};
      return out;
    }
  }
  return std::nullopt;
}

bool PolicyGate::paused() const {
  auto r = controls_.globallyPaused();
  // Fail closed: if the owner's switch cannot be read, act as if it were off.
  return !r || *r;
}

std::string PolicyGate::revision() const {
  const auto p = policy_.current();
  return (p ? p->revision : std::string()) + (paused() ? "+paused" : "");
}

policy::Request PolicyGate::requestFor(const needs::ItemCheck& item) const {
  policy::Request q;
  q.at = item.at;
  q.retailer_id = item.retailer;
  q.category = item.category;
  q.quantity = item.quantity;
  q.amount = item.estimate;
  std::string_view id = item.item_id;
  if (id.starts_with(kRepairPrefix) || id.starts_with(kOutagePrefix)) {
    q.kind = policy::RequestKind::service;
    if (id.starts_with(kRepairPrefix)) q.device_id = std::string(id.substr(kRepairPrefix.size()));
    q.call_out_fee = item.estimate;
    if (const auto p = policy_.current()) {
      if (auto slot = firstVisitSlot(*p, std::max(item.at, item.needed_by - kServiceLeadTime))) {
        q.visit_start = slot->first;
        q.visit_end = slot->second;
      }
    }
  } else if (id.starts_with(kMeterPrefix)) {
    q.kind = policy::RequestKind::meterReport;
    q.amount.reset();
  } else {
    q.kind = policy::RequestKind::purchase;
    q.item_id = item.item_id;
    q.unit_price = item.unit_price;
    // One device asking: its overrides and device rules apply. Several: the item's own.
    if (item.devices.size() == 1) q.device_id = item.devices.front();
  }
  return q;
}

needs::GateResult PolicyGate::translate(const policy::Decision& d, TimePoint at) const {
  needs::GateResult r;
  r.verdict = verdictOf(d.outcome);
  r.reasons = d.ledgerReasons();
  r.policy_revision = d.revision;
  // A budget that is full now has room again next month: ask again daily until then.
  if (r.verdict == needs::Verdict::deny &&
      std::any_of(d.budgets.begin(), d.budgets.end(), [](const auto& b) { return b.exceeds(); }))
    r.retry_after = at + std::chrono::days{1};
  return r;
}

std::optional<needs::GateResult> PolicyGate::refusedOutright(const policy::Policy* p) const {
  if (!p) return needs::GateResult{needs::Verdict::deny, {"policy: no policy in force"}, "", {}};
  if (paused()) {
    return needs::GateResult{needs::Verdict::deny,
                             {"owner.pause: purchasing is paused (stewardctl resume)"},
                             p->revision,
                             {}};
  }
  return std::nullopt;
}

needs::GateResult PolicyGate::evaluateItem(const needs::ItemCheck& item) {
  const auto p = policy_.current();
  if (auto refused = refusedOutright(p.get())) return *refused;
  const policy::Request q = requestFor(item);
  return translate(policy::evaluate(*p, budgets_, q), item.at);
}

needs::GateResult PolicyGate::evaluateBasket(const needs::BasketCheck& basket) {
  const auto p = policy_.current();
  if (auto refused = refusedOutright(p.get())) return *refused;
  // Items are checked again one after another, each against the budgets as they would stand
  // with the items before it in this basket: the basket fits only if all of it fits. Money held
  // by purchases in flight is in the budget book already (their reservations), so it is counted
  // once. A category's subtotal is one order for its per-order cap.
  needs::GateResult worst{needs::Verdict::allow, {}, p->revision, std::nullopt};
  const auto raise = [&](const needs::GateResult& r) {
    worst.reasons.insert(worst.reasons.end(), r.reasons.begin(), r.reasons.end());
    if (static_cast<int>(r.verdict) > static_cast<int>(worst.verdict)) worst.verdict = r.verdict;
    if (r.retry_after) worst.retry_after = r.retry_after;
  };
  std::map<std::string, std::int64_t> held;  // by category: this basket's items so far
  std::map<std::string, std::int64_t> subtotal;
  for (needs::ItemCheck item : basket.items) {
    item.at = basket.at;
    item.retailer = basket.retailer;
    const WithPending budgets(budgets_, held);
    raise(translate(policy::evaluate(*p, budgets, requestFor(item)), basket.at));
    if (item.estimate) {
      held[item.category] += item.estimate->minor;
      subtotal[item.category] += item.estimate->minor;
    }
  }
  for (const auto& [category, total] : subtotal) {
    const policy::Budget* b = p->budget(category);
    if (b && b->per_order && total > b->per_order->minor) {
      raise({needs::Verdict::deny,
             {"budgets." + category + ".per_order: the basket's " + category + " total " +
              formatMoney(Money{total, p->household.currency}) + " is above " +
              formatMoney(*b->per_order)},
             p->revision,
             std::nullopt});
    }
  }
  return worst;
}

}  // namespace steward::app
