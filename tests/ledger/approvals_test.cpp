// Approvals: every request and answer is on the record with who answered; answers to unknown,
// answered or expired requests change nothing; expiry times out what is due.
#include "ledger/approvals.hpp"

#include <gtest/gtest.h>

#include "ledger/kinds.hpp"
#include "ledger/review.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

class ApprovalsTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    openApprovals();
    cause_ = record(makeDecision("policy.evaluated", "order:o1", {}, "needs-approval")).seq;
  }
  void openApprovals() {
    auto a = Approvals::open(*ledger_, clock_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    approvals_.emplace(std::move(*a));
  }
  ApprovalRequest requestFor(std::string subject, const char* amount = "42.50 EUR") {
    ApprovalRequest r;
    r.subject = std::move(subject);
    r.summary = {{"item", "toner TN-2420"}, {"vendor", "acme"}};
    r.amount = *core::parseMoney(amount);
    r.expires_at = clock_.now() + 48h;
    r.causes = {cause_};
    r.reasons = {"auto-approve-limit 30.00 EUR"};
    return r;
  }
  std::int64_t decisions() { return count(ledger_->database(), "SELECT count(*) FROM decisions"); }
  boost::json::object decisionAt(std::int64_t seq) {
    auto log = queryLog(ledger_->database(), LogQuery{});
    return log->at(static_cast<std::size_t>(seq - 1)).as_object();
  }

  std::optional<Approvals> approvals_;
  std::int64_t cause_ = 0;
};

TEST_F(ApprovalsTest, RequestIsRecordedAndPending) {
  auto a = approvals_->request(requestFor("order:o1"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->id, "A1");
  EXPECT_EQ(a->state, ApprovalState::pending);
  const auto d = decisionAt(a->request_seq);
  EXPECT_EQ(d.at("kind").as_string(), kind::approvalRequested);
  EXPECT_EQ(d.at("subject").as_string(), "order:o1");
  EXPECT_EQ(d.at("input").at("amount").as_string(), "42.50 EUR");
  EXPECT_EQ(d.at("causes").as_array().at(0).as_int64(), cause_);
  auto pending = approvals_->pending();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->at(0).amount.minor, 4250);
}

TEST_F(ApprovalsTest, GrantRecordsWhoAndIsFinal) {
  auto a = approvals_->request(requestFor("order:o1"));
  clock_.advance(5min);
  auto g = approvals_->grant(a->id, 1000);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->state, ApprovalState::granted);
  EXPECT_EQ(g->decided_by_uid, 1000u);
  EXPECT_EQ(g->decided_at, clock_.now());
  const auto d = decisionAt(*g->decision_seq);
  EXPECT_EQ(d.at("kind").as_string(), kind::approvalGranted);
  EXPECT_EQ(d.at("input").at("uid").as_int64(), 1000);
  EXPECT_EQ(d.at("causes").as_array().at(0).as_int64(), a->request_seq);

  const auto before = decisions();
  for (auto again : {approvals_->grant(a->id, 0), approvals_->reject(a->id, 0)}) {
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("already granted by uid 1000"), std::string::npos)
        << again.error().message;
  }
  EXPECT_EQ(decisions(), before);
  EXPECT_TRUE(approvals_->pending()->empty());
}

TEST_F(ApprovalsTest, RejectKeepsTheReason) {
  auto a = approvals_->request(requestFor("order:o1"));
  auto r = approvals_->reject(a->id, 1001, "too expensive");
  ASSERT_TRUE(r.ok());
  const auto d = decisionAt(*r->decision_seq);
  EXPECT_EQ(d.at("outcome").as_string(), "rejected");
  EXPECT_EQ(d.at("reasons").as_array().at(1).as_string(), "too expensive");
}

TEST_F(ApprovalsTest, UnknownIdsChangeNothing) {
  const auto before = decisions();
  for (const char* id : {"A7", "X1", "", "A0", "A1x"}) {
    auto r = approvals_->grant(id, 0);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_NE(r.error().message.find("no approval"), std::string::npos);
  }
  EXPECT_EQ(decisions(), before);
}

TEST_F(ApprovalsTest, RefusesMalformedRequests) {
  const auto before = decisions();
  auto zero = requestFor("order:o1", "0.00 EUR");
  auto past = requestFor("order:o1");
  past.expires_at = clock_.now();
  auto nosubject = requestFor("");
  auto badcause = requestFor("order:o1");
  badcause.causes = {99};
  for (const auto& r : {zero, past, nosubject, badcause}) {
    EXPECT_FALSE(approvals_->request(r).ok());
  }
  EXPECT_EQ(decisions(), before);
  EXPECT_TRUE(approvals_->pending()->empty()) << "a failed request leaves no row behind";
}

TEST_F(ApprovalsTest, ExpiryTimesOutWhatIsDueAndOnlyThat) {
  auto soon = approvals_->request(requestFor("order:o1"));
  auto later_req = requestFor("order:o2");
  later_req.expires_at = clock_.now() + 72h;
  auto later = approvals_->request(later_req);

  clock_.advance(48h);
  const auto before = decisions();
  auto late = approvals_->grant(soon->id, 1000);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
  EXPECT_EQ(decisions(), before) << "a late answer changes nothing";

  auto expired = approvals_->expire(clock_.now());
  ASSERT_TRUE(expired.ok()) << expired.error().message;
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->at(0).id, soon->id);
  EXPECT_EQ(expired->at(0).state, ApprovalState::timed_out);
  EXPECT_FALSE(expired->at(0).decided_by_uid.has_value());
  const auto d = decisionAt(*expired->at(0).decision_seq);
  EXPECT_EQ(d.at("kind").as_string(), kind::approvalTimedOut);
  EXPECT_FALSE(d.at("input").as_object().contains("uid"));

  EXPECT_TRUE(approvals_->expire(clock_.now())->empty()) << "each time-out recorded once";
  auto pending = approvals_->pending();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->at(0).id, later->id);
  EXPECT_TRUE(approvals_->grant(later->id, 1000).ok());
}

TEST_F(ApprovalsTest, SurviveARestart) {
  auto a = approvals_->request(requestFor("order:o1"));
  approvals_.reset();
  reopen();
  openApprovals();
  auto found = approvals_->find(a->id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->summary, R"({"item":"toner TN-2420","vendor":"acme"})");
  EXPECT_EQ((*found)->expires_at, a->expires_at);
  EXPECT_TRUE(approvals_->grant(a->id, 1000).ok());
}

}  // namespace
}  // namespace steward::ledger::test
