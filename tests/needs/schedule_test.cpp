// Report schedules: the next due day, clamping to short months, and validation.
#include <gtest/gtest.h>

#include "needs/engine_fixture.hpp"
#include "needs/schedule.hpp"

namespace steward::needs::test {
namespace {

TEST(Schedule, MonthlyOnTheFirst) {
  const ReportSchedule s{1, 1};
  EXPECT_EQ(nextDue(s, day(2025, 1, 6)), day(2025, 2, 1));
  EXPECT_EQ(nextDue(s, day(2025, 2, 1)), day(2025, 3, 1)) << "strictly after";
  EXPECT_EQ(nextDue(s, day(2025, 12, 31, 23)), day(2026, 1, 1));
}

TEST(Schedule, LateDaysClampToShortMonths) {
  const ReportSchedule s{31, 1};
  EXPECT_EQ(nextDue(s, day(2025, 2, 1)), day(2025, 2, 28));
  EXPECT_EQ(nextDue(s, day(2024, 2, 1)), day(2024, 2, 29));
  EXPECT_EQ(nextDue(s, day(2025, 2, 28)), day(2025, 3, 31));
}

TEST(Schedule, QuarterlyCountsFromJanuary) {
  const ReportSchedule s{15, 3};
  EXPECT_EQ(nextDue(s, day(2025, 1, 20)), day(2025, 4, 15));
  EXPECT_EQ(nextDue(s, day(2025, 11, 1)), day(2026, 1, 15));
}

TEST(Schedule, ValidationNamesTheField) {
  EXPECT_TRUE(validate(ReportSchedule{1, 12}));
  auto bad_day = validate(ReportSchedule{0, 1});
  ASSERT_FALSE(bad_day);
  EXPECT_NE(bad_day.error().message.find("day_of_month"), std::string::npos);
  EXPECT_FALSE(validate(ReportSchedule{1, 5}));
}

TEST(Schedule, FormatsUtc) {
  EXPECT_EQ(formatUtc(day(2025, 1, 30, 12) + std::chrono::minutes{5}), "2025-01-30T12:05:00Z");
  EXPECT_EQ(formatDay(day(2025, 1, 30, 23)), "2025-01-30");
}

}  // namespace
}  // namespace steward::needs::test
