// How the needs module asks the household policy: what to buy or book for a device's signal
// (PolicyCatalog) and whether an item or a basket may go to the retailers (PolicyGate). Both read
// the policy in force, the device registry, the budget book and the owner's pauses; they decide
// nothing themselves beyond translating to and from the policy engine.
#pragma once

#include <optional>
#include <string>

#include "discovery/registry.hpp"
#include "ledger/controls.hpp"
#include "needs/catalog.hpp"
#include "needs/gate.hpp"
#include "policy/budget.hpp"
#include "policy/engine.hpp"
#include "policy/keeper.hpp"

namespace steward::app {

class PolicyCatalog final : public needs::Catalog {
 public:
  PolicyCatalog(const policy::PolicyKeeper& policy, const discovery::Registry& registry,
                ledger::Controls& controls)
      : policy_(policy), registry_(registry), controls_(controls) {}

  // Consumables and batteries map to the policy's items (device id, then kind, then any);
  // faults and outages to a service visit for the device by the policy's providers; meter
  // readings to a report task for the retailers approved for "energy". A device the owner
  // disabled in the policy or paused with `stewardctl pause DEVICE` is not acted for.
  std::optional<needs::CatalogItem> lookup(const needs::CatalogQuery& query) const override;

 private:
  const policy::PolicyKeeper& policy_;
  const discovery::Registry& registry_;
  ledger::Controls& controls_;
};

class PolicyGate final : public needs::Gate {
 public:
  PolicyGate(const policy::PolicyKeeper& policy, const policy::BudgetBook& budgets,
             ledger::Controls& controls)
      : policy_(policy), budgets_(budgets), controls_(controls) {}

  needs::GateResult evaluateItem(const needs::ItemCheck& item) override;
  needs::GateResult evaluateBasket(const needs::BasketCheck& basket) override;
  // The policy revision, marked while the owner has paused purchasing, so that resuming (like
  // a policy change) makes the needs module ask again about what it held back.
  std::string revision() const override;

  // The request the engine is asked about for one item; exposed for `stewardctl explain`-style
  // reporting and tests.
  policy::Request requestFor(const needs::ItemCheck& item) const;

 private:
  needs::GateResult translate(const policy::Decision& d, core::TimePoint at) const;
  // Without a policy, or while the owner has paused purchasing, nothing goes ahead.
  std::optional<needs::GateResult> refusedOutright(const policy::Policy* p) const;
  bool paused() const;

  const policy::PolicyKeeper& policy_;
  const policy::BudgetBook& budgets_;
  ledger::Controls& controls_;
};

}  // namespace steward::app
