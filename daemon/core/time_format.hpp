// UTC timestamps as text, ISO 8601 with a Z: the one place records, decisions and reports format
// an instant, so the same instant reads the same everywhere.
#pragma once

#include <string>

#include "core/clock.hpp"

namespace steward::core {

// "2026-12-03T20:05:22Z" (whole seconds, truncated).
std::string formatUtc(TimePoint t);
// "2026-12-03T20:05:22.123Z" (milliseconds), as the ledger stores them.
std::string formatUtcMillis(TimePoint t);

}  // namespace steward::core
