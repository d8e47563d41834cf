// stewardctl reading a real ledger file (--db): the listings, the exit codes the issue asks for
// (verify finds tampering: 1; usage: 2), JSON for scripts, colour only when asked, and the
// budget caps taken from the policy files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "core/clock.hpp"
#include "ledger/approvals.hpp"
#include "ledger/controls.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "stewardctl/cli.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// 2026-05-01T08:00:00Z
core::TimePoint start() {
  return core::TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 5 / 1}.time_since_epoch() +
                         std::chrono::hours(8)};
}

struct Output {
  int code = -1;
  std::string out, err;
};

class StewardctlDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ledger = ledger::SqliteLedger::open(db(), clock);
    ASSERT_TRUE(ledger) << ledger.error().message;
    auto record = [&](std::string kind, std::string subject, std::string outcome,
                      std::vector<std::int64_t> causes = {}) {
      ledger::Decision d;
      d.kind = std::move(kind);
      d.subject = std::move(subject);
      d.input = json::object{{"device_id", "printer-office"}};
      d.outcome = std::move(outcome);
      d.causes = std::move(causes);
      auto r = (*ledger)->record(d);
      EXPECT_TRUE(r) << r.error().message;
      clock.advance(1h);
      return r ? r->seq : 0;
    };
    const auto admitted = record("device.admitted", "device:printer-office", "admitted");
    const auto opened = record("need.opened", "need:n-1", "opened", {admitted});
    record("policy.evaluated", "need:n-1", "needs-approval", {opened});

    auto approvals = ledger::Approvals::open(**ledger, clock);
    ASSERT_TRUE(approvals) << approvals.error().message;
    ledger::ApprovalRequest request;
    request.subject = "need:n-1";
    request.summary = json::object{{"item", "toner TN-2420"}, {"total", "38.90 EUR"}};
    request.amount = core::Money{3890, *core::currencyFromCode("EUR")};
    request.expires_at = clock.now() + 24h;
    auto asked = approvals->request(request);
    ASSERT_TRUE(asked) << asked.error().message;
    approval_id = asked->id;

    auto controls = ledger::Controls::open(**ledger, clock);
    ASSERT_TRUE(controls) << controls.error().message;
    ASSERT_TRUE(controls->pause("", 1000, "on holiday"));
  }

  std::string db() const { return dir.file("steward.db"); }

  Output ctl(std::vector<std::string> args, bool terminal = false) {
    args.insert(args.begin(), {"--db", db()});
    Environment env;
    env.stdout_is_terminal = terminal;
    env.default_config = dir.file("no-such-stewardd.toml");
    env.clock = &clock;
    std::ostringstream out, err;
    Output o;
    o.code = stewardctl::run(args, out, err, env);
    o.out = out.str();
    o.err = err.str();
    return o;
  }
  using Environment = stewardctl::Environment;

  TempDir dir;
  core::ManualClock clock{start()};
  std::string approval_id;
};

TEST_F(StewardctlDatabaseTest, LogListsDecisionsAndFilters) {
  auto all = ctl({"log"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_NE(all.out.find("device.admitted"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("needs-approval"), std::string::npos);
  EXPECT_NE(all.out.find("purchasing.paused"), std::string::npos);

  auto as_json = ctl({"log", "--json", "--kind", "need"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  const auto rows = json::parse(as_json.out).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("kind").as_string(), "need.opened");

  // Two hours after the start: the first two decisions are older.
  auto recent = ctl({"--json", "log", "--since", "2026-05-01T10:00:00Z"});
  ASSERT_EQ(recent.code, 0) << recent.err;
  const json::value recent_rows = json::parse(recent.out);
  for (const auto& row : recent_rows.as_array())
    EXPECT_NE(row.at("kind").as_string(), "device.admitted");

  auto limited = ctl({"log", "--json", "--limit", "2"});
  EXPECT_EQ(json::parse(limited.out).as_array().size(), 2u);
}

TEST_F(StewardctlDatabaseTest, ExplainWalksTheCausesBack) {
  auto explained = ctl({"explain", "D3", "--json"});
  ASSERT_EQ(explained.code, 0) << explained.err;
  const auto chain = json::parse(explained.out).at("chain").as_array();
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain.front().at("kind").as_string(), "device.admitted");

  auto missing = ctl({"explain", "D999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no decision"), std::string::npos) << missing.err;
}

TEST_F(StewardctlDatabaseTest, VerifySaysNoWhenTheChainWasTamperedWith) {
  auto fine = ctl({"verify"});
  EXPECT_EQ(fine.code, 0) << fine.out << fine.err;

  // An intruder drops the append-only guard and edits an outcome with the sqlite3 tool.
  const std::string log = dir.file("sqlite3.log");
  Process sqlite({"sqlite3", db(),
                  "DROP TRIGGER decisions_append_only_update; "
                  "UPDATE decisions SET outcome = 'allow' WHERE seq = 3;"},
                 log);
  auto status = sqlite.wait(10s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(log);

  auto tampered = ctl({"verify", "--json"});
  EXPECT_EQ(tampered.code, 1) << tampered.out;
  const auto report = json::parse(tampered.out).as_object();
  EXPECT_FALSE(report.at("intact").as_bool());
  EXPECT_EQ(report.at("first_bad_seq").as_int64(), 3);
}

TEST_F(StewardctlDatabaseTest, ExportWritesEveryDecision) {
  auto jsonl = ctl({"export", "--format", "jsonl"});
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;
  std::istringstream lines(jsonl.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(json::parse(line).is_object()) << line;
    ++n;
  }
  EXPECT_EQ(n, 5);  // three decisions, the approval request, the pause

  auto csv = ctl({"export", "--format", "csv"});
  ASSERT_EQ(csv.code, 0);
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 6);  // header + 5

  EXPECT_EQ(ctl({"export", "--format", "xml"}).code, 2);
}

TEST_F(StewardctlDatabaseTest, ApprovalsAndStatus) {
  auto approvals = ctl({"approvals", "--json"});
  ASSERT_EQ(approvals.code, 0) << approvals.err;
  const auto pending = json::parse(approvals.out).as_array();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].at("id").as_string(), approval_id);

  auto status = ctl({"status", "--json"});
  ASSERT_EQ(status.code, 0) << status.err;
  const auto s = json::parse(status.out).as_object();
  EXPECT_TRUE(s.at("purchasing").at("paused").as_bool());
  EXPECT_EQ(s.at("approvals").at("pending").as_int64(), 1);

  auto human = ctl({"status"});
  ASSERT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("PAUSED"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("1 pending"), std::string::npos) << human.out;
}

TEST_F(StewardctlDatabaseTest, BudgetCapsComeFromThePolicyFiles) {
  dir.write("policy/policy.toml", readFile(STEWARD_SOURCE_DIR "/policy/examples/small-flat.toml"));
  const std::string config =
      dir.write("stewardd.toml", "[daemon]\npolicy_directory = \"" + dir.file("policy") + "\"\n");
  auto status = ctl({"--config", config, "status", "--json"});
  ASSERT_EQ(status.code, 0) << status.err;
  std::map<std::string, std::int64_t> caps;
  const json::value document = json::parse(status.out);
  for (const auto& b : document.at("budgets").as_array())
    caps[std::string(b.at("category").as_string())] = b.at("limit_minor").as_int64();
  EXPECT_EQ(caps["consumables"], 3000);
  EXPECT_EQ(caps["batteries"], 1000);

  auto human = ctl({"--config", config, "status"});
  EXPECT_NE(human.out.find("consumables"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("30.00"), std::string::npos) << human.out;
}

TEST_F(StewardctlDatabaseTest, ColourOnlyOnATerminal) {
  EXPECT_EQ(ctl({"log"}).out.find("\x1b["), std::string::npos);
  EXPECT_NE(ctl({"log"}, true).out.find("\x1b["), std::string::npos);
  EXPECT_EQ(ctl({"log", "--no-color"}, true).out.find("\x1b["), std::string::npos);
  EXPECT_EQ(ctl({"log", "--json"}, true).out.find("\x1b["), std::string::npos);
}

TEST_F(StewardctlDatabaseTest, EmptyModulesListNothing) {
  auto devices = ctl({"devices", "--json"});
  ASSERT_EQ(devices.code, 0) << devices.err;
  EXPECT_TRUE(json::parse(devices.out).as_array().empty());
  auto needs = ctl({"needs", "--json"});
  ASSERT_EQ(needs.code, 0) << needs.err;
  EXPECT_TRUE(json::parse(needs.out).as_array().empty());
}

TEST_F(StewardctlDatabaseTest, UsageErrorsExitWithTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"frobnicate"},
           {"explain"},
           {"approve", "A1"},  // changes need the daemon; --db is read-only
           {"log", "--limit", "many"},
           {"log", "--colour-me-surprised"},
           {"status", "extra"},
       }) {
    auto o = ctl(args);
    EXPECT_EQ(o.code, 2) << args.front() << ": " << o.err;
    EXPECT_NE(o.err.find("stewardctl: "), std::string::npos);
  }
  auto since = ctl({"log", "--since", "last tuesday"});
  EXPECT_EQ(since.code, 1);
  EXPECT_NE(since.err.find("--since"), std::string::npos);
}

TEST_F(StewardctlDatabaseTest, PolicyCommandsGoToThePolicyModule) {
  const std::string good = STEWARD_SOURCE_DIR "/policy/examples/small-flat.toml";
  auto valid = ctl({"policy", "check", good});
  EXPECT_EQ(valid.code, 0) << valid.out << valid.err;

  const std::string bad = dir.write("bad.toml", "[budgets.consumables]\nmonthly = \"lots\"\n");
  auto invalid = ctl({"policy", "check", bad});
  EXPECT_EQ(invalid.code, 1) << invalid.out << invalid.err;
  EXPECT_NE((invalid.out + invalid.err).find("bad.toml:2"), std::string::npos)
      << invalid.out << invalid.err;

  EXPECT_EQ(ctl({"policy"}).code, 2);
}

TEST_F(StewardctlDatabaseTest, TheDatabaseIsOpenedReadOnly) {
  auto before = readFile(db());
  ctl({"status"});
  ctl({"log"});
  ctl({"verify"});
  EXPECT_EQ(readFile(db()), before);
  EXPECT_EQ(ctl({"--db", dir.file("missing.db"), "log"}).code, 1);
  EXPECT_FALSE(std::ifstream(dir.file("missing.db")).good());
}

}  // namespace
}  // namespace steward::test
