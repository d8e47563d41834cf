// Zigbee2MQTT as a device source: device state JSON on `<base>/<friendly_name>` (battery,
// battery_low, filter life), per-device availability, the bridge's `bridge/state` and its
// retained `bridge/devices` list, which ties friendly names to IEEE addresses.
#pragma once

#include <map>
#include <string>

#include "discovery/source.hpp"

namespace steward::discovery {

class Zigbee2MqttSource final : public Source {
 public:
  // `max_devices` caps the names remembered from bridge/devices.
  Zigbee2MqttSource(std::string base, std::size_t max_devices);

  std::string_view name() const override { return "zigbee2mqtt"; }
  std::vector<std::string> filters() const override { return {base_ + "/#"}; }
  std::string speaker(std::string_view topic) const override;
  std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                 std::vector<DeviceUpdate>& out) override;

  static constexpr std::string_view kBridgeId = "bridge";

 private:
  // The bridge as a device: known by its state topic and, once bridge/devices has named the
  // coordinator, by its IEEE address, the two things its Home Assistant discovery also names.
  DeviceUpdate bridgeUpdate() const;
  std::optional<Rejection> parseDevices(std::string_view payload, std::vector<DeviceUpdate>& out);
  std::optional<Rejection> parseState(const std::string& friendly, std::string_view payload,
                                      std::vector<DeviceUpdate>& out) const;

  std::string base_;
  std::size_t max_devices_;
  std::map<std::string, std::string, std::less<>> ieee_by_name_;  // from bridge/devices
  std::string coordinator_ieee_;                                  // from bridge/devices
};

// "online", "offline", {"state":"online"}: Zigbee2MQTT's availability payloads, old and new.
std::optional<Availability> parseZigbee2MqttAvailability(std::string_view payload);

}  // namespace steward::discovery
