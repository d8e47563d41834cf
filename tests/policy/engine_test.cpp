// The decision engine, table-driven: each case is a request against one household policy (and
// variants of it) with the outcome and the exact rule ids that must determine it.
#include "policy/engine.hpp"

#include <gtest/gtest.h>

#include "policy_fixture.hpp"

namespace steward::policy {
namespace {

using test::eur;
using test::utc;

const std::string kPolicy = test::kHead + R"(
[purchasing]
mode = "auto"
auto_approve_limit = "30.00 EUR"
approval_timeout = "48h"

[budgets.consumables]
monthly = "60.00 EUR"
per_order = "40.00 EUR"
per_retailer_monthly = { megastore = "20.00 EUR" }

[budgets.kitchen]
monthly = "30.00 EUR"

[budgets.repairs]
monthly = "200.00 EUR"

[budgets.energy]
monthly = "0.00 EUR"

[retailers.papershop]
name = "Paper Shop"
endpoint = "https://papershop.example/api"
signing_key = "ed25519:I+wM2WWyR795LZzJ4xmfli3Jx2z31g+/1mujPUlvxeU="
categories = ["consumables"]

[retailers.megastore]
name = "MegaStore"
endpoint = "https://megastore.example/api"
signing_key = "ed25519:MK7dOjbTU7CRm/lTvIuIHCkMinfN06o/kJNY9+qyM1Y="
categories = ["consumables", "kitchen"]

[retailers.fixit]
name = "FixIt"
endpoint = "https://fixit.example/api"
signing_key = "ed25519:5DA2ZFeTbVf2eev+Tp4Mg/f8NKoRqmHKK8xicR1Ddug="
categories = ["repairs"]

[items.toner-black]
key = "toner-black"
device_kinds = ["printer"]
category = "consumables"
products = ["TN-2420"]
alternatives = ["TN-2410"]
max_unit_price = "45.00 EUR"
max_quantity = 2

[items.tabs]
key = "detergent"
devices = ["dw-1"]
category = "kitchen"
products = ["TABS"]
alternatives = ["TABS-ECO"]
substitution = true
max_unit_price = "15.00 EUR"

[service]
providers = ["fixit"]
max_call_out_fee = "80.00 EUR"
visit_windows = ["Mon-Fri 08:00-18:00"]
quiet_hours = ["12:00-13:00"]

[devices.old-printer]
disabled = true

[devices.kitchen-printer]
category = "kitchen"

[[forbid]]
id = "no-night-orders"
kind = "purchase"
when = ["23:00-06:00"]

[[forbid]]
id = "megastore-small-only"
kind = "purchase"
retailer = "megastore"
amount_above = "15.00 EUR"

[[permit]]
id = "meter"
kind = "meter-report"

[[permit]]
id = "repairs-approval"
kind = "service"
require_approval = true
)";

// Wednesday 25 November 2026, 10:00 in Berlin.
const core::TimePoint kNoon = utc(2026, 11, 25, 9);

std::shared_ptr<const Policy> load(const std::string& text) {
  auto l = test::parseText(text);
  EXPECT_TRUE(l.errors.empty()) << (l.errors.empty() ? "" : l.errors[0].format());
  return l.policy;
}

Request toner(std::int64_t cents, std::string retailer = "papershop") {
  Request q;
  q.kind = RequestKind::purchase;
  q.item_id = "toner-black";
  q.device_id = "printer-hall";
  q.device_kind = "printer";
  q.retailer_id = std::move(retailer);
  q.product = "TN-2420";
  q.amount = eur(cents);
  q.at = kNoon;
  return q;
}

Request service(core::TimePoint start, std::int64_t fee = 5000) {
  Request q;
  q.kind = RequestKind::service;
  q.device_id = "dishwasher";
  q.retailer_id = "fixit";
  q.amount = eur(12000);
  q.call_out_fee = eur(fee);
  q.visit_start = start;
  q.visit_end = start + std::chrono::hours(1);
  q.at = kNoon;
  return q;
}

Request meterReport() {
  Request q;
  q.kind = RequestKind::meterReport;
  q.device_id = "meter-1";
  q.at = kNoon;
  return q;
}

template <class F>
Request with(Request q, F change) {
  change(q);
  return q;
}

struct Spent {
  std::int64_t spent = 0, reserved = 0, megastore_spent = 0;
};

BudgetBook bookWith(const Spent& s, Month month) {
  std::vector<Reservation> entries;
  if (s.spent)
    entries.push_back(
        {"s", "consumables", "papershop", month, eur(s.spent), ReservationState::committed});
  if (s.reserved)
    entries.push_back(
        {"r", "consumables", "papershop", month, eur(s.reserved), ReservationState::reserved});
  if (s.megastore_spent)
    entries.push_back({"m", "consumables", "megastore", month, eur(s.megastore_spent),
                       ReservationState::committed});
  BudgetBook book;
  EXPECT_TRUE(book.restore(entries).ok());
  return book;
}

struct Case {
  const char* name;
  Request request;
  Outcome outcome;
  std::vector<std::string> rules;
  Spent budgets = {};
};

TEST(PolicyEngine, DecisionsAndTheRulesThatDetermineThem) {
  const auto policy = load(kPolicy);
  ASSERT_TRUE(policy);
  const Outcome allow = Outcome::allow, approve = Outcome::needsApproval, deny = Outcome::deny;
  const std::vector<Case> cases = {
      {"within every limit",
       toner(2500),
       allow,
       {"items.toner-black", "purchasing.auto_approve_limit"}},
      {"above the auto-approve limit",
       toner(3500),
       approve,
       {"items.toner-black", "purchasing.auto_approve_limit"}},
      {"above the per-order cap", toner(4100), deny, {"budgets.consumables.per_order"}},
      {"would pass the monthly cap",
       toner(2500),
       deny,
       {"budgets.consumables.monthly"},
       {3000, 1000}},
      {"exactly reaches the monthly cap",
       toner(2000),
       allow,
       {"items.toner-black", "purchasing.auto_approve_limit"},
       {3000, 1000}},
      {"alternative without substitution",
       with(toner(2500), [](Request& q) { q.product = "TN-2410"; }),
       deny,
       {"items.toner-black.substitution"}},
      {"unknown product",
       with(toner(2500), [](Request& q) { q.product = "XYZ"; }),
       deny,
       {"items.toner-black.products"}},
      {"unit price too high",
       with(toner(2500), [](Request& q) { q.unit_price = eur(4600); }),
       deny,
       {"items.toner-black.max_unit_price"}},
      {"quantity too high",
       with(toner(2500), [](Request& q) { q.quantity = 3; }),
       deny,
       {"items.toner-black.max_quantity"}},
      {"at night",
       with(toner(2500), [](Request& q) { q.at = utc(2026, 11, 25, 22, 30); }),
       deny,
       {"no-night-orders"}},
      {"unknown retailer", toner(2500, "shady"), deny, {"retailers"}},
      {"retailer not approved for the category",
       toner(2500, "fixit"),
       deny,
       {"retailers.fixit.categories"}},
      {"owner's forbid rule", toner(1600, "megastore"), deny, {"megastore-small-only"}},
      {"per-retailer monthly cap",
       toner(1000, "megastore"),
       deny,
       {"budgets.consumables.per_retailer_monthly.megastore"},
       {0, 0, 1500}},
      {"rule that cannot be evaluated denies", toner(1600, ""), deny, {"megastore-small-only"}},
      {"rule that is false whatever the missing value",
       toner(1000, ""),
       allow,
       {"items.toner-black", "purchasing.auto_approve_limit"}},
      {"no amount: budgets cannot be evaluated",
       with(toner(0), [](Request& q) { q.amount.reset(); }),
       deny,
       {"items.toner-black.max_unit_price", "budgets.consumables.monthly"}},
      {"disabled device",
       with(toner(2500), [](Request& q) { q.device_id = "old-printer"; }),
       deny,
       {"devices.old-printer.disabled"}},
      {"device moved to another category",
       with(toner(1000), [](Request& q) { q.device_id = "kitchen-printer"; }),
       deny,
       {"retailers.papershop.categories"}},
      {"device moved to another category, a retailer for it",
       with(toner(1000, "megastore"), [](Request& q) { q.device_id = "kitchen-printer"; }),
       allow,
       {"items.toner-black", "purchasing.auto_approve_limit"}},
      {"nothing permits a purchase without an item",
       with(toner(1000),
            [](Request& q) {
              q.item_id.clear();
              q.category = "consumables";
            }),
       deny,
       {"default-deny"}},
      {"unknown item",
       with(toner(1000), [](Request& q) { q.item_id = "caviar"; }),
       deny,
       {"items", "budgets"}},
      {"amount in another currency",
       with(toner(1000),
            [](Request& q) {
              q.amount = core::Money{1000, *core::currencyFromCode("USD")};
            }),
       deny,
       {"household.currency", "items.toner-black.max_unit_price", "budgets.consumables.monthly"}},
      {"substitution allowed",
       with(toner(900, "megastore"),
            [](Request& q) {
              q.item_id = "tabs";
              q.device_id = "dw-1";
              q.device_kind.clear();
              q.product = "TABS-ECO";
            }),
       allow,
       {"items.tabs", "purchasing.auto_approve_limit"}},
      {"meter report", meterReport(), allow, {"meter"}},
      {"service visit in a window",
       service(utc(2026, 11, 25, 9)),
       approve,
       {"service.providers", "repairs-approval", "purchasing.auto_approve_limit"}},
      {"service visit in quiet hours",
       service(utc(2026, 11, 25, 10, 30)),
       deny,
       {"service.quiet_hours"}},
      {"service visit on a Saturday",
       service(utc(2026, 11, 28, 9)),
       deny,
       {"service.visit_windows"}},
      {"service visit ending after the window",
       service(utc(2026, 11, 25, 16, 30)),
       deny,
       {"service.visit_windows"}},
      {"call-out fee too high",
       service(utc(2026, 11, 25, 9), 9000),
       deny,
       {"service.max_call_out_fee"}},
      {"provider not allowed",
       with(service(utc(2026, 11, 25, 9)), [](Request& q) { q.retailer_id = "papershop"; }),
       deny,
       {"retailers.papershop.categories", "service.providers"}},
      {"service without a visit time",
       with(service(utc(2026, 11, 25, 9)), [](Request& q) { q.visit_start.reset(); }),
       deny,
       {"service.visit_windows"}},
  };
  for (const auto& c : cases) {
    const BudgetBook book = bookWith(c.budgets, Month{2026, 11});
    const Decision d = evaluate(*policy, book, c.request);
    EXPECT_EQ(toString(d.outcome), toString(c.outcome)) << c.name;
    EXPECT_EQ(d.ruleIds(), c.rules) << c.name;
    EXPECT_EQ(d.revision, policy->revision) << c.name;
    for (const auto& r : d.reasons)
      EXPECT_FALSE(r.message.empty()) << c.name;
  }
}

TEST(PolicyEngine, BudgetFiguresAndApprovalDeadline) {
  const auto policy = load(kPolicy);
  ASSERT_TRUE(policy);
  const BudgetBook book = bookWith({1000, 500, 1200}, Month{2026, 11});
  const Decision d = evaluate(*policy, book, toner(800, "megastore"));
  EXPECT_EQ(d.outcome, Outcome::allow);
  EXPECT_EQ(d.category, "consumables");
  ASSERT_TRUE(d.month);
  EXPECT_EQ(d.month->format(), "2026-11");
  ASSERT_EQ(d.budgets.size(), 3u);
  EXPECT_EQ(d.budgets[0].format(),
            "budgets.consumables.per_order 2026-11: cap 40.00 EUR, this request 8.00 EUR, leaves "
            "32.00 EUR");
  EXPECT_EQ(d.budgets[1].format(),
            "budgets.consumables.monthly 2026-11: cap 60.00 EUR, spent 22.00 EUR, reserved 5.00 "
            "EUR, this request 8.00 EUR, leaves 25.00 EUR");
  EXPECT_EQ(d.budgets[2].format(),
            "budgets.consumables.per_retailer_monthly.megastore 2026-11: cap 20.00 EUR, spent "
            "12.00 EUR, reserved 0.00 EUR, this request 8.00 EUR, leaves 0.00 EUR");
  EXPECT_FALSE(d.approval_deadline);

  // The same request over the monthly cap is denied, not sent for approval.
  const Decision over = evaluate(*policy, book, toner(3500));
  EXPECT_EQ(over.outcome, Outcome::deny);
  EXPECT_EQ(over.ruleIds(), std::vector<std::string>{"budgets.consumables.monthly"});
  EXPECT_EQ(over.budgets[1].format(),
            "budgets.consumables.monthly 2026-11: cap 60.00 EUR, spent 22.00 EUR, reserved 5.00 "
            "EUR, this request 35.00 EUR, over by 2.00 EUR");
  EXPECT_TRUE(over.budgets[1].exceeds());
  EXPECT_FALSE(over.approval_deadline);

  BudgetBook empty;
  const Decision ask = evaluate(*policy, empty, toner(3500));
  EXPECT_EQ(ask.outcome, Outcome::needsApproval);
  ASSERT_TRUE(ask.approval_deadline);
  EXPECT_EQ(*ask.approval_deadline, kNoon + std::chrono::hours(48));
}

TEST(PolicyEngine, ModesAndForbidWinsOverPermit) {
  // An unknown table is an error, and nothing is loaded.
  EXPECT_EQ(test::parseText(kPolicy + "\n[purchasing.x]\n").policy, nullptr);
  std::string text = kPolicy;
  text.replace(text.find("mode = \"auto\""), 13, "mode = \"paused\"");
  auto p = load(text);
  ASSERT_TRUE(p);
  BudgetBook empty;
  Decision d = evaluate(*p, empty, toner(1000));
  EXPECT_EQ(d.outcome, Outcome::deny);
  EXPECT_EQ(d.ruleIds(), std::vector<std::string>{"purchasing.mode"});
  // Paused stops spending, not meter reports.
  EXPECT_EQ(evaluate(*p, empty, meterReport()).outcome, Outcome::allow);

  text.replace(text.find("mode = \"paused\""), 15, "mode = \"approve-all\"");
  p = load(text);
  ASSERT_TRUE(p);
  d = evaluate(*p, empty, toner(1000));
  EXPECT_EQ(d.outcome, Outcome::needsApproval);
  EXPECT_EQ(d.ruleIds(), (std::vector<std::string>{"items.toner-black", "purchasing.mode"}));

  // An explicit permit does not beat a forbid.
  p = load(kPolicy + "\n[[permit]]\nid = \"anything-from-megastore\"\nretailer = \"megastore\"\n");
  ASSERT_TRUE(p);
  d = evaluate(*p, empty, toner(1600, "megastore"));
  EXPECT_EQ(d.outcome, Outcome::deny);
  EXPECT_EQ(d.ruleIds(), std::vector<std::string>{"megastore-small-only"});
}

TEST(PolicyEngine, BudgetMonthIsTheHouseholdsMonth) {
  std::string text = kPolicy;
  text.erase(
      text.find("[[forbid]]\nid = \"no-night-orders\""),
      std::string(
          "[[forbid]]\nid = \"no-night-orders\"\nkind = \"purchase\"\nwhen = [\"23:00-06:00\"]\n")
          .size());
  const auto p = load(text);
  ASSERT_TRUE(p);
  // November is full, December is empty.
  const BudgetBook book = bookWith({6000, 0}, Month{2026, 11});
  // 23:30 UTC on 30 November is 00:30 on 1 December in Berlin: December's budget.
  const Decision d =
      evaluate(*p, book, with(toner(2000), [](Request& q) { q.at = utc(2026, 11, 30, 23, 30); }));
  EXPECT_EQ(d.outcome, Outcome::allow);
  EXPECT_EQ(d.month->format(), "2026-12");
  // An hour earlier it is still November in Berlin, and November is spent.
  const Decision nov =
      evaluate(*p, book, with(toner(2000), [](Request& q) { q.at = utc(2026, 11, 30, 22, 30); }));
  EXPECT_EQ(nov.outcome, Outcome::deny);
  EXPECT_EQ(nov.ruleIds(), std::vector<std::string>{"budgets.consumables.monthly"});
}

TEST(PolicyEngine, DecisionsForTheLedger) {
  const auto p = load(kPolicy);
  ASSERT_TRUE(p);
  BudgetBook empty;
  const Decision d = evaluate(*p, empty, toner(3500));
  const auto reasons = d.ledgerReasons();
  ASSERT_GE(reasons.size(), 3u);
  EXPECT_EQ(reasons[0], "items.toner-black: buying \"toner-black\" is allowed");
  EXPECT_EQ(
      reasons[1],
      "purchasing.auto_approve_limit: 35.00 EUR is above the auto-approve limit of 30.00 EUR");
  const auto json = d.toJson().as_object();
  EXPECT_EQ(json.at("outcome").as_string(), "needs-approval");
  EXPECT_EQ(json.at("month").as_string(), "2026-11");
  EXPECT_EQ(json.at("approval_deadline").as_string(), "2026-11-27T09:00:00Z");
  EXPECT_EQ(json.at("revision").as_string(), p->revision);
  EXPECT_EQ(toJson(toner(3500)).as_object().at("amount").as_string(), "35.00 EUR");
}

}  // namespace
}  // namespace steward::policy
