// The injected clock: every timestamp and every date computation reads time through a Clock,
// so tests control time and nothing in the domain logic reads the wall clock directly.
#pragma once

#include <chrono>

namespace steward::core {

// UTC, millisecond resolution.
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
};

// A clock that only moves when told to; for tests and replays.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint now() const override { return now_; }
  void set(TimePoint t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

// Milliseconds since the Unix epoch, for storage.
inline long long toUnixMillis(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint fromUnixMillis(long long ms) {
  return TimePoint{Duration{ms}};
}

}  // namespace steward::core
