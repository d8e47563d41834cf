// The daemon's path for level readings: a source's update → the discovery registry → the needs
// engine, replaying recorded traces. The engine must see every reading with its own time (the
// registry once passed a level on only when it changed), so its forecast is the replay tool's
// forecast on the same readings, and a need opens before the stock truly runs out.
#include <gtest/gtest.h>

#include <cmath>

#include "discovery/registry.hpp"
#include "needs/engine_fixture.hpp"
#include "needs/trace_replay.hpp"

namespace steward::needs::test {
namespace {

class Pipeline : public NeedsFixture {
 protected:
  void SetUp() override {
    NeedsFixture::SetUp();
    if (HasFatalFailure()) return;
    registry =
        std::make_unique<discovery::Registry>(*sqlite, clock, discovery::Registry::Options{});
    auto r = registry->load();
    ASSERT_TRUE(r) << r.error().message;
    registry->onNeedSignal([this](const NeedSignal& s) {
      auto out = engine->onSignal(s);
      EXPECT_TRUE(out) << out.error().message;
      device_id = s.device_id;
    });
  }

  void report(double level) {
    discovery::DeviceUpdate u;
    u.ref = {"steward", "printer"};
    u.name = "Office printer";
    NeedSignal s;
    s.kind = SignalKind::consumable;
    s.key = "toner-black";
    s.level = level;
    s.unit = "%";
    u.signals.push_back(s);
    auto rejected = registry->apply(std::move(u));
    ASSERT_FALSE(rejected) << rejected->message;
  }

  std::unique_ptr<discovery::Registry> registry;
  std::string device_id;
};

core::TimePoint atHour(int hour) {
  return traceStart() + std::chrono::hours{hour};
}

Trace load(const std::string& name) {
  auto t = loadTrace(traceDirectory() + "/" + name + ".csv");
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : Trace{};
}

TEST_F(Pipeline, EveryReadingReachesTheForecastWithItsOwnTime) {
  // Whole-percent readings every 6 h: most repeat the previous value.
  const Trace trace = load("steady");
  ASSERT_GT(trace.rows.size(), 100u);
  LevelSeries replay;  // what the replay tool computes from the same readings
  SeriesParams params = config.series;
  params.full_scale = 100.0;
  int repeats = 0, compared = 0;
  double abs_error_days = 0.0;
  for (std::size_t i = 0; i < 400 && i < trace.rows.size(); ++i) {
    const TraceRow& row = trace.rows[i];
    clock.set(atHour(row.hour));
    if (i > 0 && row.level == trace.rows[i - 1].level) ++repeats;
    report(row.level);
    (void)replay.observe(Observation{clock.now(), row.level}, params);
    const auto view = engine->series(device_id, "toner-black");
    ASSERT_TRUE(view);
    const Forecast expected = replay.forecast(params.forecast);
    ASSERT_EQ(view->readings, replay.segment().size()) << "after reading " << i;
    EXPECT_EQ(view->forecast.runout, expected.runout) << "after reading " << i;
    if (view->forecast.runout) {
      const auto truth = atHour(0) + core::Duration{std::llround(row.true_runout_hour * 3.6e6)};
      abs_error_days +=
          std::fabs(static_cast<double>((*view->forecast.runout - truth).count())) / 86'400'000.0;
      ++compared;
    }
  }
  EXPECT_GT(repeats, 200) << "the trace must repeat values for this test to mean anything";
  ASSERT_GT(compared, 300);
  EXPECT_LT(abs_error_days / compared, 0.3) << "mean run-out error over the cycle, days";
}

// With the shipped policy's lead time and safety (3 d + 2 d), every trace's need opens while
// stock is left, including the sparse sensor whose forecast is least certain.
TEST_F(Pipeline, NeedsOpenBeforeRunOutOnEveryTrace) {
  SeriesParams params = config.series;
  params.full_scale = 100.0;
  for (const auto& name : traceNames()) {
    const Trace trace = load(name);
    const TraceEvaluation e = evaluateTrace(trace, params, std::chrono::days{3 + 2});
    for (const auto& o : e.openings) {
      if (o.refilled_early) continue;  // refilled before it was due: nothing to open
      EXPECT_FALSE(std::isnan(o.stock_left_days))
          << name << ": the cycle running out on day " << o.true_runout_day
          << " opened its need only after run-out";
      EXPECT_GT(o.stock_left_days, 0.0) << name << ": the cycle running out on day "
                                        << o.true_runout_day << " opened its need after run-out";
    }
  }
}

}  // namespace
}  // namespace steward::needs::test
