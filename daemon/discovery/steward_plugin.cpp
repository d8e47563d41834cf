// See steward_plugin.hpp; the payloads are specified in plugins/PROTOCOL.md.
#include "discovery/steward_plugin.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "discovery/identifiers.hpp"
#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxListItems = 16;

// The id in a payload must be the id in the topic: a plugin speaks only for itself.
std::optional<Rejection> checkId(const bj::object& o, const std::string& where,
                                 const std::string& id) {
  const auto* v = o.if_contains("id");
  if (!v || !v->is_string()) return Rejection{Reject::invalid, where + ": id: missing"};
  if (v->get_string() != id)
    return Rejection{Reject::spoofed, where + ": id \"" + json::excerpt(v->get_string()) +
                                          "\" speaks for another device than the topic's \"" + id +
                                          "\""};
  return std::nullopt;
}

std::optional<Rejection> stringList(const bj::object& o, std::string_view key,
                                    const std::string& where, std::vector<std::string>& out) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  const auto* list = v->if_array();
  if (!list || list->size() > kMaxListItems)
    return Rejection{Reject::invalid,
                     where + ": " + std::string(key) + ": expected a list of at most 16 strings"};
  for (const auto& item : *list) {
    if (!item.is_string() || item.get_string().size() > 256)
      return Rejection{Reject::invalid, where + ": " + std::string(key) + ": expected strings"};
    out.emplace_back(item.get_string());
  }
  return std::nullopt;
}

std::optional<Rejection> optionalNumber(const bj::object& o, std::string_view key,
                                        const std::string& where, std::optional<double>& out) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  out = json::number(*v);
  if (!out)
    return Rejection{Reject::invalid, where + ": " + std::string(key) + ": expected a number"};
  return std::nullopt;
}

// Identifiers a plugin may claim: the shared vocabulary only ("mac:", "zigbee:", "ipp:", ...).
std::optional<std::string> pluginIdentifier(std::string_view id) {
  if (id.substr(0, 4) == "mac:") {
    if (auto mac = normaliseMac(id.substr(4))) return "mac:" + *mac;
    return std::nullopt;
  }
  if (id.substr(0, 7) == "zigbee:") {
    if (auto ieee = normaliseIeee(id.substr(7))) return "zigbee:" + *ieee;
    return std::nullopt;
  }
  const auto colon = id.find(':');
  if (colon == std::string_view::npos || colon == 0 || id.substr(0, colon) == "topic")
    return std::nullopt;
  return std::string(id);
}

}  // namespace

std::vector<std::string> StewardPluginSource::filters() const {
  const std::string root(kPluginTopicRoot);
  return {root + "+/hello", root + "+/availability", root + "+/need/+", root + "+/state",
          root + "+/event"};
}

std::string StewardPluginSource::speaker(std::string_view topic) const {
  if (topic.substr(0, kPluginTopicRoot.size()) != kPluginTopicRoot) return {};
  const std::string_view rest = topic.substr(kPluginTopicRoot.size());
  return "steward:" + std::string(rest.substr(0, rest.find('/')));
}

std::optional<Rejection> parsePluginNeed(const std::string& where, const std::string& id,
                                         const std::string& key, std::string_view payload,
                                         NeedSignal& s) {
  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  const auto* o = doc.if_object();
  if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
  if (auto r = checkId(*o, where, id)) return r;
  std::optional<Rejection> err;
  const auto kind_text = json::optionalString(*o, "kind", where, err);
  if (err) return err;
  if (!kind_text) return Rejection{Reject::invalid, where + ": kind: missing"};
  const auto kind = parseSignalKind(*kind_text);
  if (!kind)
    return Rejection{Reject::invalid, where +
                                          ": kind: expected consumable, battery, fault, "
                                          "meter or outage, got \"" +
                                          json::excerpt(*kind_text) + "\""};
  s.kind = *kind;
  s.key = key;
  if (auto payload_key = json::optionalString(*o, "key", where, err);
      payload_key && *payload_key != key)
    return Rejection{Reject::invalid, where + ": key \"" + json::excerpt(*payload_key) +
                                          "\" differs from the topic's \"" + key + "\""};
  if (auto r = optionalNumber(*o, "level", where, s.level)) return r;
  if (auto r = optionalNumber(*o, "low_threshold", where, s.low_threshold)) return r;
  if (auto unit = json::optionalString(*o, "unit", where, err)) s.unit = *unit;
  if (auto d = json::optionalString(*o, "description", where, err))
    s.description = d->substr(0, 512);
  if (auto p = json::optionalString(*o, "product", where, err)) s.product_hint = p->substr(0, 128);
  if (auto sev = json::optionalString(*o, "severity", where, err)) {
    const auto parsed = parseSeverity(*sev);
    if (!parsed)
      return Rejection{Reject::invalid, where + ": severity: expected info, warning or critical"};
    s.severity = *parsed;
  }
  if (err) return err;
  if (const auto* low = o->if_contains("low"); low && !low->is_null()) {
    if (!low->is_bool()) return Rejection{Reject::invalid, where + ": low: expected true/false"};
    s.low = low->get_bool();
  } else if (s.level && s.low_threshold) {
    s.low = *s.level <= *s.low_threshold;
  }
  switch (s.kind) {
    case SignalKind::consumable:
    case SignalKind::battery:
      if (!s.level && !o->contains("low"))
        return Rejection{Reject::invalid, where + ": a " + *kind_text + " needs level or low"};
      if (s.level && s.unit.empty()) return Rejection{Reject::invalid, where + ": unit: missing"};
      if (s.unit == "%" && s.level && (*s.level < 0 || *s.level > 100))
        return Rejection{Reject::invalid, where + ": level: expected 0..100 %"};
      if (s.kind == SignalKind::battery && !o->contains("low") && !s.low_threshold && s.level &&
          s.unit == "%")
        s = NeedSignal{batterySignal(*s.level)};
      break;
    case SignalKind::meter:
      if (!s.level || s.unit.empty())
        return Rejection{Reject::invalid, where + ": a meter reading needs level and unit"};
      break;
    case SignalKind::fault:
    case SignalKind::outage:
      if (!o->contains("severity"))
        return Rejection{Reject::invalid, where + ": severity: missing"};
      break;
  }
  s.key = key;
  return std::nullopt;
}

std::optional<Rejection> StewardPluginSource::parse(const mqtt::Message& message, SourceContext&,
                                                    std::vector<DeviceUpdate>& out) {
  const std::string where(message.topic);
  if (message.topic.substr(0, kPluginTopicRoot.size()) != kPluginTopicRoot) return std::nullopt;
  const std::string_view rest = message.topic.substr(kPluginTopicRoot.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return Rejection{Reject::invalid, where + ": no message type"};
  const std::string id(rest.substr(0, slash));
  const std::string_view type = rest.substr(slash + 1);
  if (!json::isSafeId(id) || id.find(':') != std::string::npos)
    return Rejection{Reject::invalid, where + ": device id must be 1..64 of [A-Za-z0-9._-]"};

  DeviceUpdate u;
  u.ref = {"steward", id};
  u.may_admit = false;

  if (type == "hello") {
    if (message.payload.empty()) {
      // The plugin withdrew its device (uninstalled): the registry forgets this source.
      need_kinds_.erase(id);
      u.removed = true;
      out.push_back(std::move(u));
      return std::nullopt;
    }
    bj::value doc;
    if (auto r = json::parse(message.payload, where, doc)) return r;
    const auto* o = doc.if_object();
    if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
    const auto* version = o->if_contains("protocol");
    if (!version || !version->is_int64())
      return Rejection{Reject::invalid, where + ": protocol: expected an integer version"};
    if (version->get_int64() != kPluginProtocolVersion)
      return Rejection{Reject::unsupported_version,
                       where + ": protocol " + std::to_string(version->get_int64()) +
                           " is not supported (this hub speaks " +
                           std::to_string(kPluginProtocolVersion) + ")"};
    if (auto r = checkId(*o, where, id)) return r;
    std::optional<Rejection> err;
    u.kind = json::optionalString(*o, "kind", where, err);
    u.name = json::optionalString(*o, "name", where, err);
    u.manufacturer = json::optionalString(*o, "manufacturer", where, err);
    u.model = json::optionalString(*o, "model", where, err);
    if (err) return err;
    if (!u.kind || u.kind->empty() || u.kind->size() > 64)
      return Rejection{Reject::invalid, where + ": kind: expected a short device kind"};
    std::vector<std::string> capabilities, identifiers;
    if (auto r = stringList(*o, "capabilities", where, capabilities)) return r;
    if (auto r = stringList(*o, "identifiers", where, identifiers)) return r;
    if (auto r = stringList(*o, "endpoints", where, u.endpoints)) return r;
    for (const auto& i : identifiers) {
      auto norm = pluginIdentifier(i);
      if (!norm)
        return Rejection{Reject::invalid, where + ": identifiers: \"" + json::excerpt(i) +
                                              "\" is not <scheme>:<value>"};
      u.identifiers.push_back(*norm);
    }
    if (!need_kinds_.contains(id) && need_kinds_.size() >= max_devices_)
      return Rejection{Reject::device_cap, where + ": device cap reached"};
    need_kinds_[id];
    u.may_admit = true;
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (type == "availability") {
    const Availability a = parseAvailability(message.payload);
    if (a == Availability::unknown && !message.payload.empty())
      return Rejection{Reject::malformed, where + ": expected online or offline"};
    u.availability = a;
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (type.substr(0, 5) == "need/") {
    const std::string key(type.substr(5));
    if (!json::isSafeId(key) || key.find(':') != std::string::npos)
      return Rejection{Reject::invalid, where + ": need key must be 1..64 of [A-Za-z0-9._-]"};
    NeedSignal s;
    if (message.payload.empty()) {
      s.key = key;
      s.cleared = true;
      if (auto d = need_kinds_.find(id); d != need_kinds_.end()) {
        if (auto k = d->second.find(key); k != d->second.end()) s.kind = k->second;
      }
    } else {
      if (auto r = parsePluginNeed(where, id, key, message.payload, s)) return r;
      if (auto d = need_kinds_.find(id); d != need_kinds_.end() && d->second.size() < 256)
        d->second[key] = s.kind;
    }
    u.signals.push_back(std::move(s));
    out.push_back(std::move(u));
    return std::nullopt;
  }
  if (type == "state" || type == "event") {
    bj::value doc;
    if (auto r = json::parse(message.payload, where, doc)) return r;
    const auto* o = doc.if_object();
    if (!o) return Rejection{Reject::invalid, where + ": expected a JSON object"};
    if (auto r = checkId(*o, where, id)) return r;
    if (type == "state") {
      // Levels that are not needs (yet): {"levels": {"toner-black": {"level": 40, "unit": "%"}}}
      if (const auto* levels = o->if_contains("levels")) {
        const auto* lo = levels->if_object();
        if (!lo) return Rejection{Reject::invalid, where + ": levels: expected an object"};
        for (const auto& [k, v] : *lo) {
          const std::string key(k);
          if (!json::isSafeId(key)) return Rejection{Reject::invalid, where + ": levels: bad key"};
          const auto* lv = v.if_object();
          if (!lv)
            return Rejection{Reject::invalid, where + ": levels." + key + ": expected an object"};
          bj::object with_id = *lv;
          with_id["id"] = id;
          if (!with_id.contains("kind")) with_id["kind"] = "consumable";
          NeedSignal s;
          if (auto r =
                  parsePluginNeed(where + ": levels." + key, id, key, bj::serialize(with_id), s))
            return r;
          u.signals.push_back(std::move(s));
        }
      }
    }
    out.push_back(std::move(u));
    return std::nullopt;
  }
  return Rejection{Reject::invalid,
                   where + ": unknown message type \"" + json::excerpt(type) + "\""};
}

}  // namespace steward::discovery
