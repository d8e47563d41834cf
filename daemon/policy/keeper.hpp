// The policy in force, across reloads: stewardd loads it at start (and refuses to start on an
// invalid one) and again on SIGHUP, where a failed reload logs the errors and keeps the last good
// policy. Modules read current(); it never changes under them mid-decision (single thread).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/log.hpp"
#include "policy/loader.hpp"
#include "policy/parse.hpp"

namespace steward::policy {

class PolicyKeeper {
 public:
  using Load = std::function<PolicyLoad()>;
  using Listener = std::function<void(const std::shared_ptr<const Policy>&)>;

  PolicyKeeper(Load load, core::Logger& log) : load_(std::move(load)), log_(log) {}
  // Loads from files and directories with loadPolicy().
  static Load fromPaths(std::vector<std::string> paths);

  // The first load. Returns its errors (the caller prints them and exits); empty = in force.
  core::Diagnostics start();

  enum class ReloadOutcome { replaced, unchanged, failed };
  // Loads again. On errors logs each one and keeps the policy in force; otherwise swaps in the
  // new policy (if its revision differs) and tells the listeners.
  ReloadOutcome reload();

  std::shared_ptr<const Policy> current() const { return current_; }
  // Called after start() and every reload that changed the revision.
  void onReplaced(Listener listener) { listeners_.push_back(std::move(listener)); }

 private:
  void install(std::shared_ptr<const Policy> policy);

  Load load_;
  core::Logger& log_;
  std::shared_ptr<const Policy> current_;
  std::vector<Listener> listeners_;
};

}  // namespace steward::policy
