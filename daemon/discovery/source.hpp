// The common shape of a foreign device format (Home Assistant discovery, Zigbee2MQTT, Tasmota,
// Homie, Steward plugins): which topics it listens to, and one place where its messages are
// validated and turned into DeviceUpdates. Sources hold only the topic bookkeeping their format
// needs; devices themselves live in the Registry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/device.hpp"
#include "mqtt/client.hpp"

namespace steward::discovery {

// Why a message was refused. Each has its own counter (see DeviceHub::Counters).
enum class Reject {
  too_large,            // payload over limits.max_payload_bytes
  malformed,            // not JSON / not the text the format requires
  invalid,              // well-formed but wrong types, ranges or topic shape
  spoofed,              // speaks for a device other than its own
  unknown_device,       // plugin traffic for a device that has not said hello
  unsupported_version,  // plugin protocol version the hub does not speak
  rate_limited,         // over the per-device token bucket
  device_cap,           // limits.max_devices reached
  need_cap,             // limits.max_needs_per_device reached
  storage,              // the database refused the change (not the device's fault)
};
inline constexpr std::size_t kRejectReasons = 10;
std::string_view toString(Reject r);

struct Rejection {
  Reject reason = Reject::invalid;
  std::string message;  // what and where: "battery: expected a number 0..100, got \"x\""
};

// What a source may ask of the hub while parsing.
class SourceContext {
 public:
  virtual ~SourceContext() = default;
  // Also deliver messages on `topic` (an exact topic or a filter) to this source from now on.
  // Idempotent. Returns false when the hub's cap on watched topics is reached.
  virtual bool watch(const std::string& topic) = 0;
};

class Source {
 public:
  virtual ~Source() = default;

  // Short name, also the `source` of the SourceRefs it produces: "homeassistant", "steward"...
  virtual std::string_view name() const = 0;

  // Filters to subscribe at start, in order (order matters: retained hellos before needs).
  virtual std::vector<std::string> filters() const = 0;

  // The device a message on `topic` speaks for ("zigbee2mqtt:weather_sensor"), for rate limits
  // and for "once per device per minute" logging; "" when this source ignores the topic.
  // Cheap: it runs before the payload is parsed.
  virtual std::string speaker(std::string_view topic) const = 0;

  // Validates one message and appends what it says to `out`. On rejection `out` is left as it
  // was and the source's own bookkeeping is unchanged.
  virtual std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                         std::vector<DeviceUpdate>& out) = 0;
};

}  // namespace steward::discovery
