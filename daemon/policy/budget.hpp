// Budgets in flight: what each category has spent and holds reserved per calendar month (in the
// household's time zone). A reservation is refused whenever it would let spent + reserved pass a
// cap, so many orders in flight together can never overspend. Pure, in-memory; the ledger's
// BudgetStore persists the entries (see budget_persistence.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "policy/policy.hpp"

namespace steward::policy {

// Minor units of the household currency.
struct BudgetTotals {
  std::int64_t spent = 0;
  std::int64_t reserved = 0;
  friend bool operator==(const BudgetTotals&, const BudgetTotals&) = default;
};

// What the engine reads about money already committed; BudgetBook is the implementation.
class BudgetState {
 public:
  virtual ~BudgetState() = default;
  virtual BudgetTotals totals(std::string_view category, Month month) const = 0;
  virtual BudgetTotals retailerTotals(std::string_view category, std::string_view retailer,
                                      Month month) const = 0;
};

enum class ReservationState { reserved, committed, released };
std::string_view toString(ReservationState state);
std::optional<ReservationState> reservationStateFromString(std::string_view text);

struct Reservation {
  std::string id;  // chosen by the caller and unique among live entries (e.g. the order id)
  std::string category;
  std::string retailer_id;
  Month month;
  core::Money amount;  // held while reserved; what was paid once committed
  ReservationState state = ReservationState::reserved;
};

class BudgetBook final : public BudgetState {
 public:
  // Holds `amount` against `category` for the month `at` falls in. Fails and changes nothing when
  // the id is taken, the amount is not positive or not in the household currency, the category has
  // no budget, or spent + reserved + amount would pass any cap (per order, monthly, per retailer).
  core::Result<Reservation> reserve(const Policy& policy, std::string id, std::string_view category,
                                    std::string_view retailer, core::Money amount,
                                    core::TimePoint at);
  // The order went through for `final_amount`, at most what was reserved (the rest is freed).
  core::Result<Reservation> commit(std::string_view id, core::Money final_amount);
  // Cancelled or failed: frees what the entry held, whether reserved or committed. The returned
  // entry is in state `released` and is no longer live.
  core::Result<Reservation> release(std::string_view id);
  // Rebuilds the book from persisted live entries without checking caps: what was spent stays
  // spent even if the owner has lowered a cap since. All or nothing.
  core::Result<void> restore(std::span<const Reservation> entries);

  const Reservation* find(std::string_view id) const;
  std::vector<Reservation> live() const;  // ordered by id
  std::size_t size() const { return live_.size(); }

  BudgetTotals totals(std::string_view category, Month month) const override;
  BudgetTotals retailerTotals(std::string_view category, std::string_view retailer,
                              Month month) const override;

 private:
  static std::string categoryKey(std::string_view category, Month month);
  static std::string retailerKey(std::string_view category, std::string_view retailer, Month m);
  // Adds (sign +1) or removes (-1) an entry's amount; fails only on overflow.
  bool apply(const Reservation& r, int sign);

  std::map<std::string, Reservation, std::less<>> live_;
  std::map<std::string, BudgetTotals, std::less<>> by_category_;
  std::map<std::string, BudgetTotals, std::less<>> by_retailer_;
  std::optional<core::Currency> currency_;  // of every live entry
};

}  // namespace steward::policy
