// See plan.hpp.
#include "needs/plan.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace steward::needs {

std::vector<PlannedBasket> planBaskets(const std::vector<PlanNeed>& needs, core::TimePoint now) {
  std::map<NeedId, const PlanNeed*> by_id;
  std::vector<NeedId> remaining;
  for (const auto& n : needs) {
    if (n.retailers.empty() || !by_id.emplace(n.id, &n).second) continue;
    remaining.push_back(n.id);
  }

  // Retailers: the first choice of most needs first (then the one carrying most, then name).
  std::vector<std::pair<std::string, std::vector<NeedId>>> groups;
  while (!remaining.empty()) {
    std::map<std::string, std::pair<int, int>> score;  // retailer → (carries, first choice)
    for (NeedId id : remaining) {
      const auto& rs = by_id.at(id)->retailers;
      for (std::size_t i = 0; i < rs.size(); ++i) {
        score[rs[i]].first += 1;
        score[rs[i]].second += i == 0 ? 1 : 0;
      }
    }
    auto best = std::max_element(score.begin(), score.end(), [](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second < b.second;
      return a.first > b.first;  // alphabetical first wins ties
    });
    const std::string retailer = best->first;
    std::vector<NeedId> group, rest;
    for (NeedId id : remaining) {
      const auto& rs = by_id.at(id)->retailers;
      (std::find(rs.begin(), rs.end(), retailer) != rs.end() ? group : rest).push_back(id);
    }
    groups.emplace_back(retailer, std::move(group));
    remaining = std::move(rest);
  }

  // Within a retailer, needs whose order windows overlap share a basket.
  std::vector<PlannedBasket> planned;
  for (auto& [retailer, ids] : groups) {
    std::sort(ids.begin(), ids.end(), [&](NeedId a, NeedId b) {
      const PlanNeed &na = *by_id.at(a), &nb = *by_id.at(b);
      return std::tie(na.order_from, na.id) < std::tie(nb.order_from, nb.id);
    });
    std::vector<NeedId> cluster;
    core::TimePoint end{};
    auto flush = [&] {
      if (cluster.empty()) return;
      bool ready = false;
      PlannedBasket p{retailer, cluster, core::TimePoint::max(), core::TimePoint::max()};
      for (NeedId id : cluster) {
        const PlanNeed& n = *by_id.at(id);
        ready = ready || n.ready;
        p.order_by = std::min(p.order_by, n.order_by);
        p.needed_by = std::min(p.needed_by, n.needed_by);
      }
      if (ready) planned.push_back(std::move(p));
      cluster.clear();
    };
    for (NeedId id : ids) {
      const PlanNeed& n = *by_id.at(id);
      const core::TimePoint window_end = std::max(n.order_by, now);
      if (!cluster.empty() && n.order_from > end) flush();
      end = cluster.empty() ? window_end : std::min(end, window_end);
      cluster.push_back(id);
    }
    flush();
  }
  // Urgency orders the baskets: the earliest order-by first gets the budget first.
  std::sort(planned.begin(), planned.end(), [](const PlannedBasket& a, const PlannedBasket& b) {
    return std::tie(a.order_by, a.needed_by, a.retailer) <
           std::tie(b.order_by, b.needed_by, b.retailer);
  });
  return planned;
}

}  // namespace steward::needs
