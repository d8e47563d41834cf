// Shared pieces of the ledger tests: a ledger in a temp dir on a manual clock, decisions built in
// one line, and the real sqlite3 tool for tampering with the file as an intruder would.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::ledger::test {

using namespace std::chrono_literals;

// 2026-05-01T08:00:00Z
inline core::TimePoint startTime() {
  return core::TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 5 / 1}.time_since_epoch() +
                         std::chrono::hours(8)};
}

inline Decision makeDecision(std::string kind, std::string subject, boost::json::value input = {},
                             std::string outcome = "ok", std::vector<std::int64_t> causes = {},
                             std::vector<std::string> reasons = {}) {
  Decision d;
  d.kind = std::move(kind);
  d.subject = std::move(subject);
  d.input = input.is_null() ? boost::json::value(boost::json::object{}) : std::move(input);
  d.outcome = std::move(outcome);
  d.causes = std::move(causes);
  d.reasons = std::move(reasons);
  return d;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    ledger_.reset();
    auto l = SqliteLedger::open(path(), clock_);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
  }
  void close() { ledger_.reset(); }

  std::string path() const { return dir_.file("steward.db"); }

  RecordedDecision record(const Decision& d) {
    auto r = ledger_->record(d);
    EXPECT_TRUE(r.ok()) << r.error().message;
    clock_.advance(1s);
    return r.ok() ? *r : RecordedDecision{};
  }

  // Runs the sqlite3 command-line tool on the database file; returns its exit status.
  int sqlite(const std::string& sql) {
    const std::string log = dir_.file("sqlite3.log");
    steward::test::Process p({"sqlite3", path(), sql}, log);
    auto status = p.wait(30s);
    EXPECT_TRUE(status.has_value()) << "sqlite3 did not finish";
    const int code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    EXPECT_EQ(code, 0) << "sqlite3 failed on: " << sql << "\n" << steward::test::readFile(log);
    return code;
  }

  Database openReadOnly() {
    auto db = Database::open(path(), OpenMode::readOnly);
    EXPECT_TRUE(db.ok()) << db.error().message;
    return std::move(*db);
  }

  std::int64_t count(Database& db, const std::string& sql) {
    auto q = db.prepare(sql);
    EXPECT_TRUE(q.ok()) << q.error().message;
    auto row = q->step();
    EXPECT_TRUE(row.ok() && *row);
    return q->int64(0);
  }

  steward::test::TempDir dir_;
  core::ManualClock clock_{startTime()};
  std::unique_ptr<SqliteLedger> ledger_;
};

}  // namespace steward::ledger::test
