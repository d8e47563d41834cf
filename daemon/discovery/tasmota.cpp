// See tasmota.hpp. Keys follow Tasmota's discovery payload (`t` topic, `mac`, `dn` device name,
// `fn` friendly names, `md` module, `ip`, `sw`, `ft` FullTopic, `tp` prefixes, `onln`/`ofln`
// LWT payloads) and its SENSOR telemetry (`ENERGY.Total` in kWh, `Battery`/`BatteryPercentage`).
#include "discovery/tasmota.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "discovery/identifiers.hpp"
#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos)) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

}  // namespace

TasmotaSource::TasmotaSource(std::string discovery_prefix, std::size_t max_devices)
    : prefix_(std::move(discovery_prefix)), max_devices_(max_devices) {}

std::vector<std::string> TasmotaSource::filters() const {
  return {prefix_ + "/discovery/+/config", prefix_ + "/discovery/+/sensors", "tele/+/SENSOR",
          "tele/+/LWT"};
}

std::string TasmotaSource::deviceOf(std::string_view topic, std::string_view* leaf) const {
  const auto slash = topic.rfind('/');
  if (slash == std::string_view::npos) return {};
  const std::string_view head = topic.substr(0, slash + 1);
  if (leaf) *leaf = topic.substr(slash + 1);
  if (auto it = custom_tele_.find(head); it != custom_tele_.end()) return it->second;
  if (head.substr(0, 5) == "tele/" && head.find('/', 5) == head.size() - 1)
    return std::string(head.substr(5, head.size() - 6));
  return {};
}

std::string TasmotaSource::speaker(std::string_view topic) const {
  const std::string disc = prefix_ + "/discovery/";
  if (topic.substr(0, disc.size()) == disc) {
    const std::string_view rest = topic.substr(disc.size());
    const std::string_view mac = rest.substr(0, rest.find('/'));
    if (auto it = by_mac_.find(mac); it != by_mac_.end()) return "tasmota:" + it->second.topic;
    return "tasmota:mac:" + std::string(mac);
  }
  std::string_view leaf;
  const std::string device = deviceOf(topic, &leaf);
  if (device.empty() || (leaf != "SENSOR" && leaf != "LWT")) return {};
  return "tasmota:" + device;
}

std::optional<Rejection> TasmotaSource::parse(const mqtt::Message& message, SourceContext& context,
                                              std::vector<DeviceUpdate>& out) {
  const std::string where(message.topic);
  const std::string disc = prefix_ + "/discovery/";
  if (message.topic.substr(0, disc.size()) == disc) {
    const std::string_view rest = message.topic.substr(disc.size());
    const auto slash = rest.find('/');
    const std::string_view mac = rest.substr(0, slash);
    const std::string_view leaf = rest.substr(slash + 1);
    if (!normaliseMac(mac)) return Rejection{Reject::invalid, where + ": not a MAC address"};
    if (leaf == "config") return parseConfig(mac, message.payload, context, out);
    // sensors: a snapshot of the sensors, for a device whose config we know.
    const auto it = by_mac_.find(mac);
    if (it == by_mac_.end() || message.payload.empty()) return std::nullopt;
    bj::value doc;
    if (auto r = json::parse(message.payload, where, doc)) return r;
    const auto* o = doc.if_object();
    const auto* sn = o ? o->if_contains("sn") : nullptr;
    if (!sn || !sn->is_object())
      return Rejection{Reject::invalid, where + ": expected {\"sn\": {...}}"};
    return parseSensors(where, it->second.topic, sn->get_object(), out);
  }

  std::string_view leaf;
  const std::string device = deviceOf(message.topic, &leaf);
  if (device.empty()) return std::nullopt;
  if (!json::isSafeId(device))
    return Rejection{Reject::invalid, where + ": device topic is not a usable id"};
  if (leaf == "LWT") {
    std::string online = "Online", offline = "Offline";
    for (const auto& [mac, k] : by_mac_) {
      if (k.topic == device) {
        online = k.online;
        offline = k.offline;
      }
    }
    DeviceUpdate u;
    u.ref = {"tasmota", device};
    if (message.payload == online) {
      u.availability = Availability::online;
    } else if (message.payload == offline) {
      u.availability = Availability::offline;
    } else if (message.payload.empty()) {
      return std::nullopt;
    } else {
      return Rejection{Reject::malformed, where + ": expected \"" + online + "\" or \"" + offline +
                                              "\", got \"" + json::excerpt(message.payload) + "\""};
    }
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (leaf != "SENSOR") return std::nullopt;
  bj::value doc;
  if (auto r = json::parse(message.payload, where, doc)) return r;
  const auto* o = doc.if_object();
  if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
  return parseSensors(where, device, *o, out);
}

std::optional<Rejection> TasmotaSource::parseConfig(std::string_view mac, std::string_view payload,
                                                    SourceContext& context,
                                                    std::vector<DeviceUpdate>& out) {
  const std::string where = prefix_ + "/discovery/" + std::string(mac) + "/config";
  if (payload.empty()) {
    auto it = by_mac_.find(mac);
    if (it == by_mac_.end()) return std::nullopt;
    DeviceUpdate u;
    u.ref = {"tasmota", it->second.topic};
    u.removed = true;
    std::erase_if(custom_tele_, [&](const auto& kv) { return kv.second == it->second.topic; });
    by_mac_.erase(it);
    out.push_back(std::move(u));
    return std::nullopt;
  }
  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  const auto* o = doc.if_object();
  if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
  std::optional<Rejection> err;
  const auto topic = json::optionalString(*o, "t", where, err);
  const auto mac_field = json::optionalString(*o, "mac", where, err);
  const auto device_name = json::optionalString(*o, "dn", where, err);
  const auto hostname = json::optionalString(*o, "hn", where, err);
  const auto module = json::optionalString(*o, "md", where, err);
  const auto ip = json::optionalString(*o, "ip", where, err);
  const auto full_topic = json::optionalString(*o, "ft", where, err);
  const auto online = json::optionalString(*o, "onln", where, err);
  const auto offline = json::optionalString(*o, "ofln", where, err);
  if (err) return err;
  if (!topic || !json::isSafeId(*topic))
    return Rejection{Reject::invalid, where + ": t: expected the device topic"};
  if (!mac_field || normaliseMac(*mac_field) != normaliseMac(mac))
    return Rejection{Reject::spoofed, where + ": mac: does not match the topic's MAC"};
  if (!by_mac_.contains(mac) && by_mac_.size() >= max_devices_)
    return Rejection{Reject::device_cap, where + ": device cap reached"};

  // Where telemetry goes: FullTopic with %prefix% = tp[2] ("tele") and %topic% = t.
  std::string tele_prefix = "tele";
  if (const auto* tp = o->if_contains("tp");
      tp && tp->is_array() && tp->get_array().size() >= 3 && tp->get_array()[2].is_string())
    tele_prefix = std::string(tp->get_array()[2].get_string());
  std::string tele = full_topic.value_or("%prefix%/%topic%/");
  replaceAll(tele, "%prefix%", tele_prefix);
  replaceAll(tele, "%topic%", *topic);
  if (!tele.empty() && tele.back() != '/') tele += '/';
  const bool custom = tele != "tele/" + *topic + "/";
  if (custom) {
    if (tele.find_first_of("+#%") != std::string::npos || tele.size() > 200)
      return Rejection{Reject::invalid, where + ": ft: not a usable FullTopic"};
    if (!context.watch(tele + "SENSOR") || !context.watch(tele + "LWT"))
      return Rejection{Reject::device_cap, where + ": watched-topic cap reached"};
    custom_tele_[tele] = *topic;
  }

  Known k;
  k.topic = *topic;
  if (online) k.online = *online;
  if (offline) k.offline = *offline;
  by_mac_[std::string(mac)] = k;

  DeviceUpdate u;
  u.ref = {"tasmota", *topic};
  u.identifiers = {"mac:" + *normaliseMac(mac)};
  u.name = device_name ? device_name : hostname;
  if (const auto* fn = o->if_contains("fn");
      !u.name && fn && fn->is_array() && !fn->get_array().empty() && fn->get_array()[0].is_string())
    u.name = std::string(fn->get_array()[0].get_string());
  u.kind = "tasmota";
  u.manufacturer = "Tasmota";
  u.model = module;
  if (ip) u.endpoints.push_back("http://" + *ip + "/");
  out.push_back(std::move(u));
  return std::nullopt;
}

std::optional<Rejection> TasmotaSource::parseSensors(const std::string& where,
                                                     const std::string& device,
                                                     const bj::object& snapshot,
                                                     std::vector<DeviceUpdate>& out) {
  DeviceUpdate u;
  u.ref = {"tasmota", device};
  // The energy meter's lifetime total is what a supplier asks for.
  if (const auto* energy = snapshot.if_contains("ENERGY"); energy && energy->is_object()) {
    if (const auto* total = energy->get_object().if_contains("Total")) {
      const auto kwh = json::number(*total);
      if (!kwh || *kwh < 0)
        return Rejection{Reject::invalid, where + ": ENERGY.Total: expected a number >= 0"};
      NeedSignal s;
      s.kind = SignalKind::meter;
      s.key = "electricity";
      s.level = *kwh;
      s.unit = "kWh";
      u.signals.push_back(std::move(s));
    }
  }
  // A battery may be reported at the top level or inside one sensor's object.
  auto battery = [&](const bj::object& o) -> std::optional<Rejection> {
    for (std::string_view key : {"Battery", "BatteryPercentage"}) {
      if (const auto* b = o.if_contains(key)) {
        const auto pct = json::number(*b);
        if (!pct || *pct < 0 || *pct > 100)
          return Rejection{Reject::invalid,
                           where + ": " + std::string(key) + ": expected a number 0..100"};
        u.signals.push_back(batterySignal(*pct));
        return std::nullopt;
      }
    }
    return std::nullopt;
  };
  if (auto r = battery(snapshot)) return r;
  for (const auto& [k, v] : snapshot) {
    const bool have_battery =
        std::any_of(u.signals.begin(), u.signals.end(),
                    [](const NeedSignal& s) { return s.kind == SignalKind::battery; });
    if (have_battery || !v.is_object() || k == "ENERGY") continue;
    if (auto r = battery(v.get_object())) return r;
  }
  out.push_back(std::move(u));
  return std::nullopt;
}

}  // namespace steward::discovery
