// See engine.hpp. evaluate() collects three lists: what forbids (owner rules, guards, rules it
// could not evaluate), what permits, and what asks for approval; the first non-empty list in
// that order decides, and its entries become the decision's reasons.
#include "policy/engine.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "core/time_format.hpp"

namespace steward::policy {
namespace {

using core::formatMoney;
using core::Money;

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool listed(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

using core::formatUtc;

enum class Tri { yes, no, unknown };

struct RuleMatch {
  Tri result = Tri::yes;
  std::string missing;  // what the request lacked when result is unknown
};

// Kleene AND over the rule's conditions: any false condition means no match; otherwise any
// condition without a value in the request means the rule cannot be evaluated.
RuleMatch matchRule(const Rule& rule, const Policy& policy, const Request& q, const Item* item,
                    std::string_view category) {
  RuleMatch m;
  const auto cond = [&m](Tri t, std::string_view what) {
    if (m.result == Tri::no) return;
    if (t == Tri::no) {
      m.result = Tri::no;
    } else if (t == Tri::unknown) {
      m.result = Tri::unknown;
      if (m.missing.empty()) m.missing = std::string(what);
    }
  };
  const auto inList = [](const std::vector<std::string>& list, std::string_view v) {
    if (list.empty()) return Tri::yes;
    if (v.empty()) return Tri::unknown;
    return listed(list, v) ? Tri::yes : Tri::no;
  };
  const auto& currency = policy.household.currency;
  const bool amountKnown = q.amount && q.amount->currency == currency;

  if (!rule.kinds.empty())
    cond(std::find(rule.kinds.begin(), rule.kinds.end(), q.kind) != rule.kinds.end() ? Tri::yes
                                                                                     : Tri::no,
         "kind");
  cond(inList(rule.categories, category), "budget category");
  cond(inList(rule.items, q.item_id), "item");
  cond(inList(rule.retailers, q.retailer_id), "retailer");
  cond(inList(rule.devices, q.device_id), "device");
  cond(inList(rule.device_kinds, q.device_kind), "device kind");
  if (rule.amount_above)
    cond(!amountKnown ? Tri::unknown
                      : (q.amount->minor > rule.amount_above->minor ? Tri::yes : Tri::no),
         "amount");
  if (rule.amount_at_most)
    cond(!amountKnown ? Tri::unknown
                      : (q.amount->minor <= rule.amount_at_most->minor ? Tri::yes : Tri::no),
         "amount");
  if (!rule.when.empty()) {
    const auto local = policy.household.time_zone.toLocal(q.at);
    const bool inside = std::any_of(rule.when.begin(), rule.when.end(),
                                    [&](const TimeWindow& w) { return w.contains(local); });
    cond(inside ? Tri::yes : Tri::no, "time");
  }
  if (rule.substitute) {
    if (!item || q.product.empty()) {
      cond(Tri::unknown, "item and product");
    } else {
      const bool isSubstitute =
          !listed(item->products, q.product) && listed(item->alternatives, q.product);
      cond(isSubstitute == *rule.substitute ? Tri::yes : Tri::no, "item and product");
    }
  }
  return m;
}

struct Collected {
  std::vector<Reason> forbid, permit, approve;
  void deny(std::string rule, std::string message) {
    forbid.push_back(Reason{std::move(rule), std::move(message)});
  }
};

void checkMoneyCurrency(const Policy& p, const std::optional<Money>& m, std::string_view what,
                        Collected& c) {
  if (m && !(m->currency == p.household.currency)) {
    c.deny("household.currency", std::string(what) + " " + formatMoney(*m) +
                                     " is not in the household currency " +
                                     std::string(p.household.currency.view()));
  }
}

void checkItem(const Policy& p, const Request& q, const Item& item, Collected& c) {
  const std::string base = "items." + item.id;
  if (!q.retailer_id.empty() && !item.retailers.empty() && !listed(item.retailers, q.retailer_id))
    c.deny(base + ".retailers",
           quoted(q.retailer_id) + " is not among the retailers allowed for " + quoted(item.id));
  if (!q.product.empty() && !listed(item.products, q.product)) {
    if (!listed(item.alternatives, q.product)) {
      c.deny(base + ".products",
             quoted(q.product) + " is neither a product nor an alternative for " + quoted(item.id));
    } else if (!item.substitution) {
      c.deny(base + ".substitution", quoted(q.product) + " is an alternative for " +
                                         quoted(item.id) + " and substitution is not allowed");
    }
  }
  if (q.quantity && (*q.quantity < 1 || *q.quantity > item.max_quantity))
    c.deny(base + ".max_quantity", "quantity " + std::to_string(*q.quantity) + " is outside 1.." +
                                       std::to_string(item.max_quantity));
  if (item.max_unit_price) {
    // Without a unit price, the total per unit (delivery included) stands in: never lower.
    std::optional<Money> unit = q.unit_price;
    if (!unit && q.amount) {
      const std::int64_t n = std::max(1, q.quantity.value_or(1));
      unit = Money{(q.amount->minor + n - 1) / n, q.amount->currency};
    }
    if (!unit || !(unit->currency == p.household.currency)) {
      c.deny(base + ".max_unit_price",
             "cannot be evaluated: the request gives no unit price or amount");
    } else if (unit->minor > item.max_unit_price->minor) {
      c.deny(base + ".max_unit_price",
             "unit price " + formatMoney(*unit) + " is above " + formatMoney(*item.max_unit_price));
    }
  }
}

void checkService(const Policy& p, const Request& q, Collected& c) {
  const Service& s = p.service;
  if (q.retailer_id.empty()) {
    c.deny("service.providers", "cannot be evaluated: the request names no provider");
  } else if (!listed(s.providers, q.retailer_id)) {
    c.deny("service.providers", quoted(q.retailer_id) + " is not an allowed service provider");
  } else {
    c.permit.push_back(
        Reason{"service.providers", quoted(q.retailer_id) + " may do service visits"});
  }
  if (s.max_call_out_fee) {
    if (!q.call_out_fee || !(q.call_out_fee->currency == p.household.currency)) {
      c.deny("service.max_call_out_fee", "cannot be evaluated: the request gives no call-out fee");
    } else if (q.call_out_fee->minor > s.max_call_out_fee->minor) {
      c.deny("service.max_call_out_fee", "call-out fee " + formatMoney(*q.call_out_fee) +
                                             " is above " + formatMoney(*s.max_call_out_fee));
    }
  }
  if (s.visit_windows.empty() && s.quiet_hours.empty()) return;
  if (!q.visit_start) {
    c.deny(s.visit_windows.empty() ? "service.quiet_hours" : "service.visit_windows",
           "cannot be evaluated: the request gives no visit time");
    return;
  }
  using namespace std::chrono;
  const core::TimePoint start = *q.visit_start;
  const core::TimePoint end = q.visit_end.value_or(start + minutes(1));
  if (end <= start || end - start > hours(24)) {
    c.deny("service.visit_windows", "the visit must end after it starts and last at most 24h");
    return;
  }
  // Minute by minute: a visit must lie inside the windows and outside quiet hours throughout.
  bool outside = false, quiet = false;
  for (core::TimePoint t = start; t < end; t += minutes(1)) {
    const auto local = p.household.time_zone.toLocal(t);
    const auto in = [&](const TimeWindow& w) { return w.contains(local); };
    if (!s.visit_windows.empty() &&
        std::none_of(s.visit_windows.begin(), s.visit_windows.end(), in))
      outside = true;
    if (std::any_of(s.quiet_hours.begin(), s.quiet_hours.end(), in)) quiet = true;
  }
  if (outside) c.deny("service.visit_windows", "the visit is outside the visit windows");
  if (quiet) c.deny("service.quiet_hours", "the visit falls in quiet hours");
}

void checkBudget(const Policy& p, const BudgetState& state, const Request& q, Decision& d,
                 Collected& c) {
  if (d.category.empty()) {
    c.deny("budgets", "cannot be evaluated: no budget category follows from the request");
    return;
  }
  const Budget* budget = p.budget(d.category);
  if (!budget) {
    c.deny("budgets",
           "no budget for category " + quoted(d.category) + " (budgets." + d.category + ")");
    return;
  }
  const std::string base = "budgets." + d.category;
  if (!q.amount || !(q.amount->currency == p.household.currency)) {
    c.deny(base + ".monthly", "cannot be evaluated: the request gives no amount");
    return;
  }
  const Money zero = p.zero();
  const Money amount = *q.amount;
  if (amount.minor < 0) {
    c.deny(base + ".monthly", "amount " + formatMoney(amount) + " is negative");
    return;
  }
  const auto figure = [&](std::string rule, const Money& cap, BudgetTotals t) {
    BudgetFigure f{std::move(rule),
                   d.category,
                   *d.month,
                   cap,
                   Money{t.spent, zero.currency},
                   Money{t.reserved, zero.currency},
                   amount};
    if (f.exceeds()) c.deny(f.rule, f.format().substr(f.rule.size() + 1));
    d.budgets.push_back(std::move(f));
  };
  if (budget->per_order) figure(base + ".per_order", *budget->per_order, BudgetTotals{});
  figure(base + ".monthly", budget->monthly, state.totals(d.category, *d.month));
  if (auto it = budget->per_retailer_monthly.find(q.retailer_id);
      !q.retailer_id.empty() && it != budget->per_retailer_monthly.end()) {
    figure(base + ".per_retailer_monthly." + q.retailer_id, it->second,
           state.retailerTotals(d.category, q.retailer_id, *d.month));
  }
}

}  // namespace

std::string_view toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::allow:
      return "allow";
    case Outcome::needsApproval:
      return "needs-approval";
    case Outcome::deny:
      return "deny";
  }
  return "?";
}

Money BudgetFigure::after() const {
  return Money{spent.minor + reserved.minor + requested.minor, cap.currency};
}

std::string BudgetFigure::format() const {
  std::string out = rule + " " + month.format() + ": cap " + formatMoney(cap);
  if (!rule.ends_with(".per_order"))
    out += ", spent " + formatMoney(spent) + ", reserved " + formatMoney(reserved);
  out += ", this request " + formatMoney(requested);
  const std::int64_t left = cap.minor - after().minor;
  if (left >= 0) {
    out += ", leaves " + formatMoney(Money{left, cap.currency});
  } else {
    out += ", over by " + formatMoney(Money{-left, cap.currency});
  }
  return out;
}

std::vector<std::string> Decision::ruleIds() const {
  std::vector<std::string> out;
  for (const auto& r : reasons)
    if (!listed(out, r.rule)) out.push_back(r.rule);
  return out;
}

std::vector<std::string> Decision::ledgerReasons() const {
  std::vector<std::string> out;
  for (const auto& r : reasons)
    out.push_back(r.rule + ": " + r.message);
  for (const auto& b : budgets)
    out.push_back(b.format());
  return out;
}

boost::json::value Decision::toJson() const {
  boost::json::object o;
  o["outcome"] = toString(outcome);
  o["revision"] = revision;
  o["category"] = category;
  if (month) o["month"] = month->format();
  boost::json::array rs;
  for (const auto& r : reasons)
    rs.push_back(boost::json::object{{"rule", r.rule}, {"message", r.message}});
  o["reasons"] = std::move(rs);
  boost::json::array bs;
  for (const auto& b : budgets) {
    bs.push_back(boost::json::object{{"rule", b.rule},
                                     {"category", b.category},
                                     {"month", b.month.format()},
                                     {"cap", formatMoney(b.cap)},
                                     {"spent", formatMoney(b.spent)},
                                     {"reserved", formatMoney(b.reserved)},
                                     {"requested", formatMoney(b.requested)},
                                     {"after", formatMoney(b.after())},
                                     {"exceeds", b.exceeds()}});
  }
  o["budgets"] = std::move(bs);
  if (approval_deadline) o["approval_deadline"] = formatUtc(*approval_deadline);
  return o;
}

std::string effectiveCategory(const Policy& policy, const Request& q) {
  const Item* item = q.item_id.empty() ? nullptr : policy.item(q.item_id);
  std::string_view fallback = q.category;
  if (fallback.empty() && q.kind == RequestKind::service) fallback = policy.service.category;
  return policy.categoryFor(q.device_id, item, fallback);
}

Decision evaluate(const Policy& p, const BudgetState& budgets, const Request& q) {
  Decision d;
  d.revision = p.revision;
  d.month = p.household.time_zone.monthOf(q.at);
  const bool spends = q.kind != RequestKind::meterReport;
  const Item* item = q.item_id.empty() ? nullptr : p.item(q.item_id);
  d.category = effectiveCategory(p, q);
  Collected c;

  if (spends && p.purchasing.mode == PurchasingMode::paused)
    c.deny("purchasing.mode", "purchasing is paused");
  if (const auto* dev = p.device(q.device_id); dev && dev->disabled)
    c.deny("devices." + q.device_id + ".disabled",
           "device " + quoted(q.device_id) + " is disabled");
  checkMoneyCurrency(p, q.amount, "amount", c);
  checkMoneyCurrency(p, q.unit_price, "unit price", c);
  checkMoneyCurrency(p, q.call_out_fee, "call-out fee", c);

  if (!q.retailer_id.empty() && spends) {
    const Retailer* r = p.retailer(q.retailer_id);
    if (!r) {
      c.deny("retailers", quoted(q.retailer_id) + " is not an approved retailer");
    } else if (!d.category.empty() && !r->serves(d.category)) {
      c.deny("retailers." + r->id + ".categories",
             quoted(r->id) + " is not approved for category " + quoted(d.category));
    }
  }

  switch (q.kind) {
    case RequestKind::purchase:
      if (!q.item_id.empty() && !item) {
        c.deny("items", quoted(q.item_id) + " is not an item in the policy");
      } else if (item) {
        checkItem(p, q, *item, c);
        c.permit.push_back(
            Reason{"items." + item->id, "buying " + quoted(item->id) + " is allowed"});
      }
      break;
    case RequestKind::service:
      checkService(p, q, c);
      break;
    case RequestKind::meterReport:
      break;
  }
  if (spends) checkBudget(p, budgets, q, d, c);

  for (const Rule& rule : p.forbids) {
    const auto m = matchRule(rule, p, q, item, d.category);
    if (m.result == Tri::yes) {
      c.deny(rule.id, rule.description.empty() ? "forbidden" : rule.description);
    } else if (m.result == Tri::unknown) {
      c.deny(rule.id, "cannot be evaluated: the request gives no " + m.missing);
    }
  }
  for (const Rule& rule : p.permits) {
    const auto m = matchRule(rule, p, q, item, d.category);
    if (m.result == Tri::unknown) {
      c.deny(rule.id, "cannot be evaluated: the request gives no " + m.missing);
    } else if (m.result == Tri::yes) {
      const std::string why = rule.description.empty() ? "permitted" : rule.description;
      c.permit.push_back(Reason{rule.id, why});
      if (rule.require_approval)
        c.approve.push_back(Reason{rule.id, "this rule asks for approval"});
    }
  }

  if (!c.forbid.empty()) {
    d.outcome = Outcome::deny;
    d.reasons = std::move(c.forbid);
    return d;
  }
  if (c.permit.empty()) {
    d.outcome = Outcome::deny;
    d.reasons.push_back(Reason{
        "default-deny", "no rule permits a " + std::string(toString(q.kind)) + " like this"});
    return d;
  }
  if (p.purchasing.mode == PurchasingMode::approveAll)
    c.approve.insert(c.approve.begin(),
                     Reason{"purchasing.mode", "approve-all: every action waits for the owner"});
  if (spends && q.amount && p.purchasing.mode == PurchasingMode::automatic) {
    const Money& limit = p.purchasing.auto_approve_limit;
    if (q.amount->minor > limit.minor) {
      c.approve.push_back(Reason{
          "purchasing.auto_approve_limit",
          formatMoney(*q.amount) + " is above the auto-approve limit of " + formatMoney(limit)});
    } else if (c.approve.empty()) {
      c.permit.push_back(Reason{
          "purchasing.auto_approve_limit",
          formatMoney(*q.amount) + " is within the auto-approve limit of " + formatMoney(limit)});
    }
  }
  d.reasons = std::move(c.permit);
  if (c.approve.empty()) {
    d.outcome = Outcome::allow;
  } else {
    d.outcome = Outcome::needsApproval;
    d.reasons.insert(d.reasons.end(), c.approve.begin(), c.approve.end());
    d.approval_deadline = q.at + p.purchasing.approval_timeout;
  }
  return d;
}

core::Result<Reservation> reserveFor(BudgetBook& book, const Policy& policy, const Request& request,
                                     std::string id) {
  if (!request.amount) return core::fail("the request gives no amount to reserve");
  return book.reserve(policy, std::move(id), effectiveCategory(policy, request),
                      request.retailer_id, *request.amount, request.at);
}

boost::json::value toJson(const Request& q) {
  boost::json::object o;
  o["kind"] = toString(q.kind);
  const auto str = [&o](const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
  };
  const auto money = [&o](const char* key, const std::optional<Money>& m) {
    if (m) o[key] = formatMoney(*m);
  };
  str("item", q.item_id);
  str("device", q.device_id);
  str("device_kind", q.device_kind);
  str("category", q.category);
  str("retailer", q.retailer_id);
  str("product", q.product);
  money("amount", q.amount);
  money("unit_price", q.unit_price);
  if (q.quantity) o["quantity"] = *q.quantity;
  money("call_out_fee", q.call_out_fee);
  if (q.visit_start) o["visit_start"] = formatUtc(*q.visit_start);
  if (q.visit_end) o["visit_end"] = formatUtc(*q.visit_end);
  o["at"] = formatUtc(q.at);
  return o;
}

}  // namespace steward::policy
