// See keeper.hpp.
#include "policy/keeper.hpp"

namespace steward::policy {

PolicyKeeper::Load PolicyKeeper::fromPaths(std::vector<std::string> paths) {
  return [paths = std::move(paths)] { return loadPolicy(paths); };
}

void PolicyKeeper::install(std::shared_ptr<const Policy> policy) {
  current_ = std::move(policy);
  log_.notice("policy.loaded", {{"revision", current_->revision},
                                {"files", static_cast<int>(current_->sources.size())}});
  for (const auto& listener : listeners_)
    listener(current_);
}

core::Diagnostics PolicyKeeper::start() {
  PolicyLoad load = load_();
  if (!load.errors.empty() || !load.policy) return load.errors;
  install(std::move(load.policy));
  return {};
}

PolicyKeeper::ReloadOutcome PolicyKeeper::reload() {
  PolicyLoad load = load_();
  if (!load.errors.empty() || !load.policy) {
    for (const auto& e : load.errors)
      log_.error("policy.invalid", {{"error", e.format()}});
    log_.error("policy.reload_failed",
               {{"errors", static_cast<int>(load.errors.size())},
                {"kept_revision", current_ ? current_->revision : std::string("none")}});
    return ReloadOutcome::failed;
  }
  if (current_ && current_->revision == load.policy->revision) {
    log_.info("policy.unchanged", {{"revision", current_->revision}});
    return ReloadOutcome::unchanged;
  }
  install(std::move(load.policy));
  return ReloadOutcome::replaced;
}

}  // namespace steward::policy
