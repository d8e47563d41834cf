// Durations as people write them.
#include "core/duration.hpp"

#include <gtest/gtest.h>

namespace steward::core {
namespace {

using std::chrono::milliseconds;

TEST(Duration, Parses) {
  EXPECT_EQ(*parseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*parseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(*parseDuration("15m"), milliseconds(900'000));
  EXPECT_EQ(*parseDuration("48h"), milliseconds(172'800'000));
  EXPECT_EQ(*parseDuration("3d"), milliseconds(259'200'000));
  EXPECT_EQ(*parseDuration("1h30m"), milliseconds(5'400'000));
}

TEST(Duration, Rejects) {
  for (const char* bad : {"", "30", "s", "3x", "-3d", "1.5h", "3 d"}) {
    EXPECT_FALSE(parseDuration(bad).ok()) << bad;
  }
}

TEST(Duration, FormatsRoundTrip) {
  for (const char* text : {"250ms", "30s", "1h30m", "3d"}) {
    EXPECT_EQ(formatDuration(*parseDuration(text)), text);
  }
}

}  // namespace
}  // namespace steward::core
