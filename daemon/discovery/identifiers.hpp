// Cross-source identity: each format names devices its own way; these turn their identifiers
// into one vocabulary ("mac:aabbccddeeff", "zigbee:0x00178801...") so the registry can tell that
// a Zigbee2MQTT device and its Home Assistant discovery entry are the same device.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace steward::discovery {

// "AA:BB:CC:DD:EE:FF", "aabb.ccdd.eeff", "AABBCCDDEEFF" -> "aabbccddeeff"; nullopt if not a MAC.
std::optional<std::string> normaliseMac(std::string_view text);

// "0x0017880104E45522" -> "0x0017880104e45522"; nullopt if not a 64-bit IEEE address.
std::optional<std::string> normaliseIeee(std::string_view text);

// A Home Assistant `device.identifiers` entry: Zigbee2MQTT's "zigbee2mqtt_<ieee>" becomes
// "zigbee:<ieee>", its bridge's "zigbee2mqtt_bridge_<coordinator ieee>" becomes
// "zigbee2mqtt-bridge:<ieee>", a bare MAC or IEEE address is recognised, anything else is
// "ha:<id>".
std::string normaliseForeignIdentifier(std::string_view id);

// A Home Assistant `device.connections` pair: ("mac", ...) and ("zigbee", ...) are understood.
std::optional<std::string> connectionIdentifier(std::string_view type, std::string_view value);

}  // namespace steward::discovery
