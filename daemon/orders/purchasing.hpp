// The purchasing workflow: a basket the needs module made ready becomes a purchase, which holds its
// estimate in the budget, waits for the owner's approval when the policy asks for one, and goes on
// to sourcing (and, with the vendor module, to an order). Links between baskets, needs, approvals
// and budget reservations are typed columns of its own tables, never parsed from display text.
//
// Every step is one unit of work: the purchase row, the budget reservation, the approval, the
// needs' moves and the decisions that record them commit together in one ledger transaction, or
// nothing changes. A step the hub crashed before taking is found again by resume() at start.
//
// Decisions it records (subject "purchase:P<n>"): purchase.opened (outcome "awaiting-approval" or
// "sourcing"), purchase.approved, purchase.rejected, purchase.expired, purchase.cancelled,
// purchase.refused (the budget could not hold the estimate).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "ledger/approvals.hpp"
#include "ledger/budget_store.hpp"
#include "ledger/ledger.hpp"
#include "needs/engine.hpp"
#include "needs/need.hpp"
#include "policy/budget.hpp"
#include "policy/keeper.hpp"

namespace steward::orders {

using core::Result;

enum class PurchaseState {
  awaitingApproval,  // the owner has been asked
  sourcing,          // allowed; offers are sought
  cancelled,         // the owner cancelled it before an order
  rejected,          // the owner said no
  expired,           // nobody answered in time (policy: timeout = reject)
  refused,           // the budget could not hold its estimate
};
std::string_view toString(PurchaseState state);
std::optional<PurchaseState> purchaseStateFromString(std::string_view text);
bool isLive(PurchaseState state);

// One budget reservation of a purchase: its needs of one category.
struct Hold {
  std::string reservation_id;  // "P3:office"
  std::string category;
  core::Money amount;
};

struct Purchase {
  std::int64_t id = 0;  // shown as "P<id>"
  needs::BasketId basket = 0;
  std::string retailer;
  std::vector<needs::NeedId> needs;
  std::optional<core::Money> estimate;
  PurchaseState state = PurchaseState::sourcing;
  std::string approval_id;  // "" when none was asked
  std::vector<Hold> holds;
  core::TimePoint created_at, updated_at;
  std::int64_t opened_seq = 0;  // the purchase.opened decision
  std::string policy_revision;
  std::string reason;  // why it is in its state, for a person

  std::string name() const { return "P" + std::to_string(id); }
};

boost::json::object toJson(const Purchase& p);

// Who acted: recorded with every owner's step.
struct Actor {
  std::optional<std::uint32_t> uid;  // D-Bus: the uid the bus daemon vouches for
  std::string channel;               // "dbus", "home-assistant", "cli", "hub"
};

class Purchasing {
 public:
  struct Deps {
    ledger::Ledger& ledger;
    ledger::Approvals& approvals;
    ledger::BudgetStore& budget_store;
    policy::BudgetBook& budgets;
    const policy::PolicyKeeper& policy;
    needs::NeedsEngine& needs;
    const core::Clock& clock;
    core::Logger& log;
  };

  // Brings the "orders" tables up to date.
  static Result<std::unique_ptr<Purchasing>> open(Deps deps);

  // Takes a basket the needs module made ready. Idempotent: a basket already taken returns its
  // purchase unchanged. When the budget cannot hold the estimate the purchase is recorded as
  // refused and its needs go back to open.
  Result<Purchase> take(const needs::Basket& basket);
  // Takes every basket in sourcing that has no purchase yet (after a crash between the
  // basket's commit and the purchase's). Returns how many were taken; failures are logged.
  int resume();

  // The owner's answer to a purchase's approval. Fails, changing nothing, for an unknown or
  // already answered approval (notFound / conflict).
  Result<Purchase> answer(std::string_view approval_id, bool grant, const Actor& actor);
  // Records the time-out of every pending approval past its expiry; returns the purchases.
  std::vector<Purchase> expireApprovals(core::TimePoint now);
  // The owner cancels a purchase that has not become an order: its approval (if pending) is
  // rejected, its money released, its needs cancelled.
  Result<Purchase> cancel(std::string_view purchase, const Actor& actor);

  Result<std::optional<Purchase>> find(std::int64_t id);
  Result<std::optional<Purchase>> findByApproval(std::string_view approval_id);
  Result<std::vector<Purchase>> list(bool live_only);
  // Money held by live purchases (reserved, not yet spent), in the household currency.
  core::Money moneyInFlight() const;

  // One line for a person: "P3 at papershop: 2 items, about 38.90 EUR".
  std::string summary(const Purchase& p) const;

  // After the commit that asked the owner for approval.
  void onApprovalRequested(std::function<void(const ledger::Approval&, const Purchase&)> fn) {
    approval_requested_ = std::move(fn);
  }
  // After any commit that changed reservations (the budget figures moved).
  void onBudgetChanged(std::function<void()> fn) { budget_changed_ = std::move(fn); }

 private:
  explicit Purchasing(Deps deps) : d_(deps) {}
  Result<Purchase> settle(const Purchase& p, PurchaseState to, std::string reason,
                          std::vector<std::int64_t> causes, const Actor& actor);
  Result<std::vector<Hold>> holdsFor(const Purchase& p, const policy::Policy& policy);
  Result<void> save(const Purchase& p);
  Result<void> releaseHolds(const Purchase& p, std::vector<policy::Reservation>& released);
  Result<std::int64_t> record(const Purchase& p, std::string kind, std::string outcome,
                              boost::json::object input, std::vector<std::string> reasons,
                              std::vector<std::int64_t> causes);

  Deps d_;
  std::function<void(const ledger::Approval&, const Purchase&)> approval_requested_;
  std::function<void()> budget_changed_;
};

}  // namespace steward::orders
