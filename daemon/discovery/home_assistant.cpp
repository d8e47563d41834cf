// See home_assistant.hpp. The format is documented by Home Assistant ("MQTT Discovery"); the
// abbreviation table below covers the keys Steward reads plus the common ones, so that configs
// using them expand the same way Home Assistant expands them.
#include "discovery/home_assistant.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "discovery/identifiers.hpp"
#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

constexpr std::array<std::pair<std::string_view, std::string_view>, 88> kAbbreviations = {{
    {"act_t", "action_topic"},
    {"act_tpl", "action_template"},
    {"avty", "availability"},
    {"avty_mode", "availability_mode"},
    {"avty_t", "availability_topic"},
    {"avty_tpl", "availability_template"},
    {"bat_lev_t", "battery_level_topic"},
    {"bat_lev_tpl", "battery_level_template"},
    {"bri_cmd_t", "brightness_command_topic"},
    {"bri_stat_t", "brightness_state_topic"},
    {"bri_val_tpl", "brightness_value_template"},
    {"chrg_t", "charging_topic"},
    {"cmd_t", "command_topic"},
    {"cmd_tpl", "command_template"},
    {"cmps", "components"},
    {"cns", "connections"},
    {"cu", "configuration_url"},
    {"curr_temp_t", "current_temperature_topic"},
    {"dev", "device"},
    {"dev_cla", "device_class"},
    {"e", "encoding"},
    {"en", "enabled_by_default"},
    {"ent_cat", "entity_category"},
    {"ent_pic", "entity_picture"},
    {"evt_typ", "event_types"},
    {"exp_aft", "expire_after"},
    {"frc_upd", "force_update"},
    {"fx_cmd_t", "effect_command_topic"},
    {"fx_stat_t", "effect_state_topic"},
    {"hw", "hw_version"},
    {"ic", "icon"},
    {"ids", "identifiers"},
    {"json_attr", "json_attributes"},
    {"json_attr_t", "json_attributes_topic"},
    {"json_attr_tpl", "json_attributes_template"},
    {"l_ver_t", "latest_version_topic"},
    {"l_ver_tpl", "latest_version_template"},
    {"max", "max"},
    {"mdl", "model"},
    {"mdl_id", "model_id"},
    {"mf", "manufacturer"},
    {"min", "min"},
    {"o", "origin"},
    {"obj_id", "object_id"},
    {"off_dly", "off_delay"},
    {"ops", "options"},
    {"opt", "optimistic"},
    {"p", "platform"},
    {"pl_avail", "payload_available"},
    {"pl_not_avail", "payload_not_available"},
    {"pl_off", "payload_off"},
    {"pl_on", "payload_on"},
    {"pl_prs", "payload_press"},
    {"pl_rst", "payload_reset"},
    {"pl_toff", "payload_turn_off"},
    {"pl_ton", "payload_turn_on"},
    {"pos_t", "position_topic"},
    {"pos_tpl", "position_template"},
    {"pow_stat_t", "power_state_topic"},
    {"qos", "qos"},
    {"ret", "retain"},
    {"sa", "suggested_area"},
    {"set_pos_t", "set_position_topic"},
    {"sn", "serial_number"},
    {"stat_cla", "state_class"},
    {"stat_off", "state_off"},
    {"stat_on", "state_on"},
    {"stat_t", "state_topic"},
    {"stat_tpl", "state_template"},
    {"stat_val_tpl", "state_value_template"},
    {"step", "step"},
    {"stype", "subtype"},
    {"sug_dsp_prc", "suggested_display_precision"},
    {"sup_feat", "supported_features"},
    {"sw", "sw_version"},
    {"t", "topic"},
    {"temp_cmd_t", "temperature_command_topic"},
    {"temp_stat_t", "temperature_state_topic"},
    {"temp_unit", "temperature_unit"},
    {"uniq_id", "unique_id"},
    {"unit_of_meas", "unit_of_measurement"},
    {"url", "support_url"},
    {"val_tpl", "value_template"},
    {"via_dev", "via_device"},
    {"pl_inst", "payload_install"},
    {"mode_stat_t", "mode_state_topic"},
}};

// Expands abbreviated keys in place, recursively into the objects and lists discovery nests.
void expandKeys(bj::object& o, int depth = 0) {
  if (depth > 4) return;
  bj::object expanded;
  expanded.reserve(o.size());
  for (auto& [k, v] : o) {
    const std::string_view full = expandAbbreviation(k);
    if (auto* child = v.if_object()) expandKeys(*child, depth + 1);
    if (auto* list = v.if_array()) {
      for (auto& item : *list)
        if (auto* child = item.if_object()) expandKeys(*child, depth + 1);
    }
    // A full key wins over its abbreviation when a config carries both.
    if (full != k && o.contains(full)) continue;
    expanded[full] = std::move(v);
  }
  o = std::move(expanded);
}

// `~` stands for the config's base topic at the start or end of any *_topic value.
void expandTilde(bj::object& o, std::string_view base) {
  for (auto& [k, v] : o) {
    auto* s = v.if_string();
    const std::string_view key = k;
    const bool is_topic =
        key == "topic" || (key.size() > 6 && key.substr(key.size() - 6) == "_topic");
    if (s && is_topic && !s->empty()) {
      std::string text(*s);
      if (text.front() == '~') {
        text = std::string(base) + text.substr(1);
      } else if (text.back() == '~') {
        text = text.substr(0, text.size() - 1) + std::string(base);
      }
      *s = text;
    } else if (auto* list = v.if_array(); list && key == "availability") {
      for (auto& item : *list)
        if (auto* child = item.if_object()) expandTilde(*child, base);
    }
  }
}

std::string stringOr(const bj::object& o, std::string_view key, std::string fallback = {}) {
  if (const auto* v = o.if_contains(key)) {
    if (const auto* s = v->if_string()) return std::string(*s);
    if (const auto* b = v->if_bool()) return *b ? "true" : "false";
  }
  return fallback;
}

// A topic we may subscribe to: no wildcards, not empty, not absurdly long.
bool validPublishTopic(std::string_view t) {
  return !t.empty() && t.size() <= 256 && t.find_first_of("+#") == std::string_view::npos &&
         t.find('\0') == std::string_view::npos;
}

bool isOn(std::string_view value, std::string_view payload_on) {
  return value == payload_on || value == "true" || value == "True" || value == "1";
}

}  // namespace

std::string_view expandAbbreviation(std::string_view key) {
  for (const auto& [abbr, full] : kAbbreviations)
    if (abbr == key) return full;
  return key;
}

std::optional<std::string> evaluateValueTemplate(std::string_view tmpl, std::string_view payload) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
      s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
      s.remove_suffix(1);
    return s;
  };
  std::string_view t = trim(tmpl);
  if (t.size() < 4 || t.substr(0, 2) != "{{" || t.substr(t.size() - 2) != "}}") return std::nullopt;
  t = trim(t.substr(2, t.size() - 4));
  if (auto bar = t.find('|'); bar != std::string_view::npos) t = trim(t.substr(0, bar));
  if (t == "value") return std::string(payload);
  if (t.substr(0, 10) != "value_json") return std::nullopt;
  t.remove_prefix(10);

  boost::system::error_code ec;
  const bj::value doc = bj::parse(payload, ec);
  if (ec) return std::nullopt;
  const bj::value* cur = &doc;
  while (!t.empty()) {
    std::string_view key;
    if (t.front() == '.') {
      t.remove_prefix(1);
      const auto end = t.find_first_of(".[");
      key = t.substr(0, end);
      t = end == std::string_view::npos ? std::string_view{} : t.substr(end);
    } else if (t.front() == '[' && t.size() > 3 && (t[1] == '\'' || t[1] == '"')) {
      const char quote = t[1];
      const auto close = t.find(quote, 2);
      if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ']')
        return std::nullopt;
      key = t.substr(2, close - 2);
      t.remove_prefix(close + 2);
    } else {
      return std::nullopt;
    }
    const auto* obj = cur->if_object();
    if (!obj || key.empty()) return std::nullopt;
    cur = obj->if_contains(key);
    if (!cur) return std::nullopt;
  }
  if (const auto* s = cur->if_string()) return std::string(*s);
  if (const auto* b = cur->if_bool()) return std::string(*b ? "true" : "false");
  if (cur->is_number() || cur->is_null()) return bj::serialize(*cur);
  return std::nullopt;
}

HomeAssistantSource::HomeAssistantSource(std::string prefix, std::size_t max_entities)
    : prefix_(std::move(prefix)), max_entities_(max_entities) {}

std::vector<std::string> HomeAssistantSource::filters() const {
  return {prefix_ + "/+/+/config", prefix_ + "/+/+/+/config", prefix_ + "/status"};
}

std::size_t HomeAssistantSource::entityCount() const {
  std::size_t n = 0;
  for (const auto& [topic, entities] : by_config_)
    n += entities.size();
  return n;
}

std::string HomeAssistantSource::speaker(std::string_view topic) const {
  if (auto it = by_state_topic_.find(std::string(topic)); it != by_state_topic_.end())
    return "homeassistant:" + it->second.front()->device;
  if (by_availability_topic_.contains(std::string(topic)))
    return "homeassistant:availability:" + std::string(topic);
  if (topic.size() > prefix_.size() && topic.substr(0, prefix_.size()) == prefix_ &&
      topic[prefix_.size()] == '/') {
    // The discovery node: "<component>/[<node>/]<object>" names who published the config.
    std::string_view rest = topic.substr(prefix_.size() + 1);
    if (rest == "status") return "homeassistant:status";
    if (rest.size() > 7 && rest.substr(rest.size() - 7) == "/config")
      return "homeassistant:" + std::string(rest.substr(0, rest.size() - 7));
  }
  return {};
}

std::optional<Rejection> HomeAssistantSource::parse(const mqtt::Message& message,
                                                    SourceContext& context,
                                                    std::vector<DeviceUpdate>& out) {
  const std::string_view topic = message.topic;
  const bool under_prefix = topic.size() > prefix_.size() &&
                            topic.substr(0, prefix_.size()) == prefix_ &&
                            topic[prefix_.size()] == '/';
  if (under_prefix) {
    const std::string_view rest = topic.substr(prefix_.size() + 1);
    if (rest == "status") {
      // Home Assistant's birth: integrations re-publish their discovery on "online", and
      // those configs flow through here again. Nothing to change in the registry.
      if (message.payload == "online") ++births_;
      return std::nullopt;
    }
    // <component>/[<node>/]<object>/config
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= rest.size()) {
      const auto slash = rest.find('/', start);
      parts.push_back(rest.substr(start, slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    if ((parts.size() == 3 || parts.size() == 4) && parts.back() == "config") {
      const std::string_view object_id = parts[parts.size() - 2];
      return parseConfig(topic, parts[0], object_id, message.payload, context, out);
    }
  }
  std::optional<Rejection> r;
  if (by_availability_topic_.contains(std::string(topic))) {
    r = parseAvailability(topic, message.payload, out);
    if (r) return r;
  }
  if (by_state_topic_.contains(std::string(topic))) r = parseState(topic, message.payload, out);
  return r;
}

bool HomeAssistantSource::deviceStillKnown(const std::string& device) const {
  for (const auto& [topic, entities] : by_config_)
    for (const auto& e : entities)
      if (e.device == device) return true;
  return false;
}

std::optional<Rejection> HomeAssistantSource::parseConfig(
    std::string_view topic, std::string_view component, std::string_view object_id,
    std::string_view payload, SourceContext& context, std::vector<DeviceUpdate>& out) {
  const std::string where(topic);
  // The hub's own entities and its exports of plugin devices are not read back as devices.
  if (object_id.substr(0, kOwnExportPrefix.size()) == kOwnExportPrefix) return std::nullopt;

  if (payload.empty()) {
    // Removal: the entities of this config go; a device with none left is withdrawn.
    auto it = by_config_.find(where);
    if (it == by_config_.end()) return std::nullopt;
    std::vector<std::string> devices;
    for (const auto& e : it->second)
      devices.push_back(e.device);
    by_config_.erase(it);
    reindex();
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    for (const auto& d : devices) {
      if (deviceStillKnown(d)) continue;
      availability_state_.erase(d);
      DeviceUpdate u;
      u.ref = {"homeassistant", d};
      u.removed = true;
      out.push_back(std::move(u));
    }
    return std::nullopt;
  }

  bj::value doc;
  if (auto r = json::parse(payload, where, doc)) return r;
  auto* root = doc.if_object();
  if (!root) return Rejection{Reject::invalid, where + ": expected a JSON object"};
  expandKeys(*root);
  if (const auto* base = root->if_contains("~")) {
    if (!base->is_string()) return Rejection{Reject::invalid, where + ": ~: expected a string"};
    const std::string b(base->get_string());
    expandTilde(*root, b);
    if (auto* cmps = root->if_contains("components"); cmps && cmps->is_object())
      for (auto& [k, c] : cmps->get_object())
        if (auto* co = c.if_object()) expandTilde(*co, b);
  }

  // The device block: optional for single-component configs, required for device-based ones.
  DeviceUpdate u;
  u.ref.source = "homeassistant";
  if (const auto* dev = root->if_contains("device")) {
    const auto* d = dev->if_object();
    if (!d) return Rejection{Reject::invalid, where + ": device: expected an object"};
    std::optional<Rejection> err;
    std::vector<std::string> raw_ids;
    if (const auto* ids = d->if_contains("identifiers")) {
      if (const auto* s = ids->if_string()) {
        raw_ids.emplace_back(*s);
      } else if (const auto* list = ids->if_array()) {
        for (const auto& i : *list) {
          if (!i.is_string())
            return Rejection{Reject::invalid, where + ": device.identifiers: expected strings"};
          raw_ids.emplace_back(i.get_string());
        }
      } else {
        return Rejection{Reject::invalid,
                         where + ": device.identifiers: expected a string or a list"};
      }
    }
    if (const auto* cns = d->if_contains("connections")) {
      const auto* list = cns->if_array();
      if (!list) return Rejection{Reject::invalid, where + ": device.connections: expected a list"};
      for (const auto& c : *list) {
        const auto* pair = c.if_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string())
          return Rejection{Reject::invalid,
                           where + ": device.connections: expected [type, value] pairs"};
        if (auto id = connectionIdentifier((*pair)[0].get_string(), (*pair)[1].get_string()))
          u.identifiers.push_back(*id);
      }
    }
    if (raw_ids.empty() && u.identifiers.empty())
      return Rejection{Reject::invalid,
                       where + ": device: needs identifiers or connections to be a device"};
    for (const auto& id : raw_ids)
      u.identifiers.push_back(normaliseForeignIdentifier(id));
    u.ref.id = raw_ids.empty() ? u.identifiers.front() : raw_ids.front();
    u.name = json::optionalString(*d, "name", where + ": device", err);
    u.manufacturer = json::optionalString(*d, "manufacturer", where + ": device", err);
    u.model = json::optionalString(*d, "model", where + ": device", err);
    if (!u.model) u.model = json::optionalString(*d, "model_id", where + ": device", err);
    if (auto url = json::optionalString(*d, "configuration_url", where + ": device", err))
      u.endpoints.push_back(*url);
    if (err) return err;
  } else if (component == "device") {
    return Rejection{Reject::invalid, where + ": device-based discovery needs a device block"};
  }

  // The entities this config declares: one, or the `components` of a device-based config,
  // which inherit the shared top-level options (state_topic, availability, ...).
  std::vector<std::pair<std::string, const bj::object*>> configs;
  bj::object inherited;
  if (component == "device") {
    const auto* cmps = root->if_contains("components");
    if (!cmps || !cmps->is_object())
      return Rejection{Reject::invalid, where + ": components: expected an object"};
    for (const auto& [k, v] : *root)
      if (k != "components" && k != "device" && k != "origin") inherited[k] = v;
    for (const auto& [id, c] : cmps->get_object()) {
      const auto* co = c.if_object();
      if (!co)
        return Rejection{Reject::invalid,
                         where + ": components." + std::string(id) + ": expected an object"};
      const auto* platform = co->if_contains("platform");
      if (!platform || !platform->is_string())
        return Rejection{Reject::invalid,
                         where + ": components." + std::string(id) + ".platform: missing"};
      configs.emplace_back(std::string(platform->get_string()), co);
    }
  } else {
    configs.emplace_back(std::string(component), root);
  }

  std::vector<Entity> entities;
  for (const auto& [platform, cfg] : configs) {
    auto get = [&](std::string_view key, std::string fallback = {}) {
      if (cfg->contains(key)) return stringOr(*cfg, key, fallback);
      return stringOr(inherited, key, fallback);
    };
    Entity e;
    e.component = platform;
    e.device_class = get("device_class");
    e.state_class = get("state_class");
    e.unit = get("unit_of_measurement");
    e.value_template = get("value_template");
    e.state_topic = get("state_topic");
    e.payload_on = get("payload_on", "ON");
    e.availability_mode = get("availability_mode", "latest");
    if (!e.state_topic.empty() && !validPublishTopic(e.state_topic))
      return Rejection{Reject::invalid, where + ": state_topic: not a topic one can watch"};
    const bj::value* avty_list = cfg->if_contains("availability");
    if (!avty_list) avty_list = inherited.if_contains("availability");
    if (avty_list) {
      const auto* list = avty_list->if_array();
      if (!list) return Rejection{Reject::invalid, where + ": availability: expected a list"};
      for (const auto& item : *list) {
        const auto* a = item.if_object();
        if (!a) return Rejection{Reject::invalid, where + ": availability: expected objects"};
        AvailabilityEntry entry;
        entry.topic = stringOr(*a, "topic");
        entry.payload_available = stringOr(*a, "payload_available", "online");
        entry.payload_not_available = stringOr(*a, "payload_not_available", "offline");
        entry.value_template = stringOr(*a, "value_template");
        if (!validPublishTopic(entry.topic))
          return Rejection{Reject::invalid, where + ": availability.topic: missing or invalid"};
        e.availability.push_back(std::move(entry));
      }
    }
    if (const std::string t = get("availability_topic"); !t.empty()) {
      if (!validPublishTopic(t))
        return Rejection{Reject::invalid, where + ": availability_topic: not a valid topic"};
      AvailabilityEntry entry;
      entry.topic = t;
      entry.payload_available = get("payload_available", "online");
      entry.payload_not_available = get("payload_not_available", "offline");
      entry.value_template = get("availability_template");
      e.availability.push_back(std::move(entry));
    }
    entities.push_back(std::move(e));
  }

  // Without a device block an entity is its own device, named by its unique id (or topic).
  if (u.ref.id.empty()) {
    const std::string unique = stringOr(*root, "unique_id");
    // "[<node>/]<object>": the discovery topic without prefix, component and "/config".
    std::string_view node_object = topic.substr(prefix_.size() + 1 + component.size() + 1);
    node_object.remove_suffix(7);
    u.ref.id = unique.empty() ? std::string(node_object) : unique;
    u.name = stringOr(*root, "name");
    if (u.name->empty()) u.name.reset();
  }
  if (u.ref.id.size() > 128)
    return Rejection{Reject::invalid, where + ": device identifier longer than 128 characters"};
  for (auto& e : entities) {
    e.device = u.ref.id;
    // A state topic is one device's voice: sources that share it are the same device.
    if (!e.state_topic.empty()) u.identifiers.push_back("topic:" + e.state_topic);
  }
  std::sort(u.identifiers.begin(), u.identifiers.end());
  u.identifiers.erase(std::unique(u.identifiers.begin(), u.identifiers.end()), u.identifiers.end());

  const auto existing = by_config_.find(where);
  const std::size_t replaced = existing == by_config_.end() ? 0 : existing->second.size();
  if (entityCount() - replaced + entities.size() > max_entities_) {
    return Rejection{Reject::device_cap,
                     where + ": entity cap (" + std::to_string(max_entities_) + ") reached"};
  }

  // Watch everything the entities name before committing the config, so a refused watch
  // leaves the source as it was.
  for (const auto& e : entities) {
    if (!e.state_topic.empty() && !context.watch(e.state_topic))
      return Rejection{Reject::device_cap, where + ": watched-topic cap reached"};
    for (const auto& a : e.availability)
      if (!context.watch(a.topic))
        return Rejection{Reject::device_cap, where + ": watched-topic cap reached"};
  }

  // What the kind of device is, for the registry: the first entity's device class says most.
  for (const auto& e : entities) {
    if (!e.device_class.empty()) {
      u.kind = e.component + ":" + e.device_class;
      break;
    }
  }
  if (!u.kind && !entities.empty()) u.kind = entities.front().component;
  by_config_[where] = std::move(entities);
  reindex();
  out.push_back(std::move(u));
  return std::nullopt;
}

void HomeAssistantSource::reindex() {
  by_state_topic_.clear();
  by_availability_topic_.clear();
  for (const auto& [topic, entities] : by_config_) {
    for (const auto& e : entities) {
      if (!e.state_topic.empty()) by_state_topic_[e.state_topic].push_back(&e);
      for (const auto& a : e.availability) {
        auto& list = by_availability_topic_[a.topic];
        if (std::find(list.begin(), list.end(), &e) == list.end()) list.push_back(&e);
      }
    }
  }
}

std::optional<Rejection> HomeAssistantSource::parseState(std::string_view topic,
                                                         std::string_view payload,
                                                         std::vector<DeviceUpdate>& out) const {
  const auto it = by_state_topic_.find(std::string(topic));
  if (it == by_state_topic_.end()) return std::nullopt;
  const std::size_t first = out.size();
  for (const Entity* e : it->second) {
    DeviceUpdate* u = nullptr;
    for (std::size_t i = first; i < out.size(); ++i)
      if (out[i].ref.id == e->device) u = &out[i];
    if (!u) {
      out.emplace_back();
      u = &out.back();
      u->ref = {"homeassistant", e->device};
      u->may_admit = false;
    }
    const bool battery = e->device_class == "battery";
    const bool meter =
        (e->device_class == "energy" || e->device_class == "gas" || e->device_class == "water") &&
        (e->state_class == "total" || e->state_class == "total_increasing");
    if (!battery && !meter) continue;  // last seen only
    std::optional<std::string> value = e->value_template.empty()
                                           ? std::optional<std::string>(std::string(payload))
                                           : evaluateValueTemplate(e->value_template, payload);
    if (!value || value->empty() || *value == "null") continue;  // entity has no value now
    if (battery && e->component == "binary_sensor") {
      NeedSignal s;
      s.kind = SignalKind::battery;
      s.key = "battery";
      s.low = isOn(*value, e->payload_on);
      s.severity = s.low ? Severity::warning : Severity::info;
      u->signals.push_back(std::move(s));
      continue;
    }
    const auto number = json::parseNumber(*value);
    if (!number) {
      out.resize(first);
      return Rejection{Reject::invalid, std::string(topic) + ": " + e->device_class +
                                            ": expected a number, got \"" + json::excerpt(*value) +
                                            "\""};
    }
    if (battery) {
      if (*number < 0 || *number > 100) {
        out.resize(first);
        return Rejection{Reject::invalid,
                         std::string(topic) + ": battery: expected 0..100 %, got " + *value};
      }
      u->signals.push_back(batterySignal(*number));
    } else {
      NeedSignal s;
      s.kind = SignalKind::meter;
      s.key = e->device_class == "energy" ? "electricity" : e->device_class;
      s.level = *number;
      s.unit = e->unit;
      u->signals.push_back(std::move(s));
    }
  }
  return std::nullopt;
}

std::optional<Rejection> HomeAssistantSource::parseAvailability(std::string_view topic,
                                                                std::string_view payload,
                                                                std::vector<DeviceUpdate>& out) {
  const auto it = by_availability_topic_.find(std::string(topic));
  if (it == by_availability_topic_.end()) return std::nullopt;
  std::map<std::string, Availability> result;  // device -> combined availability
  for (const Entity* e : it->second) {
    for (const auto& a : e->availability) {
      if (a.topic != topic) continue;
      std::optional<std::string> value = a.value_template.empty()
                                             ? std::optional<std::string>(std::string(payload))
                                             : evaluateValueTemplate(a.value_template, payload);
      if (!value) continue;
      std::optional<bool> online;
      if (*value == a.payload_available) online = true;
      if (*value == a.payload_not_available) online = false;
      if (!online) continue;  // Home Assistant ignores other payloads too
      auto& states = availability_state_[e->device];
      states[a.topic] = *online;
      Availability combined = *online ? Availability::online : Availability::offline;
      if (e->availability_mode == "all" || e->availability_mode == "any") {
        const bool want_all = e->availability_mode == "all";
        bool all = true, any = false;
        for (const auto& [t, on] : states) {
          all = all && on;
          any = any || on;
        }
        combined = (want_all ? all : any) ? Availability::online : Availability::offline;
      }
      result[e->device] = combined;
    }
  }
  for (const auto& [device, availability] : result) {
    DeviceUpdate u;
    u.ref = {"homeassistant", device};
    u.availability = availability;
    u.may_admit = false;
    out.push_back(std::move(u));
  }
  return std::nullopt;
}

}  // namespace steward::discovery
