// `stewardctl policy check` and `policy simulate`, called directly: outputs, exit codes, and that a
// simulation changes nothing, not even a ledger it reads.
#include "policy/cli.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "ledger/budget_store.hpp"
#include "ledger/database.hpp"
#include "policy/budget_persistence.hpp"
#include "policy_fixture.hpp"
#include "support/temp_dir.hpp"

namespace steward::policy {
namespace {

struct Run {
  int code;
  std::string out, err;
};

Run run(std::vector<std::string> args, const CliEnvironment& env = {}) {
  std::ostringstream out, err;
  const int code = runPolicyCommand(args, out, err, env);
  return Run{code, out.str(), err.str()};
}

const std::string kFamily = test::sourcePath("policy/examples/family-house/policy.toml");
const std::string kSmallFlat = test::sourcePath("policy/examples/small-flat.toml");

TEST(PolicyCli, CheckValidPolicies) {
  auto r = run({"check", test::sourcePath("policy/examples/family-house")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("policy is valid: 3 files, revision ", 0), 0u) << r.out;
  EXPECT_TRUE(r.err.empty());
  // With no argument: the installed location, here pointed at the shipped default.
  CliEnvironment env;
  env.default_policy = test::sourcePath("policy");
  r = run({"check"}, env);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("policy.toml"), std::string::npos);
}

TEST(PolicyCli, CheckReportsEveryErrorAndExitsOne) {
  steward::test::TempDir dir;
  dir.write("policy.toml", test::kHead +
                               "[budgets.consumables]\nmonthly = \"60\"\n\n"
                               "[purchasing]\nmod = \"auto\"\n");
  auto r = run({"check", dir.file("policy.toml")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, dir.file("policy.toml") +
                       ":7:11: budgets.consumables.monthly: expected an amount like \"60.00 EUR\", "
                       "got \"60\"\n" +
                       dir.file("policy.toml") +
                       ":10:1: purchasing.mod: unknown key; did you mean \"mode\"?\n2 errors\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(PolicyCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"check", "--strict"}).code, 2);
  EXPECT_EQ(run({"simulate", "--policy", kFamily, "--amount", "12"}).code, 2);
  EXPECT_EQ(run({"simulate", "--policy", kFamily, "--colour", "red"}).code, 2);
  EXPECT_EQ(run({"simulate", "--policy", kFamily, "--at", "tomorrow"}).code, 2);
  EXPECT_EQ(run({"simulate", "--policy", kFamily, "--kind"}).code, 2);
  auto help = run({"help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("stewardctl policy simulate"), std::string::npos);
}

TEST(PolicyCli, SimulateAllowNeedsApprovalAndDeny) {
  const std::vector<std::string> base = {"simulate",
                                         "--policy",
                                         kFamily,
                                         "--item",
                                         "toner-black",
                                         "--device-kind",
                                         "printer",
                                         "--retailer",
                                         "papershop",
                                         "--product",
                                         "TN-2420",
                                         "--at",
                                         "2026-11-25T10:00:00+01:00"};
  auto args = base;
  args.insert(args.end(), {"--amount", "32.00 EUR"});
  auto r = run(args);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("decision: allow\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  items.toner-black: buying \"toner-black\" is allowed\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("  budgets.consumables.monthly 2026-11: cap 80.00 EUR, spent 0.00 EUR, "
                       "reserved 0.00 EUR, this request 32.00 EUR, leaves 48.00 EUR\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("nothing was changed (simulation)"), std::string::npos);

  args = base;
  args.insert(args.end(), {"--amount", "42.00 EUR"});
  r = run(args);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("decision: needs-approval\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("approval deadline: 2026-11-27T09:00:00Z"), std::string::npos) << r.out;

  args = base;
  args.insert(args.end(), {"--amount", "30.00 EUR", "--spent", "consumables=60.00 EUR"});
  r = run(args);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("decision: deny\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  budgets.consumables.monthly: 2026-11: cap "
                       "80.00 EUR, spent 60.00 EUR, reserved 0.00 EUR, this request 30.00 EUR, "
                       "over by 10.00 EUR\n"),
            std::string::npos)
      << r.out;
}

TEST(PolicyCli, SimulateFromAJsonFileWithJsonOutput) {
  steward::test::TempDir dir;
  const std::string request = dir.write("request.json", R"({
    "kind": "purchase", "key": "battery", "device_kind": "sensor", "device": "0x00aa",
    "retailer": "corner-shop", "product": "CR2032-2PACK", "amount": "5.80 EUR", "quantity": 1,
    "at": "2026-11-30T23:30:00Z", "reserved": {"batteries": "4.00 EUR"}
  })");
  auto r = run({"simulate", "--policy", kSmallFlat, "--json", request, "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const auto json = boost::json::parse(r.out).as_object();
  EXPECT_EQ(json.at("outcome").as_string(), "allow");
  EXPECT_EQ(json.at("month").as_string(), "2026-12");  // Berlin, not UTC
  EXPECT_EQ(json.at("category").as_string(), "batteries");
  EXPECT_EQ(json.at("changed").as_bool(), false);
  EXPECT_EQ(json.at("request").as_object().at("item").as_string(), "cr2032");
  const auto& monthly = json.at("budgets").as_array().at(1).as_object();
  EXPECT_EQ(monthly.at("reserved").as_string(), "4.00 EUR");
  EXPECT_EQ(monthly.at("after").as_string(), "9.80 EUR");
  // A flag overrides the file: now over the 10.00 EUR cap.
  r = run({"simulate", "--policy", kSmallFlat, "--json", request, "--amount", "6.10 EUR",
           "--quantity", "2"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("budgets.batteries.monthly"), std::string::npos);
}

TEST(PolicyCli, SimulateReadsButNeverWritesTheLedger) {
  steward::test::TempDir dir;
  const std::string db_path = dir.file("ledger.db");
  {
    auto db = ledger::Database::open(db_path);
    ASSERT_TRUE(db.ok());
    auto store = ledger::BudgetStore::open(*db);
    ASSERT_TRUE(store.ok());
    ledger::BudgetEntry e{"o1", "consumables", "papershop", "2026-11",
                          7000, "EUR",         "committed", test::utc(2026, 11, 2, 9)};
    ASSERT_TRUE(store->save(e).ok());
  }
  const std::string before = steward::test::readFile(db_path);
  const std::vector<std::string> args{"simulate",
                                      "--policy",
                                      kFamily,
                                      "--db",
                                      db_path,
                                      "--item",
                                      "paper-a4",
                                      "--retailer",
                                      "papershop",
                                      "--amount",
                                      "12.00 EUR",
                                      "--at",
                                      "2026-11-25T09:00:00Z"};
  // The policy module opens no ledger: without a reader from the caller, --db is refused.
  auto refused = run(args);
  EXPECT_EQ(refused.code, 2);
  EXPECT_EQ(refused.err, "policy simulate: --db: reading a ledger is not available here\n");
  // The caller (stewardctl) reads the ledger, read-only, as here.
  CliEnvironment env;
  env.read_budgets = [](const std::string& path, BudgetBook& book) -> core::Result<void> {
    auto db = ledger::Database::open(path, ledger::OpenMode::readOnly);
    if (!db) return db.error();
    auto store = ledger::BudgetStore::reader(*db);
    return restoreBudgets(book, store);
  };
  auto r = run(args, env);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("spent 70.00 EUR"), std::string::npos) << r.out;
  EXPECT_EQ(steward::test::readFile(db_path), before);
  auto db = ledger::Database::open(db_path);
  ASSERT_TRUE(db.ok());
  auto store = ledger::BudgetStore::open(*db);
  ASSERT_TRUE(store.ok());
  auto live = store->live();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "o1");
}

TEST(PolicyCli, SimulateWithAnInvalidPolicyShowsItsErrors) {
  steward::test::TempDir dir;
  dir.write("policy.toml", test::kHead + "[purchasing]\nmode = \"sometimes\"\n");
  auto r = run({"simulate", "--policy", dir.file("policy.toml"), "--kind", "meter-report"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(":7:8: purchasing.mode:"), std::string::npos) << r.err;
}

// The daemon's Simulate calls the engine directly: same JSON as `simulate --output json`, with the
// live budgets passed in instead of read from a file.
TEST(PolicyCli, SimulateScenarioMatchesTheCommandsJson) {
  steward::test::TempDir dir;
  dir.write("scenario.json", R"({"item":"paper-a4","retailer":"papershop","amount":"12.00 EUR",
                                 "at":"2026-11-25T09:00:00Z","spent":{"consumables":"70.00 EUR"}})");
  auto r = run(
      {"simulate", "--policy", kFamily, "--json", dir.file("scenario.json"), "--output", "json"});
  EXPECT_EQ(r.code, 1) << r.err;
  auto load = loadPolicy(std::vector<std::string>{kFamily});
  ASSERT_TRUE(load.errors.empty());
  const BudgetBook empty;
  const auto scenario = boost::json::parse(steward::test::readFile(dir.file("scenario.json")));
  auto direct =
      simulateScenario(scenario.as_object(), *load.policy, empty, test::utc(2026, 1, 1, 0));
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  EXPECT_EQ(*direct + "\n", r.out);
  EXPECT_NE(direct->find("\"spent\":\"70.00 EUR\""), std::string::npos) << *direct;

  // Without the scenario's figures, an empty live book shows nothing spent.
  BudgetBook live;
  auto unspent = boost::json::parse(R"({"item":"paper-a4","retailer":"papershop",
      "amount":"12.00 EUR","at":"2026-11-25T09:00:00Z"})");
  auto fresh = simulateScenario(unspent.as_object(), *load.policy, live, test::utc(2026, 1, 1, 0));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->find("\"spent\":\"70.00 EUR\""), std::string::npos) << *fresh;
  EXPECT_NE(fresh->find("\"spent\":\"0.00 EUR\""), std::string::npos) << *fresh;

  // A malformed scenario names the field and changes nothing.
  auto bad = boost::json::parse(R"({"quantity":[1]})");
  auto refused = simulateScenario(bad.as_object(), *load.policy, live, test::utc(2026, 1, 1, 0));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::invalidInput);
  EXPECT_EQ(refused.error().message, "scenario: \"quantity\" must be a string");
}

}  // namespace
}  // namespace steward::policy
