// Appending decisions: the chain links, the injected clock, joining and rolling back with the
// caller's transaction, refusal of malformed decisions, post-commit notification, group commit.
#include "ledger/sqlite_ledger.hpp"

#include <gtest/gtest.h>

#include "ledger/chain.hpp"
#include "ledger/kinds.hpp"
#include "ledger/verify.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

std::vector<DecisionRow> readRows(Database& db) {
  std::vector<DecisionRow> rows;
  auto q = db.prepare(
      "SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, "
      "prev_hash, hash FROM decisions ORDER BY seq");
  EXPECT_TRUE(q.ok());
  while (*q->step()) {
    DecisionRow r{q->int64(0), q->text(1), q->int64(2), q->text(3), q->text(4), q->text(5),
                  q->text(6),  q->text(7), q->text(8),  q->text(9), q->text(10)};
    r.prev_hash = q->text(10);
    rows.push_back(r);
    EXPECT_EQ(sha256Hex(canonicalForm(r)), q->text(11)) << "hash of " << r.id;
  }
  return rows;
}

TEST(Chain, CanonicalFormIsLengthPrefixedAndStable) {
  DecisionRow r{7,         "D7",         1777622400000, "need.opened",
                "need:n1", R"({"a":1})", "opened",      R"(["low"])",
                "",        "[3]",        "ab"};
  EXPECT_EQ(canonicalForm(r),
            "steward-decision-v1\n1:7\n2:D7\n13:1777622400000\n11:need.opened\n7:need:n1\n"
            "7:{\"a\":1}\n6:opened\n7:[\"low\"]\n0:\n3:[3]\n2:ab\n");
}

TEST(Chain, HashMatchesTheSha256sumTool) {
  steward::test::TempDir dir;
  DecisionRow r{1, "D1", 5, "device.admitted", "device:x", "{}", "admitted", "[]", "", "[]", ""};
  const std::string file = dir.write("canonical", canonicalForm(r));
  steward::test::Process p({"sh", "-c", "sha256sum " + file + " > " + dir.file("sum")},
                           dir.file("log"));
  ASSERT_TRUE(p.wait(std::chrono::seconds(30)).has_value());
  EXPECT_EQ(steward::test::readFile(dir.file("sum")).substr(0, 64), sha256Hex(canonicalForm(r)));
  ChainHasher hasher;
  EXPECT_EQ(hasher.hashHex(r), sha256Hex(canonicalForm(r)));
}

TEST_F(LedgerTest, RecordsAChainedSequenceWithTheInjectedClock) {
  auto a = record(makeDecision("device.admitted", "device:printer", {{"kind", "printer"}}));
  auto b = record(makeDecision("need.opened", "need:n1", {{"key", "toner"}}, "opened", {a.seq}));
  auto c = record(makeDecision("policy.evaluated", "need:n1", {}, "allow", {b.seq}, {"permit-1"}));
  EXPECT_EQ(a.seq, 1);
  EXPECT_EQ(b.seq, 2);
  EXPECT_EQ(c.id, "D3");
  EXPECT_EQ(a.at, startTime());
  EXPECT_EQ(c.at, startTime() + 2s);

  auto rows = readRows(ledger_->database());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].prev_hash, "");
  EXPECT_EQ(rows[1].prev_hash, a.hash);
  EXPECT_EQ(rows[2].prev_hash, b.hash);
  EXPECT_EQ(rows[2].reasons, R"(["permit-1"])");
  EXPECT_EQ(rows[2].causes, "[2]");
  EXPECT_EQ(rows[1].input, R"({"key":"toner"})");
  EXPECT_EQ(ledger_->head()->hash, c.hash);
}

TEST_F(LedgerTest, ContinuesTheChainAfterReopening) {
  auto a = record(makeDecision("need.opened", "need:1"));
  reopen();
  auto b = record(makeDecision("need.closed", "need:1", {}, "closed", {a.seq}));
  EXPECT_EQ(b.seq, 2);
  auto rows = readRows(ledger_->database());
  EXPECT_EQ(rows[1].prev_hash, a.hash);
}

TEST_F(LedgerTest, JoinsTheCallersTransactionAndRollsBackWithIt) {
  auto a = record(makeDecision("need.opened", "need:1"));
  {
    Transaction tx(ledger_->database());
    record(makeDecision("need.merged", "need:1"));
    record(makeDecision("need.merged", "need:1"));
    EXPECT_EQ(ledger_->head()->seq, 3);
    // no commit: rolled back
  }
  EXPECT_EQ(ledger_->head()->seq, 1) << "the cached head must not survive a rollback";
  auto b = record(makeDecision("need.closed", "need:1"));
  EXPECT_EQ(b.seq, 2);
  auto rows = readRows(ledger_->database());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].prev_hash, a.hash);
  auto report = verify(ledger_->database());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
}

TEST_F(LedgerTest, ASavepointRollbackInsideAnOuterTransactionKeepsTheChain) {
  Transaction outer(ledger_->database());
  auto a = record(makeDecision("need.opened", "need:1"));
  {
    Transaction inner(ledger_->database());
    record(makeDecision("need.merged", "need:1"));
  }
  auto c = record(makeDecision("need.closed", "need:1"));
  ASSERT_TRUE(outer.commit().ok());
  EXPECT_EQ(c.seq, a.seq + 1);
  auto rows = readRows(ledger_->database());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].prev_hash, a.hash);
}

TEST_F(LedgerTest, RefusesMalformedDecisionsAndChangesNothing) {
  auto a = record(makeDecision("need.opened", "need:1"));
  struct Case {
    Decision d;
    const char* expected;
  };
  Decision big =
      makeDecision("offer.received", "order:1", {{"raw", std::string(kMaxInputBytes + 1, 'x')}});
  Decision many_reasons = makeDecision("policy.evaluated", "need:1");
  many_reasons.reasons.assign(kMaxReasons + 1, "r");
  const Case cases[] = {
      {makeDecision("", "need:1"), "is not a lower-case dotted name"},
      {makeDecision("Need Opened", "need:1"), "is not a lower-case dotted name"},
      {makeDecision("need.opened", "need:\n1"), "control characters"},
      {makeDecision("need.closed", "need:1", {}, "closed", {2}),
       "cause D2 is not an earlier decision"},
      {makeDecision("need.closed", "need:1", {}, "closed", {0}),
       "cause D0 is not an earlier decision"},
      {big, "more than 1048576"},
      {many_reasons, "more than 64 reasons"},
  };
  for (const auto& c : cases) {
    auto r = ledger_->record(c.d);
    ASSERT_FALSE(r.ok()) << c.expected;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(ledger_->head()->seq, 1);
  EXPECT_EQ(ledger_->head()->hash, a.hash);
  EXPECT_EQ(count(ledger_->database(), "SELECT count(*) FROM decisions"), 1);
}

TEST_F(LedgerTest, ModulesCannotRewriteRecordsThroughTheConnection) {
  record(makeDecision("need.opened", "need:1"));
  auto upd = ledger_->database().exec("UPDATE decisions SET outcome = 'x'");
  ASSERT_FALSE(upd.ok());
  EXPECT_NE(upd.error().message.find("append-only"), std::string::npos);
  EXPECT_FALSE(ledger_->database().exec("DELETE FROM decisions").ok());
}

TEST_F(LedgerTest, NotifiesOnlyAfterCommit) {
  std::vector<std::string> heard;
  ledger_->onRecorded(
      [&](const Decision& d, const RecordedDecision& r) { heard.push_back(r.id + " " + d.kind); });
  record(makeDecision("need.opened", "need:1"));
  EXPECT_EQ(heard, std::vector<std::string>{"D1 need.opened"});
  {
    Transaction tx(ledger_->database());
    record(makeDecision("need.merged", "need:1"));
    EXPECT_EQ(heard.size(), 1u) << "not before the commit";
  }
  EXPECT_EQ(heard.size(), 1u) << "never for a rolled-back decision";
  {
    Transaction tx(ledger_->database());
    record(makeDecision("need.closed", "need:1"));
    ASSERT_TRUE(tx.commit().ok());
  }
  EXPECT_EQ(heard, (std::vector<std::string>{"D1 need.opened", "D2 need.closed"}));
}

TEST_F(LedgerTest, RecordBatchCommitsTogether) {
  RecordBatch batch(*ledger_);
  for (int i = 0; i < 50; ++i) {
    auto r = batch.record(makeDecision("device.admitted", "device:d" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_EQ(batch.size(), 50u);
  {
    auto reader = openReadOnly();
    EXPECT_EQ(count(reader, "SELECT count(*) FROM decisions"), 0) << "not visible before commit";
  }
  ASSERT_TRUE(batch.commit().ok());
  auto reader = openReadOnly();
  EXPECT_EQ(count(reader, "SELECT count(*) FROM decisions"), 50);
  auto report = verify(reader);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
}

TEST_F(LedgerTest, AnUncommittedBatchRollsBack) {
  {
    RecordBatch batch(*ledger_);
    ASSERT_TRUE(batch.record(makeDecision("device.admitted", "device:a")).ok());
  }
  EXPECT_EQ(ledger_->head()->seq, 0);
  EXPECT_EQ(record(makeDecision("device.admitted", "device:b")).seq, 1);
}

}  // namespace
}  // namespace steward::ledger::test
