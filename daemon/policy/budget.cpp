// See budget.hpp. Totals are kept incrementally per (category, month) and per (category,
// retailer, month) so a check is a map lookup however many entries are live.
#include "policy/budget.hpp"

namespace steward::policy {
namespace {

bool checkedAdd(std::int64_t a, std::int64_t b, std::int64_t& out) {
  return !__builtin_add_overflow(a, b, &out);
}

std::string money(std::int64_t minor, const core::Currency& c) {
  return core::formatMoney(core::Money{minor, c});
}

}  // namespace

std::string_view toString(ReservationState state) {
  switch (state) {
    case ReservationState::reserved:
      return "reserved";
    case ReservationState::committed:
      return "committed";
    case ReservationState::released:
      return "released";
  }
  return "?";
}

std::optional<ReservationState> reservationStateFromString(std::string_view text) {
  if (text == "reserved") return ReservationState::reserved;
  if (text == "committed") return ReservationState::committed;
  if (text == "released") return ReservationState::released;
  return std::nullopt;
}

std::string BudgetBook::categoryKey(std::string_view category, Month month) {
  return std::string(category) + '\n' + month.format();
}

std::string BudgetBook::retailerKey(std::string_view category, std::string_view retailer,
                                    Month month) {
  return std::string(category) + '\n' + std::string(retailer) + '\n' + month.format();
}

bool BudgetBook::apply(const Reservation& r, int sign) {
  const std::int64_t delta = sign * r.amount.minor;
  BudgetTotals cat = by_category_[categoryKey(r.category, r.month)];
  BudgetTotals ret = by_retailer_[retailerKey(r.category, r.retailer_id, r.month)];
  std::int64_t& c = r.state == ReservationState::committed ? cat.spent : cat.reserved;
  std::int64_t& t = r.state == ReservationState::committed ? ret.spent : ret.reserved;
  if (!checkedAdd(c, delta, c) || !checkedAdd(t, delta, t)) return false;
  by_category_[categoryKey(r.category, r.month)] = cat;
  by_retailer_[retailerKey(r.category, r.retailer_id, r.month)] = ret;
  return true;
}

core::Result<Reservation> BudgetBook::reserve(const Policy& policy, std::string id,
                                              std::string_view category, std::string_view retailer,
                                              core::Money amount, core::TimePoint at) {
  if (id.empty()) return core::fail("a reservation needs an id");
  if (live_.contains(id)) return core::fail("reservation \"" + id + "\" already exists");
  const auto& currency = policy.household.currency;
  if (!(amount.currency == currency))
    return core::fail("amount " + core::formatMoney(amount) + " is not in the household currency " +
                      std::string(currency.view()));
  if (currency_ && !(*currency_ == currency))
    return core::fail("the budget book holds amounts in " + std::string(currency_->view()) +
                      ", the policy's currency is " + std::string(currency.view()));
  if (amount.minor <= 0)
    return core::fail("amount must be above zero, got " + core::formatMoney(amount));
  const Budget* budget = policy.budget(category);
  if (!budget)
    return core::fail("no budget for category \"" + std::string(category) + "\" (budgets." +
                      std::string(category) + ")");
  Reservation r{std::move(id),
                std::string(category),
                std::string(retailer),
                policy.household.time_zone.monthOf(at),
                amount,
                ReservationState::reserved};
  if (budget->per_order && amount.minor > budget->per_order->minor)
    return core::fail(core::formatMoney(amount) + " is above the per-order cap of " +
                      core::formatMoney(*budget->per_order) + " (budgets." + r.category +
                      ".per_order)");
  const auto within = [&](BudgetTotals t, const core::Money& cap,
                          const std::string& rule) -> core::Result<void> {
    std::int64_t used = 0, after = 0;
    if (!checkedAdd(t.spent, t.reserved, used) || !checkedAdd(used, amount.minor, after) ||
        after > cap.minor) {
      return core::fail(core::formatMoney(amount) + " would pass the cap of " +
                        core::formatMoney(cap) + " for " + r.month.format() + " (" + rule +
                        "): spent " + money(t.spent, currency) + ", reserved " +
                        money(t.reserved, currency));
    }
    return {};
  };
  if (auto ok = within(totals(r.category, r.month), budget->monthly,
                       "budgets." + r.category + ".monthly");
      !ok)
    return ok.error();
  if (auto cap = budget->per_retailer_monthly.find(retailer);
      cap != budget->per_retailer_monthly.end()) {
    if (auto ok = within(retailerTotals(r.category, retailer, r.month), cap->second,
                         "budgets." + r.category + ".per_retailer_monthly." + r.retailer_id);
        !ok)
      return ok.error();
  }
  if (!apply(r, +1)) return core::fail("budget totals would overflow");
  currency_ = currency;
  live_.emplace(r.id, r);
  return r;
}

core::Result<Reservation> BudgetBook::commit(std::string_view id, core::Money final_amount) {
  const auto it = live_.find(id);
  if (it == live_.end()) return core::fail("no live reservation \"" + std::string(id) + "\"");
  Reservation& r = it->second;
  if (r.state != ReservationState::reserved)
    return core::fail("reservation \"" + r.id + "\" is already " + std::string(toString(r.state)));
  if (!(final_amount.currency == r.amount.currency) || final_amount.minor < 0 ||
      final_amount.minor > r.amount.minor) {
    return core::fail("cannot commit " + core::formatMoney(final_amount) + " against \"" + r.id +
                      "\" which holds " + core::formatMoney(r.amount) +
                      " (reserve the difference first)");
  }
  Reservation committed = r;
  committed.state = ReservationState::committed;
  committed.amount = final_amount;
  // Removing then adding amounts already counted cannot overflow.
  apply(r, -1);
  apply(committed, +1);
  r = committed;
  return committed;
}

core::Result<Reservation> BudgetBook::release(std::string_view id) {
  const auto it = live_.find(id);
  if (it == live_.end()) return core::fail("no live reservation \"" + std::string(id) + "\"");
  Reservation r = it->second;
  apply(r, -1);
  live_.erase(it);
  if (live_.empty()) currency_.reset();
  r.state = ReservationState::released;
  return r;
}

core::Result<void> BudgetBook::restore(std::span<const Reservation> entries) {
  BudgetBook next = *this;
  for (const auto& e : entries) {
    if (e.id.empty() || e.state == ReservationState::released || e.amount.minor < 0)
      return core::fail("cannot restore reservation \"" + e.id + "\": not a live entry");
    if (next.live_.contains(e.id))
      return core::fail("cannot restore reservation \"" + e.id + "\": id used twice");
    if (next.currency_ && !(*next.currency_ == e.amount.currency))
      return core::fail("cannot restore reservation \"" + e.id + "\": mixed currencies");
    if (!next.apply(e, +1)) return core::fail("budget totals would overflow");
    next.currency_ = e.amount.currency;
    next.live_.emplace(e.id, e);
  }
  *this = std::move(next);
  return {};
}

const Reservation* BudgetBook::find(std::string_view id) const {
  const auto it = live_.find(id);
  return it == live_.end() ? nullptr : &it->second;
}

std::vector<Reservation> BudgetBook::live() const {
  std::vector<Reservation> out;
  out.reserve(live_.size());
  for (const auto& [id, r] : live_)
    out.push_back(r);
  return out;
}

BudgetTotals BudgetBook::totals(std::string_view category, Month month) const {
  const auto it = by_category_.find(categoryKey(category, month));
  return it == by_category_.end() ? BudgetTotals{} : it->second;
}

BudgetTotals BudgetBook::retailerTotals(std::string_view category, std::string_view retailer,
                                        Month month) const {
  const auto it = by_retailer_.find(retailerKey(category, retailer, month));
  return it == by_retailer_.end() ? BudgetTotals{} : it->second;
}

}  // namespace steward::policy
