// What devices say that may become a household need, in one shape whatever the source
// (Steward plugins, Home Assistant discovery, Zigbee2MQTT, Tasmota, Homie). discovery/ produces
// these after validation; needs/ consumes them.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"

namespace steward::discovery {

enum class SignalKind {
  consumable,  // a level of something used up: toner, ink, filter life, salt, detergent
  battery,     // a battery level or a battery-low flag
  fault,       // a service or repair request: fault code, severity, description
  meter,       // a meter reading to be reported to the supplier
  outage,      // a supply outage (power, water, network) reported by a device
};

enum class Severity { info, warning, critical };

struct NeedSignal {
  std::string device_id;  // registry id of the device that spoke
  SignalKind kind = SignalKind::consumable;
  std::string key;              // what it is about: "toner-black", "battery", "E24", "electricity"
  std::optional<double> level;  // consumable/battery: current level in `unit`
  std::string unit;             // "%", "pages", "kWh", "m3"
  std::optional<double> low_threshold;  // the device's own low mark, in `unit`
  bool low = false;                     // the device says it is low / empty now
  bool cleared = false;                 // the need was withdrawn (empty retained payload)
  Severity severity = Severity::info;   // fault/outage
  std::string description;              // fault/outage text from the device
  std::string product_hint;             // a product id the device suggests ("TN-2420"), if any
  core::TimePoint observed_at;          // when the hub received it (injected clock)
  std::string source;  // the format it came through: "steward", "zigbee2mqtt", "homie", ...
};

}  // namespace steward::discovery
