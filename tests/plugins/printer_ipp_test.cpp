// steward-printer against a real IPP printer (ippeveprinter, which needs avahi-daemon, so both run
// in a private network namespace) and a real broker, read by the hub's DeviceHub. Skips when
// namespaces cannot be made (no privilege) or ippeveprinter is missing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>

#include "discovery/device_hub.hpp"
#include "discovery/settings.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "support/avahi_netns.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"

namespace steward::printer {
namespace {

using namespace std::chrono_literals;

TEST(PrinterPlugin, PublishesTheSuppliesOfARealIppPrinter) {
  if (test::findProgram("ippeveprinter").empty() || test::findProgram("ipptool").empty())
    GTEST_SKIP() << "ippeveprinter/ipptool (cups-ipp-utils) are not installed";
  auto ns = test::AvahiNetns::create();  // first: it needs a single-threaded process
  if (!ns) GTEST_SKIP() << ns.error().message;
  (*ns)->startAvahi();
  ASSERT_TRUE((*ns)->waitAvahiRunning(20s)) << (*ns)->avahiLog();
  const std::string spool = (*ns)->dir().file("spool"), keys = (*ns)->dir().file("keys");
  ::mkdir(spool.c_str(), 0700);
  ::mkdir(keys.c_str(), 0700);
  const auto port = test::freeTcpPort();
  auto printer = (*ns)->spawn({"ippeveprinter", "-p", std::to_string(port), "-d", spool, "-K", keys,
                               "-M", "Steward", "-m", "Test Printer", "Office printer"},
                              "ippeveprinter");
  ASSERT_TRUE(test::waitFor([&] { return test::tcpPortOpen(port); }, 30s))
      << test::readFile((*ns)->dir().file("ippeveprinter.log"));

  test::Broker broker;
  core::ManualClock clock{core::fromUnixMillis(1'700'000'000'000)};
  core::Logger log(core::LogLevel::warning);
  auto ledger = ledger::SqliteLedger::open((*ns)->dir().file("steward.db"), clock);
  ASSERT_TRUE(ledger.ok());
  discovery::Settings config;
  boost::asio::io_context io;
  mqtt::MosquittoOptions options;
  options.broker.port = broker.port();
  mqtt::MosquittoClient client(io.get_executor(), options, log);
  discovery::DeviceHub hub(io.get_executor(), client, **ledger, config, clock, log);
  ASSERT_TRUE(hub.start().ok());
  client.start();

  const std::string plugin_log = (*ns)->dir().file("plugin.log");
  test::Process plugin(
      {std::string(STEWARD_BINARY_DIR) + "/plugins/printer/steward-printer", "--uri",
       "ipp://127.0.0.1:" + std::to_string(port) + "/ipp/print", "--id", "office", "--name",
       "Office printer", "--broker", "127.0.0.1:" + std::to_string(broker.port()), "--once"},
      plugin_log);
  const auto status = plugin.wait(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << test::readFile(plugin_log);

  const discovery::Device* d = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    io.restart();
    d = hub.registry().find("steward:office");
    if (d && d->levels.contains("toner-black") && d->levels.contains("waste-toner")) break;
  }
  ASSERT_TRUE(d) << test::readFile(plugin_log);
  EXPECT_EQ(d->kind, "printer");
  EXPECT_EQ(d->name, "Office printer");
  EXPECT_EQ(d->model, "Steward Test Printer");
  ASSERT_TRUE(d->levels.contains("toner-black")) << test::readFile(plugin_log);
  EXPECT_EQ(d->levels.at("toner-black").value, 75);  // ippeveprinter's built-in supplies
  EXPECT_EQ(d->levels.at("toner-black").unit, "%");
  ASSERT_TRUE(d->levels.contains("waste-toner"));
  EXPECT_EQ(d->levels.at("waste-toner").value, 75);
  EXPECT_TRUE(d->needs.empty());  // nothing is low
  ASSERT_FALSE(d->identifiers.empty());
  EXPECT_EQ(d->identifiers[0].rfind("uuid:", 0), 0u);
  EXPECT_EQ(hub.counters().rejected_total(), 0u);
}

}  // namespace
}  // namespace steward::printer
