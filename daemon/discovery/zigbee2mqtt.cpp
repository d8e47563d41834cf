// See zigbee2mqtt.hpp. Field names follow Zigbee2MQTT's exposes: `battery` (%), `battery_low`
// (bool), and the air-purifier filter fields (`filter_life`, `filter_life_remaining`,
// `replace_filter`).
#include "discovery/zigbee2mqtt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "discovery/identifiers.hpp"
#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

// Friendly names may contain '/', spaces and most printable characters, not wildcards.
bool validFriendlyName(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  for (unsigned char c : n)
    if (c < 0x20 || c == '+' || c == '#' || c == 0x7f) return false;
  return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr double kFilterLowPercent = 10.0;

}  // namespace

std::optional<Availability> parseZigbee2MqttAvailability(std::string_view payload) {
  if (payload == "online") return Availability::online;
  if (payload == "offline") return Availability::offline;
  boost::system::error_code ec;
  const bj::value v = bj::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* state = v.get_object().if_contains("state");
  if (!state || !state->is_string()) return std::nullopt;
  const Availability a = parseAvailability(state->get_string());
  if (a == Availability::unknown) return std::nullopt;
  return a;
}

Zigbee2MqttSource::Zigbee2MqttSource(std::string base, std::size_t max_devices)
    : base_(std::move(base)), max_devices_(max_devices) {}

std::string Zigbee2MqttSource::speaker(std::string_view topic) const {
  if (topic.size() <= base_.size() + 1 || topic.substr(0, base_.size()) != base_ ||
      topic[base_.size()] != '/')
    return {};
  std::string_view rest = topic.substr(base_.size() + 1);
  if (rest == "bridge/state" || rest == "bridge/devices") return "zigbee2mqtt:bridge";
  if (rest.substr(0, 7) == "bridge/") return {};  // logs, requests, responses: not ours
  if (endsWith(rest, "/set") || endsWith(rest, "/get") || rest.find("/set/") != rest.npos ||
      rest.find("/get/") != rest.npos)
    return {};  // commands to the device, not from it
  if (endsWith(rest, "/availability")) rest.remove_suffix(13);
  return "zigbee2mqtt:" + std::string(rest);
}

std::optional<Rejection> Zigbee2MqttSource::parse(const mqtt::Message& message, SourceContext&,
                                                  std::vector<DeviceUpdate>& out) {
  const std::string who = speaker(message.topic);
  if (who.empty()) return std::nullopt;
  const std::string_view rest = message.topic.substr(base_.size() + 1);
  const std::string where(message.topic);

  if (rest == "bridge/devices") return parseDevices(message.payload, out);
  if (rest == "bridge/state") {
    const auto a = parseZigbee2MqttAvailability(message.payload);
    if (!a)
      return Rejection{Reject::malformed, where +
                                              ": expected online/offline or "
                                              "{\"state\": ...}, got \"" +
                                              json::excerpt(message.payload) + "\""};
    DeviceUpdate u = bridgeUpdate();
    u.availability = *a;
    out.push_back(std::move(u));
    return std::nullopt;
  }

  const std::string friendly = who.substr(12);  // after "zigbee2mqtt:"
  if (!validFriendlyName(friendly))
    return Rejection{Reject::invalid, where + ": not a valid friendly name"};
  if (endsWith(rest, "/availability")) {
    if (message.payload.empty()) return std::nullopt;  // retained availability removed
    const auto a = parseZigbee2MqttAvailability(message.payload);
    if (!a) return Rejection{Reject::malformed, where + ": expected online/offline"};
    DeviceUpdate u;
    u.ref = {"zigbee2mqtt", friendly};
    u.availability = *a;
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (message.payload.empty()) return std::nullopt;  // a cleared retained state says nothing
  return parseState(friendly, message.payload, out);
}

DeviceUpdate Zigbee2MqttSource::bridgeUpdate() const {
  DeviceUpdate u;
  u.ref = {"zigbee2mqtt", std::string(kBridgeId)};
  u.name = "Zigbee2MQTT bridge";
  u.kind = "zigbee-bridge";
  u.manufacturer = "Zigbee2MQTT";
  // Zigbee2MQTT's Home Assistant discovery for its bridge watches this topic (connection state)
  // and names the device "zigbee2mqtt_bridge_<coordinator IEEE>".
  u.identifiers.push_back("topic:" + base_ + "/bridge/state");
  if (!coordinator_ieee_.empty())
    u.identifiers.push_back("zigbee2mqtt-bridge:" + coordinator_ieee_);
  return u;
}

std::optional<Rejection> Zigbee2MqttSource::parseState(const std::string& friendly,
                                                       std::string_view payload,
                                                       std::vector<DeviceUpdate>& out) const {
  const std::string where = base_ + "/" + friendly;
  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  const auto* o = doc.if_object();
  if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};

  DeviceUpdate u;
  u.ref = {"zigbee2mqtt", friendly};
  u.identifiers.push_back("topic:" + where);
  if (auto it = ieee_by_name_.find(friendly); it != ieee_by_name_.end())
    u.identifiers.push_back("zigbee:" + it->second);

  std::optional<double> battery;
  std::optional<bool> battery_low;
  if (const auto* b = o->if_contains("battery"); b && !b->is_null()) {
    battery = json::number(*b);
    if (!battery || *battery < 0 || *battery > 100)
      return Rejection{Reject::invalid, where + ": battery: expected a number 0..100, got " +
                                            json::excerpt(bj::serialize(*b))};
  }
  if (const auto* b = o->if_contains("battery_low"); b && !b->is_null()) {
    if (!b->is_bool()) return Rejection{Reject::invalid, where + ": battery_low: expected a bool"};
    battery_low = b->get_bool();
  }
  if (battery) {
    u.signals.push_back(batterySignal(*battery, battery_low));
  } else if (battery_low) {
    NeedSignal s;
    s.kind = SignalKind::battery;
    s.key = "battery";
    s.low = *battery_low;
    s.severity = s.low ? Severity::warning : Severity::info;
    u.signals.push_back(std::move(s));
  }

  std::optional<double> filter_life;
  std::optional<bool> replace_filter;
  for (std::string_view key : {"filter_life", "filter_life_remaining"}) {
    if (const auto* f = o->if_contains(key); f && !f->is_null()) {
      filter_life = json::number(*f);
      if (!filter_life || *filter_life < 0 || *filter_life > 100)
        return Rejection{Reject::invalid,
                         where + ": " + std::string(key) + ": expected a number 0..100"};
    }
  }
  if (const auto* f = o->if_contains("replace_filter"); f && !f->is_null()) {
    if (!f->is_bool())
      return Rejection{Reject::invalid, where + ": replace_filter: expected a bool"};
    replace_filter = f->get_bool();
  }
  if (filter_life || replace_filter) {
    NeedSignal s;
    s.kind = SignalKind::consumable;
    s.key = "filter";
    s.level = filter_life;
    if (filter_life) {
      s.unit = "%";
      s.low_threshold = kFilterLowPercent;
    }
    s.low = replace_filter.value_or(false) || (filter_life && *filter_life <= kFilterLowPercent);
    s.severity = s.low ? Severity::warning : Severity::info;
    u.signals.push_back(std::move(s));
  }
  out.push_back(std::move(u));
  return std::nullopt;
}

std::optional<Rejection> Zigbee2MqttSource::parseDevices(std::string_view payload,
                                                         std::vector<DeviceUpdate>& out) {
  const std::string where = base_ + "/bridge/devices";
  if (payload.empty()) return std::nullopt;
  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  const auto* list = doc.if_array();
  if (!list) return Rejection{Reject::invalid, where + ": expected a JSON array"};
  if (list->size() > max_devices_)
    return Rejection{Reject::device_cap, where + ": lists " + std::to_string(list->size()) +
                                             " devices, more than the cap of " +
                                             std::to_string(max_devices_)};
  std::map<std::string, std::string, std::less<>> names;
  std::string coordinator;
  std::vector<DeviceUpdate> updates;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto* d = (*list)[i].if_object();
    if (!d) return Rejection{Reject::invalid, at + ": expected an object"};
    std::optional<Rejection> err;
    const auto ieee_text = json::optionalString(*d, "ieee_address", at, err);
    const auto friendly = json::optionalString(*d, "friendly_name", at, err);
    const auto type = json::optionalString(*d, "type", at, err);
    if (err) return err;
    if (!ieee_text || !friendly)
      return Rejection{Reject::invalid, at + ": needs ieee_address and friendly_name"};
    const auto ieee = normaliseIeee(*ieee_text);
    if (!ieee) return Rejection{Reject::invalid, at + ": ieee_address: not a 64-bit address"};
    if (!validFriendlyName(*friendly))
      return Rejection{Reject::invalid, at + ": friendly_name: not valid"};
    if (type && *type == "Coordinator") {  // the bridge's own radio: it names the bridge
      coordinator = *ieee;
      continue;
    }
    names[*friendly] = *ieee;
    DeviceUpdate u;
    u.ref = {"zigbee2mqtt", *friendly};
    u.identifiers = {"zigbee:" + *ieee, "topic:" + base_ + "/" + *friendly};
    u.name = *friendly;
    u.kind = "zigbee";
    if (const auto* def = d->if_contains("definition"); def && def->is_object()) {
      u.manufacturer = json::optionalString(def->get_object(), "vendor", at, err);
      u.model = json::optionalString(def->get_object(), "model", at, err);
      if (err) return err;
    }
    updates.push_back(std::move(u));
  }
  ieee_by_name_ = std::move(names);
  if (!coordinator.empty() && coordinator != coordinator_ieee_) {
    coordinator_ieee_ = std::move(coordinator);
    updates.push_back(bridgeUpdate());
  }
  for (auto& u : updates)
    out.push_back(std::move(u));
  return std::nullopt;
}

}  // namespace steward::discovery
