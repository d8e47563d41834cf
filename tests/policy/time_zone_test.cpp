// The TZif reader against the system tz database: offsets across DST changes, the POSIX footer
// rule beyond the last transition, and budget months in the household's zone.
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

TimeZone zone(std::string_view name) {
  auto tz = zoneinfoLookup(std::string(kDefaultZoneinfoDirectory))(name);
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
      // Beyond any fat file's table (2037): from the footer rule.
      {"Europe/Berlin", utc(2090, 7, 1, 12), 120},
      {"Europe/Berlin", utc(2090, 12, 1, 12), 60},
      {"America/New_York", utc(2026, 1, 15, 12), -300},
      {"America/New_York", utc(2026, 7, 15, 12), -240},
      {"America/New_York", utc(2080, 7, 15, 12), -240},
      // Southern hemisphere: daylight time spans the new year.
      {"Australia/Sydney", utc(2026, 1, 15, 12), 660},
      {"Australia/Sydney", utc(2026, 7, 15, 12), 600},
      {"Australia/Sydney", utc(2085, 1, 15, 12), 660},
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

TEST(TimeZone, PosixRules) {
  auto r = PosixRule::parse("CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->std_offset, 3600);
  EXPECT_EQ(r->dst_offset, 7200);
  const auto at = [](core::TimePoint t) { return core::toUnixMillis(t) / 1000; };
  EXPECT_EQ(r->offsetAt(at(utc(2031, 3, 30, 0, 59))), 3600);  // last Sunday of March 2031: 30th
  EXPECT_EQ(r->offsetAt(at(utc(2031, 3, 30, 1, 0))), 7200);
  auto fixed = PosixRule::parse("<+0530>-5:30");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->offsetAt(0), 19800);
  auto julian = PosixRule::parse("XST-2XDT,J60/0,J300/0");
  ASSERT_TRUE(julian.ok());
  EXPECT_EQ(julian->offsetAt(at(utc(2028, 3, 1, 12))), 3 * 3600);  // J60 is 1 March, leap or not
  EXPECT_EQ(julian->offsetAt(at(utc(2028, 2, 28, 12))), 2 * 3600);
  for (const char* bad : {"", "C", "CET", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.5.0",
                          "CET-1CEST,M3.5.0,M10.5.0/x"}) {
    EXPECT_FALSE(PosixRule::parse(bad).ok()) << bad;
  }
}

TEST(TimeZone, RejectsBadFilesAndNames) {
  const unsigned char junk[] = {'T', 'Z', 'i', 'f', '2', 0, 0};
  EXPECT_FALSE(TimeZone::fromTzif("x", junk).ok());
  EXPECT_FALSE(TimeZone::fromTzif("x", {}).ok());
  EXPECT_FALSE(isValidZoneName("../etc/passwd"));
  EXPECT_FALSE(isValidZoneName("/etc/passwd"));
  EXPECT_TRUE(isValidZoneName("America/Argentina/Buenos_Aires"));
  auto lookup = zoneinfoLookup(std::string(kDefaultZoneinfoDirectory));
  auto missing = lookup("Europe/Berln");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "unknown time zone \"Europe/Berln\"; did you mean \"Europe/Berlin\"?");
}

}  // namespace
}  // namespace steward::policy
