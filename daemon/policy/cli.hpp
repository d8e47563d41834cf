// `stewardctl policy check` and `stewardctl policy simulate`: the owner's way to validate the
// policy files and to ask "what would Steward decide?" without touching any state. stewardctl
// dispatches `stewardctl policy ...` here with the arguments after "policy".
#pragma once

#include <ostream>
#include <span>
#include <string>

#include "core/clock.hpp"
#include "policy/loader.hpp"

namespace steward::policy {

struct CliEnvironment {
  const core::Clock* clock = nullptr;  // for `simulate` without --at; the system clock when null
  std::string default_policy{kDefaultPolicyDirectory};
};

// Exit codes: 0 valid / allowed or needs approval; 1 invalid policy or request, or denied;
// 2 usage error.
int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                     const CliEnvironment& env);

}  // namespace steward::policy
