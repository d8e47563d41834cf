// See homie.hpp. Homie 5 ids are [a-z0-9-]; `$state` is init, ready, disconnected, sleeping or
// lost; the description is JSON with `name` and `nodes.<id>.properties.<id>.{datatype,unit}`.
#include "discovery/homie.hpp"

#include <boost/json/parse.hpp>

#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

bool validHomieId(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() == '-') return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool mentionsBattery(std::string_view s) {
  return s.find("battery") != std::string_view::npos;
}

}  // namespace

std::optional<double> percentInText(std::string_view text) {
  std::optional<double> found;
  for (std::size_t pct = text.find('%'); pct != std::string_view::npos;
       pct = text.find('%', pct + 1)) {
    std::size_t start = pct;
    while (start > 0 &&
           ((text[start - 1] >= '0' && text[start - 1] <= '9') || text[start - 1] == '.'))
      --start;
    if (start == pct) continue;
    if (auto n = json::parseNumber(text.substr(start, pct - start))) found = n;
  }
  return found;
}

HomieSource::HomieSource(std::string prefix, std::size_t max_devices)
    : root_(std::move(prefix) + "/5/"), max_devices_(max_devices) {}

std::string HomieSource::speaker(std::string_view topic) const {
  if (topic.substr(0, root_.size()) != root_) return {};
  const std::string_view rest = topic.substr(root_.size());
  const std::string_view device = rest.substr(0, rest.find('/'));
  if (device.empty() || device.front() == '$') return {};  // $broadcast and friends
  return "homie:" + std::string(device);
}

std::optional<Rejection> HomieSource::parse(const mqtt::Message& message, SourceContext&,
                                            std::vector<DeviceUpdate>& out) {
  const std::string where(message.topic);
  if (message.topic.substr(0, root_.size()) != root_) return std::nullopt;
  const std::string_view rest = message.topic.substr(root_.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string device(rest.substr(0, slash));
  if (device.front() == '$') return std::nullopt;
  if (!validHomieId(device))
    return Rejection{Reject::invalid, where + ": not a Homie device id ([a-z0-9-])"};
  const std::string_view path = rest.substr(slash + 1);

  DeviceUpdate u;
  u.ref = {"homie", device};
  if (path == "$state") {
    if (message.payload.empty()) {
      // The device was removed: Homie clears its retained topics, $state among them.
      battery_properties_.erase(device);
      u.removed = true;
    } else if (message.payload == "ready" || message.payload == "sleeping") {
      u.availability = Availability::online;
    } else if (message.payload == "disconnected" || message.payload == "lost") {
      u.availability = Availability::offline;
    } else if (message.payload == "init") {
      u.availability = Availability::unknown;
    } else {
      return Rejection{Reject::invalid, where +
                                            ": expected init, ready, disconnected, sleeping "
                                            "or lost, got \"" +
                                            json::excerpt(message.payload) + "\""};
    }
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (path == "$description") {
    if (message.payload.empty()) return std::nullopt;
    return parseDescription(device, message.payload, out);
  }
  if (path.substr(0, 7) == "$alert/") {
    const std::string_view alert = path.substr(7);
    if (!validHomieId(alert)) return Rejection{Reject::invalid, where + ": not an alert id"};
    NeedSignal s;
    if (mentionsBattery(alert)) {
      s.kind = SignalKind::battery;
      s.key = "battery";
      s.level = percentInText(message.payload);
      if (s.level) s.unit = std::string(1, '%');  // see batterySignal()
      s.low = true;  // an alert about the battery is a call for a new one
      s.severity = Severity::warning;
    } else {
      s.kind = SignalKind::fault;
      s.key = std::string(alert);
      s.severity = Severity::warning;
    }
    s.description = std::string(message.payload.substr(0, 512));
    s.cleared = message.payload.empty();
    u.signals.push_back(std::move(s));
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (path.front() == '$') return std::nullopt;  // $log, $meta...: nothing for the registry

  // A property value: "<node>/<property>" (".../set" and "$target" are not the device's word).
  u.may_admit = false;
  const auto it = battery_properties_.find(device);
  if (it != battery_properties_.end() && it->second.contains(std::string(path))) {
    const auto pct = json::parseNumber(message.payload);
    if (!pct || *pct < 0 || *pct > 100)
      return Rejection{Reject::invalid, where + ": battery: expected a number 0..100, got \"" +
                                            json::excerpt(message.payload) + "\""};
    u.signals.push_back(batterySignal(*pct));
  }
  out.push_back(std::move(u));
  return std::nullopt;
}

std::optional<Rejection> HomieSource::parseDescription(const std::string& device,
                                                       std::string_view payload,
                                                       std::vector<DeviceUpdate>& out) {
  const std::string where = root_ + device + "/$description";
  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  const auto* o = doc.if_object();
  if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
  std::optional<Rejection> err;
  DeviceUpdate u;
  u.ref = {"homie", device};
  u.name = json::optionalString(*o, "name", where, err);
  const auto type = json::optionalString(*o, "type", where, err);
  if (err) return err;
  u.kind = type ? "homie:" + *type : "homie";
  std::set<std::string> batteries;
  if (const auto* nodes = o->if_contains("nodes")) {
    if (!nodes->is_object())
      return Rejection{Reject::invalid, where + ": nodes: expected an object"};
    for (const auto& [node_id, node] : nodes->get_object()) {
      const auto* n = node.if_object();
      if (!n)
        return Rejection{Reject::invalid,
                         where + ": nodes." + std::string(node_id) + ": expected an object"};
      const auto* props = n->if_contains("properties");
      if (!props) continue;
      if (!props->is_object())
        return Rejection{Reject::invalid, where + ": nodes." + std::string(node_id) +
                                              ".properties: expected an object"};
      for (const auto& [prop_id, prop] : props->get_object()) {
        const auto* p = prop.if_object();
        if (!p) continue;
        std::string unit, datatype;
        if (const auto* v = p->if_contains("unit"); v && v->is_string()) unit = v->get_string();
        if (const auto* v = p->if_contains("datatype"); v && v->is_string())
          datatype = v->get_string();
        if ((mentionsBattery(prop_id) || mentionsBattery(node_id)) && unit == "%" &&
            (datatype == "integer" || datatype == "float") && batteries.size() < 8)
          batteries.insert(std::string(node_id) + "/" + std::string(prop_id));
      }
    }
  }
  if (!battery_properties_.contains(device) && battery_properties_.size() >= max_devices_)
    return Rejection{Reject::device_cap, where + ": device cap reached"};
  battery_properties_[device] = std::move(batteries);
  out.push_back(std::move(u));
  return std::nullopt;
}

}  // namespace steward::discovery
