// The systemd contract of the real stewardd binary: READY=1 once the ledger, the policy and the
// bus name are ready (the broker is retried in the background and reported in STATUS=),
// WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 and a
// clean exit within 2 s on SIGTERM; --check-config reports problems with file:line:col.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <sstream>

#include "support/broker.hpp"
#include "support/dbus_daemon.hpp"
#include "support/notify_socket.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;

const std::string kStewardd = STEWARD_BINARY_DIR "/daemon/stewardd";

DbusDaemonOptions shippedBusPolicy() {
  DbusDaemonOptions o;
  o.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
  return o;
}

class StewarddTest : public ::testing::Test {
 protected:
  // The daemon's settings, the shipped default policy, and a private bus for its name.
  std::string writeConfig(std::uint16_t port) {
    dir_.write("etc/policy.toml", readFile(STEWARD_SOURCE_DIR "/policy/policy.toml"));
    return dir_.write("stewardd.toml",
                      "[daemon]\nstate_directory = \"" + dir_.file("state") +
                          "\"\npolicy_directory = \"" + dir_.file("etc") + "\"\nbus_address = \"" +
                          bus_.address() +
                          "\"\n[broker]\nurl = \"mqtt://127.0.0.1:" + std::to_string(port) +
                          "\"\nreconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n"
                          "[discovery]\navahi = false\n");
  }

  Process startDaemon(const std::string& config, std::vector<std::string> env = {}) {
    env.push_back(notify_.env());
    return Process({kStewardd, "--config", config}, dir_.file("stewardd.log"), env);
  }

  std::string daemonLog() const { return readFile(dir_.file("stewardd.log")); }

  TempDir dir_;
  NotifySocket notify_{dir_.file("notify.sock")};
  DbusDaemon bus_{shippedBusPolicy()};
};

TEST_F(StewarddTest, ReadyWithoutTheBrokerWhichIsRetriedAndReported) {
  // Reserve a port with no broker behind it yet: the hub is ready (ledger, policy, bus name) and
  // says in STATUS= that it waits for the broker, which it keeps retrying in the background.
  const std::uint16_t port = freeTcpPort();
  Process daemon = startDaemon(writeConfig(port));
  ASSERT_TRUE(notify_.waitForLine("READY=1", 10s)) << daemonLog();
  ASSERT_TRUE(notify_.waitForLine(
      "STATUS=waiting for the MQTT broker at 127.0.0.1:" + std::to_string(port) + " (retrying)",
      5s))
      << daemonLog();
  EXPECT_EQ(daemonLog().find("mqtt.connected"), std::string::npos);

  Broker broker("listener " + std::to_string(port) + " 127.0.0.1\n");
  ASSERT_TRUE(
      notify_.waitForLine("STATUS=listening to devices through the MQTT broker at "
                          "127.0.0.1:" +
                              std::to_string(port),
                          10s))
      << daemonLog();
  EXPECT_NE(daemonLog().find("mqtt.connected"), std::string::npos) << daemonLog();
  ASSERT_TRUE(daemon.running()) << daemonLog();
  daemon.stop();
}

TEST_F(StewarddTest, StoppingOnSigtermAndCleanExitWithinTwoSeconds) {
  Broker broker;
  Process daemon = startDaemon(writeConfig(broker.port()));
  ASSERT_TRUE(notify_.waitForLine("READY=1", 10s)) << daemonLog();
  const auto sent = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(notify_.waitForLine("STOPPING=1", 2s)) << daemonLog();
  auto status = daemon.wait(2s);
  ASSERT_TRUE(status.has_value()) << "still running 2 s after SIGTERM\n" << daemonLog();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << daemonLog();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s);
}

TEST_F(StewarddTest, WatchdogPingsAtHalfTheInterval) {
  Broker broker;
  // WATCHDOG_USEC = 400 ms: pings every 200 ms, so about 10 in two seconds.
  Process daemon = startDaemon(writeConfig(broker.port()), {"WATCHDOG_USEC=400000"});
  ASSERT_TRUE(notify_.waitForLine("READY=1", 10s)) << daemonLog();
  int pings = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 2s) {
    auto d = notify_.receive(100ms);
    if (d && hasLine(d->text, "WATCHDOG=1")) ++pings;
  }
  // A missing timer gives 0, a busy loop hundreds; the rate is 5/s with generous slack.
  EXPECT_GE(pings, 6);
  EXPECT_LE(pings, 14);
  daemon.stop();
}

TEST_F(StewarddTest, SighupReloadsAndReportsReadyAgain) {
  Broker broker;
  Process daemon = startDaemon(writeConfig(broker.port()));
  ASSERT_TRUE(notify_.waitForLine("READY=1", 10s)) << daemonLog();
  daemon.signal(SIGHUP);
  auto reloading = notify_.waitForLine("RELOADING=1", 5s);
  ASSERT_TRUE(reloading) << daemonLog();
  EXPECT_NE(reloading->text.find("MONOTONIC_USEC="), std::string::npos);
  ASSERT_TRUE(notify_.waitForLine("READY=1", 5s)) << daemonLog();
  EXPECT_TRUE(daemon.running());
  daemon.stop();
}

TEST_F(StewarddTest, PolicyLoadedIsLoggedOnceAtStart) {
  auto linesWith = [this](std::string_view what) {
    std::istringstream in(daemonLog());
    int n = 0;
    for (std::string line; std::getline(in, line);)
      if (line.find(what) != std::string::npos) ++n;
    return n;
  };
  Broker broker;
  Process daemon = startDaemon(writeConfig(broker.port()));
  ASSERT_TRUE(notify_.waitForLine("READY=1", 10s)) << daemonLog();
  EXPECT_EQ(linesWith("policy.loaded"), 1) << daemonLog();
  EXPECT_EQ(linesWith("policy.mode"), 1) << daemonLog();
  // A reload of the same files says so, and is not a second load.
  daemon.signal(SIGHUP);
  ASSERT_TRUE(notify_.waitForLine("RELOADING=1", 5s)) << daemonLog();
  ASSERT_TRUE(notify_.waitForLine("READY=1", 5s)) << daemonLog();
  EXPECT_EQ(linesWith("policy.loaded"), 1) << daemonLog();
  EXPECT_EQ(linesWith("policy.unchanged"), 1) << daemonLog();
  daemon.stop();
}

TEST_F(StewarddTest, RefusesToStartOnAnInvalidPolicyAndSaysWhere) {
  Broker broker;
  const std::string config = writeConfig(broker.port());
  dir_.write("etc/policy.toml",
             "[household]\nname = \"x\"\ncurrency = \"EUR\"\n"
             "time_zone = \"Europe/Berlin\"\n[budgets.food]\nmonthly = \"60\"\n");
  Process daemon = startDaemon(config);
  auto status = daemon.wait(10s);
  ASSERT_TRUE(status) << daemonLog();
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(daemonLog().find("policy.toml:6:11: budgets.food.monthly: expected an amount like"),
            std::string::npos)
      << daemonLog();
  EXPECT_FALSE(notify_.receive(100ms));
}

TEST_F(StewarddTest, CheckConfigReportsBadKeyWithLineAndColumn) {
  const std::string config =
      dir_.write("bad.toml", "[daemon]\nlog_level = \"info\"\n  stat_directory = \"/x\"\n");
  Process check({kStewardd, "--check-config", "--config", config}, dir_.file("check.log"));
  auto status = check.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(readFile(dir_.file("check.log"))
                .find(config + ":3:3: daemon.stat_directory: unknown key; did you mean "
                               "\"state_directory\"?"),
            std::string::npos)
      << readFile(dir_.file("check.log"));

  const std::string good = writeConfig(1883);
  Process ok({kStewardd, "--check-config", "--config", good}, dir_.file("ok.log"));
  status = ok.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0) << readFile(dir_.file("ok.log"));
}

}  // namespace
}  // namespace steward::test
