// The household's time zone as a pure value: UTC instants to local wall time, so budget months,
// visit windows and quiet hours follow the household's calendar, not UTC.
//
// libstdc++ 12 has no std::chrono::locate_zone, so this reads the system's compiled tz database
// (TZif, RFC 8536) itself: the transition table, then the POSIX TZ rule in the file's footer for
// instants after the last transition (slim files stop early; fat ones at 2037). Only UTC -> local
// is needed, which is never ambiguous. Reading the file is the loader's job; this only parses
// bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace steward::policy {

// A calendar month in the household's zone; budgets are kept per Month.
struct Month {
  int year = 1970;
  unsigned month = 1;  // 1..12

  std::string format() const;  // "2026-12"
  friend auto operator<=>(const Month&, const Month&) = default;
};

// One POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"): a standard offset and an optional daylight
// offset with the yearly dates it starts and ends.
struct PosixRule {
  struct Date {
    enum class Form { julianNoLeap, zeroBased, monthWeekDay } form = Form::monthWeekDay;
    int day = 0;               // Jn: 1..365; n: 0..365; Mm.w.d: weekday 0 (Sunday)..6
    int week = 0;              // Mm.w.d: 1..5 (5 = last)
    int month = 0;             // Mm.w.d: 1..12
    std::int32_t time = 7200;  // seconds after local midnight, may be negative or > 24h
  };
  std::int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  std::int32_t dst_offset = 0;
  Date start, end;

  static core::Result<PosixRule> parse(std::string_view text);
  std::int32_t offsetAt(std::int64_t utc_seconds) const;
};

class TimeZone {
 public:
  static TimeZone utc();
  // Parses a TZif file's bytes (versions 1-4). `name` is the IANA name it was read for.
  static core::Result<TimeZone> fromTzif(std::string name, std::span<const unsigned char> data);

  const std::string& name() const { return name_; }
  // Seconds east of UTC in force at `t`.
  std::chrono::seconds offsetAt(core::TimePoint t) const;
  std::chrono::local_time<std::chrono::milliseconds> toLocal(core::TimePoint t) const;
  Month monthOf(core::TimePoint t) const;

 private:
  std::string name_ = "UTC";
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets_;      // offset in force from transitions_[i] on
  std::int32_t initial_offset_ = 0;        // before the first transition
  bool has_footer_ = false;
  PosixRule footer_;
};

// "Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC": letters, digits, '_', '-', '+', '/';
// no "..", no leading '/'. Checked before any file is opened.
bool isValidZoneName(std::string_view name);

}  // namespace steward::policy
