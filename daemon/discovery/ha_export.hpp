// Re-publishes Steward plugin devices as Home Assistant device-based discovery, so the broker
// that feeds the hub feeds Home Assistant too. The config points Home Assistant at the plugin's
// own topics (need/<key>, availability); the hub publishes only this retained config.
#pragma once

#include <map>
#include <string>

#include "discovery/device.hpp"

namespace steward::discovery {

// `<prefix>/device/steward_<plugin id>/config`
std::string homeAssistantExportTopic(std::string_view prefix, std::string_view plugin_id);

// The retained config payload: one sensor per need key the plugin has published.
std::string homeAssistantExportConfig(const Device& device, std::string_view plugin_id,
                                      const std::map<std::string, SignalKind>& need_kinds);

}  // namespace steward::discovery
