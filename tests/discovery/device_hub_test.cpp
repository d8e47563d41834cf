// The registry and the DeviceHub on a real SQLite ledger, fed through an in-process client:
// samples, one registry whatever the source, persistence, batching, merging, trust and caps.
#include <gtest/gtest.h>

#include <sstream>

#include "discovery/report.hpp"
#include "discovery_fixture.hpp"

namespace steward::discovery::testing {
namespace {

using namespace std::chrono_literals;

std::string hello(const std::string& id, const std::string& extra = "") {
  return R"({"protocol": 1, "id": ")" + id + R"(", "kind": "printer", "name": "Printer )" + id +
         "\"" + extra + "}";
}

std::string report(ledger::Database& db, ReportFormat f = ReportFormat::json) {
  std::ostringstream out;
  auto r = printDevices(db, out, f);
  EXPECT_TRUE(r.ok());
  return out.str();
}

TEST_F(DiscoveryTest, EverySampleMessageLandsInTheRegistry) {
  startHub();
  for (const auto& s : loadSamples())
    send(s.topic, s.payload, s.retain);
  const auto& c = hub_->counters();
  EXPECT_EQ(c.rejected_total(), 0u) << log_.text();

  // Zigbee2MQTT discovery + the state topic it names: one device with the discovery's identity.
  const Device* weather =
      hub_->registry().findBySource({"homeassistant", "zigbee2mqtt_0x0017880104e45522"});
  ASSERT_TRUE(weather);
  EXPECT_EQ(weather->manufacturer, "Aqara");
  EXPECT_EQ(weather->model, "Temperature and humidity sensor");
  EXPECT_EQ(weather->availability, Availability::online);  // from zigbee2mqtt/bridge/state
  const Device* button = hub_->registry().findBySource({"zigbee2mqtt", "button_double_key"});
  ASSERT_TRUE(button);
  ASSERT_TRUE(button->levels.contains("battery"));
  EXPECT_EQ(button->levels.at("battery").value, 93);
  EXPECT_TRUE(button->needs.empty());  // 93 % is no need
  EXPECT_TRUE(hub_->registry().findBySource({"homeassistant", "sensorBedroomT"}));
  EXPECT_TRUE(hub_->registry().findBySource({"zigbee2mqtt", "bridge"}));
  // Homie: "Battery is low, at 8%" is an open battery need.
  const Device* homie = hub_->registry().findBySource({"homie", "mydevid"});
  ASSERT_TRUE(homie);
  ASSERT_TRUE(homie->needs.contains("battery/battery"));
  EXPECT_EQ(homie->needs.at("battery/battery").level, 8.0);
  EXPECT_EQ(decisions("device.admitted"), static_cast<long long>(hub_->registry().size()));
}

TEST_F(DiscoveryTest, ABatteryAtEightPercentIsANeedWhateverItsSource) {
  startHub();
  send("steward/device/remote/hello", hello("remote"), true);
  send("steward/device/remote/need/battery",
       R"({"id": "remote", "kind": "battery", "level": 8, "unit": "%"})", true);
  send("zigbee2mqtt/hall_button", R"({"battery": 8})");
  send("tele/kitchen/SENSOR", R"({"Time": "x", "Battery": 8})");
  send("homie/5/garden/$alert/battery", "Battery at 8%", true);
  send("homeassistant/sensor/lock1/battery/config",
       R"({"stat_t": "acme/lock1", "dev_cla": "battery", "uniq_id": "lock1-battery",
           "dev": {"ids": "lock1"}})",
       true);
  send("acme/lock1", "8");
  std::set<std::string> low;
  for (const auto& s : signals_)
    if (s.kind == SignalKind::battery && s.low && s.level == 8.0) low.insert(s.device_id);
  EXPECT_EQ(low, (std::set<std::string>{"steward:remote", "zigbee2mqtt:hall_button",
                                        "tasmota:kitchen", "homie:garden", "homeassistant:lock1"}))
      << log_.text();
  for (const auto& id : low) {
    ASSERT_TRUE(device(id)) << id;
    EXPECT_TRUE(device(id)->needs.contains("battery/battery")) << id;
  }
}

TEST_F(DiscoveryTest, DevicesAndNeedsSurviveARestart) {
  startHub();
  send("steward/device/printer-1/hello", hello("printer-1"), true);
  send("steward/device/printer-1/need/toner-black",
       R"({"id": "printer-1", "kind": "consumable", "level": 4, "unit": "%", "low_threshold": 10})",
       true);
  send("zigbee2mqtt/hall_button", R"({"battery": 60})");
  restartHub();
  EXPECT_EQ(hub_->registry().size(), 2u);
  const Device* p = device("steward:printer-1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "Printer printer-1");
  ASSERT_TRUE(p->needs.contains("consumable/toner-black"));
  EXPECT_TRUE(p->needs.at("consumable/toner-black").low);
  ASSERT_TRUE(device("zigbee2mqtt:hall_button"));
  EXPECT_EQ(device("zigbee2mqtt:hall_button")->levels.at("battery").value, 60);
  // A plugin known from before the restart may speak before its retained hello is re-read.
  send("steward/device/printer-1/need/toner-black", "", true);
  EXPECT_TRUE(device("steward:printer-1")->needs.empty());
  EXPECT_EQ(hub_->counters().rejected_total(), 0u);
}

TEST_F(DiscoveryTest, NeedsClearedWhileTheHubWasAwayAreClosedAfterItReconnects) {
  startHub();
  const std::string low = R"({"id": "printer-1", "kind": "consumable", "level": 2, "unit": "%",
                              "low": true})";
  send("steward/device/printer-1/hello", hello("printer-1"));
  send("steward/device/printer-1/need/toner", low);
  send("steward/device/printer-1/need/drum", low);
  send("zigbee2mqtt/hall_button", R"({"battery": 5})");
  ASSERT_EQ(device("steward:printer-1")->needs.size(), 2u);

  // While the hub was down the plugin cleared "drum": the broker re-sends only hello and toner.
  restartHub(DeviceHubOptions{.reconcile_delay = 20ms});
  signals_.clear();
  client_->setConnected(true);
  send("steward/device/printer-1/hello", hello("printer-1"), true);
  send("steward/device/printer-1/need/toner", low, true);
  EXPECT_EQ(device("steward:printer-1")->needs.size(), 2u);  // not before the delay
  io_.run_for(300ms);
  const Device* p = device("steward:printer-1");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->needs.contains("consumable/toner"));
  EXPECT_FALSE(p->needs.contains("consumable/drum"));
  EXPECT_EQ(count("SELECT count(*) FROM device_needs WHERE device_id = 'steward:printer-1'"), 1);
  // The re-sent toner level is passed on as a reading; the only withdrawal is the drum's.
  std::vector<discovery::NeedSignal> cleared;
  for (const auto& s : signals_)
    if (s.cleared) cleared.push_back(s);
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].key, "drum");
  for (const auto& s : signals_) {
    if (!s.cleared) {
      EXPECT_EQ(s.key, "toner");
    }
  }
  // Needs that came from other formats are not the plugin's to withdraw.
  EXPECT_TRUE(device("zigbee2mqtt:hall_button")->needs.contains("battery/battery"));
}

TEST_F(DiscoveryTest, UnchangedStateCostsNoWriteAndNeedsCommitAtOnce) {
  startHub();
  send("zigbee2mqtt/hall_button", R"({"battery": 60})");
  const long long seen0 =
      count("SELECT last_seen_ms FROM devices WHERE id = 'zigbee2mqtt:hall_button'");
  const std::size_t signals0 = signals_.size();
  clock_.advance(1s);
  for (int i = 0; i < 50; ++i)
    send("zigbee2mqtt/hall_button", R"({"battery": 60, "linkquality": 90})");
  // Every reading goes on to the forecast with its own time, but costs no write.
  EXPECT_EQ(signals_.size(), signals0 + 50);
  EXPECT_EQ(signals_.back().observed_at, clock_.now());
  EXPECT_EQ(hub_->registry().pendingFlush(), 1u);
  EXPECT_EQ(count("SELECT last_seen_ms FROM devices WHERE id = 'zigbee2mqtt:hall_button'"), seen0);

  // A level change is announced but still batched; a need is written before apply() returns.
  send("zigbee2mqtt/hall_button", R"({"battery": 55})");
  EXPECT_EQ(signals_.size(), signals0 + 51);
  EXPECT_EQ(count("SELECT count(*) FROM device_needs"), 0);
  send("zigbee2mqtt/hall_button", R"({"battery": 7})");
  EXPECT_EQ(count("SELECT count(*) FROM device_needs WHERE device_id = 'zigbee2mqtt:hall_button'"),
            1);

  ASSERT_TRUE(hub_->registry().flush().ok());
  EXPECT_EQ(hub_->registry().pendingFlush(), 0u);
  EXPECT_GT(count("SELECT last_seen_ms FROM devices WHERE id = 'zigbee2mqtt:hall_button'"), seen0);

  // The battery is replaced: the need closes, at once.
  send("zigbee2mqtt/hall_button", R"({"battery": 100})");
  EXPECT_EQ(count("SELECT count(*) FROM device_needs"), 0);
  EXPECT_FALSE(signals_.back().low);
}

TEST_F(DiscoveryTest, TheFlushTimerWritesBatchedChanges) {
  startHub(DeviceHubOptions{.flush_interval = 20ms});
  send("zigbee2mqtt/hall_button", R"({"battery": 60})");
  send("zigbee2mqtt/hall_button", R"({"battery": 61})");
  EXPECT_EQ(hub_->registry().pendingFlush(), 1u);
  io_.run_for(200ms);
  EXPECT_EQ(hub_->registry().pendingFlush(), 0u);
  EXPECT_NE(report(ledger_->database()).find(R"("battery":{"value":6.1E1)"), std::string::npos)
      << report(ledger_->database());
}

TEST_F(DiscoveryTest, SourcesThatShareAnIdentifierAreOneDevice) {
  startHub();
  // Zigbee2MQTT state first (known by its topic), then its Home Assistant discovery, which
  // names the same state topic and the IEEE address.
  send("zigbee2mqtt/weather_sensor", R"({"battery": 40})");
  ASSERT_EQ(hub_->registry().size(), 1u);
  for (const auto& s : loadSamples())
    if (s.kind == "discovery" && s.origin == "zigbee2mqtt") send(s.topic, s.payload, true);
  EXPECT_EQ(hub_->registry().size(), 1u) << log_.text();
  const Device* d = device("zigbee2mqtt:weather_sensor");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sources.size(), 2u);
  EXPECT_EQ(d->manufacturer, "Aqara");

  // bridge/devices later adds the IEEE address to the Zigbee2MQTT side: still one device.
  send("zigbee2mqtt/bridge/devices",
       R"([{"ieee_address": "0x0017880104e45522", "friendly_name": "weather_sensor"}])", true);
  EXPECT_EQ(hub_->registry().size(), 1u);

  // A separate HA device that shares a MAC with a Tasmota plug: merged, recorded.
  send("tele/plug/LWT", "Online", true);
  send("tasmota/discovery/A4CF12AB34CD/config", R"({"mac": "A4CF12AB34CD", "t": "plug2"})", true);
  send("homeassistant/switch/plugx/config",
       R"({"stat_t": "x/plug", "dev": {"cns": [["mac", "a4:cf:12:ab:34:cd"]], "name": "Plug"}})",
       true);
  EXPECT_EQ(hub_->registry().findBySource({"tasmota", "plug2"}),
            hub_->registry().findBySource({"homeassistant", "mac:a4cf12ab34cd"}));
}

// Zigbee2MQTT's Home Assistant discovery for its bridge, as it publishes it: the device is named
// after the coordinator's IEEE address.
std::string bridgeConfig(const std::string& entity, const std::string& state_topic) {
  return R"({"name": ")" + entity +
         R"(", "entity_category": "diagnostic", "unique_id": "bridge_0x00124b00120144ae_)" +
         entity + R"(_zigbee2mqtt", "state_topic": ")" + state_topic +
         R"(", "value_template": "{{ value_json.state }}", "device": {"identifiers": ["zigbee2mqtt_bridge_0x00124b00120144ae"], "name": "Zigbee2MQTT Bridge", "model": "Bridge", "manufacturer": "Zigbee2MQTT", "sw_version": "2.1.1"}, "availability": [{"topic": "zigbee2mqtt/bridge/state", "value_template": "{{ value_json.state }}"}]})";
}

TEST_F(DiscoveryTest, TheZigbee2MqttBridgeIsOneDeviceWithItsHomeAssistantDiscovery) {
  startHub();
  send("zigbee2mqtt/bridge/state", R"({"state": "online"})", true);
  send(
      "homeassistant/binary_sensor/1221051039810110150109113116116_0x00124b00120144ae/"
      "connection_state/config",
      bridgeConfig("connection_state", "zigbee2mqtt/bridge/state"), true);
  EXPECT_EQ(hub_->registry().size(), 1u) << log_.text();
  const Device* bridge = hub_->registry().findBySource({"zigbee2mqtt", "bridge"});
  ASSERT_TRUE(bridge);
  EXPECT_EQ(bridge, hub_->registry().findBySource(
                        {"homeassistant", "zigbee2mqtt_bridge_0x00124b00120144ae"}));
  EXPECT_EQ(bridge->sources.size(), 2u);
}

TEST_F(DiscoveryTest, TheZigbee2MqttBridgeIsKnownByItsCoordinatorAddress) {
  startHub();
  // An entity of the bridge that does not watch bridge/state: the coordinator's IEEE address,
  // listed in bridge/devices, is what ties the two.
  send("homeassistant/sensor/1221051039810110150109113116116_0x00124b00120144ae/version/config",
       bridgeConfig("version", "zigbee2mqtt/bridge/info"), true);
  send("zigbee2mqtt/bridge/state", R"({"state": "online"})", true);
  ASSERT_EQ(hub_->registry().size(), 2u);
  send("zigbee2mqtt/bridge/devices",
       R"([{"ieee_address": "0x00124b00120144ae", "friendly_name": "Coordinator",
            "type": "Coordinator"},
           {"ieee_address": "0x0017880104e45522", "friendly_name": "weather_sensor"}])",
       true);
  EXPECT_EQ(hub_->registry().size(), 2u) << log_.text();  // the bridge and weather_sensor
  const Device* bridge = hub_->registry().findBySource({"zigbee2mqtt", "bridge"});
  ASSERT_TRUE(bridge);
  EXPECT_EQ(bridge, hub_->registry().findBySource(
                        {"homeassistant", "zigbee2mqtt_bridge_0x00124b00120144ae"}));
  EXPECT_EQ(bridge->availability, Availability::online);
}

TEST_F(DiscoveryTest, MergingTwoKnownDevicesRecordsItAndTellsListeners) {
  startHub();
  send("zigbee2mqtt/weather_sensor", R"({"battery": 40})");
  send("homeassistant/sensor/0x0017880104e45522/battery/config",
       R"({"stat_t": "other/topic", "dev": {"ids": ["zigbee2mqtt_0x0017880104e45522"]}})", true);
  ASSERT_EQ(hub_->registry().size(), 2u);
  send("zigbee2mqtt/bridge/devices",
       R"([{"ieee_address": "0x0017880104e45522", "friendly_name": "weather_sensor"}])", true);
  EXPECT_EQ(hub_->registry().size(), 1u);
  EXPECT_EQ(decisions("device.merged"), 1);
  EXPECT_NE(std::find(events_.begin(), events_.end(),
                      "gone homeassistant:zigbee2mqtt_0x0017880104e45522"),
            events_.end());
  EXPECT_EQ(count("SELECT count(*) FROM devices"), 1);
}

TEST_F(DiscoveryTest, PluginsSpeakOnlyForThemselves) {
  startHub();
  send("steward/device/printer-1/hello",
       hello("printer-1", R"(, "identifiers": ["mac:001122334455"])"), true);
  const std::string before = report(ledger_->database());

  // Payload id is another device's; needs for a device that never said hello; a second plugin
  // claiming the first one's MAC; a hello whose id differs from its topic.
  send("steward/device/printer-1/need/toner",
       R"({"id": "printer-2", "kind": "consumable", "level": 1, "unit": "%", "low": true})", true);
  send("steward/device/printer-9/need/toner",
       R"({"id": "printer-9", "kind": "consumable", "level": 1, "unit": "%", "low": true})", true);
  send("steward/device/printer-2/hello",
       hello("printer-2", R"(, "identifiers": ["mac:00:11:22:33:44:55"])"), true);
  send("steward/device/printer-3/hello", hello("printer-1"), true);

  const auto& c = hub_->counters();
  EXPECT_EQ(c.rejected[static_cast<int>(Reject::spoofed)], 3u);
  EXPECT_EQ(c.rejected[static_cast<int>(Reject::unknown_device)], 1u);
  EXPECT_EQ(report(ledger_->database()), before);
  EXPECT_EQ(hub_->registry().size(), 1u);
  EXPECT_GE(decisions("device.rejected"), 3);
  EXPECT_NE(log_.text().find("reason=spoofed"), std::string::npos);
}

TEST_F(DiscoveryTest, MalformedPayloadsLeaveTheRegistryUnchanged) {
  startHub();
  send("steward/device/printer-1/hello", hello("printer-1"), true);
  send("zigbee2mqtt/hall_button", R"({"battery": 60})");
  send("tasmota/discovery/A4CF12AB34CD/config", R"({"mac": "A4CF12AB34CD", "t": "plug"})", true);
  ASSERT_TRUE(hub_->registry().flush().ok());
  const std::string before = report(ledger_->database());
  const std::size_t signals_before = signals_.size();

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"zigbee2mqtt/hall_button", R"({"battery": "sixty"})"},
      {"zigbee2mqtt/hall_button", R"({"battery": 60)"},
      {"zigbee2mqtt/hall_button", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]"},
      {"steward/device/printer-1/need/toner", R"({"id": "printer-1", "kind": "toner"})"},
      {"steward/device/printer-1/need/toner", "\xff\xfe"},
      {"steward/device/printer-1/hello", R"({"protocol": "1", "id": "printer-1", "kind": "x"})"},
      {"steward/device/printer-1/state", R"({"id": "printer-1", "levels": [1]})"},
      {"tasmota/discovery/A4CF12AB34CD/config", R"({"mac": "A4CF12AB34CD", "t": "a b"})"},
      {"tele/plug/SENSOR", R"({"ENERGY": {"Total": "lots"}})"},
      {"homie/5/dev1/$description", R"({"nodes": 5})"},
      {"homeassistant/sensor/x/config", R"({"dev": {"name": "no ids"}})"},
  };
  for (const auto& [topic, payload] : bad)
    send(topic, payload);
  EXPECT_EQ(hub_->counters().rejected_total(), bad.size()) << log_.text();
  EXPECT_EQ(signals_.size(), signals_before);
  EXPECT_EQ(hub_->registry().pendingFlush(), 0u);
  EXPECT_EQ(report(ledger_->database()), before);
}

TEST_F(DiscoveryTest, RejectionsAreLoggedAndRecordedOncePerDevicePerMinute) {
  startHub();
  for (int i = 0; i < 5; ++i)
    send("zigbee2mqtt/hall_button", R"({"battery": "x"})");
  send("zigbee2mqtt/door", R"({"battery": "x"})");
  EXPECT_EQ(hub_->counters().rejected[static_cast<int>(Reject::invalid)], 6u);
  EXPECT_EQ(log_.count("device.rejected"), 2u);
  EXPECT_EQ(decisions("device.rejected"), 2);
  clock_.advance(61s);
  send("zigbee2mqtt/hall_button", R"({"battery": "x"})");
  EXPECT_EQ(log_.count("device.rejected"), 3u);
  EXPECT_EQ(decisions("device.rejected"), 3);
  const auto status = hub_->status();
  EXPECT_EQ(status.at("rejected").at("invalid").as_uint64(), 7u);
}

TEST_F(DiscoveryTest, AFloodIsThrottledWithoutStarvingOthers) {
  config_.limits.device_burst = 20;
  config_.limits.device_messages_per_second = 1;
  startHub();
  for (int i = 0; i < 200; ++i) {
    send("zigbee2mqtt/chatty", R"({"battery": )" + std::to_string(i % 100) + "}");
    if (i % 20 == 0)
      send("zigbee2mqtt/quiet", R"({"battery": )" + std::to_string(50 + i / 20) + "}");
  }
  const auto& c = hub_->counters();
  EXPECT_EQ(c.rejected[static_cast<int>(Reject::rate_limited)], 180u);
  EXPECT_EQ(device("zigbee2mqtt:quiet")->levels.at("battery").value, 59);  // all 10 got through
  EXPECT_EQ(log_.count("reason=rate_limited"), 1u);
  // Time refills the bucket.
  clock_.advance(5s);
  send("zigbee2mqtt/chatty", R"({"battery": 42})");
  EXPECT_EQ(device("zigbee2mqtt:chatty")->levels.at("battery").value, 42);
}

TEST_F(DiscoveryTest, CapsOnPayloadDevicesAndNeeds) {
  config_.limits.max_payload_bytes = 256;
  config_.limits.max_devices = 3;
  config_.limits.max_needs_per_device = 2;
  startHub();
  send("zigbee2mqtt/big", R"({"battery": 50, "pad": ")" + std::string(300, 'x') + "\"}");
  EXPECT_EQ(hub_->counters().rejected[static_cast<int>(Reject::too_large)], 1u);
  EXPECT_EQ(hub_->registry().size(), 0u);

  send("steward/device/p1/hello", hello("p1"), true);
  for (const char* key : {"a", "b", "c"}) {
    send(std::string("steward/device/p1/need/") + key,
         std::string(R"({"id": "p1", "kind": "fault", "severity": "warning"})"), true);
  }
  EXPECT_EQ(device("steward:p1")->needs.size(), 2u);
  EXPECT_EQ(hub_->counters().rejected[static_cast<int>(Reject::need_cap)], 1u);

  send("zigbee2mqtt/d2", R"({"battery": 50})");
  send("zigbee2mqtt/d3", R"({"battery": 50})");
  send("zigbee2mqtt/d4", R"({"battery": 50})");
  EXPECT_EQ(hub_->registry().size(), 3u);
  EXPECT_EQ(hub_->counters().rejected[static_cast<int>(Reject::device_cap)], 1u);
  EXPECT_FALSE(device("zigbee2mqtt:d4"));
}

TEST_F(DiscoveryTest, RemovalsAndAvailability) {
  startHub();
  send("homeassistant/sensor/lock1/battery/config",
       R"({"stat_t": "acme/lock1", "dev_cla": "battery", "dev": {"ids": "lock1"},
           "avty_t": "acme/lock1/avail"})",
       true);
  send("acme/lock1", "5");
  ASSERT_TRUE(device("homeassistant:lock1"));
  send("acme/lock1/avail", "offline", true);
  EXPECT_EQ(device("homeassistant:lock1")->availability, Availability::offline);
  EXPECT_EQ(count("SELECT count(*) FROM devices WHERE availability = 'offline'"), 1);

  send("homeassistant/sensor/lock1/battery/config", "", true);
  EXPECT_FALSE(device("homeassistant:lock1"));
  EXPECT_EQ(decisions("device.removed"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM device_needs"), 0);
  ASSERT_FALSE(signals_.empty());
  EXPECT_TRUE(signals_.back().cleared);
  EXPECT_EQ(events_.back(), "gone homeassistant:lock1");
}

TEST_F(DiscoveryTest, PluginDevicesArePublishedForHomeAssistant) {
  startHub();
  send("steward/device/printer-1/hello", hello("printer-1"), true);
  send("steward/device/printer-1/need/toner-black",
       R"({"id": "printer-1", "kind": "consumable", "level": 40, "unit": "%"})", true);
  ASSERT_FALSE(client_->published.empty());
  const auto last = client_->published.back();
  EXPECT_EQ(last.topic, "homeassistant/device/steward_printer-1/config");
  EXPECT_TRUE(last.retain);
  const auto config = boost::json::parse(last.payload).as_object();
  const auto& cmp = config.at("cmps").at("steward_printer-1_toner-black").as_object();
  EXPECT_EQ(cmp.at("stat_t").as_string(), "steward/device/printer-1/need/toner-black");
  EXPECT_EQ(cmp.at("unit_of_meas").as_string(), "%");
  // Feeding the export back through the broker does not create a second device.
  const std::size_t n = client_->published.size();
  send(last.topic, last.payload, true);
  EXPECT_EQ(hub_->registry().size(), 1u);
  // Unchanged: not re-published. Withdrawn: the export is removed too.
  send("steward/device/printer-1/need/toner-black",
       R"({"id": "printer-1", "kind": "consumable", "level": 40, "unit": "%"})", true);
  EXPECT_EQ(client_->published.size(), n);
  // Home Assistant restarts: its birth message makes the hub announce the device again.
  send("homeassistant/status", "online");
  ASSERT_EQ(client_->published.size(), n + 1);
  EXPECT_EQ(client_->published.back().payload, last.payload);
  send("steward/device/printer-1/hello", "", true);
  EXPECT_EQ(client_->published.back().payload, "");
  EXPECT_FALSE(device("steward:printer-1"));
}

TEST_F(DiscoveryTest, TheReportReadsAReadOnlyDatabase) {
  startHub();
  send("steward/device/printer-1/hello", hello("printer-1"), true);
  send("steward/device/printer-1/need/e24",
       R"({"id": "printer-1", "kind": "fault", "severity": "critical", "description": "Jam"})",
       true);
  send("zigbee2mqtt/hall_button", R"({"battery": 60})");
  hub_->stop();
  auto ro = ledger::Database::open(dir_.file("steward.db"), ledger::OpenMode::readOnly);
  ASSERT_TRUE(ro.ok());
  const std::string table = report(*ro, ReportFormat::table);
  EXPECT_NE(table.find("steward:printer-1"), std::string::npos) << table;
  EXPECT_NE(table.find("fault:e24"), std::string::npos) << table;
  EXPECT_NE(table.find("battery=60%"), std::string::npos) << table;
  const auto json = boost::json::parse(report(*ro)).as_array();
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].at("id").as_string(), "steward:printer-1");
  EXPECT_EQ(json[0].at("needs").as_array()[0].at("severity").as_string(), "critical");

  // A database without the registry lists nothing rather than failing.
  auto empty = ledger::Database::open(dir_.file("empty.db"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(report(*empty), "[]\n");
}

}  // namespace
}  // namespace steward::discovery::testing
