// See schedule.hpp.
#include "needs/schedule.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/time_format.hpp"

namespace steward::needs {
namespace {

using namespace std::chrono;

sys_days dueDay(year y, unsigned m, int day_of_month) {
  const year_month ym = y / month{m};
  const unsigned month_days = unsigned((ym / std::chrono::last).day());
  const unsigned d = std::min(unsigned(day_of_month), month_days);
  return sys_days{ym / day{d}};
}

}  // namespace

core::Result<void> validate(const ReportSchedule& schedule) {
  if (schedule.day_of_month < 1 || schedule.day_of_month > 31)
    return core::fail("day_of_month must be 1..31, got " + std::to_string(schedule.day_of_month));
  if (schedule.every_months < 1 || schedule.every_months > 12 || 12 % schedule.every_months != 0)
    return core::fail("every_months must be 1, 2, 3, 4, 6 or 12, got " +
                      std::to_string(schedule.every_months));
  return {};
}

core::TimePoint nextDue(const ReportSchedule& schedule, core::TimePoint after) {
  const int step = std::clamp(schedule.every_months, 1, 12);
  const year_month_day today{floor<days>(after)};
  year y = today.year();
  unsigned m = unsigned(today.month());
  // Walk forward month by month (at most 13 steps plus one) to the first aligned due day.
  for (int i = 0; i < 26; ++i) {
    if ((m - 1) % unsigned(step) == 0) {
      const core::TimePoint due =
          time_point_cast<milliseconds>(dueDay(y, m, schedule.day_of_month));
      if (due > after) return due;
    }
    if (++m > 12) {
      m = 1;
      ++y;
    }
  }
  return after + days{31};  // unreachable with a validated schedule
}

std::string formatUtc(core::TimePoint t) {
  return core::formatUtc(t);
}

std::string formatDay(core::TimePoint t) {
  return formatUtc(t).substr(0, 10);
}

}  // namespace steward::needs
