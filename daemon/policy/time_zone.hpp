// The household's time zone as a value: UTC instants to local wall time, so budget months, visit
// windows and quiet hours follow the household's calendar, not UTC.
//
// Zones come from the system's tz database through Howard Hinnant's date/tz.h (the library C++20's
// <chrono> time zones came from; libstdc++ 12 has no std::chrono::locate_zone). Only UTC -> local
// is needed, which is never ambiguous: a local hour skipped by a DST change is never produced, and
// one repeated is produced twice, once per UTC instant.
//
// Limit: with the system's tzdata the library reads the zone files' transition tables, which end in
// 2037; after that the offset of the last transition holds (standard time in zones with DST), as
// the POSIX rule in the files' footer is not applied.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace date {
class time_zone;
}

namespace steward::policy {

// A calendar month in the household's zone; budgets are kept per Month.
struct Month {
  int year = 1970;
  unsigned month = 1;  // 1..12

  std::string format() const;  // "2026-12"
  friend auto operator<=>(const Month&, const Month&) = default;
};

class TimeZone {
 public:
  static TimeZone utc();
  // Looks an IANA name ("Europe/Berlin", or a link such as "US/Eastern") up in the system's tz
  // database. An unknown name fails with a "did you mean" from the same area.
  static core::Result<TimeZone> locate(std::string_view name);

  const std::string& name() const { return name_; }
  // Seconds east of UTC in force at `t`.
  std::chrono::seconds offsetAt(core::TimePoint t) const;
  std::chrono::local_time<std::chrono::milliseconds> toLocal(core::TimePoint t) const;
  Month monthOf(core::TimePoint t) const;

 private:
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC; owned by the library's database
};

// "Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC": letters, digits, '_', '-', '+', '/';
// no "..", no leading '/'. Checked before the database is asked.
bool isValidZoneName(std::string_view name);

}  // namespace steward::policy
