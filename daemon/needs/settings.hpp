// The needs module's timing: the [needs] table of stewardd.toml.
#pragma once

#include <chrono>

namespace steward::needs {

struct Timing {
  // A new need waits this long for others to join its basket (critical ones do not wait).
  std::chrono::milliseconds settle{std::chrono::minutes(15)};
  // How often forecasts, meter schedules, expiry and approvals are looked at.
  std::chrono::milliseconds tick_interval{std::chrono::minutes(1)};
};

}  // namespace steward::needs
