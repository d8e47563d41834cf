// The recorded level traces under tests/needs/traces/, generated deterministically (see
// trace_gen.hpp). Each trace is a simulated consumable: an hourly "true" level driven by a usage
// pattern, and the readings a device would publish (rounded, noisy, sparse, or silent). Every row
// also carries the true run-out instant of the refill cycle it belongs to (where the true level
// would reach 0 with no refill), which the forecast-error evaluation compares against.
#include "needs/trace_gen.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace steward::needs::test {
namespace {

// splitmix64: a tiny generator whose output is fixed by its seed on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t s_;
};

using Row = GeneratedRow;
using Trace = GeneratedTrace;

// One refill cycle: usage(hour) is the consumption in that hour (in %); the cycle ends at
// `refill_below` (a refill to 100 %) or at run-out plus a few days of readings at 0.
struct Cycle {
  std::function<double(int hour)> usage;
  double refill_below = -1.0;  // < 0: no refill, run to empty
};

// Simulates cycles back to back and samples readings with `reading(hour, true_level, rng)`, which
// returns nullopt-like NaN for "no reading at this hour".
Trace simulate(std::string name, std::string description, int decimals, std::vector<Cycle> cycles,
               const std::function<double(int hour, double true_level)>& reading) {
  Trace t{std::move(name), std::move(description), decimals, {}};
  int start = 0;
  for (const Cycle& c : cycles) {
    // First the uninterrupted path of this cycle to find its true run-out.
    std::vector<double> path{100.0};
    double runout = -1.0;
    for (int h = start; runout < 0.0; ++h) {
      const double before = path.back();
      const double after = before - c.usage(h);
      if (after <= 0.0) runout = h + before / (before - after);
      path.push_back(std::max(after, 0.0));
    }
    // Then the part that happened: up to the refill, or 72 h past run-out.
    int end = start + static_cast<int>(path.size()) - 1 + 72;
    if (c.refill_below >= 0.0) {
      for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] < c.refill_below) {
          end = start + static_cast<int>(i);
          break;
        }
      }
    }
    for (int h = start; h < end; ++h) {
      const std::size_t i = static_cast<std::size_t>(h - start);
      const double truth = i < path.size() ? path[i] : 0.0;
      const double level = reading(h, truth);
      if (std::isnan(level)) continue;
      t.rows.push_back(Row{h, level, truth, runout});
    }
    start = end;
  }
  return t;
}

double clampLevel(double v) {
  return std::min(100.0, std::max(0.0, v));
}

// A usage factor drawn once per day.
struct DailyFactor {
  int day = -1;
  double factor = 1.0;
  double at(int hour, const std::function<double()>& draw) {
    if (hour / 24 != day) {
      day = hour / 24;
      factor = draw();
    }
    return factor;
  }
};

}  // namespace

std::vector<GeneratedTrace> generateTraces() {
  std::vector<Trace> traces;
  const double nan = std::nan("");

  {  // steady: 1.1 %/day, integer readings every 6 h.
    traces.push_back(simulate("steady", "office printer, 1.1 %/day every day, integer % every 6 h",
                              0, {Cycle{[](int) { return 1.1 / 24.0; }}},
                              [&](int h, double v) { return h % 6 == 0 ? std::round(v) : nan; }));
  }
  {  // bursty: print jobs on weekday working hours, mean about 1 %/day, heavy tail.
    auto rng = std::make_shared<Rng>(0xb0257);
    traces.push_back(simulate("bursty",
                              "home office printer, print jobs in weekday working hours, ~1 %/day "
                              "on average, integer % every 6 h",
                              0, {Cycle{[rng](int h) {
                                const int day = h / 24, hour = h % 24;
                                if (day % 7 >= 5 || hour < 8 || hour >= 20) return 0.0;
                                return rng->uniform() < 0.08 ? rng->exponential(1.75) : 0.0;
                              }}},
                              [&](int h, double v) { return h % 6 == 0 ? std::round(v) : nan; }));
  }
  {  // refills: three cycles at different rates; replaced early at 12 % and 8 %, then run dry.
    auto rng = std::make_shared<Rng>(0x4ef111);
    auto cycle = [rng](double per_day) {
      auto daily = std::make_shared<DailyFactor>();
      return [rng, daily, per_day](int h) {
        // The day's usage varies ±40 % around the cycle's rate.
        return per_day * daily->at(h, [&] { return 0.6 + 0.8 * rng->uniform(); }) / 24.0;
      };
    };
    traces.push_back(simulate("refills",
                              "ink cartridge replaced twice (at 12 % and 8 %), 0.8 / 1.6 / 1.1 "
                              "%/day cycles, integer % every 6 h",
                              0,
                              {Cycle{cycle(0.8), 12.0}, Cycle{cycle(1.6), 8.0}, Cycle{cycle(1.1)}},
                              [&](int h, double v) { return h % 6 == 0 ? std::round(v) : nan; }));
  }
  {  // noise: 1 %/day, readings every 4 h with sd 3 noise and 3 % wild readings.
    Rng rng(0x0015e);
    traces.push_back(simulate(
        "noise",
        "water softener salt, 1 %/day, reading every 4 h with sd 3 % noise and 3 % wild readings",
        1, {Cycle{[](int) { return 1.0 / 24.0; }}}, [&](int h, double v) {
          if (h % 4 != 0) return nan;
          if (rng.uniform() < 0.03) return std::round(rng.uniform() * 1000.0) / 10.0;
          return std::round(clampLevel(v + 3.0 * rng.normal()) * 10.0) / 10.0;
        }));
  }
  {  // silent: 1.3 %/day, the sensor stops reporting after day 35.
    traces.push_back(
        simulate("silent", "toner level sensor, 1.3 %/day, integer % every 6 h, silent from day 35",
                 0, {Cycle{[](int) { return 1.3 / 24.0; }}},
                 [&](int h, double v) { return h % 6 == 0 && h < 35 * 24 ? std::round(v) : nan; }));
  }
  {  // sparse: 0.6 %/day varying by day, readings every 2 to 6 days at random.
    auto use = std::make_shared<Rng>(0x5ba25e);
    auto when = std::make_shared<Rng>(0x5ba25f);
    auto next = std::make_shared<int>(0);
    auto daily = std::make_shared<DailyFactor>();
    traces.push_back(simulate("sparse",
                              "dishwasher rinse aid, ~0.6 %/day, a reading every 2 to 6 days", 0,
                              {Cycle{[use, daily](int h) {
                                // No dishwasher run on 30 % of days; the others make up for it.
                                return 0.6 / 24.0 * daily->at(h, [&] {
                                  return use->uniform() < 0.3 ? 0.0 : (0.5 + use->uniform()) / 0.7;
                                });
                              }}},
                              [&](int h, double v) {
                                if (h != *next) return nan;
                                *next += 24 * (2 + static_cast<int>(when->uniform() * 5.0)) + 7;
                                return std::round(v);
                              }));
  }
  {  // battery: coin cell, % from voltage falls slowly then faster (120 days), daily ±2 wobble.
    traces.push_back(simulate("battery",
                              "coin-cell sensor, accelerating discharge over ~120 days, daily "
                              "temperature wobble, integer % every 12 h",
                              0, {Cycle{[](int h) {
                                const double t = h / (120.0 * 24.0);
                                return 100.0 * 2.0 * t / (120.0 * 24.0);  // level = 100 (1 - t^2)
                              }}},
                              [&](int h, double v) {
                                if (h % 12 != 0) return nan;
                                return std::round(
                                    clampLevel(v + 2.0 * std::sin(6.283185307179586 * h / 24.0)));
                              }));
  }
  return traces;
}

bool writeTrace(const std::string& dir, const GeneratedTrace& t) {
  const std::string path = dir + "/" + t.name + ".csv";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::perror(path.c_str());
    return false;
  }
  std::fprintf(f, "# %s: %s\n", t.name.c_str(), t.description.c_str());
  std::fprintf(f, "# written by needs_make_traces (tests/needs/make_traces.cpp); do not edit\n");
  std::fprintf(f, "hour,level,true_level,true_runout_hour\n");
  for (const Row& r : t.rows) {
    std::fprintf(f, "%d,%.*f,%.3f,%.2f\n", r.hour, t.level_decimals, r.level, r.true_level,
                 r.true_runout_hours);
  }
  return std::fclose(f) == 0;
}

}  // namespace steward::needs::test
