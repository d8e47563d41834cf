// Tasmota as a device source: native discovery (`<prefix>/discovery/<mac>/config` and `sensors`)
// and telemetry (`tele/<topic>/SENSOR`, `tele/<topic>/LWT`, or wherever the device's FullTopic
// puts them). Batteries and the energy meter's total become NeedSignals.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <string>

#include "discovery/source.hpp"

namespace steward::discovery {

class TasmotaSource final : public Source {
 public:
  TasmotaSource(std::string discovery_prefix, std::size_t max_devices);

  std::string_view name() const override { return "tasmota"; }
  std::vector<std::string> filters() const override;
  std::string speaker(std::string_view topic) const override;
  std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                 std::vector<DeviceUpdate>& out) override;

 private:
  struct Known {
    std::string topic;  // Tasmota's %topic%, the device's id here
    std::string online = "Online", offline = "Offline";
  };
  // The device's %topic% for a telemetry topic, "" if unknown.
  std::string deviceOf(std::string_view topic, std::string_view* leaf) const;
  std::optional<Rejection> parseConfig(std::string_view mac, std::string_view payload,
                                       SourceContext& context, std::vector<DeviceUpdate>& out);
  static std::optional<Rejection> parseSensors(const std::string& where, const std::string& device,
                                               const boost::json::object& snapshot,
                                               std::vector<DeviceUpdate>& out);

  std::string prefix_;
  std::size_t max_devices_;
  std::map<std::string, Known, std::less<>> by_mac_;
  // Telemetry topic prefixes ("tele/kitchen/") that a custom FullTopic moved elsewhere.
  std::map<std::string, std::string, std::less<>> custom_tele_;
};

}  // namespace steward::discovery
