// When a recurring task (a meter reading for the supplier) falls due: the policy's schedule as a
// day of the month every N months, evaluated in UTC.
#pragma once

#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace steward::needs {

struct ReportSchedule {
  int day_of_month = 1;  // 1..31; clamped to the month's last day
  int every_months = 1;  // 1 monthly, 3 quarterly, 12 yearly; months counted from January
};

// The first scheduled instant strictly after `after` (00:00 UTC of the due day).
core::TimePoint nextDue(const ReportSchedule& schedule, core::TimePoint after);

// Checks the ranges above; the error names the offending field.
core::Result<void> validate(const ReportSchedule& schedule);

// "2025-01-30T12:00:00Z" and "2025-01-30".
std::string formatUtc(core::TimePoint t);
std::string formatDay(core::TimePoint t);

}  // namespace steward::needs
