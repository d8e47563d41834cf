// See rate_limiter.hpp.
#include "discovery/rate_limiter.hpp"

#include <algorithm>
#include <chrono>

namespace steward::discovery {
namespace {
constexpr const char* kOverflow = "\x01overflow";
}

RateLimiter::Bucket& RateLimiter::bucket(const std::string& who, core::TimePoint now) {
  if (auto it = buckets_.find(who); it != buckets_.end()) return it->second;
  if (buckets_.size() >= max_entries_) {
    // Drop buckets that have refilled completely: forgetting them changes nothing.
    std::erase_if(buckets_, [&](const auto& kv) {
      const double secs = std::chrono::duration<double>(now - kv.second.last).count();
      return kv.first != kOverflow && kv.second.tokens + secs * rate_ >= burst_;
    });
    if (buckets_.size() >= max_entries_) {
      auto [it, fresh] = buckets_.try_emplace(kOverflow, Bucket{burst_, now});
      return it->second;
    }
  }
  return buckets_.try_emplace(who, Bucket{burst_, now}).first->second;
}

bool RateLimiter::allow(const std::string& who, core::TimePoint now) {
  Bucket& b = bucket(who, now);
  if (now > b.last) {
    const double secs = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + secs * rate_);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

bool OncePer::due(const std::string& key, core::TimePoint now) {
  if (auto it = last_.find(key); it != last_.end()) {
    if (now - it->second < interval_) return false;
    it->second = now;
    return true;
  }
  if (last_.size() >= max_entries_) {
    std::erase_if(last_, [&](const auto& kv) { return now - kv.second >= interval_; });
    if (last_.size() >= max_entries_) return false;  // flooded by new names: stay quiet
  }
  last_.emplace(key, now);
  return true;
}

}  // namespace steward::discovery
