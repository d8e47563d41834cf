// Each foreign format's parser on its own: what it accepts, what it extracts, and that what it
// refuses is refused with a message naming the topic and the field.
#include <gtest/gtest.h>

#include <set>

#include "discovery/home_assistant.hpp"
#include "discovery/homie.hpp"
#include "discovery/identifiers.hpp"
#include "discovery/steward_plugin.hpp"
#include "discovery/tasmota.hpp"
#include "discovery/zigbee2mqtt.hpp"

namespace steward::discovery {
namespace {

class RecordingContext final : public SourceContext {
 public:
  bool watch(const std::string& topic) override {
    if (topics.size() >= cap) return false;
    topics.insert(topic);
    return true;
  }
  std::set<std::string> topics;
  std::size_t cap = 100;
};

struct Parsed {
  std::optional<Rejection> rejection;
  std::vector<DeviceUpdate> updates;
};

Parsed feed(Source& s, RecordingContext& ctx, std::string_view topic, std::string_view payload) {
  Parsed p;
  p.rejection = s.parse(mqtt::Message{topic, payload, 0, false}, ctx, p.updates);
  return p;
}

const NeedSignal* signal(const DeviceUpdate& u, SignalKind kind) {
  for (const auto& s : u.signals)
    if (s.kind == kind) return &s;
  return nullptr;
}

TEST(Identifiers, NormaliseTheFormatsSpellings) {
  EXPECT_EQ(normaliseMac("AA:BB:CC:DD:EE:FF"), "aabbccddeeff");
  EXPECT_EQ(normaliseMac("aabb.ccdd.eeff"), "aabbccddeeff");
  EXPECT_FALSE(normaliseMac("AA:BB:CC"));
  EXPECT_EQ(normaliseForeignIdentifier("zigbee2mqtt_0x0017880104E45522"),
            "zigbee:0x0017880104e45522");
  EXPECT_EQ(normaliseForeignIdentifier("zigbee2mqtt_bridge_0x00124B00120144AE"),
            "zigbee2mqtt-bridge:0x00124b00120144ae");
  EXPECT_EQ(normaliseForeignIdentifier("zigbee2mqtt_bridge_x"), "ha:zigbee2mqtt_bridge_x");
  EXPECT_EQ(normaliseForeignIdentifier("my-thing"), "ha:my-thing");
  EXPECT_EQ(connectionIdentifier("mac", "02:42:AC:11:00:02"), "mac:0242ac110002");
}

TEST(HomeAssistant, ValueTemplatesPickTheValue) {
  EXPECT_EQ(evaluateValueTemplate("{{ value_json.battery }}", R"({"battery": 93})"), "93");
  EXPECT_EQ(evaluateValueTemplate(R"({{ value_json["battery"] }})", R"({"battery": 7})"), "7");
  EXPECT_EQ(evaluateValueTemplate("{{ value_json['a'].b | float }}", R"({"a":{"b":"x"}})"), "x");
  EXPECT_EQ(evaluateValueTemplate("{{value}}", "online"), "online");
  EXPECT_FALSE(evaluateValueTemplate("{{ value_json.missing }}", R"({"battery": 7})"));
  EXPECT_FALSE(evaluateValueTemplate("{% if x %}1{% endif %}", "{}"));
  EXPECT_FALSE(evaluateValueTemplate("{{ value_json.a }}", "not json"));
}

TEST(HomeAssistant, AbbreviatedKeysAndTildeExpandLikeHomeAssistant) {
  HomeAssistantSource ha("homeassistant", 100);
  RecordingContext ctx;
  auto p = feed(ha, ctx, "homeassistant/sensor/kitchen/battery/config", R"({
    "~": "home/kitchen/sensor", "stat_t": "~/state", "dev_cla": "battery", "unit_of_meas": "%",
    "val_tpl": "{{ value_json.bat }}", "uniq_id": "kitchen-bat",
    "dev": {"ids": ["kit1"], "name": "Kitchen sensor", "mf": "Acme", "mdl": "S1",
            "cns": [["mac", "AA:BB:CC:DD:EE:01"]]},
    "avty": [{"t": "~/avail", "pl_avail": "up", "pl_not_avail": "down"}]})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  ASSERT_EQ(p.updates.size(), 1u);
  const auto& u = p.updates[0];
  EXPECT_EQ(u.ref.str(), "homeassistant:kit1");
  EXPECT_EQ(u.name, "Kitchen sensor");
  EXPECT_EQ(u.manufacturer, "Acme");
  EXPECT_EQ(u.model, "S1");
  EXPECT_EQ(
      std::set<std::string>(u.identifiers.begin(), u.identifiers.end()),
      (std::set<std::string>{"mac:aabbccddee01", "ha:kit1", "topic:home/kitchen/sensor/state"}));
  EXPECT_EQ(ctx.topics,
            (std::set<std::string>{"home/kitchen/sensor/state", "home/kitchen/sensor/avail"}));

  p = feed(ha, ctx, "home/kitchen/sensor/state", R"({"bat": 8})");
  ASSERT_FALSE(p.rejection);
  ASSERT_EQ(p.updates.size(), 1u);
  const NeedSignal* s = signal(p.updates[0], SignalKind::battery);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->level, 8.0);
  EXPECT_TRUE(s->low);

  p = feed(ha, ctx, "home/kitchen/sensor/avail", "down");
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(p.updates[0].availability, Availability::offline);

  p = feed(ha, ctx, "home/kitchen/sensor/state", R"({"bat": "lots"})");
  ASSERT_TRUE(p.rejection);
  EXPECT_EQ(p.rejection->reason, Reject::invalid);
  EXPECT_NE(p.rejection->message.find("home/kitchen/sensor/state: battery"), std::string::npos)
      << p.rejection->message;
}

TEST(HomeAssistant, DeviceBasedDiscoveryAndRemoval) {
  HomeAssistantSource ha("homeassistant", 100);
  RecordingContext ctx;
  auto p = feed(ha, ctx, "homeassistant/device/purifier1/config", R"({
    "dev": {"ids": "purifier1", "name": "Purifier"}, "o": {"name": "acme2mqtt"},
    "stat_t": "acme/purifier1/state",
    "cmps": {"bat": {"p": "sensor", "dev_cla": "battery", "val_tpl": "{{ value_json.battery }}"},
             "low": {"p": "binary_sensor", "dev_cla": "battery",
                     "val_tpl": "{{ value_json.battery_low }}", "pl_on": "true"}}})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(ha.entityCount(), 2u);
  EXPECT_TRUE(ctx.topics.contains("acme/purifier1/state"));

  p = feed(ha, ctx, "acme/purifier1/state", R"({"battery": 50, "battery_low": true})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  ASSERT_EQ(p.updates.size(), 1u);  // two entities, one device
  EXPECT_EQ(p.updates[0].signals.size(), 2u);

  p = feed(ha, ctx, "homeassistant/device/purifier1/config", "");
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_TRUE(p.updates[0].removed);
  EXPECT_EQ(ha.entityCount(), 0u);
  p = feed(ha, ctx, "acme/purifier1/state", R"({"battery": 50})");
  EXPECT_TRUE(p.updates.empty());  // no longer routed

  // The hub's own re-export of plugin devices is not read back.
  p = feed(ha, ctx, "homeassistant/device/steward_printer/config", R"({"dev": {"ids": "x"}})");
  EXPECT_FALSE(p.rejection);
  EXPECT_TRUE(p.updates.empty());
  // Nor are the hub's own entities (spend, approvals, paused) a device of the household.
  p = feed(ha, ctx, "homeassistant/sensor/steward_pending_approvals/config",
           R"({"name": "Pending approvals", "stat_t": "steward/hub/approvals",
               "dev": {"ids": ["steward_hub"], "name": "Steward"}})");
  EXPECT_FALSE(p.rejection);
  EXPECT_TRUE(p.updates.empty());
}

TEST(HomeAssistant, RefusesConfigsThatAreNotConfigs) {
  HomeAssistantSource ha("homeassistant", 1);
  RecordingContext ctx;
  EXPECT_EQ(feed(ha, ctx, "homeassistant/sensor/x/config", "{not json").rejection->reason,
            Reject::malformed);
  EXPECT_EQ(feed(ha, ctx, "homeassistant/sensor/x/config", "[1,2]").rejection->reason,
            Reject::invalid);
  EXPECT_EQ(
      feed(ha, ctx, "homeassistant/sensor/x/config", R"({"stat_t": "a/#"})").rejection->reason,
      Reject::invalid);
  EXPECT_EQ(
      feed(ha, ctx, "homeassistant/sensor/x/config", R"({"dev": {"ids": 5}})").rejection->reason,
      Reject::invalid);
  ASSERT_FALSE(feed(ha, ctx, "homeassistant/sensor/x/config", R"({"stat_t": "a/b"})").rejection);
  // The entity cap (1 here) holds; replacing the same config does not count twice.
  EXPECT_FALSE(feed(ha, ctx, "homeassistant/sensor/x/config", R"({"stat_t": "a/c"})").rejection);
  EXPECT_EQ(
      feed(ha, ctx, "homeassistant/sensor/y/config", R"({"stat_t": "a/d"})").rejection->reason,
      Reject::device_cap);
}

TEST(Zigbee2Mqtt, BatteryFilterAndAvailability) {
  Zigbee2MqttSource z("zigbee2mqtt", 10);
  RecordingContext ctx;
  auto p = feed(z, ctx, "zigbee2mqtt/living/remote", R"({"battery": 8, "voltage": 2600})");
  ASSERT_FALSE(p.rejection);
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(p.updates[0].ref.str(), "zigbee2mqtt:living/remote");
  ASSERT_TRUE(signal(p.updates[0], SignalKind::battery));
  EXPECT_TRUE(signal(p.updates[0], SignalKind::battery)->low);

  p = feed(z, ctx, "zigbee2mqtt/door", R"({"battery_low": true, "contact": true})");
  ASSERT_TRUE(signal(p.updates[0], SignalKind::battery));
  EXPECT_TRUE(signal(p.updates[0], SignalKind::battery)->low);
  EXPECT_FALSE(signal(p.updates[0], SignalKind::battery)->level);

  p = feed(z, ctx, "zigbee2mqtt/purifier", R"({"filter_life": 4, "pm25": 3})");
  const NeedSignal* f = signal(p.updates[0], SignalKind::consumable);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->key, "filter");
  EXPECT_TRUE(f->low);

  p = feed(z, ctx, "zigbee2mqtt/door/availability", R"({"state": "offline"})");
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(p.updates[0].ref.str(), "zigbee2mqtt:door");
  EXPECT_EQ(p.updates[0].availability, Availability::offline);

  EXPECT_EQ(z.speaker("zigbee2mqtt/door/set"), "");
  EXPECT_EQ(z.speaker("zigbee2mqtt/bridge/logging"), "");
  EXPECT_EQ(feed(z, ctx, "zigbee2mqtt/door", R"({"battery": "full"})").rejection->reason,
            Reject::invalid);
  EXPECT_EQ(feed(z, ctx, "zigbee2mqtt/door", R"({"battery": 140})").rejection->reason,
            Reject::invalid);
  EXPECT_EQ(feed(z, ctx, "zigbee2mqtt/door", R"({"battery_low": "yes"})").rejection->reason,
            Reject::invalid);
}

TEST(Zigbee2Mqtt, BridgeDevicesTieNamesToAddresses) {
  Zigbee2MqttSource z("zigbee2mqtt", 10);
  RecordingContext ctx;
  auto p = feed(z, ctx, "zigbee2mqtt/bridge/devices", R"([
    {"ieee_address": "0x00124b00120144ae", "friendly_name": "Coordinator", "type": "Coordinator"},
    {"ieee_address": "0x0017880104E45522", "friendly_name": "weather_sensor", "type": "EndDevice",
     "definition": {"vendor": "Aqara", "model": "WSDCGQ11LM"}}])");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  // The coordinator is no device of its own: it names the bridge.
  ASSERT_EQ(p.updates.size(), 2u);
  EXPECT_EQ(p.updates[0].manufacturer, "Aqara");
  EXPECT_EQ(p.updates[1].ref.str(), "zigbee2mqtt:bridge");
  EXPECT_EQ(p.updates[1].identifiers,
            (std::vector<std::string>{"topic:zigbee2mqtt/bridge/state",
                                      "zigbee2mqtt-bridge:0x00124b00120144ae"}));
  p = feed(z, ctx, "zigbee2mqtt/weather_sensor", R"({"battery": 90})");
  const auto& ids = p.updates[0].identifiers;
  EXPECT_NE(std::find(ids.begin(), ids.end(), "zigbee:0x0017880104e45522"), ids.end());
  p = feed(z, ctx, "zigbee2mqtt/bridge/state", "online");
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(p.updates[0].identifiers.size(), 2u);
}

TEST(Tasmota, DiscoveryTelemetryAndLastWill) {
  TasmotaSource t("tasmota", 10);
  RecordingContext ctx;
  auto p = feed(t, ctx, "tasmota/discovery/A4CF12AB34CD/config", R"({
    "ip": "192.168.1.20", "dn": "Washer plug", "fn": ["Washer", null], "hn": "washer-1234",
    "mac": "A4CF12AB34CD", "md": "Sonoff Pow R2", "ofln": "Offline", "onln": "Online",
    "sw": "13.1.0", "t": "washer", "ft": "%prefix%/%topic%/", "tp": ["cmnd", "stat", "tele"]})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(p.updates[0].ref.str(), "tasmota:washer");
  EXPECT_EQ(p.updates[0].identifiers, std::vector<std::string>{"mac:a4cf12ab34cd"});
  EXPECT_EQ(p.updates[0].endpoints, std::vector<std::string>{"http://192.168.1.20/"});
  EXPECT_TRUE(ctx.topics.empty());  // the default FullTopic is already subscribed

  p = feed(t, ctx, "tele/washer/SENSOR",
           R"({"Time": "2024-01-01T00:00:00", "ENERGY": {"Total": 321.5, "Power": 1800}})");
  ASSERT_FALSE(p.rejection);
  const NeedSignal* m = signal(p.updates[0], SignalKind::meter);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->level, 321.5);
  EXPECT_EQ(m->unit, "kWh");

  p = feed(t, ctx, "tele/washer/LWT", "Offline");
  EXPECT_EQ(p.updates[0].availability, Availability::offline);
  EXPECT_EQ(feed(t, ctx, "tele/washer/LWT", "Maybe").rejection->reason, Reject::malformed);

  // A custom FullTopic is watched where it points.
  p = feed(t, ctx, "tasmota/discovery/A4CF12AB34CE/config",
           R"({"mac": "A4CF12AB34CE", "t": "remote", "ft": "devices/%topic%/%prefix%/",
               "tp": ["cmnd", "stat", "tele"]})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  EXPECT_TRUE(ctx.topics.contains("devices/remote/tele/SENSOR"));
  p = feed(t, ctx, "devices/remote/tele/SENSOR", R"({"Zigbee": {"BatteryPercentage": 6}})");
  ASSERT_FALSE(p.rejection);
  ASSERT_TRUE(signal(p.updates[0], SignalKind::battery));
  EXPECT_TRUE(signal(p.updates[0], SignalKind::battery)->low);

  // The MAC in the payload must be the MAC in the topic.
  EXPECT_EQ(feed(t, ctx, "tasmota/discovery/A4CF12AB34CF/config", R"({"mac": "000000000000",
            "t": "x"})")
                .rejection->reason,
            Reject::spoofed);
}

TEST(Homie, AlertsStateAndBatteryProperties) {
  HomieSource h("homie", 10);
  RecordingContext ctx;
  auto p = feed(h, ctx, "homie/5/mydevid/$alert/battery", "Battery is low, at 8%");
  ASSERT_FALSE(p.rejection);
  const NeedSignal* b = signal(p.updates[0], SignalKind::battery);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->level, 8.0);
  EXPECT_TRUE(b->low);

  p = feed(h, ctx, "homie/5/mydevid/$alert/battery", "");
  EXPECT_TRUE(signal(p.updates[0], SignalKind::battery)->cleared);

  p = feed(h, ctx, "homie/5/mydevid/$alert/pump-jammed", "The pump is jammed");
  const NeedSignal* f = signal(p.updates[0], SignalKind::fault);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->key, "pump-jammed");

  p = feed(h, ctx, "homie/5/mydevid/$description", R"({"homie": "5.0", "version": 7,
    "name": "Garden sensor", "nodes": {"power": {"properties": {
      "battery": {"datatype": "integer", "unit": "%"}}}}})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  EXPECT_EQ(p.updates[0].name, "Garden sensor");
  p = feed(h, ctx, "homie/5/mydevid/power/battery", "15");
  ASSERT_TRUE(signal(p.updates[0], SignalKind::battery));
  EXPECT_EQ(signal(p.updates[0], SignalKind::battery)->level, 15.0);

  p = feed(h, ctx, "homie/5/mydevid/$state", "lost");
  EXPECT_EQ(p.updates[0].availability, Availability::offline);
  EXPECT_EQ(feed(h, ctx, "homie/5/mydevid/$state", "asleep").rejection->reason, Reject::invalid);
  EXPECT_EQ(feed(h, ctx, "homie/5/My_Dev/$state", "ready").rejection->reason, Reject::invalid);
}

TEST(StewardPlugin, HelloNeedsAndTrust) {
  StewardPluginSource s(10);
  RecordingContext ctx;
  auto p = feed(s, ctx, "steward/device/printer-1/hello",
                R"({"protocol": 1, "id": "printer-1", "kind": "printer", "name": "Office",
                    "identifiers": ["mac:00:11:22:33:44:55"], "capabilities": ["consumables"]})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  EXPECT_TRUE(p.updates[0].may_admit);
  EXPECT_EQ(p.updates[0].identifiers, std::vector<std::string>{"mac:001122334455"});

  p = feed(s, ctx, "steward/device/printer-1/need/toner-black",
           R"({"id": "printer-1", "kind": "consumable", "level": 5, "unit": "%",
               "low_threshold": 10, "product": "TN-2420"})");
  ASSERT_FALSE(p.rejection) << p.rejection->message;
  const NeedSignal* n = signal(p.updates[0], SignalKind::consumable);
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->low);
  EXPECT_EQ(n->product_hint, "TN-2420");
  EXPECT_FALSE(p.updates[0].may_admit);  // needs only for a device that said hello

  // Speaking for another device, an unknown version, wrong types: refused.
  EXPECT_EQ(feed(s, ctx, "steward/device/printer-1/need/x",
                 R"({"id": "printer-2", "kind": "battery", "level": 5, "unit": "%"})")
                .rejection->reason,
            Reject::spoofed);
  EXPECT_EQ(
      feed(s, ctx, "steward/device/p2/hello", R"({"protocol": 2, "id": "p2", "kind": "printer"})")
          .rejection->reason,
      Reject::unsupported_version);
  EXPECT_EQ(feed(s, ctx, "steward/device/printer-1/need/x",
                 R"({"id": "printer-1", "kind": "battery", "level": "low", "unit": "%"})")
                .rejection->reason,
            Reject::invalid);
  EXPECT_EQ(
      feed(s, ctx, "steward/device/printer-1/need/e24", R"({"id": "printer-1", "kind": "fault"})")
          .rejection->reason,
      Reject::invalid);  // a fault needs a severity

  // An empty retained need clears it, naming the kind it had.
  p = feed(s, ctx, "steward/device/printer-1/need/toner-black", "");
  ASSERT_FALSE(p.rejection);
  EXPECT_TRUE(p.updates[0].signals[0].cleared);
  EXPECT_EQ(p.updates[0].signals[0].kind, SignalKind::consumable);
}

}  // namespace
}  // namespace steward::discovery
