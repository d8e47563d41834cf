// The SQLite layer: migrations are idempotent and refuse a newer schema, after-commit callbacks
// follow the transaction's fate, read-only opens never write.
#include "ledger/database.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "ledger/approvals.hpp"
#include "ledger/controls.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

constexpr std::string_view kSteps[] = {
    "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    "ALTER TABLE widgets ADD COLUMN colour TEXT NOT NULL DEFAULT 'grey'",
};

TEST(Database, MigrationsAreIdempotentAndVersioned) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  ASSERT_TRUE(db.ok()) << db.error().message;
  ASSERT_TRUE(db->migrate("widgets", std::span(kSteps).first(1)).ok());
  EXPECT_EQ(*db->schemaVersion("widgets"), 1);
  ASSERT_TRUE(db->exec("INSERT INTO widgets(name) VALUES('a')").ok());
  // Running the same list again changes nothing; a longer list applies only the new step.
  ASSERT_TRUE(db->migrate("widgets", std::span(kSteps).first(1)).ok());
  ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
  ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
  EXPECT_EQ(*db->schemaVersion("widgets"), 2);
  auto q = db->prepare("SELECT count(*), min(colour) FROM widgets");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->int64(0), 1);
  EXPECT_EQ(q->text(1), "grey");
}

TEST(Database, RefusesASchemaNewerThanItKnows) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
  auto r = db->migrate("widgets", std::span(kSteps).first(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("newer than this program knows"), std::string::npos)
      << r.error().message;
}

TEST(Database, FailedMigrationStepLeavesTheVersion) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  constexpr std::string_view bad[] = {"CREATE TABLE t (x)", "CREATE TABLE t (y)"};
  auto r = db->migrate("t", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("migrating t to version 2"), std::string::npos);
  EXPECT_EQ(*db->schemaVersion("t"), 1);
}

TEST_F(LedgerTest, ReopeningLedgerApprovalsAndControlsMigratesNothingTwice) {
  ASSERT_TRUE(Approvals::open(*ledger_, clock_).ok());
  ASSERT_TRUE(Controls::open(*ledger_, clock_).ok());
  record(makeDecision("need.opened", "need:1"));
  auto versions = [&] {
    std::string out;
    auto q = ledger_->database().prepare(
        "SELECT component || '=' || version FROM schema_versions ORDER BY component");
    while (*q->step())
      out += q->text(0) + " ";
    return out;
  };
  const std::string before = versions();
  EXPECT_EQ(before, "approvals=1 controls=1 ledger=2 ");
  for (int i = 0; i < 2; ++i) {
    reopen();
    ASSERT_TRUE(Approvals::open(*ledger_, clock_).ok());
    ASSERT_TRUE(Controls::open(*ledger_, clock_).ok());
  }
  EXPECT_EQ(versions(), before);
  EXPECT_EQ(ledger_->head()->seq, 1);
}

TEST(Database, AfterCommitFollowsTheTransaction) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  std::vector<std::string> ran;
  db->afterCommit([&] { ran.push_back("immediate"); });
  EXPECT_EQ(ran, std::vector<std::string>{"immediate"});
  ran.clear();
  {
    Transaction outer(*db);
    db->afterCommit([&] { ran.push_back("outer"); });
    {
      Transaction inner(*db);
      db->afterCommit([&] { ran.push_back("inner-kept"); });
      ASSERT_TRUE(inner.commit().ok());
    }
    {
      Transaction inner(*db);
      db->afterCommit([&] { ran.push_back("inner-rolled-back"); });
    }
    EXPECT_TRUE(ran.empty()) << "nothing runs before the outermost commit";
    ASSERT_TRUE(outer.commit().ok());
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"outer", "inner-kept"}));
  ran.clear();
  {
    Transaction outer(*db);
    db->afterCommit([&] { ran.push_back("never"); });
  }
  EXPECT_TRUE(ran.empty());
}

TEST(Database, CountsRollbacksIncludingSavepointsAndRawSql) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  const auto start = db->rollbackCount();
  {
    Transaction outer(*db);
    { Transaction inner(*db); }
    EXPECT_EQ(db->rollbackCount(), start + 1);
    ASSERT_TRUE(outer.commit().ok());
  }
  EXPECT_EQ(db->rollbackCount(), start + 1);
  ASSERT_TRUE(db->exec("BEGIN; ROLLBACK;").ok());
  EXPECT_GT(db->rollbackCount(), start + 1) << "SQLite's rollback hook sees raw ROLLBACKs";
}

TEST(Database, ReadOnlyOpenNeverCreatesOrWrites) {
  steward::test::TempDir dir;
  EXPECT_FALSE(Database::open(dir.file("missing.db"), OpenMode::readOnly).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));
  {
    auto db = Database::open(dir.file("a.db"));
    ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
    ASSERT_TRUE(db->exec("INSERT INTO widgets(name) VALUES('a')").ok());
  }
  // A cleanly closed WAL database: the -wal/-shm files are gone, the reader must cope.
  auto ro = Database::open(dir.file("a.db"), OpenMode::readOnly);
  ASSERT_TRUE(ro.ok()) << ro.error().message;
  EXPECT_TRUE(ro->readOnly());
  EXPECT_FALSE(ro->exec("INSERT INTO widgets(name) VALUES('b')").ok());
  auto q = ro->prepare("SELECT count(*) FROM widgets");
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->int64(0), 1);
}

TEST(Database, ReadOnlyOpenSeesCommittedDataWhileAWriterIsOpen) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
  Transaction tx(*db);
  ASSERT_TRUE(db->exec("INSERT INTO widgets(name) VALUES('uncommitted')").ok());
  auto ro = Database::open(dir.file("a.db"), OpenMode::readOnly);
  ASSERT_TRUE(ro.ok()) << ro.error().message;
  auto q = ro->prepare("SELECT count(*) FROM widgets");
  ASSERT_TRUE(q.ok()) << q.error().message;
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->int64(0), 0) << "WAL readers see only committed data and are not blocked";
}

// `stewardctl --db` run by a member of steward-admin may read the state directory but not
// create files in it. Runs the reader as "nobody" (needs root to switch users; skipped otherwise).
class UnprivilegedReader : public LedgerTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || steward::test::findProgram("setpriv").empty()) {
      GTEST_SKIP() << "needs root and setpriv to run a reader as another user";
    }
    LedgerTest::SetUp();
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    for (int i = 0; i < 3; ++i)
      record(makeDecision("need.opened", "need:" + std::to_string(i)));
  }
  std::string readAsNobody() {
    const std::string log = dir_.file("probe.log");
    std::string out;
    {
      steward::test::Process p({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                LEDGER_READ_PROBE, path()},
                               log);
      p.wait(std::chrono::seconds(60));
      out = steward::test::readFile(log);
    }
    std::filesystem::remove(log);
    return out;
  }
};

TEST_F(UnprivilegedReader, ReadsWhileTheDaemonRuns) {
  EXPECT_EQ(readAsNobody(), "records=3 intact=1\n");
}

TEST_F(UnprivilegedReader, ReadsAfterTheDaemonStopped) {
  close();
  EXPECT_TRUE(std::filesystem::exists(path() + "-wal")) << "the WAL files are kept on close";
  EXPECT_EQ(readAsNobody(), "records=3 intact=1\n");
}

TEST_F(UnprivilegedReader, ReadsAFileWhoseWalFilesAreGone) {
  close();
  sqlite("PRAGMA wal_checkpoint(TRUNCATE);");  // the sqlite3 tool removes them when it exits
  std::filesystem::remove(path() + "-wal");
  std::filesystem::remove(path() + "-shm");
  EXPECT_EQ(readAsNobody(), "records=3 intact=1\n");
}

TEST(Database, HasTable) {
  steward::test::TempDir dir;
  auto db = Database::open(dir.file("a.db"));
  EXPECT_FALSE(*db->hasTable("widgets"));
  ASSERT_TRUE(db->migrate("widgets", kSteps).ok());
  EXPECT_TRUE(*db->hasTable("widgets"));
}

}  // namespace
}  // namespace steward::ledger::test
