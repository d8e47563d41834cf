// MosquittoClient against a real mosquitto broker: delivery, overlapping subscriptions,
// reconnect after the broker dies (retained messages re-read), the Last Will, and TLS.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "mqtt/mosquitto_client.hpp"
#include "support/broker.hpp"
#include "support/notify_socket.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::mqtt {
namespace {

using namespace std::chrono_literals;
using test::Broker;

BrokerConfig brokerAt(std::uint16_t port) {
  BrokerConfig b;
  b.port = port;
  b.reconnect_min = 50ms;
  b.reconnect_max = 200ms;
  return b;
}

class MqttTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` holds or `timeout` passes.
  template <class F>
  bool runUntil(F&& done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.restart();
      io_.run_for(10ms);
    }
    return true;
  }

  // Clients other than "stewardd" announce themselves on their own availability topic.
  std::unique_ptr<MosquittoClient> client(BrokerConfig b, std::string id = "stewardd") {
    MosquittoOptions o;
    if (id != "stewardd") o.availability_topic = "test/" + id + "/availability";
    b.client_id = std::move(id);
    o.broker = std::move(b);
    return std::make_unique<MosquittoClient>(io_.get_executor(), o, log_);
  }

  boost::asio::io_context io_;
  core::Logger log_{core::LogLevel::warning};
};

TEST_F(MqttTest, DeliversMessagesAndRetainedStateToSubscribers) {
  Broker broker;
  auto c = client(brokerAt(broker.port()));
  std::vector<std::string> got;
  c->subscribe("t/+", 1, [&](const Message& m) {
    got.push_back(std::string(m.topic) + "=" + std::string(m.payload) + (m.retain ? " r" : ""));
  });
  c->start();
  ASSERT_TRUE(runUntil([&] { return c->connected(); }));
  ASSERT_TRUE(c->publish("t/a", "1", 1, true).ok());
  ASSERT_TRUE(runUntil([&] { return got.size() == 1; }));
  EXPECT_EQ(got[0], "t/a=1");

  // A second client sees the retained message as retained.
  auto c2 = client(brokerAt(broker.port()), "second");
  std::string retained;
  c2->subscribe("t/#", 0, [&](const Message& m) {
    if (m.retain) retained = std::string(m.payload);
  });
  c2->start();
  ASSERT_TRUE(runUntil([&] { return retained == "1"; }));
}

TEST_F(MqttTest, OverlappingFiltersDeliverOnceToEachHandler) {
  Broker broker;
  auto c = client(brokerAt(broker.port()));
  std::map<std::string, int> calls;
  c->subscribe("home/#", 0, [&](const Message&) { ++calls["hash"]; });
  c->subscribe("home/+/battery", 0, [&](const Message&) { ++calls["plus"]; });
  c->subscribe("home/#", 0, [&](const Message&) { ++calls["hash2"]; });
  c->start();
  ASSERT_TRUE(runUntil([&] { return c->connected(); }));
  runUntil([] { return false; }, 200ms);  // let the SUBACKs arrive
  ASSERT_TRUE(c->publish("home/sensor/battery", "9", 0, false).ok());
  ASSERT_TRUE(c->publish("home/sensor/state", "x", 0, false).ok());
  ASSERT_TRUE(runUntil([&] { return calls["hash"] == 2 && calls["plus"] == 1; }));
  runUntil([] { return false; }, 300ms);  // any duplicate would arrive by now
  EXPECT_EQ(calls["hash"], 2);
  EXPECT_EQ(calls["hash2"], 2);
  EXPECT_EQ(calls["plus"], 1);
}

TEST_F(MqttTest, ReconnectsAfterTheBrokerDiesAndRereadsRetainedMessages) {
  Broker broker;
  auto c = client(brokerAt(broker.port()));
  std::vector<bool> transitions;
  c->onConnectionChange([&](bool up) { transitions.push_back(up); });
  int needs = 0;
  c->subscribe("steward/device/+/need/#", 1, [&](const Message&) { ++needs; });
  c->start();
  ASSERT_TRUE(runUntil([&] { return c->connected(); }));
  ASSERT_TRUE(c->publish("steward/device/p1/need/toner", "{\"level\":8}", 1, true).ok());
  ASSERT_TRUE(runUntil([&] { return needs == 1; }));
  runUntil([] { return false; }, 1200ms);  // the broker autosaves retained state every second

  broker.kill();
  ASSERT_TRUE(runUntil([&] { return !c->connected(); }));
  EXPECT_FALSE(c->publish("x", "y", 0, false).ok());
  runUntil([] { return false; }, 500ms);  // a few failed attempts while it is down

  broker.restart();
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(runUntil([&] { return needs == 2; }, 2s)) << broker.log();
  EXPECT_LT(std::chrono::steady_clock::now() - restarted, 2s);
  EXPECT_EQ(transitions, (std::vector<bool>{true, false, true}));
  EXPECT_GE(c->reconnects(), 1u);
}

TEST_F(MqttTest, StopSaysOfflineAndTheLastWillCoversACrash) {
  Broker broker;
  auto watcher = client(brokerAt(broker.port()), "watcher");
  std::vector<std::string> availability;
  watcher->subscribe("steward/hub/availability", 1,
                     [&](const Message& m) { availability.emplace_back(m.payload); });
  watcher->start();
  ASSERT_TRUE(runUntil([&] { return watcher->connected(); }));

  {
    auto hub = client(brokerAt(broker.port()));
    hub->start();
    ASSERT_TRUE(runUntil([&] { return availability.size() == 1; }));
    EXPECT_EQ(availability.back(), "online");
    bool stopped = false;
    hub->stop([&] { stopped = true; });
    ASSERT_TRUE(runUntil([&] { return stopped && availability.size() == 2; }));
    EXPECT_EQ(availability.back(), "offline");
  }

  // A hub process killed with SIGKILL never says goodbye: the broker publishes its Will.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    boost::asio::io_context io;
    core::Logger quiet(core::LogLevel::error);
    MosquittoOptions o;
    o.broker = brokerAt(broker.port());
    o.broker.client_id = "crashing-hub";
    MosquittoClient hub(io.get_executor(), o, quiet);
    hub.start();
    io.run_for(std::chrono::seconds(30));
    ::_exit(0);
  }
  const bool online = runUntil([&] { return availability.size() == 3; }, 10s);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(online);
  EXPECT_EQ(availability.back(), "online");
  ASSERT_TRUE(runUntil([&] { return availability.size() == 4; }, 10s));
  EXPECT_EQ(availability.back(), "offline");
}

// Creates a CA and a server certificate for 127.0.0.1 with the openssl command line tool.
bool makeCertificates(const test::TempDir& dir, const std::string& name) {
  const std::string d = dir.path();
  const std::string cmd =
      "cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " +
      "-keyout " + name + "-ca.key -out " + name + "-ca.pem -days 2 -subj /CN=" + name +
      "-ca >/dev/null 2>&1 && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes " +
      "-keyout " + name + "-server.key -out " + name + "-server.csr -subj /CN=127.0.0.1 " +
      ">/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' > " + name + "-ext.cnf && " +
      "openssl x509 -req -in " + name + "-server.csr -CA " + name + "-ca.pem -CAkey " + name +
      "-ca.key -CAcreateserial -out " + name + "-server.pem -days 2 -extfile " + name +
      "-ext.cnf >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST_F(MqttTest, ConnectsOverTlsAndRefusesAnUntrustedBroker) {
  test::TempDir certs;
  ASSERT_TRUE(makeCertificates(certs, "good"));
  ASSERT_TRUE(makeCertificates(certs, "other"));
  const std::uint16_t port = test::freeTcpPort();
  Broker broker("listener " + std::to_string(port) + " 127.0.0.1\ncafile " +
                certs.file("good-ca.pem") + "\ncertfile " + certs.file("good-server.pem") +
                "\nkeyfile " + certs.file("good-server.key") + "\n");

  auto b = brokerAt(port);
  b.tls = true;
  b.ca_file = certs.file("good-ca.pem");
  auto c = client(b);
  c->start();
  ASSERT_TRUE(runUntil([&] { return c->connected(); })) << broker.log();

  b.ca_file = certs.file("other-ca.pem");
  auto untrusting = client(b, "untrusting");
  untrusting->start();
  runUntil([] { return false; }, 1s);
  EXPECT_FALSE(untrusting->connected());
}

}  // namespace
}  // namespace steward::mqtt
