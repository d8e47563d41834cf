// The off switch: global and per-device pauses, persisted, each change a decision with the uid.
#include "ledger/controls.hpp"

#include <gtest/gtest.h>

#include "ledger/kinds.hpp"
#include "ledger/review.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

class ControlsTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    openControls();
  }
  void openControls() {
    auto c = Controls::open(*ledger_, clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    controls_.emplace(std::move(*c));
  }
  std::int64_t decisions() { return count(ledger_->database(), "SELECT count(*) FROM decisions"); }
  std::optional<Controls> controls_;
};

TEST_F(ControlsTest, GlobalPauseAppliesToEveryDevice) {
  EXPECT_FALSE(*controls_->globallyPaused());
  auto p = controls_->pause("", 1000, "on holiday");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(*controls_->globallyPaused());
  auto applies = controls_->pausedFor("printer-1");
  ASSERT_TRUE(applies.ok() && applies->has_value());
  EXPECT_EQ((*applies)->uid, 1000u);
  EXPECT_EQ((*applies)->since, startTime());

  auto log = queryLog(ledger_->database(), LogQuery{});
  ASSERT_EQ(log->size(), 1u);
  const auto& d = log->at(0).as_object();
  EXPECT_EQ(d.at("kind").as_string(), kind::purchasingPaused);
  EXPECT_EQ(d.at("input").at("uid").as_int64(), 1000);
  EXPECT_EQ(d.at("input").at("reason").as_string(), "on holiday");
}

TEST_F(ControlsTest, PausingTwiceOrResumingWhatRunsChangesNothing) {
  ASSERT_TRUE(controls_->pause("", 1000).ok());
  const auto before = decisions();
  auto twice = controls_->pause("", 1001);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("already paused"), std::string::npos);
  EXPECT_NE(twice.error().message.find("by uid 1000"), std::string::npos);
  auto resume_device = controls_->resume("printer-1", 1000);
  ASSERT_FALSE(resume_device.ok());
  EXPECT_NE(resume_device.error().message.find("device printer-1 is not paused"),
            std::string::npos);
  EXPECT_EQ(decisions(), before);
}

TEST_F(ControlsTest, ResumeIsRecordedAndLinkedToThePause) {
  auto p = controls_->pause("", 1000);
  clock_.advance(2h);
  auto r = controls_->resume("", 1001);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(*controls_->globallyPaused());
  auto log = queryLog(ledger_->database(), LogQuery{{}, {}, "purchasing.resumed", 0, {}});
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->at(0).at("causes").as_array().at(0).as_int64(), p->decision_seq);
  EXPECT_EQ(log->at(0).at("input").at("uid").as_int64(), 1001);
}

TEST_F(ControlsTest, DevicePauseAppliesToThatDeviceOnly) {
  ASSERT_TRUE(controls_->pause("printer-1", 1000).ok());
  EXPECT_TRUE(controls_->pausedFor("printer-1")->has_value());
  EXPECT_FALSE(controls_->pausedFor("meter-1")->has_value());
  EXPECT_FALSE(*controls_->globallyPaused());
  auto log = queryLog(ledger_->database(), LogQuery{{}, "printer-1", {}, 0, {}});
  ASSERT_EQ(log->size(), 1u) << "the device filter finds the pause";
}

TEST_F(ControlsTest, RefusesMalformedDeviceIds) {
  for (std::string bad : {std::string("has space"), std::string("tab\t"), std::string(200, 'x')}) {
    EXPECT_FALSE(controls_->pause(bad, 0).ok()) << bad;
  }
  EXPECT_EQ(decisions(), 0);
}

TEST_F(ControlsTest, PausesSurviveARestart) {
  ASSERT_TRUE(controls_->pause("", 1000, "holiday").ok());
  ASSERT_TRUE(controls_->pause("printer-1", 1000).ok());
  controls_.reset();
  reopen();
  openControls();
  EXPECT_TRUE(*controls_->globallyPaused());
  auto pauses = listPauses(ledger_->database());
  ASSERT_EQ(pauses->size(), 2u);
  EXPECT_EQ(pauses->at(0).device, "");
  EXPECT_EQ(pauses->at(0).reason, "holiday");
  EXPECT_EQ(pauses->at(1).device, "printer-1");
}

}  // namespace
}  // namespace steward::ledger::test
