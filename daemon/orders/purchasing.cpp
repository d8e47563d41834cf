// See purchasing.hpp. Each public step opens one ledger transaction and stages every module's
// change into it (this module's rows, the budget store, approvals, the needs engine's moves); the
// in-memory budget book is re-read from the store whenever such a transaction does not commit.
#include "orders/purchasing.hpp"

#include <boost/json.hpp>
#include <map>

#include "ledger/database.hpp"
#include "ledger/text.hpp"
#include "orders/store.hpp"
#include "policy/budget_persistence.hpp"

namespace steward::orders {
namespace {

constexpr std::string_view kSubjectPrefix = "purchase:";

struct StateName {
  PurchaseState state;
  std::string_view name;
};
constexpr StateName kStates[] = {
    {PurchaseState::awaitingApproval, "awaiting-approval"},
    {PurchaseState::sourcing, "sourcing"},
    {PurchaseState::cancelled, "cancelled"},
    {PurchaseState::rejected, "rejected"},
    {PurchaseState::expired, "expired"},
    {PurchaseState::refused, "refused"},
};

std::string describe(const Actor& a) {
  std::string who = a.channel.empty() ? "the owner" : "the owner via " + a.channel;
  if (a.uid) who += " (uid " + std::to_string(*a.uid) + ")";
  return who;
}

boost::json::object actorJson(const Actor& a) {
  boost::json::object o{{"channel", a.channel.empty() ? "unknown" : a.channel}};
  if (a.uid) o["uid"] = *a.uid;
  return o;
}

// "P12" or "12" → 12.
std::optional<std::int64_t> parsePurchaseName(std::string_view text) {
  if (!text.empty() && (text.front() == 'P' || text.front() == 'p')) text.remove_prefix(1);
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v > 0 ? std::optional<std::int64_t>(v) : std::nullopt;
}

}  // namespace

std::string_view toString(PurchaseState state) {
  for (const auto& s : kStates)
    if (s.state == state) return s.name;
  return "unknown";
}

std::optional<PurchaseState> purchaseStateFromString(std::string_view text) {
  for (const auto& s : kStates)
    if (s.name == text) return s.state;
  return std::nullopt;
}

bool isLive(PurchaseState state) {
  return state == PurchaseState::awaitingApproval || state == PurchaseState::sourcing;
}

boost::json::object toJson(const Purchase& p) {
  boost::json::array needs, holds;
  for (auto id : p.needs)
    needs.emplace_back(id);
  for (const auto& h : p.holds)
    holds.push_back(boost::json::object{{"reservation", h.reservation_id},
                                        {"category", h.category},
                                        {"amount_minor", h.amount.minor},
                                        {"currency", h.amount.currency.view()}});
  boost::json::object o{{"id", p.name()},
                        {"basket", p.basket},
                        {"retailer", p.retailer},
                        {"needs", std::move(needs)},
                        {"state", toString(p.state)},
                        {"holds", std::move(holds)},
                        {"created_at", ledger::formatUtc(p.created_at)},
                        {"updated_at", ledger::formatUtc(p.updated_at)},
                        {"reason", p.reason}};
  if (p.estimate)
    o["estimate"] = boost::json::object{{"amount_minor", p.estimate->minor},
                                        {"currency", p.estimate->currency.view()}};
  if (!p.approval_id.empty()) o["approval"] = p.approval_id;
  return o;
}

Result<std::unique_ptr<Purchasing>> Purchasing::open(Deps deps) {
  if (auto r = store::migrate(deps.ledger.database()); !r) return r.error();
  return std::unique_ptr<Purchasing>(new Purchasing(deps));
}

Result<std::int64_t> Purchasing::record(const Purchase& p, std::string kind, std::string outcome,
                                        boost::json::object input, std::vector<std::string> reasons,
                                        std::vector<std::int64_t> causes) {
  input["purchase"] = p.name();
  input["basket"] = p.basket;
  input["retailer"] = p.retailer;
  auto r = d_.ledger.record(ledger::Decision{
      std::move(kind), std::string(kSubjectPrefix) + p.name(), std::move(input), std::move(outcome),
      std::move(reasons), p.policy_revision, std::move(causes)});
  if (!r) return r.error();
  return r->seq;
}

Result<void> Purchasing::save(const Purchase& p) {
  auto r = store::save(d_.ledger.database(), p);
  if (!r) return r.error();
  return {};
}

Result<std::vector<Hold>> Purchasing::holdsFor(const Purchase& p, const policy::Policy& policy) {
  // One reservation per budget category among the purchase's needs with a price estimate.
  std::map<std::string, core::Money> by_category;
  for (auto id : p.needs) {
    const auto need = d_.needs.liveNeed(id);
    if (!need) return core::conflict("need " + std::to_string(id) + " is no longer live");
    const auto e = need->estimate();
    if (!e || e->minor <= 0) continue;  // no price known: nothing to hold
    auto [it, fresh] = by_category.try_emplace(need->category, *e);
    if (!fresh) {
      auto sum = core::add(it->second, *e);
      if (!sum) return core::invalidInput("the estimate of " + p.name() + " overflows");
      it->second = *sum;
    }
  }
  std::vector<Hold> holds;
  for (const auto& [category, amount] : by_category) {
    Hold h{p.name() + ":" + category, category, amount};
    auto reserved =
        d_.budgets.reserve(policy, h.reservation_id, category, p.retailer, amount, d_.clock.now());
    if (!reserved) {
      return core::denied("the " + category + " budget cannot hold " + core::formatMoney(amount) +
                          " for " + p.name() + ": " + reserved.error().message);
    }
    if (auto r = d_.budget_store.save(policy::toEntry(*reserved, d_.clock.now())); !r)
      return r.error();
    holds.push_back(std::move(h));
  }
  return holds;
}

Result<void> Purchasing::releaseHolds(const Purchase& p,
                                      std::vector<policy::Reservation>& released) {
  for (const auto& h : p.holds) {
    if (!d_.budgets.find(h.reservation_id)) continue;  // already released
    auto r = d_.budgets.release(h.reservation_id);
    if (!r) return r.error();
    released.push_back(*r);
    if (auto s = d_.budget_store.save(policy::toEntry(*r, d_.clock.now())); !s) return s.error();
  }
  return {};
}

namespace {

// The book follows the store: after a unit of work that did not commit, re-read what is stored.
void resync(policy::BudgetBook& book, ledger::BudgetStore& store, core::Logger& log) {
  policy::BudgetBook fresh;
  if (auto r = policy::restoreBudgets(fresh, store); !r) {
    log.error("orders.budget_resync_failed", {{"error", r.error().message}});
    return;
  }
  book = std::move(fresh);
}

}  // namespace

Result<Purchase> Purchasing::take(const needs::Basket& basket) {
  ledger::Database& db = d_.ledger.database();
  if (auto existing = store::byBasket(db, basket.id); !existing) {
    return existing.error();
  } else if (*existing) {
    return **existing;
  }
  const auto policy = d_.policy.current();
  if (!policy) return core::unavailable("no household policy is in force");

  Purchase p;
  p.basket = basket.id;
  p.retailer = basket.retailer;
  p.needs = basket.needs;
  p.estimate = basket.estimate;
  p.created_at = p.updated_at = d_.clock.now();
  p.policy_revision = basket.policy_revision;
  p.state = basket.approval_required ? PurchaseState::awaitingApproval : PurchaseState::sourcing;

  std::optional<ledger::Approval> approval;
  const auto attempt = [&]() -> Result<void> {
    ledger::Transaction tx(db);
    if (!tx.begun()) return tx.error();
    auto id = store::save(db, p);
    if (!id) return id.error();
    p.id = *id;

    std::vector<std::int64_t> causes;
    boost::json::array lines;
    for (auto nid : p.needs) {
      const auto need = d_.needs.liveNeed(nid);
      if (!need) return core::conflict("need " + std::to_string(nid) + " is no longer live");
      causes.push_back(need->opened_seq);
      boost::json::object line{{"need", nid},
                               {"item", need->item_id},
                               {"description", need->description},
                               {"category", need->category},
                               {"quantity", need->quantity}};
      if (const auto e = need->estimate())
        line["estimate"] =
            boost::json::object{{"amount_minor", e->minor}, {"currency", e->currency.view()}};
      lines.push_back(std::move(line));
    }
    auto holds = holdsFor(p, *policy);
    if (!holds) return holds.error();
    p.holds = std::move(*holds);

    boost::json::array holds_json;
    for (const auto& h : p.holds)
      holds_json.push_back(
          boost::json::object{{"category", h.category}, {"amount", core::formatMoney(h.amount)}});
    boost::json::object input{{"items", std::move(lines)}, {"holds", std::move(holds_json)}};
    if (p.estimate) input["estimate"] = core::formatMoney(*p.estimate);
    p.reason = basket.approval_required ? "waiting for the owner's approval"
                                        : "allowed by the policy; looking for offers";
    auto opened = record(p, "purchase.opened", std::string(toString(p.state)), std::move(input),
                         basket.reasons, causes);
    if (!opened) return opened.error();
    p.opened_seq = *opened;

    if (basket.approval_required) {
      ledger::ApprovalRequest request;
      request.subject = std::string(kSubjectPrefix) + p.name();
      boost::json::array need_ids;
      for (auto nid : p.needs)
        need_ids.emplace_back(nid);
      boost::json::object summary{
          {"purchase", p.name()}, {"retailer", p.retailer}, {"needs", std::move(need_ids)}};
      if (p.estimate) summary["estimate"] = core::formatMoney(*p.estimate);
      request.summary = std::move(summary);
      request.amount = p.estimate ? *p.estimate : policy->zero();
      if (request.amount.minor <= 0) request.amount.minor = 1;  // unknown price: still ask
      request.expires_at = d_.clock.now() + policy->purchasing.approval_timeout;
      request.policy_revision = basket.policy_revision;
      request.reasons = basket.reasons;
      request.causes = {p.opened_seq};
      auto asked = d_.approvals.request(request);
      if (!asked) return asked.error();
      approval = *asked;
      p.approval_id = asked->id;
      const std::vector<std::int64_t> step{asked->request_seq};
      for (auto nid : p.needs) {
        if (auto r = d_.needs.awaitingApproval(nid, "approval " + asked->id + " asked of the owner",
                                               step);
            !r)
          return r.error();
      }
    }
    if (auto r = save(p); !r) return r.error();
    return tx.commit();
  };

  if (auto r = attempt(); !r) {
    resync(d_.budgets, d_.budget_store, d_.log);
    if (r.error().code != core::ErrorCode::denied) return r.error();
    // The budget could not hold it: say so on the record and send the needs back to open, where
    // the policy gate (which sees every reservation) decides again.
    Purchase refused = p;
    refused.id = 0;
    refused.holds.clear();
    refused.approval_id.clear();
    refused.state = PurchaseState::refused;
    refused.reason = r.error().message;
    ledger::Transaction tx(db);
    if (!tx.begun()) return tx.error();
    auto id = store::save(db, refused);
    if (!id) return id.error();
    refused.id = *id;
    auto seq = record(refused, "purchase.refused", "refused", {}, {r.error().message}, {});
    if (!seq) return seq.error();
    refused.opened_seq = *seq;
    if (auto s = save(refused); !s) return s.error();
    const std::vector<std::int64_t> step{*seq};
    for (auto nid : refused.needs)
      if (auto m = d_.needs.reopen(nid, r.error().message, step); !m) return m.error();
    if (auto c = tx.commit(); !c) return c.error();
    d_.log.warning("orders.purchase_refused",
                   {{"purchase", refused.name()}, {"reason", refused.reason}});
    return refused;
  }
  d_.log.info("orders.purchase_opened", {{"purchase", p.name()},
                                         {"basket", p.basket},
                                         {"retailer", p.retailer},
                                         {"state", toString(p.state)}});
  if (!p.holds.empty() && budget_changed_) budget_changed_();
  if (approval && approval_requested_) approval_requested_(*approval, p);
  return p;
}

int Purchasing::resume() {
  int taken = 0;
  for (const auto& basket : d_.needs.basketsInSourcing()) {
    auto existing = store::byBasket(d_.ledger.database(), basket.id);
    if (!existing) {
      d_.log.error("orders.resume_failed",
                   {{"basket", basket.id}, {"error", existing.error().message}});
      continue;
    }
    if (*existing) continue;
    // A basket whose needs have all moved on (closed, reopened) has nothing left to buy.
    bool live = !basket.needs.empty();
    for (auto nid : basket.needs) {
      const auto n = d_.needs.liveNeed(nid);
      live = live && n && n->basket_id == basket.id && n->state == needs::NeedState::sourcing;
    }
    if (!live) continue;
    auto r = take(basket);
    if (!r) {
      d_.log.error("orders.resume_failed", {{"basket", basket.id}, {"error", r.error().message}});
      continue;
    }
    d_.log.notice("orders.resumed", {{"basket", basket.id}, {"purchase", r->name()}});
    ++taken;
  }
  return taken;
}

Result<Purchase> Purchasing::settle(const Purchase& before, PurchaseState to, std::string reason,
                                    std::vector<std::int64_t> causes, const Actor& actor) {
  ledger::Database& db = d_.ledger.database();
  Purchase p = before;
  std::vector<policy::Reservation> released;
  const auto attempt = [&]() -> Result<void> {
    ledger::Transaction tx(db);
    if (!tx.begun()) return tx.error();
    if (auto r = releaseHolds(p, released); !r) return r;
    p.state = to;
    p.reason = reason;
    p.updated_at = d_.clock.now();
    boost::json::object input{{"by", actorJson(actor)}};
    if (!released.empty()) {
      boost::json::array freed;
      for (const auto& r : released)
        freed.push_back(
            boost::json::object{{"category", r.category}, {"amount", core::formatMoney(r.amount)}});
      input["released"] = std::move(freed);
    }
    auto seq = record(p, "purchase." + std::string(toString(to)), std::string(toString(to)),
                      std::move(input), {reason}, causes);
    if (!seq) return seq.error();
    if (auto r = save(p); !r) return r;
    const std::vector<std::int64_t> step{*seq};
    for (auto nid : p.needs) {
      const auto need = d_.needs.liveNeed(nid);
      if (!need) continue;  // closed meanwhile (the device withdrew it)
      if (auto r = d_.needs.cancelled(nid, reason, step); !r) return r;
    }
    return tx.commit();
  };
  if (auto r = attempt(); !r) {
    resync(d_.budgets, d_.budget_store, d_.log);
    return r.error();
  }
  if (!released.empty() && budget_changed_) budget_changed_();
  return p;
}

Result<Purchase> Purchasing::answer(std::string_view approval_id, bool grant, const Actor& actor) {
  ledger::Database& db = d_.ledger.database();
  auto found = store::byApproval(db, approval_id);
  if (!found) return found.error();
  if (!*found) return core::notFound("no purchase waits for approval " + std::string(approval_id));
  const Purchase before = **found;
  if (before.state != PurchaseState::awaitingApproval)
    return core::conflict(before.name() + " is " + std::string(toString(before.state)) +
                          "; approval " + std::string(approval_id) + " was already answered");
  if (!grant) {
    ledger::Transaction tx(db);
    if (!tx.begun()) return tx.error();
    auto answered = d_.approvals.reject(approval_id, actor.uid, {}, actor.channel);
    if (!answered) return core::conflict(answered.error().message);
    std::vector<std::int64_t> causes;
    if (answered->decision_seq) causes.push_back(*answered->decision_seq);
    auto settled =
        settle(before, PurchaseState::rejected, "rejected by " + describe(actor), causes, actor);
    if (!settled) return settled.error();
    if (auto c = tx.commit(); !c) {
      resync(d_.budgets, d_.budget_store, d_.log);
      return c.error();
    }
    return settled;
  }

  Purchase p = before;
  ledger::Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto answered = d_.approvals.grant(approval_id, actor.uid, actor.channel);
  if (!answered) return core::conflict(answered.error().message);
  p.state = PurchaseState::sourcing;
  p.reason = "approved by " + describe(actor) + "; looking for offers";
  p.updated_at = d_.clock.now();
  std::vector<std::int64_t> causes;
  if (answered->decision_seq) causes.push_back(*answered->decision_seq);
  causes.push_back(p.opened_seq);
  auto seq = record(p, "purchase.approved", "sourcing",
                    boost::json::object{{"approval", p.approval_id}, {"by", actorJson(actor)}},
                    {p.reason}, causes);
  if (!seq) return seq.error();
  if (auto r = save(p); !r) return r.error();
  const std::vector<std::int64_t> step{*seq};
  for (auto nid : p.needs) {
    if (!d_.needs.liveNeed(nid)) continue;
    if (auto r = d_.needs.markSourcing(nid, p.reason, step); !r) return r.error();
  }
  if (auto c = tx.commit(); !c) return c.error();
  d_.log.info("orders.approved", {{"purchase", p.name()}, {"approval", p.approval_id}});
  return p;
}

std::vector<Purchase> Purchasing::expireApprovals(core::TimePoint now) {
  std::vector<Purchase> out;
  ledger::Database& db = d_.ledger.database();
  ledger::Transaction tx(db);
  if (!tx.begun()) {
    d_.log.error("orders.expire_failed", {{"error", tx.error().message}});
    return out;
  }
  auto expired = d_.approvals.expire(now);
  if (!expired) {
    d_.log.error("orders.expire_failed", {{"error", expired.error().message}});
    return out;
  }
  const Actor hub{std::nullopt, "hub"};
  for (const auto& a : *expired) {
    auto found = store::byApproval(db, a.id);
    if (!found || !*found || (*found)->state != PurchaseState::awaitingApproval) continue;
    std::vector<std::int64_t> causes;
    if (a.decision_seq) causes.push_back(*a.decision_seq);
    auto settled = settle(**found, PurchaseState::expired,
                          "approval " + a.id + " timed out without an answer", causes, hub);
    if (!settled) {
      d_.log.error("orders.expire_failed",
                   {{"approval", a.id}, {"error", settled.error().message}});
      resync(d_.budgets, d_.budget_store, d_.log);
      return {};
    }
    out.push_back(*settled);
  }
  if (auto c = tx.commit(); !c) {
    d_.log.error("orders.expire_failed", {{"error", c.error().message}});
    resync(d_.budgets, d_.budget_store, d_.log);
    return {};
  }
  return out;
}

Result<Purchase> Purchasing::cancel(std::string_view name, const Actor& actor) {
  const auto id = parsePurchaseName(name);
  if (!id) return core::invalidInput("not a purchase: \"" + std::string(name) + "\" (e.g. P3)");
  ledger::Database& db = d_.ledger.database();
  auto found = store::byId(db, *id);
  if (!found) return found.error();
  if (!*found) return core::notFound("no purchase P" + std::to_string(*id));
  const Purchase before = **found;
  if (!isLive(before.state))
    return core::conflict(before.name() + " is already " + std::string(toString(before.state)));
  ledger::Transaction tx(db);
  if (!tx.begun()) return tx.error();
  std::vector<std::int64_t> causes{before.opened_seq};
  if (before.state == PurchaseState::awaitingApproval && !before.approval_id.empty()) {
    auto answered = d_.approvals.reject(before.approval_id, actor.uid,
                                        "purchase cancelled by " + describe(actor), actor.channel);
    if (!answered) return core::conflict(answered.error().message);
    if (answered->decision_seq) causes.insert(causes.begin(), *answered->decision_seq);
  }
  auto settled =
      settle(before, PurchaseState::cancelled, "cancelled by " + describe(actor), causes, actor);
  if (!settled) return settled.error();
  if (auto c = tx.commit(); !c) {
    resync(d_.budgets, d_.budget_store, d_.log);
    return c.error();
  }
  return settled;
}

Result<std::optional<Purchase>> Purchasing::find(std::int64_t id) {
  return store::byId(d_.ledger.database(), id);
}

Result<std::optional<Purchase>> Purchasing::findByApproval(std::string_view approval_id) {
  return store::byApproval(d_.ledger.database(), approval_id);
}

Result<std::vector<Purchase>> Purchasing::list(bool live_only) {
  return store::list(d_.ledger.database(), live_only);
}

core::Money Purchasing::moneyInFlight() const {
  const auto policy = d_.policy.current();
  core::Money total = policy ? policy->zero() : core::Money{};
  for (const auto& r : d_.budgets.live()) {
    if (r.state != policy::ReservationState::reserved) continue;
    if (auto sum = core::add(total, r.amount)) total = *sum;
  }
  return total;
}

std::string Purchasing::summary(const Purchase& p) const {
  std::string line = p.name() + " at " + p.retailer + ": " + std::to_string(p.needs.size()) +
                     (p.needs.size() == 1 ? " item" : " items");
  line += p.estimate ? ", about " + core::formatMoney(*p.estimate) : ", price not known yet";
  return line;
}

}  // namespace steward::orders
