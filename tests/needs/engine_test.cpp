// The needs engine end to end over a real SQLite ledger: opening from flags and forecasts,
// deduplication, refills, baskets and the gate, the lifecycle, restarts, caps and bad input.
#include <gmock/gmock.h>

#include "needs/engine_fixture.hpp"

namespace steward::needs::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(NeedsFixture, DeviceSayingLowOpensANeedAtOnce) {
  const auto out = send(flag("sensor-7", "battery", SignalKind::battery));
  ASSERT_EQ(out.action, SignalOutcome::Action::opened);
  auto need = engine->liveNeed(*out.need);
  ASSERT_TRUE(need);
  EXPECT_EQ(need->item_id, "battery:CR2032");
  EXPECT_EQ(need->state, NeedState::open);
  EXPECT_THAT(need->reason, HasSubstr("CR2032 coin cell low"));
  EXPECT_EQ(need->needed_by, clock.now() + 48h);
  EXPECT_EQ(decisions("need.opened"), 1);
}

TEST_F(NeedsFixture, UntrackedSignalsAreIgnoredAndStoreNothing) {
  const std::string before = snapshot();
  const auto out = send(level("fridge", "water-filter", 40));
  EXPECT_EQ(out.action, SignalOutcome::Action::ignored);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(NeedsFixture, SlowPrinterAtNinePercentWaitsBusyOneAtThirtyPercentIsDue) {
  // Both send readings every 6 h for four days.
  const core::TimePoint start = clock.now();
  feed("printer-a", "toner-black", 9.2, 0.05, std::chrono::days{4});
  clock.set(start);
  const double busy = feed("printer-b", "toner-hl", 42.0, 3.0, std::chrono::days{4});
  EXPECT_NEAR(busy, 30.0, 0.01);

  EXPECT_FALSE(liveFor("toner:TN-2420")) << "9 % at 0.05 %/day lasts half a year";
  auto slow = engine->series("printer-a", "toner-black");
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->forecast.status, ForecastStatus::depleting);
  EXPECT_NEAR(slow->forecast.rate_per_day, 0.05, 0.005);
  EXPECT_GT(*slow->forecast.runout, clock.now() + std::chrono::days{150});

  auto busy_need = liveFor("toner:TN-3480");
  ASSERT_TRUE(busy_need) << "30 % at 3 %/day runs out in 10 days, inside lead + safety";
  EXPECT_THAT(busy_need->reason, HasSubstr("forecast:"));
  EXPECT_THAT(busy_need->reason, HasSubstr("3.0 %/day"));
  const auto runout = clock.now() + std::chrono::days{10};
  EXPECT_LT(std::chrono::abs(busy_need->needed_by - runout), 2h);
  EXPECT_EQ(busy_need->order_by, busy_need->needed_by - 72h);
}

TEST_F(NeedsFixture, FaultReportedFiftyTimesIsOneNeed) {
  std::optional<NeedId> id;
  for (int i = 0; i < 50; ++i) {
    const auto out =
        send(flag("washer-1", "E24", SignalKind::fault, Severity::warning, "drain pump blocked"));
    if (!id) id = out.need;
    EXPECT_EQ(out.need, id);
    EXPECT_EQ(out.action, i == 0 ? SignalOutcome::Action::opened : SignalOutcome::Action::repeated);
    clock.advance(10min);
  }
  ASSERT_EQ(engine->liveNeeds().size(), 1u);
  const Need n = *engine->liveNeed(*id);
  ASSERT_EQ(n.sources.size(), 1u);
  EXPECT_EQ(n.sources[0].reports, 50);
  EXPECT_EQ(n.category, "repair");
  EXPECT_EQ(n.detail.at("visit_windows").as_array().size(), 2u);
  EXPECT_EQ(decisions("need.opened"), 1);
  EXPECT_EQ(decisions("need.merged"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM needs"), 1);

  // A more severe repeat brings the deadline forward; another code of the same machine joins.
  const auto before = n.needed_by;
  send(flag("washer-1", "E24", SignalKind::fault, Severity::critical, "drain pump blocked"));
  EXPECT_EQ(decisions("need.escalated"), 1);
  EXPECT_LT(engine->liveNeed(*id)->needed_by, before);
  const auto other = send(flag("washer-1", "E31", SignalKind::fault, Severity::info, "door lock"));
  EXPECT_EQ(other.action, SignalOutcome::Action::merged);
  EXPECT_EQ(other.need, id);
  EXPECT_EQ(engine->liveNeed(*id)->quantity, 1);
  EXPECT_EQ(engine->liveNeeds().size(), 1u);
}

TEST_F(NeedsFixture, TwoPrintersNeedingTheSameTonerShareOneNeed) {
  const core::TimePoint start = clock.now();
  feed("printer-1", "toner-black", 40, 2.5, std::chrono::days{4});
  clock.set(start + 1h);
  feed("printer-2", "toner-black", 35, 2.0, std::chrono::days{4});
  auto need = liveFor("toner:TN-2420");
  ASSERT_TRUE(need);
  EXPECT_EQ(need->quantity, 2);
  EXPECT_EQ(need->sources.size(), 2u);
  EXPECT_EQ(decisions("need.opened"), 1);
  EXPECT_EQ(decisions("need.merged"), 1);
  EXPECT_EQ(engine->liveNeeds().size(), 1u);

  // printer-1 gets a new cartridge: one still needed.
  clock.advance(6h);
  send(level("printer-1", "toner-black", 100));
  clock.advance(6h);
  EXPECT_EQ(send(level("printer-1", "toner-black", 100)).action, SignalOutcome::Action::refilled);
  need = liveFor("toner:TN-2420");
  ASSERT_TRUE(need);
  EXPECT_EQ(need->quantity, 1);
  EXPECT_EQ(decisions("need.source-satisfied"), 1);

  // printer-2 too: fulfilled.
  send(level("printer-2", "toner-black", 98));
  clock.advance(6h);
  send(level("printer-2", "toner-black", 98));
  EXPECT_FALSE(liveFor("toner:TN-2420"));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].state, NeedState::fulfilled);
  EXPECT_THAT(closed[0].closed_reason, HasSubstr("level rose"));
  EXPECT_EQ(decisions("need.closed", "fulfilled"), 1);
}

TEST_F(NeedsFixture, RefillFulfilsTheNeedAndTheNextCycleOpensAnother) {
  // 1.5 %/day from 40 %: due once run-out − 17 d is reached.
  feed("printer-1", "toner-black", 40, 1.5, std::chrono::days{12});
  auto first = liveFor("toner:TN-2420");
  ASSERT_TRUE(first);
  ASSERT_TRUE(engine->markSourcing(first->id));
  ASSERT_TRUE(engine->ordered(first->id, "O-1"));

  clock.advance(6h);
  send(level("printer-1", "toner-black", 100));
  EXPECT_TRUE(liveFor("toner:TN-2420")) << "one high reading is not yet a refill";
  clock.advance(6h);
  send(level("printer-1", "toner-black", 99.5));
  EXPECT_FALSE(liveFor("toner:TN-2420"));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].order_id, "O-1");
  auto series = engine->series("printer-1", "toner-black");
  EXPECT_EQ(series->refills, 1);
  EXPECT_EQ(series->readings, 2u);

  // The new cartridge runs down at 4 %/day: due again within three weeks.
  clock.advance(6h);
  feed("printer-1", "toner-black", 99, 4.0, std::chrono::days{20});
  auto second = liveFor("toner:TN-2420");
  ASSERT_TRUE(second);
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(decisions("need.opened"), 2);
}

TEST_F(NeedsFixture, LifecycleRefusesIllegalMovesAndASecondLiveOrder) {
  const auto id = *send(flag("printer-1", "toner-black", SignalKind::consumable)).need;
  clock.advance(20min);
  const auto t = engine->tick();
  EXPECT_EQ(t.baskets, 1);
  ASSERT_EQ(engine->liveNeed(id)->state, NeedState::sourcing);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].needs, std::vector<NeedId>{id});

  ASSERT_TRUE(engine->awaitingApproval(id));
  ASSERT_TRUE(engine->ordered(id, "O-1"));
  std::string before = snapshot();
  auto second = engine->ordered(id, "O-2");
  ASSERT_FALSE(second);
  EXPECT_THAT(second.error().message, HasSubstr("already has a live order O-1"));
  EXPECT_EQ(snapshot(), before);
  auto back = engine->markSourcing(id);
  ASSERT_FALSE(back);
  EXPECT_THAT(back.error().message, HasSubstr("is ordered and cannot become sourcing"));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(engine->liveNeed(id)->order_id, "O-1");

  // The order fails: back to open, then a new order is fine.
  ASSERT_TRUE(engine->reopen(id, "order O-1 cancelled by the retailer"));
  EXPECT_EQ(engine->liveNeed(id)->order_id, "");
  ASSERT_TRUE(engine->markSourcing(id));
  ASSERT_TRUE(engine->ordered(id, "O-2"));
  ASSERT_TRUE(engine->fulfilled(id, "delivery confirmed"));
  EXPECT_FALSE(engine->liveNeed(id));
  auto after = engine->cancelled(id, "too late");
  ASSERT_FALSE(after);
  EXPECT_THAT(after.error().message, HasSubstr("no live need"));
  EXPECT_EQ(decisions("need.ordered"), 2);
  EXPECT_EQ(decisions("need.reopened"), 1);
  EXPECT_EQ(decisions("need.closed", "fulfilled"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM needs WHERE state = 'fulfilled' AND closed_reason = "
                  "'delivery confirmed'"),
            1);
}

TEST_F(NeedsFixture, NeedingApprovalMustPassThroughAwaitingApproval) {
  gate.item_verdicts["toner:TN-2420"] = Verdict::needsApproval;
  const auto id = *send(flag("printer-1", "toner-black", SignalKind::consumable)).need;
  clock.advance(20min);
  engine->tick();
  ASSERT_EQ(engine->liveNeed(id)->state, NeedState::sourcing);
  EXPECT_TRUE(engine->liveNeed(id)->approval_required);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].verdict, "needs-approval");
  auto direct = engine->ordered(id, "O-1");
  ASSERT_FALSE(direct);
  EXPECT_THAT(direct.error().message, HasSubstr("approval"));
  ASSERT_TRUE(engine->awaitingApproval(id));
  ASSERT_TRUE(engine->ordered(id, "O-1"));
}

TEST_F(NeedsFixture, AReasonTheBasketAndItsItemShareIsGivenOnce) {
  const std::string budget = "budgets.single: 45.90 EUR is above the 40.00 EUR asked about";
  gate.item_verdicts["toner:TN-2420"] = Verdict::needsApproval;
  gate.item_reasons["toner:TN-2420"] = {budget, "rules.brand: a brand not yet bought"};
  gate.basket_reasons = {budget};
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  clock.advance(20min);
  engine->tick();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_THAT(ready[0].reasons, ElementsAre(budget, "toner:TN-2420: rules.items: needs-approval",
                                            "toner:TN-2420: rules.brand: a brand not yet bought"));
}

TEST_F(NeedsFixture, ABasketApprovedBeforeItsOffersGoesBackToSourcing) {
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  clock.advance(20min);
  engine->tick();
  auto toner = liveFor("toner:TN-2420");
  ASSERT_EQ(toner->state, NeedState::sourcing);
  ASSERT_TRUE(engine->awaitingApproval(toner->id, "approval A1"));
  ASSERT_TRUE(engine->markSourcing(toner->id, "approved by uid 0"));
  EXPECT_EQ(liveFor("toner:TN-2420")->state, NeedState::sourcing);
  EXPECT_TRUE(engine->ordered(toner->id, "o-1"));
  EXPECT_FALSE(engine->markSourcing(toner->id)) << "an ordered need does not go back";
}

TEST_F(NeedsFixture, NeedsBasketsAndForecastsSurviveARestart) {
  feed("printer-1", "toner-black", 40, 1.5, std::chrono::days{12});
  send(flag("washer-1", "E24", SignalKind::fault, Severity::warning, "pump"));
  send(level("printer-9", "ink-cyan", 80));
  clock.advance(6h);
  send(level("printer-9", "ink-cyan", 100));  // a refill waiting for confirmation
  clock.advance(20min);
  engine->tick();
  ASSERT_TRUE(engine->ordered(liveFor("toner:TN-2420")->id, "O-7"));

  const auto needs_before = engine->liveNeeds();
  const auto series_before = engine->series("printer-1", "toner-black");
  const std::string db_before = snapshot();
  restart();
  EXPECT_EQ(snapshot(), db_before);
  const auto needs_after = engine->liveNeeds();
  ASSERT_EQ(needs_after.size(), needs_before.size());
  for (std::size_t i = 0; i < needs_after.size(); ++i) {
    EXPECT_EQ(needs_after[i].id, needs_before[i].id);
    EXPECT_EQ(needs_after[i].state, needs_before[i].state);
    EXPECT_EQ(needs_after[i].order_id, needs_before[i].order_id);
    EXPECT_EQ(needs_after[i].basket_id, needs_before[i].basket_id);
    EXPECT_EQ(needs_after[i].needed_by, needs_before[i].needed_by);
    EXPECT_EQ(needs_after[i].sources.size(), needs_before[i].sources.size());
    EXPECT_EQ(needs_after[i].opened_seq, needs_before[i].opened_seq);
  }
  const auto series_after = engine->series("printer-1", "toner-black");
  ASSERT_TRUE(series_after);
  EXPECT_EQ(series_after->forecast.runout, series_before->forecast.runout);
  EXPECT_EQ(series_after->forecast.rate_per_day, series_before->forecast.rate_per_day);
  EXPECT_EQ(series_after->readings, series_before->readings);

  // The pending refill is confirmed by the first reading after the restart.
  clock.advance(6h);
  EXPECT_EQ(send(level("printer-9", "ink-cyan", 99)).action, SignalOutcome::Action::refilled);
  // The repeated fault still finds its need; the order is still the only live one.
  EXPECT_EQ(send(flag("washer-1", "E24", SignalKind::fault)).action,
            SignalOutcome::Action::repeated);
  EXPECT_FALSE(engine->ordered(liveFor("toner:TN-2420")->id, "O-8"));
}

TEST_F(NeedsFixture, BasketsGroupByRetailerAndUrgencyOrdersThem) {
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  send(flag("printer-1", "ink-cyan", SignalKind::consumable));
  send(flag("sensor-3", "battery", SignalKind::battery));
  clock.advance(5min);
  EXPECT_EQ(engine->tick().baskets, 0) << "new needs wait a little for others to join";
  clock.advance(15min);
  const auto t = engine->tick();
  EXPECT_EQ(t.baskets, 2);
  ASSERT_EQ(ready.size(), 2u);
  // The battery is needed in two days, the toner and ink in three: its basket goes first.
  EXPECT_EQ(ready[0].retailer, "hardware-store");
  EXPECT_EQ(ready[1].retailer, "paper-shop");
  EXPECT_EQ(ready[1].needs.size(), 2u);
  ASSERT_EQ(gate.baskets.size(), 2u);
  EXPECT_EQ(gate.baskets[0].retailer, "hardware-store");
  EXPECT_EQ(gate.baskets[1].estimate, eur(4590 + 1200));
  // Grouping asks once per retailer each need could go to (toner: 2, ink: 1, battery: 1),
  // then the baskets' items are checked once more.
  EXPECT_EQ(gate.items.size(), 4u + 3u);
  for (const auto& item : gate.items)
    EXPECT_EQ(item.devices.size(), 1u) << item.item_id;
  EXPECT_EQ(decisions("needs.grouped", "allow"), 2);
  EXPECT_EQ(decisions("need.sourcing"), 3);
  for (const auto& n : engine->liveNeeds())
    EXPECT_EQ(n.state, NeedState::sourcing);
  EXPECT_EQ(engine->tick().baskets, 0) << "nothing left to group";
}

TEST_F(NeedsFixture, AnItemARetailerMayNotSellGoesToAnotherThatMay) {
  // The policy refuses toner from the paper shop (a per-retailer cap, a forbid rule): rather
  // than join the ink there and be held, it is bought from the other retailer that carries it.
  gate.refused.insert({"toner:TN-2420", "paper-shop"});
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  send(flag("printer-1", "ink-cyan", SignalKind::consumable));
  clock.advance(20min);
  const auto t = engine->tick();
  EXPECT_EQ(t.baskets, 2);
  EXPECT_EQ(t.held, 0);
  ASSERT_EQ(ready.size(), 2u);
  std::map<std::string, std::size_t> by_retailer;
  for (const auto& b : ready)
    by_retailer[b.retailer] = b.needs.size();
  EXPECT_EQ(by_retailer["office-direct"], 1u);
  EXPECT_EQ(by_retailer["paper-shop"], 1u);
  EXPECT_FALSE(liveFor("toner:TN-2420")->held);
}

TEST_F(NeedsFixture, ForecastNeedsOfTheSameRetailerFallingDueSoonJoinTheBasket) {
  // Toner due now; cyan ink (same retailer) due in about four days.
  const core::TimePoint start = clock.now();
  feed("printer-1", "toner-black", 40, 2.0, std::chrono::days{5});
  clock.set(start);
  feed("printer-1", "ink-cyan", 55, 2.0, std::chrono::days{5});
  ASSERT_TRUE(liveFor("toner:TN-2420"));
  ASSERT_FALSE(liveFor("ink:LC-cyan"));
  const auto ink = engine->series("printer-1", "ink-cyan");
  ASSERT_TRUE(ink && ink->due);
  EXPECT_GT(*ink->due, clock.now() + std::chrono::days{3});
  EXPECT_LT(*ink->due, clock.now() + std::chrono::days{6});

  clock.advance(20min);
  EXPECT_EQ(engine->tick().baskets, 1);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].needs.size(), 2u);
  auto early = liveFor("ink:LC-cyan");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->state, NeedState::sourcing);
  EXPECT_THAT(early->reason, HasSubstr("opened early to share a basket from paper-shop"));
  EXPECT_EQ(decisions("need.opened", "opened-early"), 1);
}

TEST_F(NeedsFixture, DeniedItemIsHeldUntilThePolicyChanges) {
  gate.item_verdicts["ink:LC-cyan"] = Verdict::deny;
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  const auto ink = *send(flag("printer-1", "ink-cyan", SignalKind::consumable)).need;
  clock.advance(20min);
  const auto t = engine->tick();
  EXPECT_EQ(t.baskets, 1);
  EXPECT_EQ(t.held, 1);
  auto held = engine->liveNeed(ink);
  EXPECT_EQ(held->state, NeedState::open);
  EXPECT_TRUE(held->held);
  EXPECT_THAT(held->hold_reasons, ElementsAre("rules.items: deny"));
  EXPECT_EQ(decisions("need.held"), 1);

  const std::string before = snapshot();
  clock.advance(1h);
  engine->tick();
  EXPECT_EQ(snapshot(), before) << "same policy, same answer: not asked again";

  gate.rev = "rev-2";
  gate.item_verdicts.clear();
  clock.advance(1h);
  EXPECT_EQ(engine->tick().baskets, 1);
  EXPECT_EQ(engine->liveNeed(ink)->state, NeedState::sourcing);
  EXPECT_FALSE(engine->liveNeed(ink)->held);
}

TEST_F(NeedsFixture, BudgetGoesToTheMostUrgentBasketFirst) {
  gate.monthly_budget = eur(5000);
  // As the purchasing module does: a basket made ready holds its estimate in the budget at once,
  // so the next basket of the same round is checked against what is left.
  engine->onBasketReady([this](const Basket& b) {
    ready.push_back(b);
    if (b.estimate)
      gate.spent[FakeGate::monthName(std::chrono::year_month_day{
          std::chrono::floor<std::chrono::days>(clock.now())})] += b.estimate->minor;
  });
  CatalogItem drill;
  drill.item_id = "battery:drill-pack";
  drill.category = "battery";
  drill.description = "drill battery pack";
  drill.retailers = {"hardware-store"};
  drill.lead_time = 24h;
  drill.estimated_price = eur(1000);
  catalog.add("*", SignalKind::battery, "pack", drill);

  send(flag("printer-1", "toner-black", SignalKind::consumable));  // 45.90, needed in 3 days
  send(flag("drill", "pack", SignalKind::battery));                // 10.00, needed tomorrow
  clock.advance(20min);
  engine->tick();
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].retailer, "hardware-store");
  auto toner = liveFor("toner:TN-2420");
  EXPECT_TRUE(toner->held);
  ASSERT_EQ(gate.baskets.size(), 2u);
  EXPECT_EQ(gate.baskets[0].retailer, "hardware-store") << "the most urgent basket goes first";
  EXPECT_EQ(decisions("needs.grouped", "deny"), 1);
}

TEST_F(NeedsFixture, BudgetDeniedInJanuaryIsSourcedOnTheFirstOfFebruary) {
  gate.monthly_budget = eur(6000);
  gate.spent["2025-01"] = 4000;
  clock.set(day(2025, 1, 30, 18));
  const auto id = *send(flag("printer-1", "toner-black", SignalKind::consumable)).need;
  clock.advance(20min);
  engine->tick();
  auto n = engine->liveNeed(id);
  EXPECT_EQ(n->state, NeedState::open);
  EXPECT_TRUE(n->held);
  EXPECT_EQ(n->retry_after, day(2025, 2, 1));
  EXPECT_THAT(n->hold_reasons[0], HasSubstr("40.00 EUR of 60.00 EUR used in 2025-01"));
  EXPECT_EQ(n->needed_by, day(2025, 2, 2, 18)) << "the order window spans the month boundary";

  const std::string before = snapshot();
  clock.set(day(2025, 1, 31, 23));
  engine->tick();
  EXPECT_EQ(snapshot(), before) << "still January: not asked again";

  clock.set(day(2025, 2, 1, 0));
  EXPECT_EQ(engine->tick().baskets, 1);
  n = engine->liveNeed(id);
  EXPECT_EQ(n->state, NeedState::sourcing);
  EXPECT_FALSE(n->held);
  EXPECT_EQ(engine->liveNeeds().size(), 1u) << "the same need, not a second one";
  EXPECT_EQ(decisions("needs.grouped", "deny"), 1);
  EXPECT_EQ(decisions("needs.grouped", "allow"), 1);
  EXPECT_EQ(gate.baskets.back().at, day(2025, 2, 1));
}

TEST_F(NeedsFixture, ADeviceCannotOpenMoreNeedsThanItsCap) {
  config.max_needs_per_device = 2;
  openEngine();
  CatalogItem a = *catalog.lookup({"washer-1", SignalKind::fault, "E24", "", ""});
  a.item_id = "repair:a";
  catalog.add("multi", SignalKind::fault, "A", a);
  a.item_id = "repair:b";
  catalog.add("multi", SignalKind::fault, "B", a);
  a.item_id = "repair:c";
  catalog.add("multi", SignalKind::fault, "C", a);
  send(flag("multi", "A", SignalKind::fault));
  send(flag("multi", "B", SignalKind::fault));
  const std::string before = snapshot();
  auto third = engine->onSignal(flag("multi", "C", SignalKind::fault));
  ASSERT_FALSE(third);
  EXPECT_THAT(third.error().message, HasSubstr("already has 2 live needs (the limit)"));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(engine->liveNeeds().size(), 2u);
  // Repeats of the needs it has are fine.
  EXPECT_EQ(send(flag("multi", "A", SignalKind::fault)).action, SignalOutcome::Action::repeated);
}

TEST_F(NeedsFixture, ReadingsKeptPerConsumableAreBounded) {
  config.series.max_observations = 50;
  openEngine();
  feed("printer-1", "toner-black", 100, 0.2, std::chrono::days{60}, 3h);
  EXPECT_EQ(engine->series("printer-1", "toner-black")->readings, 50u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM need_observations"), 50);
}

TEST_F(NeedsFixture, BadSignalsGetAClearErrorAndChangeNothing) {
  feed("printer-1", "toner-black", 80, 1.0, std::chrono::days{1});
  const std::string before = snapshot();
  struct Case {
    NeedSignal signal;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({level("printer-1", "toner-black", std::nan("")), "not a finite number"});
  cases.push_back({level("printer-1", "toner-black", -3), "is negative"});
  cases.push_back({level("printer-1", "toner-black", 120), "above 100 %"});
  cases.push_back({level("", "toner-black", 50), "must not be empty"});
  cases.push_back({level("printer-1", std::string(300, 'k'), 50), "longer than 128"});
  NeedSignal control = flag("washer-1", "E24", SignalKind::fault, Severity::warning, "a\nb");
  cases.push_back({control, "control characters"});
  NeedSignal old = level("printer-1", "toner-black", 79);
  old.observed_at = clock.now() - 1h;
  cases.push_back({old, "older than the last one"});
  for (const auto& c : cases) {
    auto r = engine->onSignal(c.signal);
    ASSERT_FALSE(r) << c.message;
    EXPECT_THAT(r.error().message, HasSubstr(c.message));
    EXPECT_EQ(snapshot(), before) << c.message;
  }
}

TEST_F(NeedsFixture, AFailedDecisionLeavesMemoryAndDatabaseAsTheyWere) {
  send(flag("printer-1", "toner-black", SignalKind::consumable));
  const std::string before = snapshot();
  flaky->fail_kind = "need.merged";
  auto r = engine->onSignal(flag("printer-2", "toner-black", SignalKind::consumable));
  ASSERT_FALSE(r);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(liveFor("toner:TN-2420")->quantity, 1);
  EXPECT_EQ(liveFor("toner:TN-2420")->sources.size(), 1u);

  flaky->fail_kind.clear();
  EXPECT_EQ(send(flag("printer-2", "toner-black", SignalKind::consumable)).action,
            SignalOutcome::Action::merged);
  EXPECT_EQ(liveFor("toner:TN-2420")->quantity, 2);

  // A failure in the middle of a basket rolls the whole basket back.
  clock.advance(20min);
  flaky->fail_kind = "need.sourcing";
  const std::string grouped_before = snapshot();
  const auto t = engine->tick();
  EXPECT_EQ(t.failures, 1);
  EXPECT_EQ(snapshot(), grouped_before);
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(liveFor("toner:TN-2420")->state, NeedState::open);
  flaky->fail_kind.clear();
  EXPECT_EQ(engine->tick().baskets, 1);
}

TEST_F(NeedsFixture, MeterReadingsBecomeAMonthlyReportingTask) {
  for (int d = 0; d < 25; ++d) {
    NeedSignal s = level("p1-meter", "electricity", 1000.0 + 9.5 * d, SignalKind::meter);
    s.unit = "kWh";
    send(s);
    clock.advance(24h);
  }
  // Jan 31: nothing due yet.
  engine->tick();
  EXPECT_FALSE(liveFor("meter-report:electricity"));
  clock.set(day(2025, 2, 1, 0));
  EXPECT_EQ(engine->tick().opened, 1);
  auto task = liveFor("meter-report:electricity");
  ASSERT_TRUE(task);
  EXPECT_EQ(task->detail.at("reading").as_double(), 1000.0 + 9.5 * 24);
  EXPECT_EQ(task->needed_by, day(2025, 2, 8));
  EXPECT_THAT(task->reason, HasSubstr("due 2025-02-01"));
  EXPECT_EQ(engine->tick().opened, 0) << "one task per period";

  // March comes with February's task still open: it carries the newer reading.
  clock.set(day(2025, 2, 20));
  NeedSignal s = level("p1-meter", "electricity", 1400.0, SignalKind::meter);
  s.unit = "kWh";
  send(s);
  clock.set(day(2025, 3, 1, 6));
  engine->tick();
  EXPECT_EQ(engine->liveNeeds().size(), 1u);
  EXPECT_EQ(liveFor("meter-report:electricity")->detail.at("reading").as_double(), 1400.0);
  EXPECT_EQ(decisions("need.merged", "updated-reading"), 1);
  // The supplier is its "retailer": the task went out in a basket of its own.
  EXPECT_EQ(liveFor("meter-report:electricity")->state, NeedState::sourcing);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].retailer, "grid-energy");

  ASSERT_TRUE(engine->ordered(task->id, "submission-1"));
  ASSERT_TRUE(engine->fulfilled(task->id, "supplier confirmed the reading"));
  clock.set(day(2025, 3, 20));
  s.level = 1600.0;
  s.observed_at = clock.now();
  send(s);
  clock.set(day(2025, 4, 1, 1));
  EXPECT_EQ(engine->tick().opened, 1);
  EXPECT_EQ(decisions("need.opened"), 2);
}

TEST_F(NeedsFixture, OutageOpensAServiceNeedAndEndsWhenTheDeviceClearsIt) {
  const auto out =
      send(flag("ups-1", "power", SignalKind::outage, Severity::critical, "mains lost on phase 2"));
  ASSERT_EQ(out.action, SignalOutcome::Action::opened);
  auto need = engine->liveNeed(*out.need);
  EXPECT_EQ(need->category, "outage");
  EXPECT_EQ(need->order_by, clock.now()) << "critical: no slack";
  EXPECT_THAT(need->reason, HasSubstr("mains lost on phase 2"));

  NeedSignal cleared = flag("ups-1", "power", SignalKind::outage);
  cleared.cleared = true;
  EXPECT_EQ(send(cleared).action, SignalOutcome::Action::withdrawn);
  EXPECT_FALSE(engine->liveNeed(*out.need));
  EXPECT_EQ(decisions("need.closed", "cancelled"), 1);
  // The next outage is a new need.
  EXPECT_EQ(send(flag("ups-1", "power", SignalKind::outage, Severity::critical)).action,
            SignalOutcome::Action::opened);
}

TEST_F(NeedsFixture, SilentSensorIsFlaggedStaleAndItsNeedStillOpensInTime) {
  feed("printer-1", "toner-black", 100, 2.0, std::chrono::days{10});  // 80 % left, 40 days
  const core::TimePoint last = clock.now();
  auto s = engine->series("printer-1", "toner-black");
  EXPECT_FALSE(s->forecast.staleAt(clock.now()));
  clock.advance(std::chrono::days{5});
  EXPECT_TRUE(s->forecast.staleAt(clock.now()));
  engine->tick();
  EXPECT_FALSE(liveFor("toner:TN-2420"));

  clock.set(last + std::chrono::days{24});  // run-out − lead − safety was day 23
  EXPECT_EQ(engine->tick().opened, 1);
  auto need = liveFor("toner:TN-2420");
  ASSERT_TRUE(need);
  EXPECT_THAT(need->reason, HasSubstr("no reading since"));
  EXPECT_LT(std::chrono::abs(need->needed_by - (last + std::chrono::days{40})), 12h);
}

TEST_F(NeedsFixture, AnOpenNeedNobodyRepeatsExpiresAndStaysQuiet) {
  CatalogItem nowhere = *catalog.lookup({"washer-1", SignalKind::fault, "E24", "", ""});
  nowhere.item_id = "repair:dryer";
  nowhere.retailers.clear();
  nowhere.expire_after = std::chrono::days{30};
  catalog.add("dryer", SignalKind::fault, "F1", nowhere);
  const auto id = *send(flag("dryer", "F1", SignalKind::fault, Severity::info)).need;
  clock.advance(1h);
  EXPECT_EQ(engine->tick().held, 1);
  EXPECT_THAT(engine->liveNeed(id)->hold_reasons[0], HasSubstr("no approved retailer"));

  clock.advance(std::chrono::days{31});
  EXPECT_EQ(engine->tick().expired, 1);
  EXPECT_FALSE(engine->liveNeed(id));
  EXPECT_EQ(decisions("need.closed", "expired"), 1);

  // The same fault soon after does not re-open it; once the device cleared it, it would.
  EXPECT_EQ(send(flag("dryer", "F1", SignalKind::fault)).action, SignalOutcome::Action::observed);
  NeedSignal cleared = flag("dryer", "F1", SignalKind::fault);
  cleared.cleared = true;
  send(cleared);
  EXPECT_EQ(send(flag("dryer", "F1", SignalKind::fault)).action, SignalOutcome::Action::opened);
}

TEST_F(NeedsFixture, CancelledConsumableIsNotReorderedByTheNextReading) {
  feed("printer-1", "toner-black", 30, 2.0, std::chrono::days{4});
  const auto need = liveFor("toner:TN-2420");
  ASSERT_TRUE(need);
  ASSERT_TRUE(engine->cancelled(need->id, "bought at the shop round the corner"));
  clock.advance(6h);
  send(level("printer-1", "toner-black", 21));
  engine->tick();
  EXPECT_FALSE(liveFor("toner:TN-2420"));
  // After a refill the source speaks again.
  clock.advance(6h);
  send(level("printer-1", "toner-black", 100));
  clock.advance(6h);
  send(level("printer-1", "toner-black", 100));
  EXPECT_EQ(send(flag("printer-1", "toner-black", SignalKind::consumable)).action,
            SignalOutcome::Action::opened);
}

TEST_F(NeedsFixture, QuietMarksRunOutAndAreDropped) {
  const auto id = *send(flag("sensor-1", "battery", SignalKind::battery)).need;
  ASSERT_TRUE(engine->cancelled(id, "spare in the drawer"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM need_quiet"), 1);
  EXPECT_EQ(send(flag("sensor-1", "battery", SignalKind::battery)).action,
            SignalOutcome::Action::observed);
  clock.advance(std::chrono::days{15});
  engine->tick();
  EXPECT_EQ(count("SELECT COUNT(*) FROM need_quiet"), 0);
  EXPECT_EQ(send(flag("sensor-1", "battery", SignalKind::battery)).action,
            SignalOutcome::Action::opened);
}

TEST_F(NeedsFixture, ForgettingADeviceWithdrawsItsSignals) {
  send(flag("washer-1", "E24", SignalKind::fault));
  feed("printer-1", "toner-black", 80, 1.0, std::chrono::days{1});
  ASSERT_TRUE(engine->forgetDevice("washer-1"));
  EXPECT_FALSE(liveFor("repair:washer-1"));
  EXPECT_TRUE(engine->series("printer-1", "toner-black"));
  ASSERT_TRUE(engine->forgetDevice("printer-1"));
  EXPECT_FALSE(engine->series("printer-1", "toner-black"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM need_observations"), 0);
}

TEST_F(NeedsFixture, EveryStepIsADecisionLinkedToTheOpening) {
  const auto id = *send(flag("printer-1", "toner-black", SignalKind::consumable)).need;
  send(flag("printer-2", "toner-black", SignalKind::consumable));
  clock.advance(20min);
  engine->tick();
  ASSERT_TRUE(engine->ordered(id, "O-1"));
  ASSERT_TRUE(engine->fulfilled(id));
  const auto opened = engine->liveNeeds().empty() ? count("SELECT opened_seq FROM needs") : -1;
  // Each later decision about the need names the opening among its causes.
  auto s = sqlite->database().prepare("SELECT kind, causes FROM decisions WHERE subject = 'need:" +
                                      std::to_string(id) + "' ORDER BY seq");
  ASSERT_TRUE(s);
  std::vector<std::string> kinds;
  while (*s->step()) {
    kinds.push_back(s->text(0));
    if (kinds.back() != "need.opened") {
      EXPECT_THAT(s->text(1), HasSubstr(std::to_string(opened)));
    }
  }
  EXPECT_THAT(kinds, ElementsAre("need.opened", "need.merged", "need.sourcing", "need.ordered",
                                 "need.closed"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM decisions WHERE kind = 'needs.grouped' AND causes = '[" +
                  std::to_string(opened) + "]'"),
            1);
}

}  // namespace
}  // namespace steward::needs::test
