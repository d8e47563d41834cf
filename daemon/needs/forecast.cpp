// See forecast.hpp. Theil–Sen over the readings since the last refill, anchored at the newest
// readings: the slope ignores outliers and quantisation steps, the anchor follows the present.
#include "needs/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace steward::needs {
namespace {

constexpr double kMillisPerDay = 86'400'000.0;

double days(core::Duration d) {
  return static_cast<double>(d.count()) / kMillisPerDay;
}

// Median of `v` (reorders it); precondition: not empty.
double median(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2.0;
}

// The slopes (level per day) of every pair of readings at least `min_pair_gap` apart.
std::vector<double> pairSlopes(std::span<const Observation> obs, core::Duration min_pair_gap) {
  std::vector<double> slopes;
  slopes.reserve(obs.size() * (obs.size() - (obs.empty() ? 0 : 1)) / 2);
  for (std::size_t i = 0; i < obs.size(); ++i) {
    for (std::size_t j = i + 1; j < obs.size(); ++j) {
      const core::Duration gap = obs[j].at - obs[i].at;
      if (gap < min_pair_gap) continue;
      slopes.push_back((obs[j].level - obs[i].level) / days(gap));
    }
  }
  return slopes;
}

// The q-quantile (0..1) of `v` by nearest rank (reorders it); precondition: not empty.
double quantile(std::vector<double>& v, double q) {
  const auto at = static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

}  // namespace

std::optional<double> theilSenSlopePerDay(std::span<const Observation> obs,
                                          core::Duration min_pair_gap) {
  auto slopes = pairSlopes(obs, min_pair_gap);
  if (slopes.empty()) return std::nullopt;
  return median(slopes);
}

Forecast estimateForecast(std::span<const Observation> all, const ForecastParams& params) {
  Forecast f;
  if (all.empty()) return f;
  const core::TimePoint newest = all.back().at;
  auto first = std::find_if(all.begin(), all.end(),
                            [&](const Observation& o) { return o.at >= newest - params.window; });
  const std::span<const Observation> obs(first, all.end());

  f.points = obs.size();
  f.first_at = obs.front().at;
  f.last_at = obs.back().at;
  if (obs.size() >= 2) {
    std::vector<double> gaps;
    gaps.reserve(obs.size() - 1);
    for (std::size_t i = 1; i < obs.size(); ++i)
      gaps.push_back(static_cast<double>((obs[i].at - obs[i - 1].at).count()));
    f.typical_interval = core::Duration{static_cast<long long>(median(gaps))};
  }
  const auto by_intervals = core::Duration{static_cast<long long>(
      params.stale_intervals * static_cast<double>(f.typical_interval.count()))};
  f.stale_after = std::max(params.stale_floor, by_intervals);

  const std::size_t k = std::min(std::max<std::size_t>(params.anchor_points, 1), obs.size());
  std::optional<double> slope;
  std::vector<double> slopes;
  if (obs.size() >= params.min_points && f.last_at - f.first_at >= params.min_span)
    slopes = pairSlopes(obs, std::max(params.min_pair_gap,
                                      core::Duration{static_cast<long long>(
                                          params.min_pair_span_fraction *
                                          static_cast<double>((f.last_at - f.first_at).count()))}));
  if (!slopes.empty()) slope = median(slopes);

  // The level now: each of the newest k readings carried forward along the slope; their median.
  std::vector<double> anchors;
  anchors.reserve(k);
  for (std::size_t i = obs.size() - k; i < obs.size(); ++i)
    anchors.push_back(obs[i].level + slope.value_or(0.0) * days(f.last_at - obs[i].at));
  f.level = median(anchors);
  if (!slope) return f;  // insufficient

  f.rate_per_day = -*slope;
  const double remaining = f.level - params.empty_level;
  if (remaining <= 0.0) {
    f.status = ForecastStatus::depleting;
    f.runout = f.last_at;
    f.rate_per_day = std::max(f.rate_per_day, 0.0);
    return f;
  }
  if (f.rate_per_day <= 0.0 || remaining / f.rate_per_day > days(params.horizon)) {
    f.status = ForecastStatus::idle;
    f.rate_per_day = std::max(f.rate_per_day, 0.0);
    return f;
  }
  f.status = ForecastStatus::depleting;
  f.runout = f.last_at + core::Duration{std::llround(remaining / f.rate_per_day * kMillisPerDay)};
  // A faster quantile of the pairwise rates (a lower quantile of the slopes).
  const double fast_rate = std::max(
      -quantile(slopes, std::clamp(params.uncertainty_quantile, 0.0, 0.5)), f.rate_per_day);
  const auto early =
      f.last_at + core::Duration{std::llround(remaining / fast_rate * kMillisPerDay)};
  f.uncertainty = (*f.runout - early) +
                  core::Duration{std::llround(std::max(params.uncertainty_intervals, 0.0) *
                                              static_cast<double>(f.typical_interval.count()))};
  return f;
}

LevelSeries::LevelSeries(std::deque<Observation> segment, std::deque<Observation> pending,
                         int refills)
    : segment_(std::move(segment)), pending_(std::move(pending)), refills_(refills) {}

std::optional<core::TimePoint> LevelSeries::newest() const {
  if (!pending_.empty()) return pending_.back().at;
  if (!segment_.empty()) return segment_.back().at;
  return std::nullopt;
}

Forecast LevelSeries::forecast(const ForecastParams& params) const {
  const std::vector<Observation> obs(segment_.begin(), segment_.end());
  Forecast f = estimateForecast(obs, params);
  if (!pending_.empty()) {
    // A possible refill is waiting for its confirmation: the old cycle's date may be moot.
    f.status = ForecastStatus::insufficient;
    f.runout.reset();
  }
  return f;
}

double LevelSeries::referenceLevel() const {
  // The median of the last three readings: one glitch low does not make the next reading a rise.
  std::vector<double> last;
  for (auto it = segment_.rbegin(); it != segment_.rend() && last.size() < 3; ++it)
    last.push_back(it->level);
  return median(last);
}

LevelSeries::ObserveResult LevelSeries::observe(const Observation& o, const SeriesParams& params) {
  ObserveResult result;
  if (auto n = newest(); n && *n == o.at) {
    result.outcome = Outcome::duplicate;
    return result;
  }
  if (segment_.empty()) {
    segment_.push_back(o);
    return result;
  }
  double scale = params.full_scale;
  if (scale <= 0.0) {
    for (const auto& s : segment_)
      scale = std::max(scale, s.level);
  }
  const double threshold = std::max(params.refill_rise_fraction * scale, 1e-9);
  const double reference = referenceLevel();
  if (o.level - reference >= threshold) {
    pending_.push_back(o);
    if (static_cast<int>(pending_.size()) < std::max(params.refill_confirmations, 1)) {
      result.outcome = Outcome::refillPending;
      return result;
    }
    result.outcome = Outcome::refilled;
    result.from_level = reference;
    result.to_level = o.level;
    segment_ = std::move(pending_);
    pending_.clear();
    ++refills_;
    trim(params);
    return result;
  }
  result.discarded_glitches = static_cast<int>(pending_.size());
  pending_.clear();
  segment_.push_back(o);
  trim(params);
  return result;
}

void LevelSeries::trim(const SeriesParams& params) {
  const core::TimePoint oldest = segment_.back().at - params.forecast.window;
  while (segment_.size() > 1 && segment_.front().at < oldest)
    segment_.pop_front();
  while (segment_.size() > std::max<std::size_t>(params.max_observations, 2))
    segment_.pop_front();
}

}  // namespace steward::needs
