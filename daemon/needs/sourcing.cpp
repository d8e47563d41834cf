// See engine.hpp: forming baskets from due needs (planBaskets in plan.cpp decides the grouping),
// asking the gate about each, and sending the allowed ones to sourcing.
#include "needs/engine_parts.hpp"
#include "needs/plan.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

using namespace detail;

void NeedsEngine::tickBaskets(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  const std::string revision = gate_.revision();
  std::vector<NeedId> candidates;
  bool any_ready = false;
  for (const auto& [id, n] : needs_) {
    if (n.state != NeedState::open) continue;
    if (n.held && (n.retry_after ? now < *n.retry_after : revision == n.hold_revision)) continue;
    candidates.push_back(id);
    any_ready = any_ready || settled(n, now);
  }
  if (!any_ready) return;

  std::vector<NeedId> remaining;
  for (NeedId id : candidates) {
    if (needs_.at(id).retailers.empty()) {
      auto r = transact<void>([&](Change& ch) -> Result<void> {
        Need& n = mutableNeed(ch, id);
        n.held = true;
        n.hold_reasons = {"no approved retailer carries " + n.item_id};
        n.hold_revision = revision;
        n.retry_after.reset();
        auto seq = record("need.held", subjectOf(id), boost::json::object{{"item", n.item_id}},
                          "deny", n.hold_reasons, revision, {n.opened_seq});
        if (!seq) return seq.error();
        return {};
      });
      if (!r)
        ++out.failures;
      else
        ++out.held;
      continue;
    }
    remaining.push_back(id);
  }
  // A retailer the policy would refuse for an item (a per-retailer cap, a forbid rule) is no
  // choice for it: group each need only with retailers that may sell it. When none may, keep
  // them all, so the basket check holds the need and records why.
  std::map<NeedId, std::vector<std::string>> choices;
  for (NeedId id : remaining) {
    const Need& n = needs_.at(id);
    std::vector<std::string> allowed;
    for (const auto& r : n.retailers)
      if (gate_.evaluateItem(itemCheck(n, r, now)).verdict != Verdict::deny) allowed.push_back(r);
    choices[id] = allowed.empty() ? n.retailers : std::move(allowed);
  }
  std::vector<PlanNeed> plan;
  for (NeedId id : remaining) {
    const Need& n = needs_.at(id);
    plan.push_back(
        {id, std::move(choices[id]), n.order_from, n.order_by, n.needed_by, settled(n, now)});
  }
  for (auto& p : planBaskets(plan, now)) {
    auto r =
        transact<BasketResult>([&](Change& ch) { return sourceBasket(ch, p.needs, p.retailer); });
    if (!r) {
      ++out.failures;
      log_.warning("needs.tick-failed",
                   {{"step", "basket"}, {"retailer", p.retailer}, {"error", r.error().message}});
      continue;
    }
    out.baskets += r->sourced ? 1 : 0;
    out.held += r->held;
  }
}
Result<NeedsEngine::BasketResult> NeedsEngine::sourceBasket(Change& ch, std::vector<NeedId> members,
                                                            const std::string& retailer) {
  const core::TimePoint now = ch.now;
  core::TimePoint order_by = core::TimePoint::max();
  for (NeedId id : members)
    order_by = std::min(order_by, viewNeed(ch, id).order_by);

  // Forecast needs of this retailer falling due before the basket's window closes join it now.
  const core::TimePoint pull_until = std::min(now + config_.group_ahead, std::max(order_by, now));
  for (const auto& [key, s] : series_) {
    if (!s->due || *s->due <= now || *s->due > pull_until || !s->forecast.runout) continue;
    if (quiet(ch, key, now)) continue;
    const auto item = catalog_.lookup(queryFor(*s));
    if (!item || liveNeedFor(ch, item->item_id)) continue;
    if (std::find(item->retailers.begin(), item->retailers.end(), retailer) ==
        item->retailers.end())
      continue;
    if (liveNeedsOfDevice(ch, key.first) >= config_.max_needs_per_device) continue;
    OpenRequest req;
    req.device_id = s->device_id;
    req.key = s->key;
    req.kind = s->kind;
    const core::TimePoint due = *s->due;
    req.order_from = due;
    req.needed_by = *s->forecast.runout;
    req.order_by = *s->forecast.runout - item->lead_time;
    req.outcome = "opened-early";
    req.reason = "opened early to share a basket from " + retailer + ": " + item->description +
                 " on " + s->device_id + " falls due " + formatDay(due) + " (runs out around " +
                 formatDay(*s->forecast.runout) + ")";
    req.evidence["forecast"] = forecastJson(s->forecast, s->unit, now);
    req.evidence["due"] = formatUtc(due);
    auto opened = openOrMerge(ch, *item, req);
    if (!opened) return opened.error();
    if (opened->need) members.push_back(*opened->need);
  }
  std::sort(members.begin(), members.end(), [&](NeedId a, NeedId b) {
    const Need &na = viewNeed(ch, a), &nb = viewNeed(ch, b);
    return std::tie(na.order_by, na.needed_by, na.id) < std::tie(nb.order_by, nb.needed_by, nb.id);
  });

  auto hold = [&](NeedId id, const GateResult& g,
                  std::vector<std::int64_t> causes) -> Result<void> {
    Need& n = mutableNeed(ch, id);
    n.held = true;
    n.hold_reasons = g.reasons;
    n.hold_revision = g.policy_revision.empty() ? gate_.revision() : g.policy_revision;
    n.retry_after = g.retry_after;
    causes.push_back(n.opened_seq);
    boost::json::object input{
        {"item", n.item_id}, {"retailer", retailer}, {"retry_after", timeJson(g.retry_after)}};
    auto seq = record("need.held", subjectOf(id), std::move(input), "deny", g.reasons,
                      g.policy_revision, std::move(causes));
    if (!seq) return seq.error();
    return {};
  };

  int held = 0;
  std::vector<ItemCheck> items;
  std::vector<GateResult> item_results;
  for (NeedId id : members) {
    ItemCheck c = itemCheck(viewNeed(ch, id), retailer, now);
    GateResult g = gate_.evaluateItem(c);
    if (g.verdict == Verdict::deny) {
      if (auto r = hold(id, g, {}); !r) return r.error();
      ++held;
      continue;
    }
    items.push_back(std::move(c));
    item_results.push_back(std::move(g));
  }
  if (items.empty()) return BasketResult{false, held};

  BasketCheck check;
  check.retailer = retailer;
  check.items = items;
  check.at = now;
  check.order_by = core::TimePoint::max();
  for (const auto& c : items) {
    check.order_by = std::min(check.order_by, viewNeed(ch, c.need_id).order_by);
    if (!c.estimate) {
      check.estimate_complete = false;
      continue;
    }
    check.estimate = check.estimate ? core::add(*check.estimate, *c.estimate) : c.estimate;
    if (!check.estimate) check.estimate_complete = false;
  }
  const GateResult g = gate_.evaluateBasket(check);

  Basket b;
  b.retailer = retailer;
  b.created_at = now;
  b.order_by = check.order_by;
  b.needed_by = core::TimePoint::max();
  for (const auto& c : items) {
    b.needs.push_back(c.need_id);
    b.needed_by = std::min(b.needed_by, c.needed_by);
  }
  b.estimate = check.estimate;
  b.approval_required =
      g.verdict == Verdict::needsApproval ||
      std::any_of(item_results.begin(), item_results.end(),
                  [](const GateResult& r) { return r.verdict == Verdict::needsApproval; });
  b.verdict = g.verdict == Verdict::deny ? "deny"
              : b.approval_required      ? "needs-approval"
                                         : "allow";
  // A rule that speaks for the whole basket (a budget) may say the same of each item: the
  // basket's words stand once, and only what an item adds is named after it.
  b.reasons = g.reasons;
  for (std::size_t i = 0; i < items.size(); ++i)
    for (const auto& r : item_results[i].reasons) {
      if (std::find(g.reasons.begin(), g.reasons.end(), r) != g.reasons.end()) continue;
      std::string named = items[i].item_id + ": " + r;
      if (std::find(b.reasons.begin(), b.reasons.end(), named) == b.reasons.end())
        b.reasons.push_back(std::move(named));
    }
  b.policy_revision = g.policy_revision;

  auto id = store::insertBasket(ledger_.database(), b,
                                g.verdict == Verdict::deny ? "denied" : "sourcing");
  if (!id) return id.error();
  b.id = *id;
  boost::json::array lines;
  std::vector<std::int64_t> causes;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Need& n = viewNeed(ch, items[i].need_id);
    causes.push_back(n.opened_seq);
    lines.push_back(boost::json::object{{"need", n.id},
                                        {"item", n.item_id},
                                        {"quantity", n.quantity},
                                        {"estimate", moneyJson(items[i].estimate)},
                                        {"order_by", formatUtc(n.order_by)},
                                        {"needed_by", formatUtc(n.needed_by)},
                                        {"item_verdict", toString(item_results[i].verdict)}});
  }
  boost::json::object input{{"retailer", retailer},
                            {"items", std::move(lines)},
                            {"estimate", moneyJson(check.estimate)},
                            {"estimate_complete", check.estimate_complete},
                            {"order_by", formatUtc(check.order_by)},
                            {"retry_after", timeJson(g.retry_after)}};
  auto seq = record("needs.grouped", "basket:" + std::to_string(b.id), std::move(input), b.verdict,
                    b.reasons, g.policy_revision, causes);
  if (!seq) return seq.error();

  if (g.verdict == Verdict::deny) {
    for (const auto& c : items) {
      if (auto r = hold(c.need_id, g, {*seq}); !r) return r.error();
      ++held;
    }
    return BasketResult{false, held};
  }
  for (const auto& c : items) {
    Need& n = mutableNeed(ch, c.need_id);
    n.basket_id = b.id;
    n.approval_required = b.approval_required;
    n.held = false;
    n.hold_reasons.clear();
    n.hold_revision.clear();
    n.retry_after.reset();
    if (auto r = move(ch, c.need_id, NeedState::sourcing,
                      "grouped into basket " + std::to_string(b.id) + " from " + retailer);
        !r)
      return r.error();
  }
  ch.ready.push_back(std::move(b));
  return BasketResult{true, held};
}

}  // namespace steward::needs
