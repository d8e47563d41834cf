// What `stewardctl needs` prints, read back through a read-only connection to the same file.
#include <gmock/gmock.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "needs/engine_fixture.hpp"
#include "needs/report.hpp"

namespace steward::needs::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ReportTest : public NeedsFixture {
 protected:
  ledger::Database readOnly() {
    auto db = ledger::Database::open(dir.file("steward.db"), ledger::OpenMode::readOnly);
    EXPECT_TRUE(db) << db.error().message;
    return std::move(*db);
  }
  std::string table(bool closed = false) {
    auto db = readOnly();
    std::ostringstream out;
    auto r = writeNeedsReport(db, clock.now(), ReportOptions{false, closed}, out);
    EXPECT_TRUE(r) << r.error().message;
    return out.str();
  }
};

TEST_F(ReportTest, TableShowsEachNeedWithItsForecastAndWhy) {
  const core::TimePoint start = clock.now();
  feed("printer-1", "toner-black", 40, 2.5, std::chrono::days{4});
  clock.set(start + 1h);
  feed("printer-2", "toner-black", 35, 2.0, std::chrono::days{4});
  send(flag("washer-1", "E24", SignalKind::fault, Severity::warning, "drain pump blocked"));
  send(flag("washer-1", "E24", SignalKind::fault, Severity::warning, "drain pump blocked"));

  const std::string t = table();
  EXPECT_THAT(t, HasSubstr("toner:TN-2420"));
  EXPECT_THAT(t, HasSubstr("printer-1/toner-black: 30.0 % -2.50/d → "));
  EXPECT_THAT(t, HasSubstr("printer-2/toner-black: 27.0 % -2.00/d → "));
  EXPECT_THAT(t, HasSubstr("why: forecast: TN-2420 black toner on printer-1 runs out around"));
  EXPECT_THAT(t, HasSubstr("repair:washer-1"));
  EXPECT_THAT(t, HasSubstr("washer-1/E24: warning, reported 2×"));
  EXPECT_THAT(t, HasSubstr("why: fault E24 (warning) reported by washer-1: drain pump blocked"));
}

TEST_F(ReportTest, StaleForecastsAndHoldsAreShown) {
  gate.item_verdicts["toner:TN-2420"] = Verdict::deny;
  feed("printer-1", "toner-black", 30, 2.5, std::chrono::days{4});
  clock.advance(std::chrono::days{5});
  engine->tick();
  const std::string t = table();
  EXPECT_THAT(t, HasSubstr("open (held)"));
  EXPECT_THAT(t, HasSubstr("STALE since"));
  EXPECT_THAT(t, HasSubstr("held: rules.items: deny;"));
}

TEST_F(ReportTest, JsonCarriesForecastReasonAndLifecycle) {
  feed("printer-1", "toner-black", 40, 2.5, std::chrono::days{4});
  clock.advance(20min);
  engine->tick();
  const NeedId id = liveFor("toner:TN-2420")->id;
  ASSERT_TRUE(engine->ordered(id, "O-1"));

  auto db = readOnly();
  std::ostringstream out;
  ASSERT_TRUE(writeNeedsReport(db, clock.now(), ReportOptions{true, false}, out));
  const auto v = boost::json::parse(out.str());
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 1u);
  const auto& n = v.as_array()[0].as_object();
  EXPECT_EQ(n.at("id").as_int64(), id);
  EXPECT_EQ(n.at("state").as_string(), "ordered");
  EXPECT_EQ(n.at("order").as_string(), "O-1");
  EXPECT_EQ(n.at("basket").as_int64(), 1);
  EXPECT_THAT(std::string(n.at("reason").as_string()), HasSubstr("forecast:"));
  const auto& f = n.at("sources").as_array()[0].at("forecast").as_object();
  EXPECT_EQ(f.at("status").as_string(), "depleting");
  EXPECT_NEAR(f.at("rate_per_day").as_double(), 2.5, 0.01);
  EXPECT_EQ(f.at("stale").as_bool(), false);
  EXPECT_TRUE(f.at("runout").is_string());
  EXPECT_TRUE(f.at("order_from").is_string());
}

TEST_F(ReportTest, ClosedNeedsOnlyWhenAsked) {
  const auto id = *send(flag("sensor-1", "battery", SignalKind::battery)).need;
  ASSERT_TRUE(engine->cancelled(id, "spare in the drawer"));
  EXPECT_EQ(table(), "no needs\n");
  const std::string all = table(true);
  EXPECT_THAT(all, HasSubstr("cancelled"));
  EXPECT_THAT(all, HasSubstr("closed "));
  EXPECT_THAT(all, HasSubstr("spare in the drawer"));
}

TEST(Report, DatabaseWithoutNeedsTablesIsEmpty) {
  steward::test::TempDir dir;
  {
    auto db = ledger::Database::open(dir.file("fresh.db"));
    ASSERT_TRUE(db);
  }
  auto db = ledger::Database::open(dir.file("fresh.db"), ledger::OpenMode::readOnly);
  ASSERT_TRUE(db) << db.error().message;
  auto j = needsJson(*db, core::TimePoint{}, false);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_TRUE(j->empty());
  std::ostringstream out;
  ASSERT_TRUE(writeNeedsReport(*db, core::TimePoint{}, {}, out));
  EXPECT_EQ(out.str(), "no needs\n");
}

}  // namespace
}  // namespace steward::needs::test
