// The stewardctl program against a hub on a private dbus-daemon that runs the shipped policy
// (the hub side is bus::DbusService over a recording Operations): commands reach the hub with
// their arguments, answers and named errors come back with the right exit codes, an outsider
// (another uid, via setpriv) is refused, and read-only commands fall back to the database file
// when the daemon is not running.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "bus/bus_client.hpp"
#include "bus/captured_log.hpp"
#include "bus/dbus_service.hpp"
#include "bus/fake_operations.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "support/dbus_daemon.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

namespace json = boost::json;

const std::string kStewardctl = STEWARD_BINARY_DIR "/daemon/stewardctl/stewardctl";
const std::string kPolicy = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";

struct CtlRun {
  int code = -1;
  std::string output;  // stdout and stderr together
};

class StewardctlDbusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DbusDaemonOptions options;
    options.policy_file = kPolicy;
    daemon = std::make_unique<DbusDaemon>(options);
  }
  void TearDown() override { service.reset(); }

  void serve() {
    auto connection = bus::openConnection(daemon->address());
    ASSERT_TRUE(connection) << connection.error().message;
    bus::DbusServiceOptions o;
    o.admin_group = "users";
    service = std::make_unique<bus::DbusService>(io.get_executor(), std::move(*connection), ops,
                                                 log.logger(), o);
    ASSERT_TRUE(service->start());
  }

  // Runs stewardctl (optionally as another uid) while this loop serves the hub.
  CtlRun ctl(std::vector<std::string> args, std::vector<std::string> as = {}) {
    std::vector<std::string> argv;
    if (!as.empty()) {
      argv.push_back("setpriv");
      argv.insert(argv.end(), as.begin(), as.end());
    }
    argv.push_back(kStewardctl);
    argv.insert(argv.end(), {"--bus", daemon->address()});
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = scratch.file("run-" + std::to_string(++runs) + ".log");
    Process process(argv, out, {"NO_COLOR=1"});
    EXPECT_TRUE(runUntil(
        io, [&] { return !process.running(); }, std::chrono::seconds(60)));
    CtlRun r;
    if (auto st = process.wait(std::chrono::milliseconds(0)); st && WIFEXITED(*st))
      r.code = WEXITSTATUS(*st);
    r.output = readFile(out);
    return r;
  }

  TempDir scratch;
  int runs = 0;
  std::unique_ptr<DbusDaemon> daemon;
  boost::asio::io_context io;
  CapturedLog log;
  FakeOperations ops;
  std::unique_ptr<bus::DbusService> service;
};

TEST_F(StewardctlDbusTest, ChangesReachTheHubWithTheCallersUid) {
  serve();
  ops.answers.emplace("approve", std::string(R"({"approval":"A3","decision":"D57"})"));
  auto approve = ctl({"approve", "A3"});
  EXPECT_EQ(approve.code, 0) << approve.output;
  EXPECT_NE(approve.output.find("approved A3"), std::string::npos) << approve.output;
  EXPECT_NE(approve.output.find("D57"), std::string::npos) << approve.output;
  ASSERT_EQ(ops.count("approve"), 1);
  EXPECT_EQ(ops.last("approve")->argument, "A3");
  EXPECT_EQ(ops.last("approve")->caller.uid, std::optional<std::uint32_t>(::getuid()));

  EXPECT_EQ(ctl({"reject", "A4"}).code, 0);
  EXPECT_EQ(ctl({"cancel", "o-17"}).code, 0);
  EXPECT_EQ(ctl({"pause"}).code, 0);
  EXPECT_EQ(ctl({"pause", "printer-office"}).code, 0);
  EXPECT_EQ(ctl({"resume"}).code, 0);
  ops.answers.emplace("reload", std::string(R"({"message":"policy 3f2a… loaded"})"));
  auto reload = ctl({"reload"});
  EXPECT_EQ(reload.code, 0);
  EXPECT_NE(reload.output.find("policy 3f2a… loaded"), std::string::npos) << reload.output;

  std::vector<std::string> seen;
  for (const auto& c : ops.calls)
    seen.push_back(c.operation + " " + c.argument);
  EXPECT_EQ(seen, (std::vector<std::string>{"approve A3", "reject A4", "cancel o-17", "pause ",
                                            "pause printer-office", "resume ", "reload "}));
}

TEST_F(StewardctlDbusTest, ListingsPrintTheHubsDocuments) {
  serve();
  // Boost.JSON writes 93.0 as 9.3E1; the owner sees 93 in both --json and the table.
  const std::string devices =
      R"([{"id":"printer-office","name":"","kind":"printer","availability":"online",)"
      R"("levels":{"toner-black":{"value":9.3E1,"unit":"%"},"energy":{"value":1.2E0,)"
      R"("unit":"kWh"}}}])";
  ops.answers.emplace("devices", devices);
  auto as_json = ctl({"devices", "--json"});
  EXPECT_EQ(as_json.code, 0);
  EXPECT_EQ(as_json.output,
            R"([{"id":"printer-office","name":"","kind":"printer","availability":"online",)"
            R"("levels":{"toner-black":{"value":93,"unit":"%"},"energy":{"value":1.2,)"
            R"("unit":"kWh"}}}])"
            "\n");

  auto table = ctl({"devices"});
  EXPECT_EQ(table.code, 0);
  EXPECT_NE(table.output.find("NAME"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("printer-office"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("toner black 93 %"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("energy 1.2 kWh"), std::string::npos) << table.output;

  auto log_run = ctl({"log", "--since", "2026-05-01", "--device", "printer-office", "--kind",
                      "need", "--limit", "5", "--json"});
  EXPECT_EQ(log_run.code, 0) << log_run.output;
  EXPECT_EQ(ops.last("log")->argument,
            "since=1777593600000 device=printer-office kind=need limit=5");

  // Without --limit the whole history, page by page from the start (one page here).
  ops.answers.emplace("log_page", std::string(R"([{"seq":1,"id":"D1"}])"));
  auto all_run = ctl({"log", "--json"});
  EXPECT_EQ(all_run.code, 0) << all_run.output;
  EXPECT_EQ(all_run.output, "[{\"seq\":1,\"id\":\"D1\"}]\n");
  EXPECT_EQ(ops.last("log_page")->argument, "after=0 limit=0");

  ops.answers.emplace("export_chunk", std::string("seq,id\n1,D1\n"));
  auto exported = ctl({"export", "--format", "csv"});
  EXPECT_EQ(exported.output, "seq,id\n1,D1\n");
  ASSERT_NE(ops.last("export_chunk"), nullptr);
  EXPECT_EQ(ops.last("export_chunk")->argument, "csv after=0 rows=0");
}

TEST_F(StewardctlDbusTest, ExitCodesFollowTheAnswer) {
  serve();
  ops.verify_answer =
      bus::CheckReport{false, R"({"intact":false,"first_bad_seq":3,"findings":[]})"};
  EXPECT_EQ(ctl({"verify", "--json"}).code, 1);
  ops.verify_answer = bus::CheckReport{true, R"({"intact":true,"findings":[]})"};
  EXPECT_EQ(ctl({"verify", "--json"}).code, 0);

  ops.answers.emplace("explain", bus::notFound("no decision D999"));
  auto missing = ctl({"explain", "D999"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find("stewardctl: no decision D999"), std::string::npos)
      << missing.output;

  EXPECT_EQ(ctl({"explain"}).code, 2);
}

TEST_F(StewardctlDbusTest, AnOutsiderIsRefusedAndTheRefusalIsLogged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run stewardctl as another uid";
  serve();
  ops.answers.emplace("status", std::string(R"({"ledger":{"head_seq":0}})"));
  const std::vector<std::string> nobody = {"--reuid=nobody", "--regid=nogroup", "--clear-groups"};

  auto approve = ctl({"approve", "A3"}, nobody);
  EXPECT_EQ(approve.code, 1) << approve.output;
  EXPECT_NE(approve.output.find("permission denied"), std::string::npos) << approve.output;
  EXPECT_EQ(ops.count("approve"), 0);
  EXPECT_NE(daemon->log().find("Rejected send message"), std::string::npos) << daemon->log();

  // The overview stays open to everyone.
  auto status = ctl({"status", "--json"}, nobody);
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_EQ(ops.count("status"), 1);
}

TEST_F(StewardctlDbusTest, ReadingFallsBackToTheDatabaseWhenTheDaemonIsNotRunning) {
  // No service owns the name. The config says where the database is.
  {
    core::ManualClock clock;
    auto ledger = ledger::SqliteLedger::open(scratch.file("steward.db"), clock);
    ASSERT_TRUE(ledger);
    ledger::Decision d;
    d.kind = "device.admitted";
    d.subject = "device:printer-office";
    d.input = json::object{};
    d.outcome = "admitted";
    ASSERT_TRUE((*ledger)->record(d));
  }
  const std::string config =
      scratch.write("stewardd.toml", "[daemon]\nstate_directory = \"" + scratch.path() + "\"\n");

  auto log_run = ctl({"--config", config, "log", "--json"});
  EXPECT_EQ(log_run.code, 0) << log_run.output;
  EXPECT_NE(log_run.output.find("stewardd is not running"), std::string::npos) << log_run.output;
  EXPECT_NE(log_run.output.find("device.admitted"), std::string::npos) << log_run.output;

  auto approve = ctl({"--config", config, "approve", "A1"});
  EXPECT_EQ(approve.code, 1);
  EXPECT_NE(approve.output.find("stewardd is not running"), std::string::npos) << approve.output;
}

}  // namespace
}  // namespace steward::test
