// The D-Bus service on a private dbus-daemon that runs the shipped policy: every method reaches
// Operations with its arguments and caller, failures come back as named errors, signals and
// property changes arrive, and callers outside the admin group are refused (by the bus, and by
// the daemon itself should the bus let them through), with the refusal logged.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>

#include "bus/bus_client.hpp"
#include "bus/captured_log.hpp"
#include "bus/dbus_service.hpp"
#include "bus/fake_operations.hpp"
#include "support/dbus_daemon.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

const std::string kPolicy = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";

core::Money eur(std::int64_t minor) {
  return core::Money{minor, *core::currencyFromCode("EUR")};
}

uid_t uidOf(const char* name) {
  const passwd* pw = getpwnam(name);
  return pw ? pw->pw_uid : static_cast<uid_t>(-1);
}

struct ExternalCall {
  int exit_code = -1;
  std::string output;
};

class DbusServiceTest : public ::testing::Test {
 protected:
  void start(DbusDaemonOptions options = {}, std::string admin_group = "users") {
    options.policy_file = kPolicy;
    if (options.admin_group == "users") options.admin_group = admin_group;
    daemon = std::make_unique<DbusDaemon>(options);
    auto connection = bus::openConnection(daemon->address());
    ASSERT_TRUE(connection) << connection.error().message;
    bus::DbusServiceOptions service_options;
    service_options.admin_group = admin_group;
    service = std::make_unique<bus::DbusService>(io.get_executor(), std::move(*connection), ops,
                                                 log.logger(), service_options);
    auto started = service->start();
    ASSERT_TRUE(started) << started.error().message;
    client = std::make_unique<BusClient>(io, daemon->address(), client_log.logger());
  }

  // Runs a D-Bus call from another uid (setpriv) while this loop serves it.
  ExternalCall callAs(const std::vector<std::string>& identity, const std::string& member,
                      const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv = {"setpriv"};
    argv.insert(argv.end(), identity.begin(), identity.end());
    argv.insert(argv.end(), {"dbus-send", "--bus=" + daemon->address(), "--print-reply",
                             "--dest=org.stewardhub.Steward1", "/org/stewardhub/Steward1",
                             std::string("org.stewardhub.Steward1.") + member});
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string out = scratch.file("external-" + std::to_string(++external_calls) + ".log");
    Process process(argv, out);
    EXPECT_TRUE(runUntil(io, [&] { return !process.running(); }));
    ExternalCall result;
    if (auto status = process.wait(std::chrono::milliseconds(0)); status && WIFEXITED(*status))
      result.exit_code = WEXITSTATUS(*status);
    result.output = readFile(out);
    return result;
  }

  static std::vector<std::string> nobody(std::vector<std::string> groups = {}) {
    std::vector<std::string> id = {"--reuid=nobody", "--regid=nogroup"};
    if (groups.empty()) {
      id.push_back("--clear-groups");
    } else {
      std::string list;
      for (const auto& g : groups)
        list += (list.empty() ? "" : ",") + g;
      id.push_back("--groups=" + list);
    }
    return id;
  }

  TempDir scratch;
  int external_calls = 0;
  std::unique_ptr<DbusDaemon> daemon;
  boost::asio::io_context io;
  CapturedLog log;
  CapturedLog client_log;
  FakeOperations ops;
  std::unique_ptr<bus::DbusService> service;
  std::unique_ptr<BusClient> client;

  void TearDown() override {
    client.reset();
    service.reset();
  }
};

TEST_F(DbusServiceTest, ListingsReturnWhatTheHubAnswers) {
  start();
  client->start();
  ops.answers.emplace("status", std::string(R"({"mode":"running"})"));
  ops.answers.emplace("devices", std::string(R"([{"id":"printer-office"}])"));
  ops.answers.emplace("needs", std::string(R"([{"id":"n-1"}])"));
  ops.answers.emplace("approvals", std::string(R"([{"id":"a-1"}])"));
  ops.answers.emplace("explain", std::string(R"({"chain":[]})"));
  ops.answers.emplace("export", std::string("seq,id\n1,d-1\n"));
  ops.answers.emplace("log", std::string(R"([{"seq":1}])"));
  ops.answers.emplace("simulate", std::string(R"({"outcome":"allow"})"));

  EXPECT_EQ(client->call<std::string>("Status").value(), R"({"mode":"running"})");
  EXPECT_EQ(client->call<std::string>("Devices").value(), R"([{"id":"printer-office"}])");
  EXPECT_EQ(client->call<std::string>("Needs").value(), R"([{"id":"n-1"}])");
  EXPECT_EQ(client->call<std::string>("Approvals").value(), R"([{"id":"a-1"}])");
  EXPECT_EQ(client->call<std::string>("Explain", std::string("d-7")).value(), R"({"chain":[]})");
  EXPECT_EQ(ops.last("explain")->argument, "d-7");
  EXPECT_EQ(client->call<std::string>("Export", std::string("csv")).value(), "seq,id\n1,d-1\n");
  EXPECT_EQ(ops.last("export")->argument, "csv");
  EXPECT_EQ(client
                ->call<std::string>("Log", std::int64_t{1'700'000'000'000}, std::string("printer"),
                                    std::string("need.opened"), std::uint32_t{20})
                .value(),
            R"([{"seq":1}])");
  EXPECT_EQ(ops.last("log")->argument,
            "since=1700000000000 device=printer kind=need.opened limit=20");
  client->call<std::string>("Log", std::int64_t{0}, std::string(), std::string(), std::uint32_t{0});
  EXPECT_EQ(ops.last("log")->argument, "since=- device= kind= limit=0");
  EXPECT_EQ(client->call<std::string>("Simulate", std::string(R"({"need":"toner"})")).value(),
            R"({"outcome":"allow"})");

  ops.verify_answer = bus::CheckReport{false, R"({"first_bad_seq":12})"};
  auto verify = client->call<bool, std::string>("Verify");
  ASSERT_TRUE(verify.ok()) << verify.error_message;
  EXPECT_FALSE(verify.value<0>());
  EXPECT_EQ(verify.value<1>(), R"({"first_bad_seq":12})");

  ops.policy_answer = bus::CheckReport{false, R"({"errors":["policy.toml:3:1: x"]})"};
  auto check = client->call<bool, std::string>("PolicyCheck");
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check.value<0>());
  EXPECT_EQ(check.value<1>(), R"({"errors":["policy.toml:3:1: x"]})");
}

TEST_F(DbusServiceTest, ChangesCarryTheCallersUid) {
  start();
  client->start();
  ops.answers.emplace("approve", std::string(R"({"decision":"d-9"})"));

  EXPECT_EQ(client->call<std::string>("Approve", std::string("a-1")).value(),
            R"({"decision":"d-9"})");
  EXPECT_TRUE(client->call<std::string>("Reject", std::string("a-2")).ok());
  EXPECT_TRUE(client->call<std::string>("Cancel", std::string("o-3")).ok());
  EXPECT_TRUE(client->call<std::string>("Pause", std::string("")).ok());
  EXPECT_TRUE(client->call<std::string>("Pause", std::string("printer-office")).ok());
  EXPECT_TRUE(client->call<std::string>("Resume", std::string("printer-office")).ok());
  EXPECT_TRUE(client->call<std::string>("Reload").ok());

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"approve", "a-1"}, {"reject", "a-2"},           {"cancel", "o-3"},
      {"pause", ""},      {"pause", "printer-office"}, {"resume", "printer-office"},
      {"reload", ""}};
  ASSERT_EQ(ops.calls.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ops.calls[i].operation, expected[i].first);
    EXPECT_EQ(ops.calls[i].argument, expected[i].second);
    ASSERT_TRUE(ops.calls[i].caller.uid.has_value());
    EXPECT_EQ(*ops.calls[i].caller.uid, ::getuid());
    EXPECT_EQ(ops.calls[i].caller.channel, "dbus");
  }
  EXPECT_EQ(log.count("dbus.call member=Approve"), 1);
}

TEST_F(DbusServiceTest, FailuresComeBackAsNamedErrors) {
  start();
  client->start();
  ops.answers.emplace("explain", bus::notFound("no decision d-404"));
  ops.answers.emplace("approve", bus::conflict("a-1 was already rejected"));
  ops.answers.emplace("reload", bus::unavailable("a reload is in progress"));
  ops.answers.emplace("status", bus::failed("database is locked"));

  auto explain = client->call<std::string>("Explain", std::string("d-404"));
  EXPECT_EQ(explain.error_name, "org.stewardhub.Steward1.Error.NotFound");
  EXPECT_EQ(explain.error_message, "no decision d-404");
  EXPECT_EQ(client->call<std::string>("Approve", std::string("a-1")).error_name,
            "org.stewardhub.Steward1.Error.Conflict");
  EXPECT_EQ(client->call<std::string>("Reload").error_name,
            "org.stewardhub.Steward1.Error.Unavailable");
  EXPECT_EQ(client->call<std::string>("Status").error_name, "org.stewardhub.Steward1.Error.Failed");
}

TEST_F(DbusServiceTest, MalformedArgumentsAreRefusedBeforeTheHub) {
  start();
  client->start();
  const std::string invalid = "org.stewardhub.Steward1.Error.InvalidArgument";

  auto format = client->call<std::string>("Export", std::string("xml"));
  EXPECT_EQ(format.error_name, invalid);
  EXPECT_NE(format.error_message.find("jsonl or csv"), std::string::npos);
  EXPECT_EQ(client->call<std::string>("Approve", std::string("")).error_name, invalid);
  EXPECT_EQ(client->call<std::string>("Cancel", std::string("o 1")).error_name, invalid);
  EXPECT_EQ(client->call<std::string>("Explain", std::string(300, 'x')).error_name, invalid);
  EXPECT_EQ(client
                ->call<std::string>("Log", std::int64_t{-5}, std::string(), std::string(),
                                    std::uint32_t{0})
                .error_name,
            invalid);
  EXPECT_EQ(client->call<std::string>("Simulate", std::string(300 * 1024, '{')).error_name,
            invalid);
  EXPECT_TRUE(ops.calls.empty()) << ops.calls.front().operation;
}

TEST_F(DbusServiceTest, PropertiesReflectTheHub) {
  start();
  client->start();
  ops.mode_value = bus::Mode::paused;
  ops.budget = {{"household", eur(1234), eur(6000)}, {"garden", eur(0), eur(2500)}};
  ops.pending = {{"a-1", "toner", "{}"}, {"a-2", "salt", "{}"}};

  EXPECT_EQ(client->property<std::string>("Mode").value(), "paused");
  EXPECT_EQ(client->property<std::uint32_t>("PendingApprovals").value(), 2u);
  using Use = sdbus::Struct<std::string, std::int64_t, std::int64_t, std::string>;
  auto budget = client->property<std::vector<Use>>("BudgetUse");
  ASSERT_TRUE(budget.ok()) << budget.error_message;
  ASSERT_EQ(budget.value().size(), 2u);
  EXPECT_EQ(std::get<0>(budget.value()[0]), "household");
  EXPECT_EQ(std::get<1>(budget.value()[0]), 1234);
  EXPECT_EQ(std::get<2>(budget.value()[0]), 6000);
  EXPECT_EQ(std::get<3>(budget.value()[0]), "EUR");
}

TEST_F(DbusServiceTest, SignalsAndPropertyChangesArrive) {
  start();
  std::vector<std::string> seen;
  std::map<std::string, int> changed;
  client->proxy()
      .uponSignal("DecisionRecorded")
      .onInterface(bus::kInterface)
      .call([&](std::int64_t seq, const std::string& id, const std::string& kind,
                const std::string& subject, const std::string& outcome) {
        seen.push_back("decision " + std::to_string(seq) + " " + id + " " + kind + " " + subject +
                       " " + outcome);
      });
  client->proxy()
      .uponSignal("ApprovalRequested")
      .onInterface(bus::kInterface)
      .call([&](const std::string& id, const std::string& summary) {
        seen.push_back("approval " + id + " " + summary);
      });
  client->proxy()
      .uponSignal("BudgetChanged")
      .onInterface(bus::kInterface)
      .call([&](const std::string& category, std::int64_t spent, std::int64_t limit,
                const std::string& currency) {
        seen.push_back("budget " + category + " " + std::to_string(spent) + "/" +
                       std::to_string(limit) + " " + currency);
      });
  client->proxy()
      .uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([&](const std::string& interface, const std::map<std::string, sdbus::Variant>& props,
                const std::vector<std::string>&) {
        if (interface != bus::kInterface) return;
        for (const auto& [name, _] : props)
          ++changed[name];
      });
  client->start();
  // Let the match rules reach the bus daemon before anything is emitted.
  ASSERT_TRUE(client->call<std::string>("Status").ok());

  boost::asio::post(io, [&] {
    service->decisionRecorded({42, "d-42", "policy.evaluated", "need:n-1", "needs-approval", {}});
    service->approvalRequested({"a-7", "toner 38.90 EUR", R"({"amount":"38.90 EUR"})"});
    service->budgetChanged({"household", eur(3890), eur(6000)});
    ops.mode_value = bus::Mode::paused;
    service->modeChanged();
  });
  ASSERT_TRUE(runUntil(io, [&] { return seen.size() >= 3 && changed.size() >= 3; }))
      << seen.size() << " signals, " << changed.size() << " properties";
  EXPECT_EQ(seen[0], "decision 42 d-42 policy.evaluated need:n-1 needs-approval");
  EXPECT_EQ(seen[1], R"(approval a-7 {"amount":"38.90 EUR"})");
  EXPECT_EQ(seen[2], "budget household 3890/6000 EUR");
  EXPECT_EQ(changed["PendingApprovals"], 1);
  EXPECT_EQ(changed["BudgetUse"], 1);
  EXPECT_EQ(changed["Mode"], 1);
}

TEST_F(DbusServiceTest, ASecondOwnerIsRefused) {
  start();
  auto connection = bus::openConnection(daemon->address());
  ASSERT_TRUE(connection);
  CapturedLog second_log;
  bus::DbusService second(io.get_executor(), std::move(*connection), ops, second_log.logger());
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("already owned"), std::string::npos)
      << started.error().message;
  EXPECT_FALSE(second.ownsName());
  // The first one still answers.
  client->start();
  EXPECT_TRUE(client->call<std::string>("Status").ok());
}

TEST_F(DbusServiceTest, OutsidersMayReadStatusButNotApprove) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a caller as another uid";
  start();
  ops.answers.emplace("status", std::string(R"({"mode":"running"})"));

  auto status = callAs(nobody(), "Status");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find(R"({"mode":"running"})"), std::string::npos) << status.output;

  auto approve = callAs(nobody(), "Approve", {"string:a-1"});
  EXPECT_NE(approve.exit_code, 0);
  EXPECT_NE(approve.output.find("AccessDenied"), std::string::npos) << approve.output;
  EXPECT_EQ(ops.count("approve"), 0);
  // The bus daemon refused it and says so in its log.
  EXPECT_NE(daemon->log().find("Rejected send message"), std::string::npos) << daemon->log();
  EXPECT_NE(daemon->log().find("member=\"Approve\""), std::string::npos) << daemon->log();

  auto log_read = callAs(nobody(), "Log", {"int64:0", "string:", "string:", "uint32:0"});
  EXPECT_NE(log_read.exit_code, 0);
  EXPECT_EQ(ops.count("log"), 0);
}

TEST_F(DbusServiceTest, TheDaemonRefusesOutsidersEvenWhenTheBusLetsThemThrough) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a caller as another uid";
  // A broken install: a policy that lets everyone call everything.
  DbusDaemonOptions options;
  options.extra_config =
      "<policy context=\"mandatory\"><allow send_destination=\"org.stewardhub.Steward1\"/>"
      "</policy>";
  start(options);

  auto approve = callAs(nobody(), "Approve", {"string:a-1"});
  EXPECT_NE(approve.exit_code, 0);
  EXPECT_NE(approve.output.find("org.stewardhub.Steward1.Error.AccessDenied"), std::string::npos)
      << approve.output;
  EXPECT_EQ(ops.count("approve"), 0);
  const std::string uid = std::to_string(uidOf("nobody"));
  EXPECT_EQ(log.count("dbus.access_denied member=Approve"), 1) << log.text();
  EXPECT_EQ(log.count("uid=" + uid), 1) << log.text();
  // The refusal is handed to the hub to go on the record, with who asked for what.
  ASSERT_EQ(ops.refusals.size(), 1u);
  EXPECT_EQ(ops.refusals[0].member, "Approve");
  EXPECT_EQ(ops.refusals[0].uid, uidOf("nobody"));
  EXPECT_EQ(ops.refusals[0].channel, "dbus");
}

TEST_F(DbusServiceTest, AdminGroupMembersMayApproveAndTheirUidIsRecorded) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a caller as another uid";
  // nobody's primary group stands in for steward-admin, in both the bus policy and the daemon.
  DbusDaemonOptions options;
  options.admin_group = "nogroup";
  start(options, "nogroup");
  ops.answers.emplace("approve", std::string(R"({"decision":"d-5"})"));

  auto approve = callAs(nobody(), "Approve", {"string:a-1"});
  EXPECT_EQ(approve.exit_code, 0) << approve.output << daemon->log();
  ASSERT_EQ(ops.count("approve"), 1);
  ASSERT_TRUE(ops.last("approve")->caller.uid.has_value());
  EXPECT_EQ(*ops.last("approve")->caller.uid, uidOf("nobody"));

  // Someone else, still outside the group, is refused.
  auto other =
      callAs({"--reuid=daemon", "--regid=daemon", "--clear-groups"}, "Approve", {"string:a-1"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_EQ(ops.count("approve"), 1);
}

TEST_F(DbusServiceTest, AGroupGrantedOnlyToTheProcessDoesNotMakeAnAdmin) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a caller as another uid";
  // nobody is not a member of "users" in the user database; a process that merely carries the
  // group (setgroups) is still refused. dbus-daemon 1.14 judges group="" rules by the process's
  // groups (SO_PEERGROUPS) and lets it through; the daemon judges by the user database.
  start();
  auto approve = callAs(nobody({"users"}), "Approve", {"string:a-1"});
  EXPECT_NE(approve.exit_code, 0);
  EXPECT_NE(approve.output.find("AccessDenied"), std::string::npos) << approve.output;
  EXPECT_EQ(ops.count("approve"), 0);
}

TEST_F(DbusServiceTest, LosingTheBusIsReported) {
  start();
  bool lost = false;
  service->onConnectionLost([&] { lost = true; });
  daemon.reset();
  EXPECT_TRUE(runUntil(io, [&] { return lost; }));
  EXPECT_FALSE(service->ownsName());
  EXPECT_EQ(log.count("dbus.connection_lost"), 1);
}

}  // namespace
}  // namespace steward::test
