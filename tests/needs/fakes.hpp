// Stand-ins for what the Hub provides over the household policy: an in-memory Catalog and a Gate
// with per-item verdicts and a monthly budget, so tests can steer every branch.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/money.hpp"
#include "needs/catalog.hpp"
#include "needs/gate.hpp"
#include "needs/schedule.hpp"

namespace steward::needs::test {

inline core::Money eur(std::int64_t cents) {
  return core::Money{cents, *core::currencyFromCode("EUR")};
}

class MemoryCatalog final : public Catalog {
 public:
  // `device` "*" matches any device.
  void add(std::string device, discovery::SignalKind kind, std::string key, CatalogItem item) {
    items_[{std::move(device), kind, std::move(key)}] = std::move(item);
  }

  std::optional<CatalogItem> lookup(const CatalogQuery& q) const override {
    ++lookups;
    if (auto it = items_.find({q.device_id, q.kind, q.key}); it != items_.end()) return it->second;
    if (auto it = items_.find({"*", q.kind, q.key}); it != items_.end()) return it->second;
    return std::nullopt;
  }

  mutable int lookups = 0;

 private:
  std::map<std::tuple<std::string, discovery::SignalKind, std::string>, CatalogItem> items_;
};

class FakeGate final : public Gate {
 public:
  GateResult evaluateItem(const ItemCheck& item) override {
    items.push_back(item);
    auto it = item_verdicts.find(item.item_id);
    Verdict v = it == item_verdicts.end() ? Verdict::allow : it->second;
    if (refused.count({item.item_id, item.retailer})) v = Verdict::deny;
    GateResult r{v, {}, rev, std::nullopt};
    if (v != Verdict::allow) r.reasons.push_back("rules.items: " + std::string(toString(v)));
    if (auto extra = item_reasons.find(item.item_id); extra != item_reasons.end())
      r.reasons.insert(r.reasons.end(), extra->second.begin(), extra->second.end());
    return r;
  }

  GateResult evaluateBasket(const BasketCheck& basket) override {
    baskets.push_back(basket);
    GateResult r{Verdict::allow, basket_reasons, rev, std::nullopt};
    if (!monthly_budget) return r;
    using namespace std::chrono;
    const year_month_day day{floor<days>(basket.at)};
    const std::string month = monthName(day);
    std::int64_t used = spent[month];
    const std::int64_t want = basket.estimate ? basket.estimate->minor : 0;
    if (used + want > monthly_budget->minor) {
      r.verdict = Verdict::deny;
      r.reasons.push_back("budgets.monthly: " + core::formatMoney(eur(used)) + " of " +
                          core::formatMoney(*monthly_budget) + " used in " + month + ", basket " +
                          core::formatMoney(eur(want)) + " would exceed it");
      const year_month next = year_month{day.year(), day.month()} + months{1};
      r.retry_after = time_point_cast<milliseconds>(sys_days{next / 1});
    } else {
      r.reasons.push_back("budgets.monthly: " + core::formatMoney(eur(used + want)) + " of " +
                          core::formatMoney(*monthly_budget) + " in " + month);
    }
    return r;
  }

  std::string revision() const override { return rev; }

  static std::string monthName(const std::chrono::year_month_day& d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u", int(d.year()), unsigned(d.month()));
    return buf;
  }

  std::string rev = "rev-1";
  std::map<std::string, Verdict> item_verdicts;
  std::map<std::string, std::vector<std::string>> item_reasons;  // added to an item's verdict
  std::vector<std::string> basket_reasons;                       // every basket's verdict
  std::set<std::pair<std::string, std::string>> refused;         // (item, retailer) denied
  std::optional<core::Money> monthly_budget;
  std::map<std::string, std::int64_t> spent;  // month "2025-01" → minor units
  std::vector<ItemCheck> items;
  std::vector<BasketCheck> baskets;
};

}  // namespace steward::needs::test
