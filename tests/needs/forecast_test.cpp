// The forecaster on its own: Theil–Sen against outliers and steps, the anchored run-out date,
// staleness, the time window, and refill detection that one glitchy reading cannot fool.
#include <gtest/gtest.h>

#include <cmath>

#include "needs/forecast.hpp"

namespace steward::needs {
namespace {

using namespace std::chrono_literals;

const core::TimePoint t0 = core::fromUnixMillis(1'736'121'600'000);  // 2025-01-06T00:00Z

std::vector<Observation> line(double from, double per_day, int n, core::Duration every,
                              core::TimePoint start = t0) {
  std::vector<Observation> out;
  for (int i = 0; i < n; ++i) {
    const double days = static_cast<double>((every * i).count()) / 86'400'000.0;
    out.push_back({start + every * i, from - per_day * days});
  }
  return out;
}

TEST(TheilSen, IgnoresWildReadings) {
  auto obs = line(90, 1.5, 60, 6h);
  // Every fifth reading is nonsense.
  for (std::size_t i = 0; i < obs.size(); i += 5)
    obs[i].level = (i % 10 == 0) ? 0.0 : 100.0;
  const auto slope = theilSenSlopePerDay(obs, 1h);
  ASSERT_TRUE(slope);
  EXPECT_NEAR(*slope, -1.5, 0.05);
}

TEST(TheilSen, SeesThroughQuantisedSteps) {
  auto obs = line(80, 0.7, 120, 6h);
  for (auto& o : obs)
    o.level = std::round(o.level);
  EXPECT_NEAR(*theilSenSlopePerDay(obs, 1h), -0.7, 0.02);
}

TEST(TheilSen, NeedsAPairFarEnoughApart) {
  const auto obs = line(80, 1, 3, 10min);
  EXPECT_FALSE(theilSenSlopePerDay(obs, 1h));
}

TEST(Forecast, RunOutOfAStraightLine) {
  const auto obs = line(80, 2.0, 41, 6h);  // ten days: 80 → 60
  const Forecast f = estimateForecast(obs, ForecastParams{});
  ASSERT_EQ(f.status, ForecastStatus::depleting);
  EXPECT_NEAR(f.rate_per_day, 2.0, 1e-9);
  EXPECT_NEAR(f.level, 60.0, 1e-9);
  EXPECT_EQ(*f.runout, obs.back().at + std::chrono::days{30});
  EXPECT_EQ(f.points, 41u);
  EXPECT_EQ(f.typical_interval, 6h);
}

TEST(Forecast, TooFewOrTooCloseReadingsGiveNoDate) {
  EXPECT_EQ(estimateForecast(line(80, 2, 2, 48h), {}).status, ForecastStatus::insufficient);
  const Forecast short_span = estimateForecast(line(80, 2, 10, 6h), {});  // 54 h < 72 h
  EXPECT_EQ(short_span.status, ForecastStatus::insufficient);
  EXPECT_FALSE(short_span.runout);
  EXPECT_NEAR(short_span.level, 80 - 2 * 2.0, 0.6) << "the level is still estimated";
}

TEST(Forecast, FlatOrRisingIsIdle) {
  EXPECT_EQ(estimateForecast(line(50, 0, 30, 6h), {}).status, ForecastStatus::idle);
  EXPECT_EQ(estimateForecast(line(50, -1, 30, 6h), {}).status, ForecastStatus::idle);
  // So slow it would last beyond the horizon.
  EXPECT_EQ(estimateForecast(line(50, 0.001, 30, 24h), {}).status, ForecastStatus::idle);
}

TEST(Forecast, EmptyAlreadyRunsOutAtTheLastReading) {
  auto obs = line(6, 1.0, 40, 6h);
  for (auto& o : obs)
    o.level = std::max(0.0, o.level);
  const Forecast f = estimateForecast(obs, {});
  ASSERT_EQ(f.status, ForecastStatus::depleting);
  EXPECT_EQ(*f.runout, obs.back().at);
}

TEST(Forecast, FollowsTheRecentRateWithinTheWindow) {
  // 100 days at 0.2 %/day, then 30 days at 1 %/day: only the last 60 days count.
  auto obs = line(100, 0.2, 400, 6h);
  const auto later = line(obs.back().level, 1.0, 121, 6h, obs.back().at);
  obs.insert(obs.end(), later.begin() + 1, later.end());
  const Forecast f = estimateForecast(obs, {});
  EXPECT_GT(f.rate_per_day, 0.4);
  ForecastParams everything;
  everything.window = std::chrono::days{365};
  EXPECT_LT(estimateForecast(obs, everything).rate_per_day, f.rate_per_day);
}

TEST(Forecast, SilentSensorTurnsStale) {
  const auto obs = line(80, 1, 40, 6h);
  const Forecast f = estimateForecast(obs, {});
  EXPECT_EQ(f.stale_after, 72h) << "four 6 h intervals are less than the 72 h floor";
  EXPECT_FALSE(f.staleAt(obs.back().at + 72h));
  EXPECT_TRUE(f.staleAt(obs.back().at + 73h));
  const Forecast sparse = estimateForecast(line(80, 1, 10, 48h), {});
  EXPECT_EQ(sparse.stale_after, 8 * 24h) << "a sensor that reads every 2 days gets 4 intervals";
}

TEST(LevelSeries, ARefillIsConfirmedByTheNextReading) {
  SeriesParams p;
  LevelSeries s;
  for (const auto& o : line(30, 2, 20, 6h))
    s.observe(o, p);
  const core::TimePoint after = *s.newest() + 6h;
  auto first = s.observe({after, 98}, p);
  EXPECT_EQ(first.outcome, LevelSeries::Outcome::refillPending);
  EXPECT_EQ(s.forecast(p.forecast).status, ForecastStatus::insufficient);
  auto second = s.observe({after + 6h, 97.5}, p);
  ASSERT_EQ(second.outcome, LevelSeries::Outcome::refilled);
  EXPECT_NEAR(second.from_level, 21.0, 1e-9) << "the median of the last three readings";
  EXPECT_EQ(second.to_level, 97.5);
  EXPECT_EQ(s.segment().size(), 2u);
  EXPECT_EQ(s.segment().front().at, after);
  EXPECT_EQ(s.refills(), 1);
}

TEST(LevelSeries, OneGlitchUpIsDroppedNotARefill) {
  SeriesParams p;
  LevelSeries s;
  for (const auto& o : line(60, 1, 20, 6h))
    s.observe(o, p);
  const std::size_t before = s.segment().size();
  const core::TimePoint t = *s.newest();
  EXPECT_EQ(s.observe({t + 6h, 100}, p).outcome, LevelSeries::Outcome::refillPending);
  auto back = s.observe({t + 12h, 54.8}, p);
  EXPECT_EQ(back.outcome, LevelSeries::Outcome::added);
  EXPECT_EQ(back.discarded_glitches, 1);
  EXPECT_EQ(s.segment().size(), before + 1);
  EXPECT_EQ(s.refills(), 0);
}

TEST(LevelSeries, OneGlitchDownDoesNotMakeTheNextReadingsARefill) {
  SeriesParams p;
  LevelSeries s;
  for (const auto& o : line(60, 1, 20, 6h))
    s.observe(o, p);
  const core::TimePoint t = *s.newest();
  s.observe({t + 6h, 0.0}, p);
  EXPECT_EQ(s.observe({t + 12h, 54.5}, p).outcome, LevelSeries::Outcome::added);
  EXPECT_EQ(s.observe({t + 18h, 54.2}, p).outcome, LevelSeries::Outcome::added);
  EXPECT_EQ(s.refills(), 0);
}

TEST(LevelSeries, KeepsABoundedWindowOfReadings) {
  SeriesParams p;
  p.max_observations = 100;
  LevelSeries s;
  for (const auto& o : line(100, 0.05, 1000, 1h))
    s.observe(o, p);
  EXPECT_EQ(s.segment().size(), 100u);
  p.max_observations = 10'000;
  LevelSeries by_age;
  for (const auto& o : line(100, 0.01, 2000, 24h))
    by_age.observe(o, p);
  EXPECT_LE(by_age.segment().size(), 61u) << "nothing older than the 60-day window is kept";
}

TEST(LevelSeries, SameInstantIsADuplicate) {
  SeriesParams p;
  LevelSeries s;
  s.observe({t0, 50}, p);
  EXPECT_EQ(s.observe({t0, 49}, p).outcome, LevelSeries::Outcome::duplicate);
  EXPECT_EQ(s.segment().size(), 1u);
}

}  // namespace
}  // namespace steward::needs
