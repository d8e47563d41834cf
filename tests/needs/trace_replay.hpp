// Replays the recorded level traces (tests/needs/traces/*.csv) through the forecaster and measures
// how far the predicted run-out date is from the true one. Shared by the forecast tests and the
// needs_forecast_eval program.
#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "needs/forecast.hpp"

namespace steward::needs::test {

struct TraceRow {
  int hour = 0;
  double level = 0.0;
  double true_level = 0.0;
  double true_runout_hour = 0.0;  // where this row's refill cycle truly runs out
};

struct Trace {
  std::string name;
  std::string description;
  std::vector<TraceRow> rows;
};

core::Result<Trace> loadTrace(const std::string& path);
std::vector<std::string> traceNames();  // the traces the generator writes, in a fixed order
std::string traceDirectory();           // the checked-in traces

// Readings are replayed from this instant (a Monday, as the generator assumes).
core::TimePoint traceStart();

struct Bucket {
  std::string label;  // true time left before run-out: "0-7d", "7-14d", ...
  double from_days = 0.0, to_days = 0.0;
  int evaluations = 0;  // daily evaluations falling in the bucket
  int without_forecast = 0;
  double mae_days = 0.0;   // mean |predicted - true| run-out, over evaluations with a forecast
  double bias_days = 0.0;  // mean (predicted - true): negative = predicted too early
};

struct CycleOpening {
  double true_runout_day = 0.0;
  // Days of stock truly left when the forecast first said "order now" (run-out - lead - safety
  // reached); NaN: not before run-out (too late, or never: see refilled_early).
  double stock_left_days = 0.0;
  // NaN only: the next refill came before this cycle ran out and before its need was due.
  bool refilled_early = false;
};

struct TraceEvaluation {
  std::string name;
  std::vector<Bucket> buckets;
  Bucket overall;
  std::vector<CycleOpening> openings;
};

// Evaluates once a day at noon; a need opens at run-out − `lead_plus_safety` − the forecast's
// uncertainty, as the engine does (without the uncertainty when `widen_by_uncertainty` is false,
// to compare).
TraceEvaluation evaluateTrace(const Trace& trace, const SeriesParams& params,
                              core::Duration lead_plus_safety, bool widen_by_uncertainty = true);

std::string formatEvaluation(const TraceEvaluation& e);

}  // namespace steward::needs::test
