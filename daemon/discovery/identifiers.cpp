// See identifiers.hpp.
#include "discovery/identifiers.hpp"

#include <cctype>

namespace steward::discovery {
namespace {

bool isHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

}  // namespace

std::optional<std::string> normaliseMac(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    if (!isHex(c)) return std::nullopt;
    out += lower(c);
  }
  if (out.size() != 12) return std::nullopt;
  return out;
}

std::optional<std::string> normaliseIeee(std::string_view text) {
  if (text.size() != 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return std::nullopt;
  std::string out = "0x";
  for (char c : text.substr(2)) {
    if (!isHex(c)) return std::nullopt;
    out += lower(c);
  }
  return out;
}

std::string normaliseForeignIdentifier(std::string_view id) {
  constexpr std::string_view kZ2mBridge = "zigbee2mqtt_bridge_";
  if (id.substr(0, kZ2mBridge.size()) == kZ2mBridge) {
    if (auto ieee = normaliseIeee(id.substr(kZ2mBridge.size())))
      return "zigbee2mqtt-bridge:" + *ieee;
  }
  constexpr std::string_view kZ2m = "zigbee2mqtt_";
  if (id.substr(0, kZ2m.size()) == kZ2m) {
    if (auto ieee = normaliseIeee(id.substr(kZ2m.size()))) return "zigbee:" + *ieee;
  }
  if (auto ieee = normaliseIeee(id)) return "zigbee:" + *ieee;
  if (auto mac = normaliseMac(id); mac && id.find_first_of(":-") != std::string_view::npos)
    return "mac:" + *mac;
  return "ha:" + std::string(id);
}

std::optional<std::string> connectionIdentifier(std::string_view type, std::string_view value) {
  if (type == "mac") {
    if (auto mac = normaliseMac(value)) return "mac:" + *mac;
    return std::nullopt;
  }
  if (type == "zigbee") {
    if (auto ieee = normaliseIeee(value)) return "zigbee:" + *ieee;
  }
  return std::nullopt;
}

}  // namespace steward::discovery
