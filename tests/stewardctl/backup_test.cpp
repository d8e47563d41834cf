// stewardctl backup against a real ledger that stays open, as the running hub keeps it: the
// copy holds everything committed (also what is still only in the WAL), nothing uncommitted,
// needs no -wal beside it, verifies, and restores into a ledger that opens and goes on. Bad
// destinations get a clear error and leave nothing behind.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <filesystem>
#include <sstream>

#include "core/clock.hpp"
#include "ledger/approvals.hpp"
#include "ledger/controls.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "ledger/verify.hpp"
#include "stewardctl/cli.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

// 2026-05-01T08:00:00Z
core::TimePoint start() {
  return core::TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 5 / 1}.time_since_epoch() +
                         std::chrono::hours(8)};
}

struct Output {
  int code = -1;
  std::string out, err;
};

class StewardctlBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = ledger::SqliteLedger::open(db(), clock);
    ASSERT_TRUE(opened) << opened.error().message;
    hub = std::move(*opened);
    // Keep every page in the WAL: the backup must read through it, as beside a running hub.
    ASSERT_TRUE(hub->database().exec("PRAGMA wal_autocheckpoint=0"));
    std::int64_t previous = 0;
    for (int i = 0; i < 40; ++i)
      previous = record("need.opened", "need:n-" + std::to_string(i), previous);

    auto approvals = ledger::Approvals::open(*hub, clock);
    ASSERT_TRUE(approvals) << approvals.error().message;
    ledger::ApprovalRequest request;
    request.subject = "need:n-1";
    request.summary = json::object{{"item", "toner TN-2420"}, {"total", "38.90 EUR"}};
    request.amount = core::Money{3890, *core::currencyFromCode("EUR")};
    request.expires_at = clock.now() + 24h;
    ASSERT_TRUE(approvals->request(request));
    auto controls = ledger::Controls::open(*hub, clock);
    ASSERT_TRUE(controls) << controls.error().message;
    ASSERT_TRUE(controls->pause("", 1000, "on holiday"));
    ASSERT_GT(fs::file_size(db() + "-wal"), 0u);
  }

  std::int64_t record(std::string kind, std::string subject, std::int64_t cause) {
    ledger::Decision d;
    d.kind = std::move(kind);
    d.subject = std::move(subject);
    d.input = json::object{{"device_id", "printer-office"}};
    d.outcome = "opened";
    if (cause) d.causes = {cause};
    auto r = hub->record(d);
    EXPECT_TRUE(r) << r.error().message;
    clock.advance(1min);
    return r ? r->seq : 0;
  }

  std::string db() const { return dir.file("steward.db"); }

  Output ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db()});
    stewardctl::Environment env;
    env.default_config = dir.file("no-such-stewardd.toml");
    env.clock = &clock;
    std::ostringstream out, err;
    Output o;
    o.code = stewardctl::run(args, out, err, env);
    o.out = out.str();
    o.err = err.str();
    return o;
  }

  std::int64_t decisionsIn(const std::string& path) {
    auto copy = ledger::Database::open(path, ledger::OpenMode::readOnly);
    EXPECT_TRUE(copy) << copy.error().message;
    if (!copy) return -1;
    auto report = ledger::verify(*copy);
    EXPECT_TRUE(report) << report.error().message;
    EXPECT_TRUE(report && report->intact());
    return report ? report->records : -1;
  }

  TempDir dir;
  core::ManualClock clock{start()};
  std::unique_ptr<ledger::SqliteLedger> hub;
};

TEST_F(StewardctlBackupTest, CopyHoldsEveryCommittedDecisionAndVerifies) {
  const std::int64_t before = decisionsIn(db());
  ASSERT_GT(before, 40);

  const std::string copy = dir.file("backup.db");
  auto made = ctl({"backup", copy});
  ASSERT_EQ(made.code, 0) << made.out << made.err;
  EXPECT_NE(made.out.find("decision chain verifies"), std::string::npos) << made.out;
  EXPECT_NE(made.out.find(std::to_string(before) + " decisions"), std::string::npos) << made.out;

  // One self-contained file: no WAL beside it, rollback journal mode, nothing left over.
  EXPECT_FALSE(fs::exists(copy + "-wal"));
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(copy.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "delete");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);

  EXPECT_EQ(decisionsIn(copy), before);
  // The owner's tools read the copy like the live database.
  auto approvals = [&] {
    std::ostringstream out, err;
    stewardctl::Environment env;
    env.default_config = dir.file("no-such-stewardd.toml");
    env.clock = &clock;
    Output o;
    o.code = stewardctl::run(std::vector<std::string>{"--db", copy, "approvals", "--json"}, out,
                             err, env);
    o.out = out.str();
    o.err = err.str();
    return o;
  }();
  ASSERT_EQ(approvals.code, 0) << approvals.err;
  EXPECT_EQ(json::parse(approvals.out).as_array().size(), 1u);
}

TEST_F(StewardctlBackupTest, UncommittedWorkOfTheHubIsNotCopiedAndDoesNotBlock) {
  const std::int64_t committed = decisionsIn(db());
  // The hub is in the middle of a step: a write transaction is open on its connection.
  ASSERT_TRUE(hub->database().exec("BEGIN IMMEDIATE"));
  ASSERT_TRUE(hub->database().exec("CREATE TABLE half_done(x INTEGER)"));

  const std::string copy = dir.file("during-write.db");
  const auto began = std::chrono::steady_clock::now();
  auto made = ctl({"backup", copy});
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  ASSERT_EQ(made.code, 0) << made.err;
  ASSERT_TRUE(hub->database().exec("COMMIT"));

  EXPECT_EQ(decisionsIn(copy), committed);
  auto copied = ledger::Database::open(copy, ledger::OpenMode::readOnly);
  ASSERT_TRUE(copied);
  auto has = copied->hasTable("half_done");
  ASSERT_TRUE(has);
  EXPECT_FALSE(*has);
}

TEST_F(StewardctlBackupTest, RestoredCopyOpensAndTheChainGoesOn) {
  const std::string copy = dir.file("backup.db");
  ASSERT_EQ(ctl({"backup", copy}).code, 0);
  const std::int64_t copied = decisionsIn(copy);

  // Restore as README describes: the copy becomes steward.db of an (empty) state directory.
  const std::string restored_dir = dir.file("restored");
  fs::create_directory(restored_dir);
  const std::string restored = restored_dir + "/steward.db";
  fs::copy_file(copy, restored);
  {
    auto reopened = ledger::SqliteLedger::open(restored, clock);
    ASSERT_TRUE(reopened) << reopened.error().message;
    ledger::Decision d;
    d.kind = "hub.started";
    d.subject = "hub";
    d.input = json::object{};
    d.outcome = "started";
    auto r = (*reopened)->record(d);
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(decisionsIn(restored), copied + 1);
}

TEST_F(StewardctlBackupTest, BadDestinationsChangeNothing) {
  // An existing file is never overwritten.
  const std::string existing = dir.write("keep.db", "the owner's file\n");
  auto over = ctl({"backup", existing});
  EXPECT_EQ(over.code, 1);
  EXPECT_NE(over.err.find("already exists"), std::string::npos) << over.err;
  EXPECT_EQ(readFile(existing), "the owner's file\n");

  // Nor is the database itself.
  auto itself = ctl({"backup", db()});
  EXPECT_EQ(itself.code, 1);

  auto nowhere = ctl({"backup", dir.file("no/such/dir/backup.db")});
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_NE(nowhere.err.find("not a directory"), std::string::npos) << nowhere.err;

  EXPECT_EQ(ctl({"backup"}).code, 2);
  EXPECT_EQ(ctl({"backup", "a.db", "b.db"}).code, 2);

  // A database that is not a Steward ledger: an error, and no file.
  const std::string other = dir.file("other.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  std::ostringstream out, err;
  stewardctl::Environment env;
  env.default_config = dir.file("no-such-stewardd.toml");
  const int code = stewardctl::run(
      std::vector<std::string>{"--db", other, "backup", dir.file("from-other.db")}, out, err, env);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.str().find("not a Steward ledger"), std::string::npos) << err.str();
  EXPECT_FALSE(fs::exists(dir.file("from-other.db")));

  // And nothing else was left in the directory.
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace steward::test
