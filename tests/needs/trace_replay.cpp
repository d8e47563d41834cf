// See trace_replay.hpp.
#include "needs/trace_replay.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace steward::needs::test {
namespace {

using namespace std::chrono;

constexpr double kMillisPerDay = 86'400'000.0;

core::TimePoint atHour(double hour) {
  return traceStart() + core::Duration{std::llround(hour * 3'600'000.0)};
}

double daysBetween(core::TimePoint a, core::TimePoint b) {
  return static_cast<double>((b - a).count()) / kMillisPerDay;
}

}  // namespace

std::vector<std::string> traceNames() {
  return {"steady", "bursty", "refills", "noise", "silent", "sparse", "battery"};
}

std::string traceDirectory() {
  return std::string(STEWARD_SOURCE_DIR) + "/tests/needs/traces";
}

core::TimePoint traceStart() {
  return time_point_cast<milliseconds>(sys_days{2025y / January / 6});
}

core::Result<Trace> loadTrace(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::fail("cannot open trace " + path);
  Trace t;
  std::string line;
  int line_no = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (t.name.empty()) {
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
          t.name = line.substr(2, colon - 2);
          t.description = line.substr(colon + 2);
        }
      }
      continue;
    }
    if (!header) {
      if (line != "hour,level,true_level,true_runout_hour")
        return core::fail(path + ":" + std::to_string(line_no) + ": unexpected header");
      header = true;
      continue;
    }
    TraceRow r;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream fields(line);
    if (!(fields >> r.hour >> c1 >> r.level >> c2 >> r.true_level >> c3 >> r.true_runout_hour) ||
        c1 != ',' || c2 != ',' || c3 != ',')
      return core::fail(path + ":" + std::to_string(line_no) + ": malformed row \"" + line + "\"");
    if (!t.rows.empty() && r.hour <= t.rows.back().hour)
      return core::fail(path + ":" + std::to_string(line_no) + ": rows out of order");
    t.rows.push_back(r);
  }
  if (t.rows.empty()) return core::fail(path + ": no rows");
  return t;
}

TraceEvaluation evaluateTrace(const Trace& trace, const SeriesParams& params,
                              core::Duration lead_plus_safety, bool widen_by_uncertainty) {
  TraceEvaluation e;
  e.name = trace.name;
  e.buckets = {{"0-7d", 0, 7},
               {"7-14d", 7, 14},
               {"14-30d", 14, 30},
               {"30-60d", 30, 60},
               {">60d", 60, std::numeric_limits<double>::infinity()}};
  e.overall = {"all", 0, std::numeric_limits<double>::infinity()};
  std::vector<double> abs_sum(e.buckets.size() + 1, 0.0), signed_sum(e.buckets.size() + 1, 0.0);
  std::vector<int> with(e.buckets.size() + 1, 0);
  std::set<double> opened_cycles;

  LevelSeries series;
  std::size_t next = 0;
  // Evaluate until the last cycle truly ran out, also when the sensor went silent before that.
  const double last_hour =
      std::max<double>(trace.rows.back().hour, trace.rows.back().true_runout_hour);
  for (int tick = 12; tick <= last_hour; tick += 24) {
    while (next < trace.rows.size() && trace.rows[next].hour <= tick) {
      const TraceRow& r = trace.rows[next++];
      (void)series.observe(Observation{atHour(r.hour), r.level}, params);
    }
    if (next == 0) continue;
    const double truth_hour = trace.rows[next - 1].true_runout_hour;
    const core::TimePoint now = atHour(tick);
    const core::TimePoint truth = atHour(truth_hour);
    const double left = daysBetween(now, truth);
    if (left < 0.0) continue;
    const Forecast f = series.forecast(params.forecast);

    const core::Duration margin = widen_by_uncertainty ? f.uncertainty : core::Duration{0};
    if (!opened_cycles.count(truth_hour) && f.runout &&
        *f.runout - lead_plus_safety - margin <= now) {
      opened_cycles.insert(truth_hour);
      e.openings.push_back({truth_hour / 24.0, left});
    }
    for (std::size_t b = 0; b <= e.buckets.size(); ++b) {
      Bucket& bucket = b < e.buckets.size() ? e.buckets[b] : e.overall;
      if (left < bucket.from_days || left >= bucket.to_days) continue;
      ++bucket.evaluations;
      if (!f.runout) {
        ++bucket.without_forecast;
        continue;
      }
      const double err = daysBetween(truth, *f.runout);
      abs_sum[b] += std::fabs(err);
      signed_sum[b] += err;
      ++with[b];
    }
  }
  // Cycles whose need never opened.
  std::set<double> cycles;
  for (const auto& r : trace.rows)
    cycles.insert(r.true_runout_hour);
  for (double c : cycles) {
    if (opened_cycles.count(c)) continue;
    // Refilled before it was due (the next cycle's first reading came before this run-out)?
    bool refilled_early = false;
    for (std::size_t i = 1; i < trace.rows.size(); ++i)
      refilled_early =
          refilled_early || (trace.rows[i - 1].true_runout_hour == c &&
                             trace.rows[i].true_runout_hour != c && trace.rows[i].hour < c);
    e.openings.push_back({c / 24.0, std::numeric_limits<double>::quiet_NaN(), refilled_early});
  }
  for (std::size_t b = 0; b <= e.buckets.size(); ++b) {
    Bucket& bucket = b < e.buckets.size() ? e.buckets[b] : e.overall;
    if (with[b] > 0) {
      bucket.mae_days = abs_sum[b] / with[b];
      bucket.bias_days = signed_sum[b] / with[b];
    }
  }
  return e;
}

std::string formatEvaluation(const TraceEvaluation& e) {
  std::string out;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-8s", e.name.c_str());
  out += buf;
  auto cell = [&](const Bucket& b) {
    const int with = b.evaluations - b.without_forecast;
    if (with == 0) {
      std::snprintf(buf, sizeof buf, " | %15s", b.evaluations ? "no forecast" : "-");
    } else {
      std::snprintf(buf, sizeof buf, " | %5.2f %+5.2f %3d", b.mae_days, b.bias_days, with);
    }
    out += buf;
  };
  for (const auto& b : e.buckets)
    cell(b);
  cell(e.overall);
  out += " | ";
  for (std::size_t i = 0; i < e.openings.size(); ++i) {
    if (std::isnan(e.openings[i].stock_left_days)) {
      std::snprintf(buf, sizeof buf, "%s%s", i ? ", " : "",
                    e.openings[i].refilled_early ? "refilled first" : "never");
    } else {
      std::snprintf(buf, sizeof buf, "%s%.1f", i ? ", " : "", e.openings[i].stock_left_days);
    }
    out += buf;
  }
  return out;
}

}  // namespace steward::needs::test
