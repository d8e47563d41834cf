// `stewardctl policy check` and `stewardctl policy simulate`: the owner's way to validate the
// policy files and to ask "what would Steward decide?" without touching any state. stewardctl
// dispatches `stewardctl policy ...` here with the arguments after "policy".
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <ostream>
#include <span>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "policy/budget.hpp"
#include "policy/loader.hpp"

namespace steward::policy {

struct CliEnvironment {
  const core::Clock* clock = nullptr;  // for `simulate` without --at; the system clock when null
  std::string default_policy{kDefaultPolicyDirectory};
  // `simulate --db FILE`: adds the budget entries of the ledger at FILE to `book`. The policy
  // module opens no ledger; the caller (stewardctl) does. Without it --db is a usage error.
  std::function<core::Result<void>(const std::string& path, BudgetBook& book)> read_budgets;
};

// Exit codes: 0 valid / allowed or needs approval; 1 invalid policy or request, or denied;
// 2 usage error.
int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                     const CliEnvironment& env);

// What `simulate --output json` prints, without files: evaluates `scenario` (the JSON object
// `--json FILE` holds: request fields plus optional "spent"/"reserved" figures) against `policy`
// and the live budget state `live` plus those figures, at `now` unless the scenario gives "at".
// Changes nothing. A malformed scenario is an invalidInput error that names the field.
core::Result<std::string> simulateScenario(const boost::json::object& scenario,
                                           const Policy& policy, const BudgetState& live,
                                           core::TimePoint now);

}  // namespace steward::policy
