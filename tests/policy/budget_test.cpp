// Budgets: reservations never let spent + reserved pass a cap, whatever the interleaving of
// reserve/commit/release, totals always balance with the live entries, and the entries survive a
// restart through the ledger database.
#include "policy/budget.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "ledger/budget_store.hpp"
#include "ledger/database.hpp"
#include "policy/budget_persistence.hpp"
#include "policy/engine.hpp"
#include "policy_fixture.hpp"
#include "support/temp_dir.hpp"

namespace steward::policy {
namespace {

using test::eur;
using test::utc;

const std::string kPolicy = test::kHead + R"(
[budgets.consumables]
monthly = "60.00 EUR"
per_order = "40.00 EUR"
per_retailer_monthly = { megastore = "25.00 EUR" }

[budgets.batteries]
monthly = "20.00 EUR"

[retailers.megastore]
name = "MegaStore"
endpoint = "https://megastore.example/api"
signing_key = "ed25519:MK7dOjbTU7CRm/lTvIuIHCkMinfN06o/kJNY9+qyM1Y="
categories = ["consumables", "batteries"]
)";

std::shared_ptr<const Policy> policy() {
  auto load = test::parseText(kPolicy);
  EXPECT_TRUE(load.errors.empty()) << (load.errors.empty() ? "" : load.errors[0].format());
  return load.policy;
}

TEST(BudgetBook, ReserveCommitRelease) {
  const auto p = policy();
  ASSERT_TRUE(p);
  BudgetBook book;
  const Month nov{2026, 11};
  auto a = book.reserve(*p, "a", "consumables", "papershop", eur(3000), utc(2026, 11, 10, 12));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->month, nov);
  EXPECT_EQ(book.totals("consumables", nov), (BudgetTotals{0, 3000}));
  auto b = book.reserve(*p, "b", "consumables", "papershop", eur(3000), utc(2026, 11, 11, 12));
  ASSERT_TRUE(b.ok());
  // The cap is reached: nothing more, not even a cent, until something is released.
  auto c = book.reserve(*p, "c", "consumables", "papershop", eur(1), utc(2026, 11, 12, 12));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "0.01 EUR would pass the cap of 60.00 EUR for 2026-11 (budgets.consumables.monthly): "
            "spent 0.00 EUR, reserved 60.00 EUR");
  EXPECT_EQ(book.totals("consumables", nov), (BudgetTotals{0, 6000}));

  auto committed = book.commit("a", eur(2500));  // cheaper than reserved: 5.00 EUR freed
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->state, ReservationState::committed);
  EXPECT_EQ(book.totals("consumables", nov), (BudgetTotals{2500, 3000}));
  EXPECT_TRUE(
      book.reserve(*p, "c", "consumables", "papershop", eur(500), utc(2026, 11, 12, 12)).ok());

  auto released = book.release("b");
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->state, ReservationState::released);
  EXPECT_EQ(book.totals("consumables", nov), (BudgetTotals{2500, 500}));
  EXPECT_EQ(book.find("b"), nullptr);
  EXPECT_EQ(book.size(), 2u);
}

TEST(BudgetBook, RefusalsChangeNothing) {
  const auto p = policy();
  ASSERT_TRUE(p);
  BudgetBook book;
  const auto at = utc(2026, 11, 10, 12);
  ASSERT_TRUE(book.reserve(*p, "a", "consumables", "megastore", eur(2000), at).ok());
  const auto before = book.live();
  struct Bad {
    std::string id, category, retailer;
    core::Money amount;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"a", "consumables", "", eur(100), "reservation \"a\" already exists"},
      {"", "consumables", "", eur(100), "a reservation needs an id"},
      {"x", "garden", "", eur(100), "no budget for category \"garden\" (budgets.garden)"},
      {"x", "consumables", "", eur(0), "amount must be above zero, got 0.00 EUR"},
      {"x", "consumables", "", core::Money{100, *core::currencyFromCode("USD")},
       "amount 1.00 USD is not in the household currency EUR"},
      {"x", "consumables", "", eur(4001),
       "40.01 EUR is above the per-order cap of 40.00 EUR (budgets.consumables.per_order)"},
      {"x", "consumables", "megastore", eur(501),
       "5.01 EUR would pass the cap of 25.00 EUR for 2026-11 "
       "(budgets.consumables.per_retailer_monthly.megastore): spent 0.00 EUR, reserved 20.00 EUR"},
  };
  for (const auto& b : bad) {
    auto r = book.reserve(*p, b.id, b.category, b.retailer, b.amount, at);
    ASSERT_FALSE(r.ok()) << b.message;
    EXPECT_EQ(r.error().message, b.message);
  }
  EXPECT_FALSE(book.commit("a", eur(2001)).ok());  // more than reserved
  EXPECT_FALSE(book.commit("nope", eur(1)).ok());
  EXPECT_FALSE(book.release("nope").ok());
  ASSERT_TRUE(book.commit("a", eur(2000)).ok());
  EXPECT_FALSE(book.commit("a", eur(2000)).ok());  // already committed
  EXPECT_EQ(book.totals("consumables", Month{2026, 11}), (BudgetTotals{2000, 0}));
  EXPECT_EQ(before.size(), 1u);
  EXPECT_EQ(book.retailerTotals("consumables", "megastore", Month{2026, 11}),
            (BudgetTotals{2000, 0}));
}

TEST(BudgetBook, MonthsFollowTheHouseholdZone) {
  const auto p = policy();
  ASSERT_TRUE(p);
  BudgetBook book;
  // 23:30 UTC on 30 November is December in Berlin.
  auto r = book.reserve(*p, "late", "batteries", "", eur(2000), utc(2026, 11, 30, 23, 30));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->month, (Month{2026, 12}));
  EXPECT_EQ(book.totals("batteries", Month{2026, 11}), (BudgetTotals{}));
  EXPECT_TRUE(book.reserve(*p, "nov", "batteries", "", eur(2000), utc(2026, 11, 30, 22, 30)).ok());
  EXPECT_FALSE(book.reserve(*p, "dec", "batteries", "", eur(1), utc(2026, 12, 15, 12)).ok());
}

// Random interleavings of thousands of operations against an independent model: the book must
// accept exactly the reservations that fit, never pass a cap, and always balance.
TEST(BudgetBook, PropertyRandomInterleavingsNeverPassACapAndAlwaysBalance) {
  const auto p = policy();
  ASSERT_TRUE(p);
  const std::vector<std::string> categories = {"consumables", "batteries"};
  const std::vector<std::string> retailers = {"papershop", "megastore", ""};
  // Around two month boundaries in Berlin time.
  const std::vector<core::TimePoint> times = {utc(2026, 11, 15, 12), utc(2026, 11, 30, 22, 59),
                                              utc(2026, 11, 30, 23, 0), utc(2026, 12, 31, 23, 30)};
  struct Model {
    std::string category, retailer;
    Month month;
    std::int64_t amount;
    bool committed;
  };
  std::size_t accepted = 0, refused = 0, commits = 0, releases = 0;
  for (unsigned seed = 1; seed <= 8; ++seed) {
    std::mt19937 rng(seed);
    BudgetBook book;
    std::map<std::string, Model> model;
    int next = 0;
    const auto pick = [&rng](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const auto sum = [&](const std::string& cat, const std::string* retailer, Month m) {
      BudgetTotals t;
      for (const auto& [id, e] : model) {
        if (e.category != cat || !(e.month == m) || (retailer && e.retailer != *retailer)) continue;
        (e.committed ? t.spent : t.reserved) += e.amount;
      }
      return t;
    };
    for (int step = 0; step < 2000; ++step) {
      const auto op = pick(10);
      if (op < 6 || model.empty()) {
        const std::string id = "r" + std::to_string(next++);
        const std::string& cat = categories[pick(categories.size())];
        const std::string& ret = retailers[pick(retailers.size())];
        const core::TimePoint at = times[pick(times.size())];
        const std::int64_t amount = std::uniform_int_distribution<std::int64_t>(1, 4500)(rng);
        const Month m = p->household.time_zone.monthOf(at);
        const Budget& b = *p->budget(cat);
        const BudgetTotals t = sum(cat, nullptr, m);
        bool fits = amount <= (b.per_order ? b.per_order->minor : INT64_MAX) &&
                    t.spent + t.reserved + amount <= b.monthly.minor;
        if (auto cap = b.per_retailer_monthly.find(ret); cap != b.per_retailer_monthly.end()) {
          const BudgetTotals rt = sum(cat, &ret, m);
          fits = fits && rt.spent + rt.reserved + amount <= cap->second.minor;
        }
        auto r = book.reserve(*p, id, cat, ret, eur(amount), at);
        ASSERT_EQ(r.ok(), fits) << "seed " << seed << " step " << step;
        if (r.ok()) {
          model[id] = Model{cat, ret, m, amount, false};
          ++accepted;
        } else {
          ++refused;
        }
      } else {
        auto it = model.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(pick(model.size())));
        const std::string id = it->first;
        if (op < 8 && !it->second.committed) {
          const std::int64_t paid =
              std::uniform_int_distribution<std::int64_t>(0, it->second.amount)(rng);
          ASSERT_TRUE(book.commit(id, eur(paid)).ok());
          it->second.amount = paid;
          it->second.committed = true;
          ++commits;
        } else {
          ASSERT_TRUE(book.release(id).ok());
          model.erase(it);
          ++releases;
        }
      }
      // Invariants after every step, for every category, retailer and month touched.
      for (const auto& cat : categories) {
        const Budget& b = *p->budget(cat);
        for (const auto& at : times) {
          const Month m = p->household.time_zone.monthOf(at);
          const BudgetTotals t = book.totals(cat, m);
          ASSERT_EQ(t, sum(cat, nullptr, m)) << "seed " << seed << " step " << step;
          ASSERT_LE(t.spent + t.reserved, b.monthly.minor);
          for (const auto& ret : retailers) {
            const BudgetTotals rt = book.retailerTotals(cat, ret, m);
            ASSERT_EQ(rt, sum(cat, &ret, m));
            if (auto cap = b.per_retailer_monthly.find(ret); cap != b.per_retailer_monthly.end()) {
              ASSERT_LE(rt.spent + rt.reserved, cap->second.minor);
            }
          }
        }
      }
      ASSERT_EQ(book.size(), model.size());
    }
    // Releasing everything returns every total to zero.
    for (const auto& [id, e] : model)
      ASSERT_TRUE(book.release(id).ok());
    for (const auto& cat : categories)
      for (const auto& at : times)
        EXPECT_EQ(book.totals(cat, p->household.time_zone.monthOf(at)), (BudgetTotals{}));
  }
  // The test exercised both sides of every branch.
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(refused, 1000u);
  EXPECT_GT(commits, 500u);
  EXPECT_GT(releases, 500u);
}

TEST(BudgetBook, SurvivesARestartThroughTheLedger) {
  const auto p = policy();
  ASSERT_TRUE(p);
  steward::test::TempDir dir;
  const std::string path = dir.file("ledger.db");
  const auto now = utc(2026, 11, 10, 12);
  {
    auto db = ledger::Database::open(path);
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto store = ledger::BudgetStore::open(*db);
    ASSERT_TRUE(store.ok()) << store.error().message;
    BudgetBook book;
    for (const auto& [id, cents] : {std::pair{"a", 2000}, {"b", 1500}, {"c", 1000}}) {
      auto r = book.reserve(*p, id, "consumables", "papershop", eur(cents), now);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(store->save(toEntry(*r, now)).ok());
    }
    auto committed = book.commit("a", eur(1800));
    ASSERT_TRUE(committed.ok());
    ASSERT_TRUE(store->save(toEntry(*committed, now)).ok());
    auto released = book.release("b");
    ASSERT_TRUE(released.ok());
    ASSERT_TRUE(store->save(toEntry(*released, now)).ok());
  }
  auto db = ledger::Database::open(path);
  ASSERT_TRUE(db.ok());
  auto store = ledger::BudgetStore::open(*db);
  ASSERT_TRUE(store.ok());
  BudgetBook book;
  ASSERT_TRUE(restoreBudgets(book, *store).ok());
  EXPECT_EQ(book.size(), 2u);
  EXPECT_EQ(book.totals("consumables", Month{2026, 11}), (BudgetTotals{1800, 1000}));
  // The restored book enforces the caps: 60.00 - 28.00 leaves 32.00.
  EXPECT_FALSE(book.reserve(*p, "d", "consumables", "papershop", eur(3201), now).ok());
  EXPECT_TRUE(book.reserve(*p, "d", "consumables", "papershop", eur(3200), now).ok());
  auto released = store->find("b");
  ASSERT_TRUE(released.ok());
  ASSERT_TRUE(released->has_value());
  EXPECT_EQ((*released)->state, "released");

  // Rows that are not valid entries are refused, and the book stays as it was.
  ledger::BudgetEntry bad = toEntry(*book.find("d"), now);
  bad.id = "e";
  bad.month = "2026-13";
  EXPECT_FALSE(fromEntry(bad).ok());
  bad.month = "2026-11";
  bad.state = "lost";
  EXPECT_FALSE(fromEntry(bad).ok());
  BudgetBook twice;
  const auto live = book.live();
  ASSERT_TRUE(twice.restore(live).ok());
  EXPECT_FALSE(twice.restore(live).ok());  // ids already live: all or nothing
  EXPECT_EQ(twice.size(), live.size());
}

TEST(BudgetBook, ReserveForUsesTheEnginesCategory) {
  const auto p = test::parseText(kPolicy + R"(
[devices.remote]
category = "batteries"
)")
                     .policy;
  ASSERT_TRUE(p);
  BudgetBook book;
  Request q;
  q.kind = RequestKind::purchase;
  q.category = "consumables";
  q.device_id = "remote";
  q.amount = eur(500);
  q.at = utc(2026, 11, 10, 12);
  auto r = reserveFor(book, *p, q, "order-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->category, "batteries");
  q.amount.reset();
  EXPECT_FALSE(reserveFor(book, *p, q, "order-2").ok());
}

}  // namespace
}  // namespace steward::policy
