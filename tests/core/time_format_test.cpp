// UTC instants as text: whole seconds (decisions, reports) and milliseconds (ledger records).
#include "core/time_format.hpp"

#include <gtest/gtest.h>

namespace steward::core {
namespace {

TEST(TimeFormat, SecondsAndMilliseconds) {
  const TimePoint t = fromUnixMillis(1'796'328'322'123);  // 2026-12-03T20:05:22.123Z
  EXPECT_EQ(formatUtc(t), "2026-12-03T20:05:22Z");
  EXPECT_EQ(formatUtcMillis(t), "2026-12-03T20:05:22.123Z");
  EXPECT_EQ(formatUtc(fromUnixMillis(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatUtcMillis(fromUnixMillis(5)), "1970-01-01T00:00:00.005Z");
  // Before the epoch the day still starts at midnight.
  EXPECT_EQ(formatUtcMillis(fromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
  // The last instant of a leap day.
  EXPECT_EQ(formatUtcMillis(fromUnixMillis(1'709'251'199'999)), "2024-02-29T23:59:59.999Z");
}

}  // namespace
}  // namespace steward::core
