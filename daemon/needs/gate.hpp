// The budget and policy check the needs module asks before it sources a basket. The Hub implements
// it over the policy engine; needs/ records each answer and moves the needs along.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"

namespace steward::needs {

enum class Verdict { allow, needsApproval, deny };

struct GateResult {
  Verdict verdict = Verdict::deny;
  std::vector<std::string>
      reasons;  // rule ids, budget figures: "budgets.monthly: 58.00 of 60.00 EUR"
  std::string policy_revision;
  // deny: when asking again may give another answer (say the next budget period). Without it the
  // needs module asks again only once the policy revision changes.
  std::optional<core::TimePoint> retry_after;
};

struct ItemCheck {
  std::int64_t need_id = 0;
  std::string item_id;
  std::string category;
  int quantity = 1;
  std::optional<core::Money> unit_price;  // the catalog's estimate, when known
  std::optional<core::Money> estimate;    // unit estimate × quantity, when known
  std::vector<std::string> devices;       // the devices asking for it (for device rules)
  std::string retailer;
  core::TimePoint needed_by;
  core::TimePoint at;  // now, from the injected clock
};

struct BasketCheck {
  std::string retailer;
  std::vector<ItemCheck> items;         // the items that passed their own check
  std::optional<core::Money> estimate;  // sum of known item estimates
  bool estimate_complete = true;        // false when some item has no estimate
  core::TimePoint order_by;             // the latest time to order for every item to arrive in time
  core::TimePoint at;
};

class Gate {
 public:
  virtual ~Gate() = default;
  virtual GateResult evaluateItem(const ItemCheck& item) = 0;
  virtual GateResult evaluateBasket(const BasketCheck& basket) = 0;
  // The revision now in force; a change re-opens held needs for another check.
  virtual std::string revision() const = 0;
};

std::string_view toString(Verdict v);

}  // namespace steward::needs
