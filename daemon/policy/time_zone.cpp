// TZif and POSIX TZ rule parsing; see time_zone.hpp.
#include "policy/time_zone.hpp"

#include <algorithm>
#include <cstdio>

namespace steward::policy {
namespace {

using namespace std::chrono;

constexpr std::int64_t kDay = 86'400;

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

bool isLeap(int y) {
  return year{y}.is_leap();
}

// Days since the epoch of the rule date in year `y`.
std::int64_t ruleDay(const PosixRule::Date& d, int y) {
  using Form = PosixRule::Date::Form;
  switch (d.form) {
    case Form::julianNoLeap: {
      std::int64_t n = d.day - 1;
      if (isLeap(y) && d.day >= 60) ++n;
      return daysFromCivil(y, 1, 1) + n;
    }
    case Form::zeroBased:
      return daysFromCivil(y, 1, 1) + d.day;
    case Form::monthWeekDay: {
      const auto m = static_cast<unsigned>(d.month);
      const std::int64_t first = daysFromCivil(y, m, 1);
      const unsigned firstWeekday = weekday{sys_days{days{first}}}.c_encoding();
      std::int64_t day = 1 + (d.day - static_cast<int>(firstWeekday) + 7) % 7 + 7 * (d.week - 1);
      const auto monthLength = static_cast<std::int64_t>(
          unsigned(year_month_day_last{year{y} / month{m} / std::chrono::last}.day()));
      while (day > monthLength)
        day -= 7;
      return first + day - 1;
    }
  }
  return 0;
}

// Parses [+-]hh[:mm[:ss]] with hours up to `max_hours`; returns seconds (sign as written).
bool parseClock(std::string_view& s, int max_hours, std::int32_t& out) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  auto number = [&s](int& v) {
    std::size_t i = 0;
    v = 0;
    while (i < s.size() && i < 3 && s[i] >= '0' && s[i] <= '9')
      v = v * 10 + (s[i++] - '0');
    if (i == 0) return false;
    s.remove_prefix(i);
    return true;
  };
  int h = 0, m = 0, sec = 0;
  if (!number(h) || h > max_hours) return false;
  if (!s.empty() && s[0] == ':') {
    s.remove_prefix(1);
    if (!number(m) || m > 59) return false;
    if (!s.empty() && s[0] == ':') {
      s.remove_prefix(1);
      if (!number(sec) || sec > 59) return false;
    }
  }
  out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

bool parseName(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    const auto close = s.find('>');
    if (close == std::string_view::npos || close < 2) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
    ++i;
  if (i < 3) return false;
  s.remove_prefix(i);
  return true;
}

bool parseDate(std::string_view& s, PosixRule::Date& d) {
  using Form = PosixRule::Date::Form;
  auto number = [&s](int& v, int max) {
    std::size_t i = 0;
    v = 0;
    while (i < s.size() && i < 3 && s[i] >= '0' && s[i] <= '9')
      v = v * 10 + (s[i++] - '0');
    if (i == 0 || v > max) return false;
    s.remove_prefix(i);
    return true;
  };
  if (s.empty()) return false;
  if (s[0] == 'M') {
    s.remove_prefix(1);
    d.form = Form::monthWeekDay;
    if (!number(d.month, 12) || d.month < 1) return false;
    if (s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!number(d.week, 5) || d.week < 1) return false;
    if (s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!number(d.day, 6)) return false;
  } else if (s[0] == 'J') {
    s.remove_prefix(1);
    d.form = Form::julianNoLeap;
    if (!number(d.day, 365) || d.day < 1) return false;
  } else {
    d.form = Form::zeroBased;
    if (!number(d.day, 365)) return false;
  }
  d.time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!parseClock(s, 167, d.time)) return false;
  }
  return true;
}

class BigEndian {
 public:
  explicit BigEndian(std::span<const unsigned char> data) : data_(data) {}
  bool has(std::size_t n) const { return data_.size() - pos_ >= n; }
  std::size_t pos() const { return pos_; }
  void skip(std::size_t n) { pos_ += n; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | data_[pos_++];
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | data_[pos_++];
    return static_cast<std::int64_t>(v);
  }
  std::uint8_t u8() { return data_[pos_++]; }
  std::string_view rest() const {
    return {reinterpret_cast<const char*>(data_.data()) + pos_, data_.size() - pos_};
  }

 private:
  std::span<const unsigned char> data_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool readHeader(BigEndian& in, Header& h) {
  if (!in.has(44)) return false;
  const std::string_view magic = in.rest().substr(0, 4);
  if (magic != "TZif") return false;
  in.skip(4);
  h.version = static_cast<char>(in.u8());
  in.skip(15);
  h.isutcnt = in.u32();
  h.isstdcnt = in.u32();
  h.leapcnt = in.u32();
  h.timecnt = in.u32();
  h.typecnt = in.u32();
  h.charcnt = in.u32();
  // Far above any real zone; keeps a hostile file from making us allocate much.
  return h.typecnt >= 1 && h.typecnt <= 256 && h.timecnt <= 100'000 && h.charcnt <= 4096 &&
         h.leapcnt <= 1000 && (h.isutcnt == 0 || h.isutcnt == h.typecnt) &&
         (h.isstdcnt == 0 || h.isstdcnt == h.typecnt);
}

std::size_t blockSize(const Header& h, std::size_t time_size) {
  return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
         h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

std::string Month::format() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u", year, month);
  return buf;
}

core::Result<PosixRule> PosixRule::parse(std::string_view text) {
  const auto bad = [&] {
    return core::fail("invalid POSIX TZ rule \"" + std::string(text) + "\"");
  };
  PosixRule r;
  std::string_view s = text;
  std::int32_t posix = 0;
  if (!parseName(s) || !parseClock(s, 24, posix)) return bad();
  r.std_offset = -posix;
  if (s.empty()) return r;
  if (!parseName(s)) return bad();
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (!s.empty() && s[0] != ',') {
    if (!parseClock(s, 24, posix)) return bad();
    r.dst_offset = -posix;
  }
  if (s.empty()) {
    // No rule given: POSIX leaves it to the implementation; use the US rule as glibc does.
    s = ",M3.2.0,M11.1.0";
  }
  if (s[0] != ',') return bad();
  s.remove_prefix(1);
  if (!parseDate(s, r.start)) return bad();
  if (s.empty() || s[0] != ',') return bad();
  s.remove_prefix(1);
  if (!parseDate(s, r.end) || !s.empty()) return bad();
  return r;
}

std::int32_t PosixRule::offsetAt(std::int64_t utc_seconds) const {
  if (!has_dst) return std_offset;
  const std::int64_t localDays = floorDiv(utc_seconds + std_offset, kDay);
  const int y = int(year_month_day{sys_days{days{localDays}}}.year());
  const std::int64_t start_utc = ruleDay(start, y) * kDay + start.time - std_offset;
  const std::int64_t end_utc = ruleDay(end, y) * kDay + end.time - dst_offset;
  bool dst = false;
  if (start_utc < end_utc) {
    dst = utc_seconds >= start_utc && utc_seconds < end_utc;
  } else {  // southern hemisphere: daylight time spans the new year
    dst = !(utc_seconds >= end_utc && utc_seconds < start_utc);
  }
  return dst ? dst_offset : std_offset;
}

TimeZone TimeZone::utc() {
  return TimeZone{};
}

core::Result<TimeZone> TimeZone::fromTzif(std::string name, std::span<const unsigned char> data) {
  const auto bad = [&](std::string why) {
    return core::fail("time zone file for \"" + name + "\" is not valid TZif: " + why);
  };
  BigEndian in(data);
  Header h;
  if (!readHeader(in, h)) return bad("bad header");
  std::size_t time_size = 4;
  if (h.version >= '2') {
    const std::size_t v1 = blockSize(h, 4);
    if (!in.has(v1)) return bad("truncated");
    in.skip(v1);
    if (!readHeader(in, h)) return bad("bad second header");
    time_size = 8;
  }
  if (!in.has(blockSize(h, time_size))) return bad("truncated");

  TimeZone tz;
  tz.name_ = std::move(name);
  std::vector<std::int64_t> times(h.timecnt);
  for (auto& t : times)
    t = time_size == 8 ? in.i64() : static_cast<std::int32_t>(in.u32());
  std::vector<std::uint8_t> indices(h.timecnt);
  for (auto& i : indices)
    i = in.u8();
  std::vector<std::int32_t> utoffs(h.typecnt);
  for (auto& u : utoffs) {
    u = static_cast<std::int32_t>(in.u32());
    in.skip(2);  // isdst, designation index: not needed to compute wall time
    if (u <= -25 * 3600 || u >= 26 * 3600) return bad("offset out of range");
  }
  in.skip(h.charcnt + h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt);
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (indices[i] >= h.typecnt) return bad("type index out of range");
    if (i > 0 && times[i] <= times[i - 1]) return bad("transitions out of order");
  }
  tz.transitions_ = std::move(times);
  for (auto i : indices)
    tz.offsets_.push_back(utoffs[i]);
  tz.initial_offset_ = utoffs[0];

  if (time_size == 8) {
    const std::string_view rest = in.rest();
    if (rest.size() >= 2 && rest[0] == '\n') {
      const auto end = rest.find('\n', 1);
      if (end == std::string_view::npos) return bad("unterminated footer");
      const std::string_view rule = rest.substr(1, end - 1);
      if (!rule.empty()) {
        auto parsed = PosixRule::parse(rule);
        if (!parsed) return bad(parsed.error().message);
        tz.footer_ = *parsed;
        tz.has_footer_ = true;
      }
    }
  }
  return tz;
}

std::chrono::seconds TimeZone::offsetAt(core::TimePoint t) const {
  const std::int64_t s = floorDiv(t.time_since_epoch().count(), 1000);
  if (transitions_.empty() || s >= transitions_.back()) {
    if (has_footer_) return seconds{footer_.offsetAt(s)};
    return seconds{transitions_.empty() ? initial_offset_ : offsets_.back()};
  }
  if (s < transitions_.front()) return seconds{initial_offset_};
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s);
  return seconds{offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1]};
}

std::chrono::local_time<std::chrono::milliseconds> TimeZone::toLocal(core::TimePoint t) const {
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
