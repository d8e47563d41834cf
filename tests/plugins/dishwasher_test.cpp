// The simulated dishwasher's model: wear per cycle, deterministic for a seed, faults stopping the
// machine, and commands validated before anything changes.
#include <gtest/gtest.h>

#include "appliance.hpp"

namespace steward::dishwasher {
namespace {

double levelOf(const Dishwasher& d, const std::string& key) {
  for (const auto& c : d.consumables())
    if (c.key == key) return c.level;
  ADD_FAILURE() << key;
  return -1;
}

TEST(Dishwasher, EachCycleWearsTheConsumablesWithinTheirJitter) {
  Dishwasher d(1);
  ASSERT_TRUE(d.runCycle());
  EXPECT_GE(levelOf(d, "rinse-aid"), 100 - 2.0 * 1.2 - 0.05);
  EXPECT_LE(levelOf(d, "rinse-aid"), 100 - 2.0 + 0.05);
  EXPECT_LE(levelOf(d, "salt"), 100 - 2.5 + 0.05);
  EXPECT_LT(levelOf(d, "filter"), 100);
  EXPECT_EQ(d.cycles(), 1);
}

TEST(Dishwasher, TheSameSeedGivesTheSameLevelsAndAnotherSeedDoesNot) {
  Dishwasher a(7), b(7), c(8);
  for (int i = 0; i < 30; ++i) {
    a.runCycle();
    b.runCycle();
    c.runCycle();
  }
  EXPECT_EQ(levelOf(a, "salt"), levelOf(b, "salt"));
  EXPECT_EQ(levelOf(a, "rinse-aid"), levelOf(b, "rinse-aid"));
  EXPECT_NE(levelOf(a, "salt"), levelOf(c, "salt"));
}

TEST(Dishwasher, ACriticalFaultStopsWashingUntilCleared) {
  Dishwasher d(1);
  EXPECT_EQ(d.raise("E24"), "");
  EXPECT_TRUE(d.stopped());
  EXPECT_FALSE(d.runCycle());
  EXPECT_EQ(levelOf(d, "salt"), 100);  // nothing used while stopped
  EXPECT_TRUE(d.clear("E24"));
  EXPECT_TRUE(d.runCycle());
  EXPECT_NE(d.raise("E99").find("unknown fault code"), std::string::npos);
  EXPECT_TRUE(d.faults().empty());
}

TEST(Dishwasher, AWornOutFilterRaisesE22AndANewFilterClearsIt) {
  Dishwasher d(1);
  d.setLevel("filter", 0.3);
  d.runCycle();
  EXPECT_TRUE(d.faults().contains("E22"));
  EXPECT_FALSE(d.stopped());  // a warning: it still washes
  EXPECT_TRUE(d.refill("filter"));
  EXPECT_FALSE(d.faults().contains("E22"));
  EXPECT_EQ(levelOf(d, "filter"), 100);
}

TEST(Dishwasher, CommandsAreValidatedAndBadOnesChangeNothing) {
  Dishwasher d(1);
  bool run = false;
  EXPECT_EQ(applyCommand(d, "fault E24\n", run), "");
  EXPECT_TRUE(d.faults().contains("E24"));
  EXPECT_NE(applyCommand(d, "run", run), "");  // stopped by E24
  EXPECT_FALSE(run);
  EXPECT_EQ(applyCommand(d, "clear", run), "");
  EXPECT_EQ(applyCommand(d, "run", run), "");
  EXPECT_TRUE(run);
  d.runCycle();
  const double salt = levelOf(d, "salt");
  for (const char* bad : {"", "refill", "refill water", "fault", "fault E24 now", "replace salt",
                          "RUN", "clear E09", "\x01\x02"}) {
    EXPECT_NE(applyCommand(d, bad, run), "") << bad;
    EXPECT_FALSE(run);
  }
  EXPECT_EQ(levelOf(d, "salt"), salt);
  EXPECT_TRUE(d.faults().empty());
  EXPECT_EQ(applyCommand(d, "refill salt", run), "");
  EXPECT_EQ(levelOf(d, "salt"), 100);
}

}  // namespace
}  // namespace steward::dishwasher
