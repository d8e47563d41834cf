// The registry's device model and the one shape every source reports in: a DeviceUpdate says
// what one message taught us about one device, before the registry decides what to keep.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "discovery/signals.hpp"

namespace steward::discovery {

enum class Availability { unknown, online, offline };
std::string_view toString(Availability a);
Availability parseAvailability(std::string_view s);  // "online"/"offline", else unknown

// A source's own name for a device: ("zigbee2mqtt", "weather_sensor"), ("steward", "printer-1").
struct SourceRef {
  std::string source;
  std::string id;
  std::string str() const { return source + ":" + id; }
  bool operator==(const SourceRef&) const = default;
};

struct Level {
  double value = 0;
  std::string unit;
  bool operator==(const Level&) const = default;
};

// What one message says about one device. Empty optionals mean "not said", not "cleared".
struct DeviceUpdate {
  SourceRef ref;
  // Cross-source identity, normalised: "zigbee:0x0017880104e45522", "mac:aabbccddeeff",
  // "topic:zigbee2mqtt/weather_sensor". Devices sharing one are the same device.
  std::vector<std::string> identifiers;
  std::optional<std::string> name, kind, manufacturer, model;
  std::vector<std::string> endpoints;
  std::optional<Availability> availability;
  // What the device reports that may become a need; the levels in them become the device's
  // latest levels. device_id and observed_at are set by the registry.
  std::vector<NeedSignal> signals;
  bool may_admit = true;  // false: only a known device may say this (plugin traffic before hello)
  bool removed = false;   // the source withdrew the device (empty retained discovery payload)
};

// A device as the registry keeps it (and persists it in the `devices` table).
struct Device {
  std::string id;  // registry id, stable: the first source's "<source>:<id>"
  std::string name, kind, manufacturer, model;
  std::vector<SourceRef> sources;
  std::vector<std::string> identifiers;
  std::vector<std::string> endpoints;
  core::TimePoint first_seen{}, last_seen{};
  Availability availability = Availability::unknown;
  std::map<std::string, Level> levels;
  std::map<std::string, NeedSignal> needs;  // open needs by needKey()

  bool hasSource(const SourceRef& ref) const;
};

// "<kind>/<key>": a battery and a consumable may share a key without colliding.
std::string needKey(const NeedSignal& s);
std::string_view toString(SignalKind k);
std::optional<SignalKind> parseSignalKind(std::string_view s);
std::string_view toString(Severity s);
std::optional<Severity> parseSeverity(std::string_view s);

// An open need is something that asks for action: low, a fault, an outage. Levels and meter
// readings are facts that the needs module forecasts from; they are not open needs by themselves.
bool isOpenNeed(const NeedSignal& s);

// Below this a battery is low when the device gives no flag of its own: 8 % is a need whatever
// the source, and most devices warn somewhere between 10 and 25 %.
inline constexpr double kBatteryLowPercent = 20.0;
// A battery signal in %, low by the device's own flag when it gives one, else by the default mark.
NeedSignal batterySignal(double percent, std::optional<bool> low_flag = std::nullopt);

}  // namespace steward::discovery
