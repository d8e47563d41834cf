// The recorded traces: they are what the generator writes, and the forecast meets its error
// bounds on each of them (the figures themselves are printed by needs_forecast_eval).
#include <gtest/gtest.h>

#include <cmath>

#include "needs/trace_gen.hpp"
#include "needs/trace_replay.hpp"
#include "support/temp_dir.hpp"

namespace steward::needs::test {
namespace {

const auto kLeadPlusSafety = std::chrono::days{3 + 14};

Trace load(const std::string& name) {
  auto t = loadTrace(traceDirectory() + "/" + name + ".csv");
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : Trace{};
}

TEST(Traces, CheckedInFilesAreWhatTheGeneratorWrites) {
  steward::test::TempDir dir;
  const auto generated = generateTraces();
  ASSERT_EQ(generated.size(), traceNames().size());
  for (const auto& g : generated) {
    ASSERT_TRUE(writeTrace(dir.path(), g));
    auto fresh = loadTrace(dir.file(g.name + ".csv"));
    ASSERT_TRUE(fresh) << fresh.error().message;
    const Trace stored = load(g.name);
    ASSERT_EQ(stored.rows.size(), fresh->rows.size()) << g.name;
    for (std::size_t i = 0; i < stored.rows.size(); ++i) {
      ASSERT_EQ(stored.rows[i].hour, fresh->rows[i].hour) << g.name << " row " << i;
      // One rounding step of slack, should another libm round a half differently.
      ASSERT_NEAR(stored.rows[i].level, fresh->rows[i].level, 1.0001) << g.name << " row " << i;
      ASSERT_NEAR(stored.rows[i].true_runout_hour, fresh->rows[i].true_runout_hour, 0.011);
    }
  }
}

TEST(Traces, EveryTraceHasItsShape) {
  const Trace refills = load("refills");
  std::set<double> cycles;
  for (const auto& r : refills.rows)
    cycles.insert(r.true_runout_hour);
  EXPECT_EQ(cycles.size(), 3u);
  const Trace silent = load("silent");
  EXPECT_LT(silent.rows.back().hour, silent.rows.back().true_runout_hour - 30 * 24)
      << "the sensor falls silent a month before run-out";
  const Trace sparse = load("sparse");
  EXPECT_GE(sparse.rows[1].hour - sparse.rows[0].hour, 48);
}

struct Bound {
  const char* trace;
  double mae_14_30;  // days, at 14-30 days before run-out (when needs open)
  double mae_0_14;   // days, in the last two weeks
};

class TraceError : public ::testing::TestWithParam<Bound> {};

TEST_P(TraceError, ForecastStaysWithinBoundsAndOrdersInTime) {
  const Bound b = GetParam();
  const TraceEvaluation e = evaluateTrace(load(b.trace), SeriesParams{}, kLeadPlusSafety);
  const Bucket& near1 = e.buckets[0];  // 0-7 d
  const Bucket& near2 = e.buckets[1];  // 7-14 d
  const Bucket& mid = e.buckets[2];    // 14-30 d
  EXPECT_LE(mid.mae_days, b.mae_14_30) << formatEvaluation(e);
  const int n =
      (near1.evaluations - near1.without_forecast) + (near2.evaluations - near2.without_forecast);
  ASSERT_GT(n, 0);
  EXPECT_LE((near1.mae_days * (near1.evaluations - near1.without_forecast) +
             near2.mae_days * (near2.evaluations - near2.without_forecast)) /
                n,
            b.mae_0_14)
      << formatEvaluation(e);
  // Each refill cycle's need opens with more stock left than the 3-day lead time, and not absurdly
  // early: the whole point of the forecast.
  ASSERT_FALSE(e.openings.empty());
  for (const auto& o : e.openings) {
    ASSERT_FALSE(std::isnan(o.stock_left_days)) << formatEvaluation(e);
    EXPECT_GT(o.stock_left_days, 3.0) << formatEvaluation(e);
    EXPECT_LT(o.stock_left_days, 30.0) << formatEvaluation(e);
  }
}

// Bounds at about 1.5x what the forecast achieves today (see needs_forecast_eval), so a
// regression shows while noise in a retuning does not.
INSTANTIATE_TEST_SUITE_P(Recorded, TraceError,
                         ::testing::Values(Bound{"steady", 0.5, 0.5}, Bound{"bursty", 7.0, 3.0},
                                           Bound{"refills", 2.0, 1.0}, Bound{"noise", 2.5, 2.0},
                                           Bound{"silent", 0.5, 0.5}, Bound{"sparse", 7.0, 10.0},
                                           Bound{"battery", 21.0, 6.0}),
                         [](const auto& info) { return std::string(info.param.trace); });

}  // namespace
}  // namespace steward::needs::test
