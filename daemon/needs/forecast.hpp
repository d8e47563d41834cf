// Run-out forecasts for anything a device reports as a falling level (toner, ink, filter life,
// battery): a robust rate estimate over the readings since the last refill, refill detection,
// and a staleness mark for sensors that went silent. Pure computation, no I/O, no clock.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/clock.hpp"

namespace steward::needs {

struct Observation {
  core::TimePoint at;
  double level = 0.0;
};

struct ForecastParams {
  // Only readings this recent (relative to the newest) inform the rate, so a change of habits
  // shows within weeks.
  core::Duration window = std::chrono::days{60};
  std::size_t min_points = 3;  // fewer readings: no forecast yet
  // Readings must cover at least this long: shorter, bursty or noisy use gives wild rates.
  core::Duration min_span = std::chrono::hours{72};
  core::Duration min_pair_gap = std::chrono::hours{1};  // pairs closer than this carry no slope
  // Only pairs at least this fraction of the covered span apart vote on the slope: with bursty use
  // most short pairs see no change, and their zero slopes would pull the median towards "idle".
  double min_pair_span_fraction = 0.5;
  std::size_t anchor_points = 5;  // the current level is the median over this many latest readings
  // Stale after `stale_intervals` typical reading intervals without a reading, at least the floor.
  core::Duration stale_floor = std::chrono::hours{72};
  double stale_intervals = 4.0;
  double empty_level = 0.0;
  // The uncertainty of a run-out: the run-out at this quantile of the pairwise slopes (the faster
  // rates), plus this many typical reading intervals (the next reading, which may move the date,
  // is that far away).
  double uncertainty_quantile = 0.25;
  double uncertainty_intervals = 1.0;
  // Further than this the forecast says "not running out" rather than a date centuries away.
  core::Duration horizon = std::chrono::days{3650};
};

enum class ForecastStatus {
  insufficient,  // too few readings or too short a span since the last refill, or a refill
                 // waiting for its confirming reading
  idle,          // the level is not falling
  depleting,     // falling: `runout` is set
};

struct Forecast {
  ForecastStatus status = ForecastStatus::insufficient;
  double level = 0.0;         // robust estimate of the level at `last_at`
  double rate_per_day = 0.0;  // consumption per day in the signal's unit (> 0 when depleting)
  std::optional<core::TimePoint> runout;
  // How much earlier the run-out may plausibly come: the run-out at a faster quantile of the
  // pairwise rates (the slopes Theil–Sen takes the median of) is that much before `runout`;
  // plus the typical interval between readings, the time until the next one can correct it.
  // Small when readings agree and come often; large for few, scattered or sparse readings.
  // Needs open this much earlier still, so an uncertain forecast does not open one too late.
  core::Duration uncertainty{};
  std::size_t points = 0;  // readings the estimate used
  core::TimePoint first_at, last_at;
  core::Duration typical_interval{};  // median gap between readings
  core::Duration stale_after{};

  // A silent sensor: the forecast still extrapolates, but says so.
  bool staleAt(core::TimePoint now) const { return points > 0 && now - last_at > stale_after; }
};

// Theil–Sen slope (median of pairwise slopes) in level units per day; nullopt without a usable
// pair. Insensitive to up to ~29 % of arbitrary outliers and to the steps of quantised readings.
std::optional<double> theilSenSlopePerDay(std::span<const Observation> obs,
                                          core::Duration min_pair_gap);

// The forecast from readings in time order (all from one refill cycle).
Forecast estimateForecast(std::span<const Observation> obs, const ForecastParams& params);

struct SeriesParams {
  ForecastParams forecast;
  std::size_t max_observations = 240;  // readings kept per consumable
  // A rise of at least `refill_rise_fraction` of the full scale over the recent level is a refill
  // (or a new battery), confirmed by `refill_confirmations` consecutive readings so that one
  // glitchy reading is not. Full scale: `full_scale` when > 0 (100 for "%"), else the highest
  // reading of the current cycle.
  double refill_rise_fraction = 0.15;
  double full_scale = 100.0;
  int refill_confirmations = 2;
};

// The readings of one consumable on one device since its last refill, bounded in count and age.
class LevelSeries {
 public:
  enum class Outcome {
    added,          // a reading in the current cycle
    refillPending,  // a high reading waiting for confirmation
    refilled,       // confirmed: the cycle restarted at the first high reading
    duplicate,      // same instant as the newest reading: ignored
  };
  struct ObserveResult {
    Outcome outcome = Outcome::added;
    double from_level = 0.0;     // refilled: the level before the refill
    double to_level = 0.0;       // refilled: the level after it
    int discarded_glitches = 0;  // high readings that were not confirmed and were dropped
  };

  LevelSeries() = default;
  // Restores a series from storage (readings in time order).
  LevelSeries(std::deque<Observation> segment, std::deque<Observation> pending, int refills);

  // Precondition: `o.at` is not older than newest(); callers check and reject older readings.
  ObserveResult observe(const Observation& o, const SeriesParams& params);

  const std::deque<Observation>& segment() const { return segment_; }
  const std::deque<Observation>& pending() const { return pending_; }
  int refills() const { return refills_; }
  std::optional<core::TimePoint> newest() const;
  Forecast forecast(const ForecastParams& params) const;

 private:
  double referenceLevel() const;
  void trim(const SeriesParams& params);

  std::deque<Observation> segment_;
  std::deque<Observation> pending_;
  int refills_ = 0;
};

}  // namespace steward::needs
