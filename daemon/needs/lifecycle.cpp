// See engine.hpp: the lifecycle steps negotiation and approval call, and forgetting a device.
#include "needs/engine_parts.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

using namespace detail;

// ---- lifecycle --------------------------------------------------------------------------------

Result<void> NeedsEngine::move(Change& ch, NeedId id, NeedState to, std::string reason,
                               std::string order_id, Causes causes) {
  Need& n = mutableNeed(ch, id);
  const std::string what = "need " + std::to_string(id) + " (" + n.item_id + ")";
  if (to == NeedState::ordered && n.state == NeedState::ordered)
    return core::fail(what + " already has a live order " + n.order_id +
                      "; it must be fulfilled, cancelled or reopened before another");
  if (!canMove(n.state, to))
    return core::fail(what + " is " + std::string(toString(n.state)) + " and cannot become " +
                      std::string(toString(to)));
  if (to == NeedState::ordered) {
    if (order_id.empty()) return core::fail(what + ": an order id is required");
    if (n.state == NeedState::sourcing && n.approval_required)
      return core::fail(what + " needs the owner's approval before it is ordered");
  }
  const NeedState from = n.state;
  n.state = to;
  n.updated_at = ch.now;
  if (to == NeedState::ordered) n.order_id = order_id;
  if (to == NeedState::open) {
    if (n.basket_id) ch.touched_baskets.insert(*n.basket_id);
    n.basket_id.reset();
    n.order_id.clear();
    n.approval_required = false;
    n.held = false;
  }
  if (!isLive(to)) {
    n.closed_reason = reason;
    n.closed_at = ch.now;
    ch.closed.push_back(id);
    if (n.basket_id) ch.touched_baskets.insert(*n.basket_id);
    // Sources still asking go quiet for a while, so the next reading does not re-open it.
    for (const auto& s : n.sources) {
      if (!s.active) continue;
      ch.quiet[Key{s.device_id, s.key}] =
          store::QuietRow{s.device_id, s.key, ch.now + config_.quiet_after_close,
                          "need " + std::to_string(id) + " " + std::string(toString(to))};
    }
  }
  boost::json::object input{{"from", toString(from)}, {"to", toString(to)}, {"item", n.item_id}};
  if (!n.order_id.empty()) input["order"] = n.order_id;
  if (n.basket_id) input["basket"] = *n.basket_id;
  std::vector<std::string> reasons;
  if (!reason.empty()) reasons.push_back(reason);
  // Closing steps share one kind (the ledger's vocabulary), the outcome says which.
  const std::string kind = to == NeedState::open ? "need.reopened"
                           : isLive(to)          ? "need." + std::string(toString(to))
                                                 : "need.closed";
  // The step that moved it (an approval, a purchase) first, then the need's own opening.
  std::vector<std::int64_t> chain(causes.begin(), causes.end());
  chain.push_back(n.opened_seq);
  auto seq = record(kind, subjectOf(id), std::move(input), std::string(toString(to)),
                    std::move(reasons), "", std::move(chain));
  if (!seq) return seq.error();
  return {};
}

Result<void> NeedsEngine::transition(NeedId id, NeedState to, std::string_view reason,
                                     std::string_view order_id, Causes causes) {
  if (!needs_.count(id))
    return core::notFound("no live need " + std::to_string(id) +
                          " (it does not exist or is already closed)");
  return transact<void>([&](Change& ch) {
    return move(ch, id, to, std::string(reason), std::string(order_id), causes);
  });
}

Result<void> NeedsEngine::markSourcing(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::sourcing, reason, {}, causes);
}
Result<void> NeedsEngine::awaitingApproval(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::awaitingApproval, reason, {}, causes);
}
Result<void> NeedsEngine::ordered(NeedId id, std::string_view order_id, Causes causes) {
  return transition(id, NeedState::ordered, "order " + std::string(order_id) + " placed", order_id,
                    causes);
}
Result<void> NeedsEngine::fulfilled(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::fulfilled, reason, {}, causes);
}
Result<void> NeedsEngine::cancelled(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::cancelled, reason, {}, causes);
}
Result<void> NeedsEngine::expired(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::expired, reason, {}, causes);
}
Result<void> NeedsEngine::reopen(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::open, reason, {}, causes);
}

std::vector<Basket> NeedsEngine::basketsInSourcing() const {
  auto baskets = store::basketsInState(ledger_.database(), "sourcing");
  if (!baskets) {
    log_.error("needs.baskets_unreadable", {{"error", baskets.error().message}});
    return {};
  }
  return std::move(*baskets);
}

Result<void> NeedsEngine::forgetDevice(std::string_view device_id) {
  return transact<void>([&](Change& ch) -> Result<void> {
    std::set<Key> keys;
    for (const auto& [k, v] : series_)
      if (k.first == device_id) keys.insert(k);
    for (const auto& [k, v] : meters_)
      if (k.first == device_id) keys.insert(k);
    for (const auto& [k, v] : quiet_)
      if (k.first == device_id) keys.insert(k);
    for (NeedId id : liveNeedIds(ch))
      for (const auto& s : viewNeed(ch, id).sources)
        if (s.device_id == device_id) keys.insert(Key{s.device_id, s.key});
    for (const auto& key : keys) {
      if (auto r = withdraw(ch, key, "device " + key.first + " was removed from the registry"); !r)
        return r.error();
      if (series_.count(key)) ch.series[key] = std::nullopt;
      if (meters_.count(key)) ch.meters[key] = std::nullopt;
      ch.quiet[key] = std::nullopt;
    }
    return {};
  });
}

}  // namespace steward::needs
