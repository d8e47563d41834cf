// Durations as people write them in config and policy files: "250ms", "30s", "15m", "48h", "3d",
// and combinations like "1h30m".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace steward::core {

Result<std::chrono::milliseconds> parseDuration(std::string_view text);
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace steward::core
