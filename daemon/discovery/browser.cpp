// See browser.hpp: stable keys for services, from the identifiers devices announce themselves.
#include "discovery/browser.hpp"

#include <cctype>
#include <string_view>

namespace steward::discovery {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// 8-4-4-4-12 hexadecimal digits.
bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// Device ids are chosen by the device: keep them short and plain so they are safe in keys and logs.
bool isDeviceId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':') return false;
  return true;
}

}  // namespace

std::string stableServiceKey(const Service& service) {
  if (const auto it = service.txt.find("uuid"); it != service.txt.end()) {
    std::string_view uuid = it->second;
    if (lower(uuid.substr(0, 9)) == "urn:uuid:") uuid.remove_prefix(9);
    if (isUuid(uuid)) return "uuid:" + lower(uuid);
  }
  if (service.type == "_steward-device._tcp") {
    if (const auto it = service.txt.find("id"); it != service.txt.end() && isDeviceId(it->second))
      return "steward-device:" + it->second;
  }
  return "dnssd:" + service.type + "/" + service.domain + "/" + service.name;
}

}  // namespace steward::discovery
