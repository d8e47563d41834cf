// Per-speaker token buckets and "once per minute" gates, with a bounded number of entries so
// that made-up device ids cannot grow the hub's memory: when full, idle entries are dropped,
// and if none are idle, newcomers share one overflow entry.
#pragma once

#include <string>
#include <unordered_map>

#include "core/clock.hpp"

namespace steward::discovery {

class RateLimiter {
 public:
  RateLimiter(double per_second, double burst, std::size_t max_entries)
      : rate_(per_second), burst_(burst), max_entries_(max_entries) {}

  // Takes one token from `who`'s bucket; false when it is empty.
  bool allow(const std::string& who, core::TimePoint now);
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    core::TimePoint last{};
  };
  Bucket& bucket(const std::string& who, core::TimePoint now);

  double rate_, burst_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// True at most once per `interval` for each key (the first time, then after the interval).
class OncePer {
 public:
  OncePer(core::Duration interval, std::size_t max_entries)
      : interval_(interval), max_entries_(max_entries) {}
  bool due(const std::string& key, core::TimePoint now);

 private:
  core::Duration interval_;
  std::size_t max_entries_;
  std::unordered_map<std::string, core::TimePoint> last_;
};

}  // namespace steward::discovery
