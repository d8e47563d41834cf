// See ha_export.hpp. Abbreviated keys keep the retained payload small.
#include "discovery/ha_export.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "discovery/home_assistant.hpp"
#include "discovery/steward_plugin.hpp"

namespace steward::discovery {

std::string homeAssistantExportTopic(std::string_view prefix, std::string_view plugin_id) {
  return std::string(prefix) + "/device/" + std::string(HomeAssistantSource::kOwnExportPrefix) +
         std::string(plugin_id) + "/config";
}

std::string homeAssistantExportConfig(const Device& device, std::string_view plugin_id,
                                      const std::map<std::string, SignalKind>& need_kinds) {
  namespace bj = boost::json;
  const std::string base = std::string(kPluginTopicRoot) + std::string(plugin_id);
  const std::string uid =
      std::string(HomeAssistantSource::kOwnExportPrefix) + std::string(plugin_id);
  bj::object dev{{"ids", bj::array{uid}}, {"name", device.name.empty() ? uid : device.name}};
  if (!device.manufacturer.empty()) dev["mf"] = device.manufacturer;
  if (!device.model.empty()) dev["mdl"] = device.model;
  bj::object components;
  for (const auto& [key, kind] : need_kinds) {
    bj::object c{{"p", "sensor"},
                 {"name", key},
                 {"uniq_id", uid + "_" + key},
                 {"stat_t", base + "/need/" + key}};
    if (kind == SignalKind::fault || kind == SignalKind::outage) {
      c["val_tpl"] = "{{ value_json.severity }}";
    } else {
      c["val_tpl"] = "{{ value_json.level }}";
      if (auto l = device.levels.find(key); l != device.levels.end() && !l->second.unit.empty())
        c["unit_of_meas"] = l->second.unit;
      if (kind == SignalKind::battery) c["dev_cla"] = "battery";
      if (kind == SignalKind::meter) c["stat_cla"] = "total_increasing";
    }
    components[uid + "_" + key] = std::move(c);
  }
  bj::object config{{"dev", std::move(dev)},
                    {"o", bj::object{{"name", "Steward"}}},
                    {"avty_t", base + "/availability"},
                    {"cmps", std::move(components)}};
  return bj::serialize(config);
}

}  // namespace steward::discovery
