// planBaskets alone: retailer choice, window chaining, readiness and urgency order, with no
// engine, ledger or gate around it.
#include <gtest/gtest.h>

#include "needs/engine_fixture.hpp"
#include "needs/plan.hpp"

namespace steward::needs::test {
namespace {

const core::TimePoint kNow = day(2025, 3, 1);

PlanNeed need(NeedId id, std::vector<std::string> retailers, int from_day, int by_day,
              bool ready = true) {
  PlanNeed n;
  n.id = id;
  n.retailers = std::move(retailers);
  n.order_from = kNow + std::chrono::days{from_day};
  n.order_by = kNow + std::chrono::days{by_day};
  n.needed_by = n.order_by + std::chrono::days{3};
  n.ready = ready;
  return n;
}

TEST(PlanBaskets, NothingInNothingOut) {
  EXPECT_TRUE(planBaskets({}, kNow).empty());
}

TEST(PlanBaskets, OverlappingWindowsOfOneRetailerShareABasket) {
  const auto plan = planBaskets({need(1, {"shop"}, 0, 5), need(2, {"shop"}, 3, 9)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].retailer, "shop");
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2}));
  EXPECT_EQ(plan[0].order_by, kNow + std::chrono::days{5}) << "the earliest member's";
  EXPECT_EQ(plan[0].needed_by, kNow + std::chrono::days{8});
}

TEST(PlanBaskets, AWindowOpeningAfterTheOthersCloseStartsAnotherBasket) {
  // 2 opens on day 6, after 1 must be ordered (day 5); 3 overlaps 2 only.
  const auto plan = planBaskets(
      {need(1, {"shop"}, 0, 5), need(2, {"shop"}, 6, 12), need(3, {"shop"}, 10, 20)}, kNow);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1}));
  EXPECT_EQ(plan[1].needs, (std::vector<NeedId>{2, 3}));
}

TEST(PlanBaskets, AChainEndsAtTheEarliestCloseSoFar) {
  // 1 closes on day 4; 2 (open until day 30) must not let 3 (opening day 8) join 1.
  const auto plan = planBaskets(
      {need(1, {"shop"}, 0, 4), need(2, {"shop"}, 1, 30), need(3, {"shop"}, 8, 30)}, kNow);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2}));
  EXPECT_EQ(plan[1].needs, (std::vector<NeedId>{3}));
}

TEST(PlanBaskets, AWindowAlreadyClosedCountsAsClosingNow) {
  // 1 is overdue (order_by yesterday); 2 is due today: still one basket.
  const auto plan = planBaskets({need(1, {"shop"}, -5, -1), need(2, {"shop"}, 0, 9)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2}));
}

TEST(PlanBaskets, FirstChoiceOfMostNeedsWinsAndTakesAllItMaySell) {
  // a: first choice of 1 and 2; b: first choice of 3 and carries 1 as well.
  const auto plan = planBaskets(
      {need(1, {"a", "b"}, 0, 5), need(2, {"a"}, 0, 5), need(3, {"b", "a"}, 0, 5)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].retailer, "a") << "a is first choice of two needs and carries all three";
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2, 3}));
}

TEST(PlanBaskets, NeedsTheWinnerCannotSellGoElsewhere) {
  const auto plan =
      planBaskets({need(1, {"a"}, 0, 5), need(2, {"a"}, 0, 5), need(3, {"b"}, 0, 6)}, kNow);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].retailer, "a");
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2}));
  EXPECT_EQ(plan[1].retailer, "b");
  EXPECT_EQ(plan[1].needs, (std::vector<NeedId>{3}));
}

TEST(PlanBaskets, TiesGoToTheAlphabeticallyFirstRetailer) {
  const auto plan =
      planBaskets({need(1, {"zeta", "alpha"}, 0, 5), need(2, {"alpha", "zeta"}, 0, 5)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].retailer, "alpha");
}

TEST(PlanBaskets, ABasketWithNoReadyMemberWaits) {
  const auto plan =
      planBaskets({need(1, {"shop"}, 0, 5, false), need(2, {"shop"}, 20, 30, true)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{2}));
}

TEST(PlanBaskets, OneReadyMemberCarriesTheOthers) {
  const auto plan =
      planBaskets({need(1, {"shop"}, 0, 5, false), need(2, {"shop"}, 1, 6, true)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1, 2}));
}

TEST(PlanBaskets, MostUrgentBasketFirst) {
  const auto plan =
      planBaskets({need(1, {"b"}, 0, 20), need(2, {"a"}, 0, 10), need(3, {"c"}, 0, 3)}, kNow);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].retailer, "c");
  EXPECT_EQ(plan[1].retailer, "a");
  EXPECT_EQ(plan[2].retailer, "b");
}

TEST(PlanBaskets, NeedsWithoutRetailersAndRepeatsAreLeftOut) {
  auto dup = need(1, {"other"}, 0, 5);
  const auto plan = planBaskets({need(1, {"shop"}, 0, 5), dup, need(2, {}, 0, 5)}, kNow);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].retailer, "shop");
  EXPECT_EQ(plan[0].needs, (std::vector<NeedId>{1}));
}

}  // namespace
}  // namespace steward::needs::test
