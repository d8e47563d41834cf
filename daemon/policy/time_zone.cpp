#include "policy/time_zone.hpp"

#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

#include "core/diagnostics.hpp"

namespace steward::policy {

using namespace std::chrono;

namespace {

// The database's zone names (with the system's tzdata, links are zones too) in `area` ("Europe/"),
// capped, for a "did you mean".
std::vector<std::string_view> namesIn(const date::tzdb& db, std::string_view area) {
  std::vector<std::string_view> names;
  const auto add = [&](std::string_view n) {
    if (names.size() < 2000 && n.substr(0, area.size()) == area &&
        n.find('/', area.size()) == std::string_view::npos)
      names.push_back(n);
  };
  for (const auto& z : db.zones)
    add(z.name());
  return names;
}

}  // namespace

std::string Month::format() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u", year, month);
  return buf;
}

TimeZone TimeZone::utc() {
  return TimeZone{};
}

core::Result<TimeZone> TimeZone::locate(std::string_view name) {
  if (!isValidZoneName(name))
    return core::invalidInput("invalid time zone name \"" + std::string(name) + "\"");
  const date::tzdb* db = nullptr;
  try {
    db = &date::get_tzdb();
  } catch (const std::exception& e) {
    return core::unavailable(std::string("cannot read the system's time zone database: ") +
                             e.what());
  }
  TimeZone tz;
  tz.name_ = std::string(name);
  try {
    tz.zone_ = date::locate_zone(name);
    return tz;
  } catch (const std::exception&) {
    // Suggest a zone from the same area ("Europe/Berln" -> "Europe/Berlin").
  }
  const auto slash = name.rfind('/');
  const std::string_view area = slash == std::string_view::npos ? "" : name.substr(0, slash + 1);
  const auto names = namesIn(*db, area);
  std::string message = "unknown time zone \"" + std::string(name) + "\"";
  if (auto s = core::closestMatch(name, names); !s.empty())
    message += "; did you mean \"" + s + "\"?";
  return core::notFound(message);
}

seconds TimeZone::offsetAt(core::TimePoint t) const {
  if (zone_ == nullptr) return seconds{0};
  return zone_->get_info(date::sys_time<milliseconds>{t.time_since_epoch()}).offset;
}

local_time<milliseconds> TimeZone::toLocal(core::TimePoint t) const {
  return local_time<milliseconds>{t.time_since_epoch() + offsetAt(t)};
}

Month TimeZone::monthOf(core::TimePoint t) const {
  const auto local = toLocal(t);
  const year_month_day ymd{floor<days>(local)};
  return Month{int(ymd.year()), unsigned(ymd.month())};
}

bool isValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '+' || c == '/';
  });
}

}  // namespace steward::policy
