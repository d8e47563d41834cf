// Basket planning as a pure function: which open needs are bought together, from which retailer,
// and in which order the baskets are checked. No clock, no ledger, no gate: the engine gathers
// the inputs (needs that may go now, the retailers the policy lets sell each) and acts on the
// plan (sourcing.cpp).
#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "needs/need.hpp"

namespace steward::needs {

struct PlanNeed {
  NeedId id = 0;
  // Retailers that may sell it, in policy order (first = first choice). A need with none is
  // left out of the plan (the engine holds it, saying why).
  std::vector<std::string> retailers;
  core::TimePoint order_from, order_by, needed_by;  // its window (see Need)
  bool ready = false;                               // settled (or critical): may start a basket now
};

struct PlannedBasket {
  std::string retailer;
  std::vector<NeedId> needs;            // by order_from, then id
  core::TimePoint order_by, needed_by;  // the earliest of its members
};

// Groups the needs:
// 1. Retailers are chosen greedily: the one first choice of most needs (then carrying most, then
//    alphabetical) takes every need it may sell; repeat with the rest.
// 2. Within a retailer, needs are sorted by order_from and chained while the next one's window
//    opens before every window so far has closed (a window closed before `now` counts as closing
//    at `now`): those share a basket.
// 3. A basket none of whose members is ready is not planned (its needs wait for one).
// The result is most urgent first: by order_by, then needed_by, then retailer.
std::vector<PlannedBasket> planBaskets(const std::vector<PlanNeed>& needs, core::TimePoint now);

}  // namespace steward::needs
