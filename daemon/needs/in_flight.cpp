// See in_flight.hpp.
#include "needs/in_flight.hpp"

#include "needs/engine_parts.hpp"

namespace steward::needs {

void addMoneyInFlight(const std::map<NeedId, Need>& needs, BasketCheck& check) {
  for (const auto& [id, n] : needs) {
    if (n.state != NeedState::sourcing && n.state != NeedState::awaitingApproval) continue;
    auto e = detail::times(n.unit_price, n.quantity);
    if (!e) continue;
    check.pending = check.pending ? core::add(*check.pending, *e) : e;
    auto [it, fresh] = check.pending_by_category.try_emplace(n.category, *e);
    if (!fresh) {
      if (auto sum = core::add(it->second, *e)) it->second = *sum;
    }
  }
}

}  // namespace steward::needs
