// The policy engine: a pure function from (policy, budget state, request) to a decision, with the
// rule ids that determined it, the budget figures involved and the policy revision. Cedar's
// semantics: deny by default, a matching forbid always wins, and a rule that cannot be evaluated
// denies (fail closed).
//
// Besides the owner's [[forbid]]/[[permit]] rules, the structured sections act as rules named by
// their key path: "items.toner-black" permits buying that item, "service.providers" permits a
// visit by a listed provider, and guards such as "purchasing.mode", "budgets.consumables.monthly",
// "items.toner-black.max_unit_price" or "service.quiet_hours" forbid. Approval is asked for when
// the mode is approve-all ("purchasing.mode"), a total is above "purchasing.auto_approve_limit", or
// a matching permit says require_approval.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "policy/budget.hpp"
#include "policy/policy.hpp"

namespace steward::policy {

// What is being decided.
struct Request {
  RequestKind kind = RequestKind::purchase;
  std::string item_id;      // purchase: the policy item being bought
  std::string device_id;    // the device the need came from, if any
  std::string device_kind;  // its kind ("printer"), for item matching and rules
  std::string category;     // used only when neither a device override nor the item names one
  std::string retailer_id;  // the retailer or service provider
  std::string product;      // the product identifier offered
  std::optional<core::Money> amount;  // total to pay, delivery included
  std::optional<core::Money> unit_price;
  std::optional<int> quantity;
  std::optional<core::Money> call_out_fee;                // service
  std::optional<core::TimePoint> visit_start, visit_end;  // service
  core::TimePoint at;  // when the decision is made (from the injected clock)
};

enum class Outcome { allow, needsApproval, deny };
std::string_view toString(Outcome outcome);  // "allow", "needs-approval", "deny"

struct Reason {
  std::string rule;     // a rule id or key path in the policy; "default-deny" when nothing permits
  std::string message;  // for the owner
};

// One cap a request was checked against. Amounts are in the household currency.
struct BudgetFigure {
  std::string rule;  // "budgets.consumables.monthly", ".per_order", ".per_retailer_monthly.<id>"
  std::string category;
  Month month;
  core::Money cap, spent, reserved, requested;

  core::Money after() const;  // spent + reserved + requested
  bool exceeds() const { return after().minor > cap.minor; }
  std::string format() const;
};

struct Decision {
  Outcome outcome = Outcome::deny;
  std::vector<Reason> reasons;        // the rules that determined the outcome
  std::vector<BudgetFigure> budgets;  // every cap checked
  std::string category;               // the budget category the request counts against
  std::optional<Month> month;         // the budget month (household time zone)
  std::optional<core::TimePoint> approval_deadline;  // needs-approval: unanswered by then = reject
  std::string revision;                              // of the policy decided under

  std::vector<std::string> ruleIds() const;
  // "rule: message" lines, then one line per budget figure: for ledger::Decision::reasons.
  std::vector<std::string> ledgerReasons() const;
  boost::json::value toJson() const;
};

Decision evaluate(const Policy& policy, const BudgetState& budgets, const Request& request);

// The budget category and month a request counts against, as evaluate() decides them.
std::string effectiveCategory(const Policy& policy, const Request& request);

// Reserves a request evaluate() allowed (or the owner approved) in `book` under `id`.
core::Result<Reservation> reserveFor(BudgetBook& book, const Policy& policy, const Request& request,
                                     std::string id);

boost::json::value toJson(const Request& request);

}  // namespace steward::policy
