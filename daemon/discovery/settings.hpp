// Discovery's settings: the [limits] and [discovery] tables of stewardd.toml.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace steward::discovery {

// Caps on what devices control (deny by default; see plugins/PROTOCOL.md).
struct LimitsConfig {
  std::size_t max_payload_bytes = 64 * 1024;
  std::size_t max_devices = 1000;
  std::size_t max_needs_per_device = 32;
  double device_messages_per_second = 20.0;  // token bucket refill rate per device
  double device_burst = 200.0;               // token bucket depth per device
};

struct DiscoveryConfig {
  std::string homeassistant_prefix = "homeassistant";
  std::string zigbee2mqtt_base = "zigbee2mqtt";
  std::string tasmota_prefix = "tasmota";
  std::string homie_prefix = "homie";
  std::vector<std::string> service_types = {"_ipp._tcp", "_ipps._tcp", "_steward-device._tcp"};
  bool publish_hub = true;  // announce the hub as _steward._tcp
  bool avahi = true;        // browse DNS-SD through avahi-daemon
};

struct Settings {
  LimitsConfig limits;
  DiscoveryConfig discovery;
};

}  // namespace steward::discovery
