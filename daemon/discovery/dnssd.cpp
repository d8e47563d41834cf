// See dnssd.hpp. TXT keys used: IPP Everywhere's "UUID", "ty" (make and model), "usb_MFG",
// "usb_MDL", "rp" (resource path); Steward devices' "id", "kind", "mf", "md".
#include "discovery/dnssd.hpp"

#include <algorithm>

namespace steward::discovery {
namespace {

std::string txt(const Service& s, const char* key) {
  const auto it = s.txt.find(key);
  return it == s.txt.end() ? std::string() : it->second;
}

// Printable text only, at most `max` bytes: TXT values come from anyone on the LAN.
std::string clean(std::string v, std::size_t max = 128) {
  if (v.size() > max) v.resize(max);
  v.erase(std::remove_if(v.begin(), v.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }),
          v.end());
  return v;
}

bool isIpp(const Service& s) {
  return s.type == "_ipp._tcp" || s.type == "_ipps._tcp";
}

}  // namespace

DeviceUpdate updateFromService(const Service& s, bool present) {
  DeviceUpdate u;
  const std::string key = stableServiceKey(s);
  u.ref = SourceRef{"dnssd", key};
  u.identifiers.push_back(key);
  u.availability = present ? Availability::online : Availability::offline;
  if (!present) {
    u.may_admit = false;  // only a device we know can go away
    return u;
  }
  if (!s.name.empty()) u.name = clean(s.name);
  if (isIpp(s)) {
    u.kind = "printer";
    if (auto mfg = txt(s, "usb_mfg"); !mfg.empty()) u.manufacturer = clean(mfg);
    if (auto mdl = txt(s, "usb_mdl"); !mdl.empty()) {
      u.model = clean(mdl);
    } else if (auto ty = txt(s, "ty"); !ty.empty()) {
      u.model = clean(ty);
    }
    const std::string scheme = s.type == "_ipps._tcp" ? "ipps://" : "ipp://";
    std::string rp = clean(txt(s, "rp"));
    if (!s.host_name.empty() && s.port != 0)
      u.endpoints.push_back(scheme + clean(s.host_name) + ":" + std::to_string(s.port) + "/" + rp);
  } else {
    if (auto kind = txt(s, "kind"); !kind.empty()) u.kind = clean(kind, 32);
    if (auto mf = txt(s, "mf"); !mf.empty()) u.manufacturer = clean(mf);
    if (auto md = txt(s, "md"); !md.empty()) u.model = clean(md);
    if (!s.host_name.empty() && s.port != 0)
      u.endpoints.push_back("dnssd://" + clean(s.host_name) + ":" + std::to_string(s.port));
  }
  return u;
}

}  // namespace steward::discovery
