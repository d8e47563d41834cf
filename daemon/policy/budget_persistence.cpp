// See budget_persistence.hpp.
#include "policy/budget_persistence.hpp"

namespace steward::policy {

ledger::BudgetEntry toEntry(const Reservation& r, core::TimePoint now) {
  return ledger::BudgetEntry{r.id,
                             r.category,
                             r.retailer_id,
                             r.month.format(),
                             r.amount.minor,
                             std::string(r.amount.currency.view()),
                             std::string(toString(r.state)),
                             now};
}

core::Result<Reservation> fromEntry(const ledger::BudgetEntry& e) {
  const auto bad = [&](std::string why) {
    return core::fail("budget entry \"" + e.id + "\": " + why);
  };
  Reservation r;
  r.id = e.id;
  r.category = e.category;
  r.retailer_id = e.retailer_id;
  const std::string& m = e.month;
  const auto digits = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (m[i] < '0' || m[i] > '9') return -1;
      v = v * 10 + (m[i] - '0');
    }
    return v;
  };
  if (m.size() != 7 || m[4] != '-') return bad("month \"" + m + "\" is not YYYY-MM");
  const int year = digits(0, 4);
  const int month = digits(5, 2);
  if (year < 0 || month < 1 || month > 12) return bad("month \"" + m + "\" is not YYYY-MM");
  r.month = Month{year, static_cast<unsigned>(month)};
  const auto currency = core::currencyFromCode(e.currency);
  if (!currency) return bad("unknown currency \"" + e.currency + "\"");
  if (e.amount_minor < 0) return bad("negative amount");
  r.amount = core::Money{e.amount_minor, *currency};
  const auto state = reservationStateFromString(e.state);
  if (!state) return bad("unknown state \"" + e.state + "\"");
  r.state = *state;
  return r;
}

core::Result<void> restoreBudgets(BudgetBook& book, ledger::BudgetStore& store) {
  auto rows = store.live();
  if (!rows) return rows.error();
  std::vector<Reservation> entries;
  for (const auto& row : *rows) {
    auto r = fromEntry(row);
    if (!r) return r.error();
    entries.push_back(std::move(*r));
  }
  return book.restore(entries);
}

}  // namespace steward::policy
