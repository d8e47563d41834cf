// The hub's Home Assistant entities over a real mosquitto broker: discovery and state are
// published retained (an HA that connects later still sees them), commands are carried out only
// while the policy allows them, and the approve button approves exactly the request it shows.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <map>

#include "bus/bus_client.hpp"
#include "bus/captured_log.hpp"
#include "bus/fake_operations.hpp"
#include "ha/entities.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "support/broker.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

core::Money eur(std::int64_t minor) {
  return core::Money{minor, *core::currencyFromCode("EUR")};
}

class HomeAssistantTest : public ::testing::Test {
 protected:
  std::unique_ptr<mqtt::MosquittoClient> client(const std::string& id) {
    mqtt::MosquittoOptions o;
    o.broker.port = broker.port();
    o.broker.client_id = id;
    o.broker.reconnect_min = 50ms;
    o.broker.reconnect_max = 200ms;
    o.availability_topic = id == "stewardd" ? "steward/hub/availability" : "test/" + id;
    return std::make_unique<mqtt::MosquittoClient>(io.get_executor(), o, quiet);
  }

  void startHub(bool commands_allowed) {
    hub_mqtt = client("stewardd");
    entities = std::make_unique<ha::HomeAssistantEntities>(*hub_mqtt, ops, log.logger());
    entities->setCommandsAllowed(commands_allowed);
    entities->start();
    hub_mqtt->start();
    ASSERT_TRUE(runUntil(io, [&] { return hub_mqtt->connected(); }));
  }

  // An observer standing in for Home Assistant: remembers the last payload per topic.
  void startObserver() {
    observer = client("home-assistant");
    observer->subscribe("homeassistant/#", 1, [&](const mqtt::Message& m) {
      seen[std::string(m.topic)] = std::string(m.payload);
    });
    observer->subscribe("steward/hub/#", 1, [&](const mqtt::Message& m) {
      seen[std::string(m.topic)] = std::string(m.payload);
    });
    observer->start();
    ASSERT_TRUE(runUntil(io, [&] { return observer->connected(); }));
  }

  bool waitFor(const std::string& topic, const std::string& payload) {
    return runUntil(io, [&] {
      auto it = seen.find(topic);
      return it != seen.end() && it->second == payload;
    });
  }
  // Present and not cleared (an empty retained payload deletes an entity).
  bool waitForTopic(const std::string& topic) {
    return runUntil(io, [&] { return seen.contains(topic) && !seen[topic].empty(); });
  }
  bool absent(const std::string& topic) { return !seen.contains(topic) || seen[topic].empty(); }
  json::object config(const std::string& topic) { return json::parse(seen.at(topic)).as_object(); }
  void command(const std::string& topic, const std::string& payload, bool retain = false) {
    ASSERT_TRUE(observer->publish(topic, payload, 1, retain).ok());
  }
  // Commands are asynchronous; a refusal shows only in the log, so wait for its line.
  bool waitForLog(const std::string& needle, int count = 1) {
    return runUntil(io, [&] { return log.count(needle) >= count; });
  }

  Broker broker;
  boost::asio::io_context io;
  core::Logger quiet{core::LogLevel::error};
  CapturedLog log;
  FakeOperations ops;
  std::unique_ptr<mqtt::MosquittoClient> hub_mqtt;
  std::unique_ptr<mqtt::MosquittoClient> observer;
  std::unique_ptr<ha::HomeAssistantEntities> entities;
  std::map<std::string, std::string> seen;
};

TEST_F(HomeAssistantTest, DiscoveryAndStateAreRetainedForALateHomeAssistant) {
  ops.budget = {{"household", eur(1234), eur(6000)}, {"Garden & Pool", eur(0), eur(2500)}};
  ops.pending = {{"a-1", "printer-office: toner TN-2420, 38.90 EUR", "{}"}};
  startHub(false);
  entities->decisionRecorded(
      {7, "d-7", "policy.evaluated", "need:n-1", "needs-approval", core::fromUnixMillis(0)});
  startObserver();  // connects after everything was published

  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_spend_household/config"));
  auto spend = config("homeassistant/sensor/steward_spend_household/config");
  EXPECT_EQ(spend.at("unique_id").as_string(), "steward_spend_household");
  EXPECT_EQ(spend.at("device_class").as_string(), "monetary");
  EXPECT_EQ(spend.at("unit_of_measurement").as_string(), "EUR");
  EXPECT_EQ(spend.at("availability_topic").as_string(), "steward/hub/availability");
  const std::string state_topic(spend.at("state_topic").as_string());
  ASSERT_TRUE(waitForTopic(state_topic));
  auto state = json::parse(seen[state_topic]).as_object();
  EXPECT_EQ(state.at("spent").as_string(), "12.34");
  EXPECT_EQ(state.at("limit").as_string(), "60.00");
  EXPECT_EQ(state.at("used_percent").as_int64(), 20);

  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_spend_garden___pool/config"));
  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_pending_approvals/config"));
  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_last_decision/config"));
  // Read-only while the policy does not allow commands.
  ASSERT_TRUE(waitForTopic("homeassistant/binary_sensor/steward_purchasing_paused/config"));
  EXPECT_FALSE(config("homeassistant/binary_sensor/steward_purchasing_paused/config")
                   .contains("command_topic"));
  EXPECT_TRUE(absent("homeassistant/switch/steward_purchasing_paused/config"));
  EXPECT_TRUE(absent("homeassistant/button/steward_approve_shown_request/config"));

  ASSERT_TRUE(waitFor("steward/hub/paused", "OFF"));
  ASSERT_TRUE(waitForTopic("steward/hub/approvals"));
  auto approvals = json::parse(seen["steward/hub/approvals"]).as_object();
  EXPECT_EQ(approvals.at("pending").as_int64(), 1);
  EXPECT_EQ(approvals.at("shown").at("id").as_string(), "a-1");
  ASSERT_TRUE(waitForTopic("steward/hub/last_decision"));
  auto last = json::parse(seen["steward/hub/last_decision"]).as_object();
  EXPECT_EQ(last.at("id").as_string(), "d-7");
  EXPECT_EQ(last.at("outcome").as_string(), "needs-approval");
  EXPECT_EQ(last.at("at").as_string(), "1970-01-01T00:00:00Z");
}

TEST_F(HomeAssistantTest, ABudgetCategoryDroppedByThePolicyLosesItsEntity) {
  ops.budget = {{"household", eur(1234), eur(6000)}, {"garden", eur(0), eur(2500)}};
  startHub(false);
  startObserver();
  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_spend_garden/config"));
  ASSERT_TRUE(waitForTopic("steward/hub/spend/garden"));

  ops.budget.pop_back();  // a reload removed [budgets.garden]
  entities->refresh();
  ASSERT_TRUE(waitFor("homeassistant/sensor/steward_spend_garden/config", ""));
  ASSERT_TRUE(waitFor("steward/hub/spend/garden", ""));
  EXPECT_FALSE(absent("homeassistant/sensor/steward_spend_household/config"));

  // A spend update for a category seen for the first time announces it.
  entities->budgetChanged({"pets", eur(500), eur(2000)});
  ASSERT_TRUE(waitForTopic("homeassistant/sensor/steward_spend_pets/config"));
  ASSERT_TRUE(waitForTopic("steward/hub/spend/pets"));
  EXPECT_EQ(json::parse(seen["steward/hub/spend/pets"]).at("spent").as_string(), "5.00");
}

TEST_F(HomeAssistantTest, CommandsAreRefusedUnlessThePolicyAllowsThem) {
  startHub(false);
  startObserver();
  command(entities->pausedCommandTopic(), "ON");
  ASSERT_TRUE(waitForLog("ha.command_refused command=pause")) << log.text();
  EXPECT_EQ(ops.count("pause"), 0);
  EXPECT_NE(log.text().find("the policy does not allow"), std::string::npos);

  // The policy now allows it: the switch replaces the binary_sensor, and ON pauses.
  entities->setCommandsAllowed(true);
  ASSERT_TRUE(waitForTopic("homeassistant/switch/steward_purchasing_paused/config"));
  EXPECT_EQ(config("homeassistant/switch/steward_purchasing_paused/config")
                .at("command_topic")
                .as_string(),
            "steward/hub/paused/set");
  ASSERT_TRUE(waitFor("homeassistant/binary_sensor/steward_purchasing_paused/config", ""));
  command(entities->pausedCommandTopic(), "ON");
  ASSERT_TRUE(waitFor("steward/hub/paused", "ON"));
  ASSERT_EQ(ops.count("pause"), 1);
  EXPECT_EQ(ops.last("pause")->argument, "");
  EXPECT_EQ(ops.last("pause")->caller.channel, "home-assistant");
  EXPECT_FALSE(ops.last("pause")->caller.uid.has_value());
  command(entities->pausedCommandTopic(), "OFF");
  ASSERT_TRUE(waitFor("steward/hub/paused", "OFF"));
  EXPECT_EQ(ops.count("resume"), 1);

  command(entities->pausedCommandTopic(), "MAYBE");
  ASSERT_TRUE(waitForLog("payload must be ON or OFF"));
  EXPECT_EQ(ops.count("pause") + ops.count("resume"), 2);
}

TEST_F(HomeAssistantTest, TheButtonApprovesOnlyTheRequestItShows) {
  ops.pending = {{"a-1", "toner", "{}"}, {"a-2", "salt", "{}"}};
  startHub(true);
  startObserver();
  ASSERT_TRUE(waitForTopic("homeassistant/button/steward_approve_shown_request/config"));
  EXPECT_EQ(config("homeassistant/button/steward_approve_shown_request/config").at("payload_press"),
            "a-1");

  command(entities->approveCommandTopic(), "a-2");
  ASSERT_TRUE(waitForLog("not the request shown"));
  EXPECT_EQ(ops.count("approve"), 0);

  command(entities->approveCommandTopic(), "a-1");
  ASSERT_TRUE(runUntil(io, [&] { return ops.count("approve") == 1; }));
  EXPECT_EQ(ops.last("approve")->argument, "a-1");
  EXPECT_EQ(ops.last("approve")->caller.channel, "home-assistant");

  // Decided: the hub reports the change and the button moves on to the next request.
  ops.pending.erase(ops.pending.begin());
  entities->approvalsChanged();
  ASSERT_TRUE(runUntil(io, [&] {
    auto it = seen.find("homeassistant/button/steward_approve_shown_request/config");
    return it != seen.end() && it->second.find("\"a-2\"") != std::string::npos;
  }));

  // Nothing pending: no button at all.
  ops.pending.clear();
  entities->approvalsChanged();
  ASSERT_TRUE(waitFor("homeassistant/button/steward_approve_shown_request/config", ""));
}

TEST_F(HomeAssistantTest, ARetainedCommandIsNotACommand) {
  startHub(true);
  startObserver();
  // Left retained on the broker by someone; the hub reconnecting later must not act on it.
  command(entities->pausedCommandTopic(), "ON", true);
  ASSERT_TRUE(waitFor("steward/hub/paused", "ON"));  // live delivery: a real command
  ops.mode_value = bus::Mode::running;
  entities->modeChanged();
  ASSERT_TRUE(waitFor("steward/hub/paused", "OFF"));

  entities.reset();
  hub_mqtt.reset();
  startHub(true);
  ASSERT_TRUE(waitForLog("reason=\"retained message")) << log.text();
  EXPECT_EQ(ops.count("pause"), 1);
  EXPECT_EQ(seen["steward/hub/paused"], "OFF");
}

}  // namespace
}  // namespace steward::test
