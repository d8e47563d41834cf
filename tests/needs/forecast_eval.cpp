// Prints the run-out forecast error on the recorded traces: for each trace, the mean absolute
// error (and bias) of the predicted run-out date in days, bucketed by the true time left, and the
// days of stock truly left when a need would have opened. Usage: needs_forecast_eval [traces-dir]
// For tuning, NEEDS_WINDOW_DAYS, NEEDS_PAIR_FRACTION, NEEDS_MIN_SPAN_H and NEEDS_ANCHOR override
// the forecast parameters of the same meaning, as do NEEDS_UNC_QUANTILE and NEEDS_UNC_INTERVALS
// (the uncertainty's quantile and reading intervals); NEEDS_LEAD_SAFETY_DAYS the lead + safety
// (17); NEEDS_NO_UNCERTAINTY=1 opens at run-out − lead − safety alone, as before the margin.
#include <cstdio>
#include <cstdlib>

#include "needs/trace_replay.hpp"

using namespace steward::needs;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : test::traceDirectory();
  SeriesParams params;  // the engine's defaults, unless overridden for an experiment
  if (const char* w = std::getenv("NEEDS_WINDOW_DAYS"))
    params.forecast.window = std::chrono::days{std::atoi(w)};
  if (const char* w = std::getenv("NEEDS_PAIR_FRACTION"))
    params.forecast.min_pair_span_fraction = std::atof(w);
  if (const char* w = std::getenv("NEEDS_MIN_SPAN_H"))
    params.forecast.min_span = std::chrono::hours{std::atoi(w)};
  if (const char* w = std::getenv("NEEDS_ANCHOR")) params.forecast.anchor_points = std::atoi(w);
  if (const char* w = std::getenv("NEEDS_UNC_QUANTILE"))
    params.forecast.uncertainty_quantile = std::atof(w);
  if (const char* w = std::getenv("NEEDS_UNC_INTERVALS"))
    params.forecast.uncertainty_intervals = std::atof(w);
  const int lead_safety_days =
      std::getenv("NEEDS_LEAD_SAFETY_DAYS") ? std::atoi(std::getenv("NEEDS_LEAD_SAFETY_DAYS")) : 17;
  const auto lead_plus_safety = std::chrono::days{lead_safety_days};
  const bool widen = std::getenv("NEEDS_NO_UNCERTAINTY") == nullptr;
  std::printf("run-out forecast error in days: MAE bias n, by true time left before run-out\n");
  std::printf("(daily evaluation at noon; need opens at run-out - %d d lead + safety%s)\n\n",
              lead_safety_days, widen ? " - the forecast's uncertainty" : "");
  std::printf("%-8s | %15s | %15s | %15s | %15s | %15s | %15s | stock left at opening (days)\n",
              "trace", "0-7d", "7-14d", "14-30d", "30-60d", ">60d", "all");
  int failures = 0;
  for (const auto& name : test::traceNames()) {
    auto trace = test::loadTrace(dir + "/" + name + ".csv");
    if (!trace) {
      std::fprintf(stderr, "%s\n", trace.error().message.c_str());
      ++failures;
      continue;
    }
    std::printf("%s\n",
                test::formatEvaluation(test::evaluateTrace(*trace, params, lead_plus_safety, widen))
                    .c_str());
  }
  return failures ? 1 : 0;
}
