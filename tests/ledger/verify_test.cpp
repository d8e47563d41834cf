// Tamper evidence on a real database file, tampered with the sqlite3 tool as an intruder would:
// each kind of edit is found at the right sequence number, and checkpoints catch truncation and
// wholesale rewrites.
#include "ledger/verify.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <sstream>
#include <thread>

#include "ledger/background_verify.hpp"

#include "ledger/chain.hpp"
#include "ledger/checkpoint.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

constexpr int kRecords = 20;
constexpr const char* kUnlock =
    "DROP TRIGGER decisions_append_only_update; DROP TRIGGER decisions_append_only_delete; ";

class VerifyTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    for (int i = 1; i <= kRecords; ++i) {
      record(makeDecision("order.confirmed", "order:o" + std::to_string(i),
                          {{"amount", "12.34 EUR"}, {"n", i}}, "confirmed",
                          i > 1 ? std::vector<std::int64_t>{i - 1} : std::vector<std::int64_t>{}));
    }
  }

  // Closes the daemon's connection (as on shutdown), lets `sql` loose on the file, and verifies
  // it through a read-only connection, as `stewardctl --db` does.
  VerifyReport tamperAndVerify(const std::string& sql,
                               const std::optional<Checkpoint>& external = std::nullopt) {
    close();
    if (!sql.empty()) sqlite(sql);
    auto db = openReadOnly();
    auto report = verify(db, external);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : VerifyReport{};
  }

  // Records D<from>..D<to>, each caused by the one before.
  void recordMore(int from, int to) {
    for (int i = from; i <= to; ++i) {
      record(makeDecision("order.confirmed", "order:o" + std::to_string(i),
                          {{"amount", "12.34 EUR"}, {"n", i}}, "confirmed",
                          std::vector<std::int64_t>{i - 1}));
    }
  }

  // As an intruder who knows the canonical form would: edits D<seq> and recomputes every hash
  // from there on, so the chain is consistent again. Closes the ledger first.
  void rewriteFrom(int seq) {
    close();
    auto db = Database::open(path());
    ASSERT_TRUE(db->exec(kUnlock).ok());
    ASSERT_TRUE(
        db->exec("UPDATE decisions SET input = replace(input, '12.34', '1.00') WHERE seq = " +
                 std::to_string(seq))
            .ok());
    std::string prev;
    auto q = db->prepare(
        "SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, "
        "prev_hash, hash FROM decisions ORDER BY seq");
    std::vector<DecisionRow> rows;
    std::vector<std::string> hashes;
    while (*q->step()) {
      rows.push_back({q->int64(0), q->text(1), q->int64(2), q->text(3), q->text(4), q->text(5),
                      q->text(6), q->text(7), q->text(8), q->text(9), q->text(10)});
      hashes.push_back(q->text(11));
    }
    q->reset();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      auto& row = rows[i];
      if (row.seq < seq) {
        prev = hashes[i];
        continue;
      }
      row.prev_hash = prev;
      prev = sha256Hex(canonicalForm(row));
      auto u = db->prepare("UPDATE decisions SET prev_hash = ?1, hash = ?2 WHERE seq = ?3");
      u->bind(1, row.prev_hash).bind(2, prev).bind(3, row.seq);
      ASSERT_TRUE(u->run().ok());
    }
  }

  Checkpoint takeCheckpoint() {
    auto cp = Checkpointer::open(ledger_->database(), dir_.file("checkpoint.key"), clock_);
    EXPECT_TRUE(cp.ok()) << cp.error().message;
    auto c = cp->checkpoint();
    EXPECT_TRUE(c.ok()) << c.error().message;
    return *c;
  }
};

std::string describe(const VerifyReport& r) {
  std::ostringstream s;
  for (const auto& f : r.findings)
    s << f.seq << " " << problemName(f.problem) << ": " << f.detail << "\n";
  return s.str();
}

TEST_F(VerifyTest, AnUntouchedLedgerIsIntact) {
  auto r = tamperAndVerify("");
  EXPECT_TRUE(r.intact()) << describe(r);
  EXPECT_EQ(r.records, kRecords);
  EXPECT_EQ(r.head_seq, kRecords);
}

TEST_F(VerifyTest, FindsAnEditedAmount) {
  auto r = tamperAndVerify(
      std::string(kUnlock) +
      "UPDATE decisions SET input = replace(input, '12.34', '1.00') WHERE seq = 7;");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 7);
  EXPECT_EQ(r.findings[0].problem, Problem::edited);
}

TEST_F(VerifyTest, FindsAnEditedTimestampAndOutcome) {
  auto r = tamperAndVerify(std::string(kUnlock) +
                           "UPDATE decisions SET at_ms = at_ms + 1 WHERE seq = 3;"
                           "UPDATE decisions SET outcome = 'cancelled' WHERE seq = 15;");
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 3);
  EXPECT_EQ(r.findings[1].seq, 15);
}

TEST_F(VerifyTest, FindsADeletedRecord) {
  auto r = tamperAndVerify(std::string(kUnlock) + "DELETE FROM decisions WHERE seq = 5;");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 5);
  EXPECT_EQ(r.findings[0].problem, Problem::deleted);
}

TEST_F(VerifyTest, FindsTheFirstRecordDeleted) {
  auto r = tamperAndVerify(std::string(kUnlock) + "DELETE FROM decisions WHERE seq = 1;");
  ASSERT_FALSE(r.intact());
  EXPECT_EQ(r.findings[0].seq, 1);
  EXPECT_EQ(r.findings[0].problem, Problem::deleted);
}

TEST_F(VerifyTest, FindsADeletionHiddenByRenumbering) {
  auto r = tamperAndVerify(std::string(kUnlock) +
                           "DELETE FROM decisions WHERE seq = 8;"
                           "UPDATE decisions SET seq = -seq WHERE seq > 8;"
                           "UPDATE decisions SET seq = -seq - 1 WHERE seq < 0;");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 8);
  EXPECT_EQ(r.findings[0].problem, Problem::deleted);
}

TEST_F(VerifyTest, FindsTwoSwappedRecords) {
  auto r = tamperAndVerify(std::string(kUnlock) +
                           "UPDATE decisions SET seq = -4 WHERE seq = 4;"
                           "UPDATE decisions SET seq = 4 WHERE seq = 9;"
                           "UPDATE decisions SET seq = 9 WHERE seq = -4;");
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 4);
  EXPECT_EQ(r.findings[0].problem, Problem::reordered);
  EXPECT_EQ(r.findings[1].seq, 9);
  EXPECT_EQ(r.findings[1].problem, Problem::reordered);
}

TEST_F(VerifyTest, FindsTwoAdjacentRecordsSwapped) {
  auto r = tamperAndVerify(std::string(kUnlock) +
                           "UPDATE decisions SET seq = -6 WHERE seq = 6;"
                           "UPDATE decisions SET seq = 6 WHERE seq = 7;"
                           "UPDATE decisions SET seq = 7 WHERE seq = -6;");
  ASSERT_FALSE(r.intact());
  EXPECT_EQ(r.findings[0].seq, 6) << describe(r);
  EXPECT_EQ(r.findings[0].problem, Problem::reordered);
}

TEST_F(VerifyTest, FindsSwappedContentUnderTheSameSequenceNumbers) {
  std::string sql = kUnlock;
  sql +=
      "CREATE TEMP TABLE t AS SELECT * FROM decisions WHERE seq IN (3, 8);"
      "UPDATE decisions SET id = 'moving-' || seq WHERE seq IN (3, 8);";
  for (auto [to, from] : {std::pair{3, 8}, std::pair{8, 3}}) {
    sql +=
        "UPDATE decisions SET (id, at_ms, kind, subject, input, outcome, reasons, "
        "policy_revision, causes, prev_hash, hash) = (SELECT id, at_ms, kind, subject, input, "
        "outcome, reasons, policy_revision, causes, prev_hash, hash FROM t WHERE seq = " +
        std::to_string(from) + ") WHERE seq = " + std::to_string(to) + ";";
  }
  auto r = tamperAndVerify(sql);
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 3);
  EXPECT_EQ(r.findings[0].problem, Problem::reordered);
  EXPECT_EQ(r.findings[1].seq, 8);
}

TEST_F(VerifyTest, FindsAnInsertedRecord) {
  auto r = tamperAndVerify(
      std::string(kUnlock) +
      "UPDATE decisions SET seq = -seq WHERE seq >= 10;"
      "UPDATE decisions SET seq = -seq + 1 WHERE seq < 0;"
      "INSERT INTO decisions VALUES (10, 'X1', 0, 'order.confirmed', 'order:evil', '{}', "
      "'confirmed', '[]', '', '[]', (SELECT hash FROM decisions WHERE seq = 9), 'feed');");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 10);
  EXPECT_EQ(r.findings[0].problem, Problem::inserted);
}

TEST_F(VerifyTest, FindsARecordRewrittenWithARecomputedHash) {
  // An intruder who knows the canonical form edits D7 and recomputes its hash.
  close();
  {
    auto db = Database::open(path());
    ASSERT_TRUE(db->exec(kUnlock).ok());
    auto q = db->prepare(
        "SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, "
        "prev_hash FROM decisions WHERE seq = 7");
    ASSERT_TRUE(*q->step());
    DecisionRow row{q->int64(0), q->text(1), q->int64(2), q->text(3), q->text(4), q->text(5),
                    q->text(6),  q->text(7), q->text(8),  q->text(9), q->text(10)};
    q->reset();
    row.input = R"({"amount":"1.00 EUR","n":7})";
    auto u = db->prepare("UPDATE decisions SET input = ?1, hash = ?2 WHERE seq = 7");
    u->bind(1, row.input).bind(2, sha256Hex(canonicalForm(row)));
    ASSERT_TRUE(u->run().ok());
  }
  auto r = tamperAndVerify("");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 7);
  EXPECT_EQ(r.findings[0].problem, Problem::rewritten);
}

TEST_F(VerifyTest, TruncationWithoutAnyCheckpointIsInvisible) {
  // Documented limitation (README.md): the chain alone cannot know what came after its end.
  auto r = tamperAndVerify(std::string(kUnlock) + "DELETE FROM decisions WHERE seq > 17;");
  EXPECT_TRUE(r.intact()) << describe(r);
  EXPECT_EQ(r.head_seq, 17);
}

TEST_F(VerifyTest, FindsTruncationAgainstAStoredCheckpoint) {
  takeCheckpoint();
  auto r = tamperAndVerify(std::string(kUnlock) + "DELETE FROM decisions WHERE seq > 17;");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 18);
  EXPECT_EQ(r.findings[0].problem, Problem::truncated);
}

TEST_F(VerifyTest, FindsTruncationAgainstAnExternalCheckpointWhenStoredOnesAreGoneToo) {
  const Checkpoint external = takeCheckpoint();
  auto r = tamperAndVerify(std::string(kUnlock) +
                               "DROP TRIGGER checkpoints_append_only_delete;"
                               "DELETE FROM checkpoints; DELETE FROM decisions WHERE seq > 17;",
                           external);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 18);
  EXPECT_EQ(r.findings[0].problem, Problem::truncated);
  ASSERT_TRUE(r.extends_checkpoint.has_value());
  EXPECT_FALSE(*r.extends_checkpoint);
}

TEST_F(VerifyTest, ALedgerThatGrewPastTheCheckpointStillExtendsIt) {
  const Checkpoint external = takeCheckpoint();
  record(makeDecision("order.delivered", "order:o20", {}, "delivered", {20}));
  auto r = tamperAndVerify("", external);
  EXPECT_TRUE(r.intact()) << describe(r);
  EXPECT_EQ(r.checkpoints_checked, 2u);
  ASSERT_TRUE(r.extends_checkpoint.has_value());
  EXPECT_TRUE(*r.extends_checkpoint);
}

TEST_F(VerifyTest, FindsAWholesaleRewriteThroughTheCheckpoint) {
  const Checkpoint external = takeCheckpoint();
  // Rewrite D7 and recompute every hash after it: the chain is consistent again, only the
  // signed checkpoint remembers the old head.
  close();
  {
    auto db = Database::open(path());
    ASSERT_TRUE(db->exec(kUnlock).ok());
    ASSERT_TRUE(
        db->exec("UPDATE decisions SET input = replace(input, '12.34', '1.00') WHERE seq = 7")
            .ok());
    std::string prev;
    auto q = db->prepare(
        "SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, "
        "prev_hash, hash FROM decisions ORDER BY seq");
    std::vector<DecisionRow> rows;
    while (*q->step()) {
      rows.push_back({q->int64(0), q->text(1), q->int64(2), q->text(3), q->text(4), q->text(5),
                      q->text(6), q->text(7), q->text(8), q->text(9), q->text(10)});
    }
    q->reset();
    for (auto& row : rows) {
      row.prev_hash = prev;
      prev = sha256Hex(canonicalForm(row));
      auto u = db->prepare("UPDATE decisions SET prev_hash = ?1, hash = ?2 WHERE seq = ?3");
      u->bind(1, row.prev_hash).bind(2, prev).bind(3, row.seq);
      ASSERT_TRUE(u->run().ok());
    }
  }
  auto r = tamperAndVerify("", external);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  // No earlier checkpoint matches: nothing from D1 on can be trusted.
  EXPECT_EQ(r.findings[0].seq, 1) << describe(r);
  EXPECT_EQ(r.findings[0].problem, Problem::diverged);
  EXPECT_NE(r.findings[0].detail.find("from D1 to D20"), std::string::npos) << describe(r);
  EXPECT_FALSE(r.extends_checkpoint.value_or(true));
}

TEST_F(VerifyTest, ARewriteIsBlamedFromTheLastCheckpointThatStillMatches) {
  takeCheckpoint();  // D20
  recordMore(21, 25);
  takeCheckpoint();  // D25
  recordMore(26, 30);
  takeCheckpoint();  // D30
  rewriteFrom(23);
  auto r = tamperAndVerify("");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 21) << describe(r);
  EXPECT_EQ(r.findings[0].problem, Problem::diverged);
  const std::string& detail = r.findings[0].detail;
  EXPECT_NE(detail.find("from D21 to D25"), std::string::npos) << detail;
  EXPECT_NE(detail.find("still matches covers D20"), std::string::npos) << detail;
  EXPECT_NE(detail.find("1 more checkpoint(s) disagree"), std::string::npos) << detail;
  ASSERT_TRUE(r.covered_seq.has_value());
  EXPECT_EQ(*r.covered_seq, 20);
}

TEST_F(VerifyTest, OneForgedInsertIsOneFindingDespiteTheCheckpointsAfterIt) {
  takeCheckpoint();  // D20
  recordMore(21, 25);
  takeCheckpoint();  // D25
  recordMore(26, 30);
  const Checkpoint external = takeCheckpoint();  // D30
  auto r = tamperAndVerify(
      std::string(kUnlock) +
          "UPDATE decisions SET seq = -seq WHERE seq >= 10;"
          "UPDATE decisions SET seq = -seq + 1 WHERE seq < 0;"
          "INSERT INTO decisions VALUES (10, 'X1', 0, 'order.confirmed', 'order:evil', '{}', "
          "'confirmed', '[]', '', '[]', (SELECT hash FROM decisions WHERE seq = 9), 'feed');",
      external);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 10);
  EXPECT_EQ(r.findings[0].problem, Problem::inserted);
  // The genuine records moved up by one still match what was signed for them.
  EXPECT_TRUE(r.extends_checkpoint.value_or(false));
}

TEST_F(VerifyTest, AForgedCheckpointFileBlamesTheFileNotARecord) {
  Checkpoint forged = takeCheckpoint();
  forged.seq = 1224;  // a record this 20-record ledger never had
  auto r = tamperAndVerify("", forged);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].seq, 0);
  EXPECT_EQ(r.findings[0].problem, Problem::bad_signature);
  EXPECT_FALSE(r.firstBadSeq().has_value());
  EXPECT_FALSE(r.extends_checkpoint.value_or(true));
  auto doc = toJson(r);
  EXPECT_TRUE(doc.at("first_bad_seq").is_null());
  std::ostringstream text;
  renderVerify(doc, OutputStyle{}, text);
  EXPECT_NE(text.str().find("checkpoint file rejected"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("first bad record"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("file  bad-signature"), std::string::npos) << text.str();
}

TEST_F(VerifyTest, WarnsWhenTheHeadIsNotCoveredByAnyCheckpoint) {
  takeCheckpoint();  // D20
  recordMore(21, 25);
  takeCheckpoint();  // D25, deleted below
  auto r = tamperAndVerify(
      "DROP TRIGGER checkpoints_append_only_delete; DELETE FROM checkpoints WHERE seq = 25;");
  EXPECT_TRUE(r.intact()) << describe(r);
  ASSERT_TRUE(r.covered_seq.has_value());
  EXPECT_EQ(*r.covered_seq, 20);
  EXPECT_EQ(r.uncovered(), 5);
  auto doc = toJson(r);
  EXPECT_EQ(doc.at("uncovered").as_int64(), 5);
  std::ostringstream text;
  renderVerify(doc, OutputStyle{}, text);
  EXPECT_NE(text.str().find("warning: the newest 5 decision(s) (D21 to D25) are not covered by "
                            "any checkpoint (the newest checkpoint that matches covers D20"),
            std::string::npos)
      << text.str();
}

TEST_F(VerifyTest, AFullyCoveredLedgerHasNoCoverageWarning) {
  takeCheckpoint();
  auto r = tamperAndVerify("");
  EXPECT_EQ(r.uncovered(), 0);
  std::ostringstream text;
  renderVerify(toJson(r), OutputStyle{}, text);
  EXPECT_EQ(text.str().find("warning"), std::string::npos) << text.str();
}

TEST_F(VerifyTest, LongDetailsWrapAndAreNeverCut) {
  takeCheckpoint();
  recordMore(21, 25);
  takeCheckpoint();
  rewriteFrom(22);
  auto r = tamperAndVerify("");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  const std::string detail = r.findings[0].detail;
  ASSERT_GT(detail.size(), 120u);
  for (std::size_t width : {60u, 80u, 200u}) {
    std::ostringstream text;
    renderVerify(toJson(r), OutputStyle{}, text, width);
    std::istringstream lines(text.str());
    std::string line, joined;
    bool in_table = false;
    while (std::getline(lines, line)) {
      if (line.rfind("SEQ", 0) == 0) {
        in_table = true;
        continue;
      }
      if (!in_table) continue;
      EXPECT_LE(displayWidth(line), std::max<std::size_t>(width, 55)) << line;
      // The detail column starts after SEQ ("D21") and PROBLEM ("diverged"), two spaces apart.
      const std::size_t at = std::string("D21  diverged  ").size();
      ASSERT_GT(line.size(), at) << line;
      joined += (joined.empty() ? "" : " ") + line.substr(at);
    }
    EXPECT_EQ(joined, detail) << text.str();
  }
}

TEST_F(VerifyTest, FindsAForgedStoredCheckpointSignature) {
  takeCheckpoint();
  auto r = tamperAndVerify(
      "DROP TRIGGER checkpoints_append_only_update;"
      "UPDATE checkpoints SET signature = replace(signature, substr(signature, 1, 2), "
      "CASE substr(signature, 1, 2) WHEN '00' THEN '01' ELSE '00' END);");
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].problem, Problem::bad_signature);
  EXPECT_EQ(r.findings[0].seq, kRecords);
}

TEST_F(VerifyTest, FindsAnExternalCheckpointWithABadSignature) {
  Checkpoint external = takeCheckpoint();
  external.seq = 5;  // claims another position than it was signed for
  auto r = tamperAndVerify("", external);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].problem, Problem::bad_signature);
  EXPECT_FALSE(r.extends_checkpoint.value_or(true));
}

TEST_F(VerifyTest, FindsAReplacedKey) {
  const Checkpoint external = takeCheckpoint();
  // The intruder swaps in a key of their own and re-signs: the old external copy no longer
  // matches any key the ledger holds.
  auto r = tamperAndVerify(
      "PRAGMA foreign_keys = OFF;"
      "UPDATE checkpoint_keys SET public_key = CASE substr(public_key, 1, 2) WHEN '00' THEN '01' "
      "ELSE '00' END || substr(public_key, 3);",
      external);
  EXPECT_FALSE(r.intact());
  bool unknown = false;
  for (const auto& f : r.findings)
    unknown = unknown || f.problem == Problem::unknown_key;
  EXPECT_TRUE(unknown) << describe(r);
  EXPECT_FALSE(r.extends_checkpoint.value_or(true));
}

TEST_F(VerifyTest, ReportsJsonAndAHumanVerdict) {
  auto r = tamperAndVerify(std::string(kUnlock) + "DELETE FROM decisions WHERE seq = 12;");
  auto doc = toJson(r);
  EXPECT_FALSE(doc.at("intact").as_bool());
  EXPECT_EQ(doc.at("first_bad_seq").as_int64(), 12);
  EXPECT_EQ(doc.at("findings").as_array().at(0).at("problem").as_string(), "deleted");
  std::ostringstream plain, coloured;
  renderVerify(doc, OutputStyle{}, plain);
  renderVerify(doc, OutputStyle{false, true}, coloured);
  EXPECT_NE(plain.str().find("TAMPERED: first bad record D12"), std::string::npos) << plain.str();
  EXPECT_EQ(plain.str().find('\033'), std::string::npos);
  EXPECT_NE(coloured.str().find("\033[31m"), std::string::npos);
}

TEST_F(VerifyTest, RunsOnAWorkerThreadBesideTheOpenLedgerAndAnswersOnTheLoop) {
  takeCheckpoint();
  boost::asio::io_context loop;
  // The loop has nothing else to do: keep it from stopping before the result is posted.
  auto busy = boost::asio::make_work_guard(loop);
  BackgroundVerifier verifier(loop.get_executor());
  const auto loop_thread = std::this_thread::get_id();
  std::optional<Result<VerifyReport>> result;
  std::thread::id answered_on;
  // The daemon's own connection stays open (and writes meanwhile): the worker reads its own.
  ASSERT_TRUE(verifier.start(path(), std::nullopt, [&](Result<VerifyReport> r) {
    answered_on = std::this_thread::get_id();
    result = std::move(r);
  }));
  EXPECT_TRUE(verifier.running());
  EXPECT_FALSE(verifier.start(path(), std::nullopt, [](Result<VerifyReport>) {
    ADD_FAILURE() << "a second verify must not start while one runs";
  }));
  record(makeDecision("order.delivered", "order:o20", {}, "delivered", {20}));
  while (!result) {
    loop.run_one_for(std::chrono::seconds(30));
  }
  EXPECT_EQ(answered_on, loop_thread);
  EXPECT_FALSE(verifier.running());
  ASSERT_TRUE(result->ok()) << result->error().message;
  EXPECT_TRUE((*result)->intact()) << describe(**result);
  // A consistent snapshot: 20 records, or 21 if the append came first; never a torn read.
  EXPECT_GE((*result)->records, kRecords);
  EXPECT_EQ((*result)->covered_seq.value_or(0), kRecords);

  // And again, once the first has finished: the worker is reused one at a time.
  result.reset();
  ASSERT_TRUE(
      verifier.start(path(), std::nullopt, [&](Result<VerifyReport> r) { result = std::move(r); }));
  while (!result) {
    loop.run_one_for(std::chrono::seconds(30));
  }
  ASSERT_TRUE(result->ok());
  EXPECT_EQ((*result)->records, kRecords + 1);
}

TEST_F(VerifyTest, VerifyFileSaysWhyItCannotOpen) {
  auto r = verifyFile(dir_.file("missing.db"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing.db"), std::string::npos) << r.error().message;
}

TEST(Verify, RefusesSomethingThatIsNotALedger) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("other.db"));
  ASSERT_TRUE(db->exec("CREATE TABLE t(x)").ok());
  auto r = verify(*db);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a Steward ledger"), std::string::npos);
}

}  // namespace
}  // namespace steward::ledger::test
