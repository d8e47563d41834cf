// Money in flight: what the needs already in sourcing or awaiting approval are estimated to cost,
// in total and by budget category, so that a basket check does not spend it twice. An estimate
// kept here only until budget reservations take its place; nothing else computes it.
#pragma once

#include <map>

#include "needs/gate.hpp"
#include "needs/need.hpp"

namespace steward::needs {

// Adds the estimates of `needs` in sourcing or awaiting approval to `check.pending` and
// `check.pending_by_category`. A need without a price estimate counts nothing.
void addMoneyInFlight(const std::map<NeedId, Need>& needs, BasketCheck& check);

}  // namespace steward::needs
