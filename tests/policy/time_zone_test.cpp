// The household's zone from the system tz database (through date/tz.h): offsets across DST changes,
// the last year the tables cover, the local clock across a DST gap and an overlap, budget months in
// the household's zone, and unknown or malformed names.
#include "policy/time_zone.hpp"

#include <gtest/gtest.h>

#include "policy/loader.hpp"

namespace steward::policy {
namespace {

using namespace std::chrono;

core::TimePoint utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  return core::TimePoint{duration_cast<milliseconds>(
      (sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi}).time_since_epoch())};
}

std::int64_t toUnix(core::TimePoint t) {
  return core::toUnixMillis(t);
}

TimeZone zone(std::string_view name) {
  auto tz = systemZoneLookup()(name);
  EXPECT_TRUE(tz.ok()) << (tz.ok() ? "" : tz.error().message);
  return tz.ok() ? *tz : TimeZone::utc();
}

struct OffsetCase {
  const char* zone;
  core::TimePoint at;
  int offset_minutes;
};

TEST(TimeZone, OffsetsFromTheSystemDatabase) {
  const OffsetCase cases[] = {
      {"Europe/Berlin", utc(2026, 1, 15, 12), 60},
      {"Europe/Berlin", utc(2026, 7, 15, 12), 120},
      // 2026-03-29 01:00 UTC: CET -> CEST.
      {"Europe/Berlin", utc(2026, 3, 29, 0, 59), 60},
      {"Europe/Berlin", utc(2026, 3, 29, 1, 0), 120},
      // 2026-10-25 01:00 UTC: CEST -> CET.
      {"Europe/Berlin", utc(2026, 10, 25, 0, 59), 120},
      {"Europe/Berlin", utc(2026, 10, 25, 1, 0), 60},
      // The last year the system's tables cover (see time_zone.hpp for what comes after).
      {"Europe/Berlin", utc(2037, 7, 1, 12), 120},
      {"Europe/Berlin", utc(2037, 12, 1, 12), 60},
      {"America/New_York", utc(2026, 1, 15, 12), -300},
      {"America/New_York", utc(2026, 7, 15, 12), -240},
      {"America/New_York", utc(2037, 7, 15, 12), -240},
      // Southern hemisphere: daylight time spans the new year.
      {"Australia/Sydney", utc(2026, 1, 15, 12), 660},
      {"Australia/Sydney", utc(2026, 7, 15, 12), 600},
      {"Australia/Sydney", utc(2037, 1, 15, 12), 660},
      {"Asia/Kolkata", utc(2026, 5, 1, 0), 330},
      {"UTC", utc(2026, 5, 1, 0), 0},
      // Before the first transition: local mean time of the first type.
      {"Europe/Berlin", utc(1850, 1, 1, 0), 53},
  };
  for (const auto& c : cases) {
    const TimeZone tz = zone(c.zone);
    EXPECT_EQ(duration_cast<minutes>(tz.offsetAt(c.at)).count(), c.offset_minutes)
        << c.zone << " at " << core::toUnixMillis(c.at);
  }
}

TEST(TimeZone, BudgetMonthIsTheHouseholdsMonth) {
  const TimeZone berlin = zone("Europe/Berlin");
  // 23:30 UTC on 30 November is 00:30 on 1 December in Berlin.
  EXPECT_EQ(berlin.monthOf(utc(2026, 11, 30, 23, 30)), (Month{2026, 12}));
  EXPECT_EQ(berlin.monthOf(utc(2026, 11, 30, 22, 59)), (Month{2026, 11}));
  EXPECT_EQ(TimeZone::utc().monthOf(utc(2026, 11, 30, 23, 30)), (Month{2026, 11}));
  const TimeZone ny = zone("America/New_York");
  EXPECT_EQ(ny.monthOf(utc(2027, 1, 1, 3)), (Month{2026, 12}));
  EXPECT_EQ((Month{2026, 12}).format(), "2026-12");
}

// Local wall time in milliseconds since the local epoch, for comparing with utc(...) values.
std::int64_t localMillis(const TimeZone& tz, core::TimePoint t) {
  return tz.toLocal(t).time_since_epoch().count();
}

TEST(TimeZone, LocalClockAcrossAGapAndAnOverlap) {
  const TimeZone berlin = zone("Europe/Berlin");
  // Spring forward, 2026-03-29: one UTC minute apart, the local clock jumps from 01:59 to 03:00;
  // no instant reads 02:30 local.
  EXPECT_EQ(localMillis(berlin, utc(2026, 3, 29, 0, 59)), toUnix(utc(2026, 3, 29, 1, 59)));
  EXPECT_EQ(localMillis(berlin, utc(2026, 3, 29, 1, 0)), toUnix(utc(2026, 3, 29, 3, 0)));
  // Fall back, 2026-10-25: 00:30 and 01:30 UTC both read 02:30 local (CEST, then CET).
  EXPECT_EQ(localMillis(berlin, utc(2026, 10, 25, 0, 30)), toUnix(utc(2026, 10, 25, 2, 30)));
  EXPECT_EQ(localMillis(berlin, utc(2026, 10, 25, 1, 30)), toUnix(utc(2026, 10, 25, 2, 30)));
  // The southern hemisphere's gap, Sydney 2026-10-04 02:00 local -> 03:00 (15:59/16:00 UTC).
  const TimeZone sydney = zone("Australia/Sydney");
  EXPECT_EQ(localMillis(sydney, utc(2026, 10, 3, 15, 59)), toUnix(utc(2026, 10, 4, 1, 59)));
  EXPECT_EQ(localMillis(sydney, utc(2026, 10, 3, 16, 0)), toUnix(utc(2026, 10, 4, 3, 0)));
}

TEST(TimeZone, LinksResolve) {
  // A link in the database names the zone it points to; offsets follow that zone.
  const TimeZone eastern = zone("US/Eastern");
  EXPECT_EQ(eastern.name(), "US/Eastern");
  EXPECT_EQ(duration_cast<minutes>(eastern.offsetAt(utc(2026, 7, 15, 12))).count(), -240);
}

TEST(TimeZone, RejectsUnknownAndMalformedNames) {
  EXPECT_FALSE(isValidZoneName("../etc/passwd"));
  EXPECT_FALSE(isValidZoneName("/etc/passwd"));
  EXPECT_FALSE(isValidZoneName(""));
  EXPECT_TRUE(isValidZoneName("America/Argentina/Buenos_Aires"));
  auto traversal = TimeZone::locate("../../etc/passwd");
  ASSERT_FALSE(traversal.ok());
  EXPECT_EQ(traversal.error().code, core::ErrorCode::invalidInput);
  auto lookup = systemZoneLookup();
  auto missing = lookup("Europe/Berln");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::ErrorCode::notFound);
  EXPECT_EQ(missing.error().message,
            "unknown time zone \"Europe/Berln\"; did you mean \"Europe/Berlin\"?");
  auto nowhere = lookup("Nowhere");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().message.rfind("unknown time zone \"Nowhere\"", 0), 0u);
}

}  // namespace
}  // namespace steward::policy
