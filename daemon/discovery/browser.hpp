// DNS-SD services on the local network as the hub sees them: one Service per (name, type, domain),
// reported when it appears, when its data changes (TXT, port, addresses) and when it goes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace steward::discovery {

// Everything the network says about one service. Text comes from the LAN and is untrusted: the
// browser caps how much it keeps, and consumers validate what they use.
struct Service {
  std::string name;       // instance name, e.g. "Office printer"
  std::string type;       // as browsed, e.g. "_ipp._tcp"
  std::string domain;     // usually "local"
  std::string host_name;  // target host, e.g. "printer.local"
  // Distinct, sorted addresses of every resolved instance (IPv4 and IPv6, every interface);
  // IPv6 link-local ones carry their zone ("fe80::1%eth0").
  std::vector<std::string> addresses;
  std::uint16_t port = 0;
  // TXT records with lower-cased keys (DNS-SD keys are case-insensitive, RFC 6763 §6.4); the first
  // of duplicate keys wins; a key without '=' has an empty value.
  std::map<std::string, std::string> txt;
  std::string interface;  // network interface of the primary instance, e.g. "eth0"
  bool local = false;     // announced by this machine

  bool operator==(const Service&) const = default;
};

// A key that stays the same for the same device across renames, restarts and address changes,
// for the registry to file a service under:
//   "uuid:<uuid>"            TXT "UUID" (IPP Everywhere printers; _ipp and _ipps share it)
//   "steward-device:<id>"    TXT "id" of a _steward-device._tcp service
//   "dnssd:<type>/<domain>/<name>" otherwise.
// A TXT value that is not a well-formed UUID or id is ignored, falling back to the next rule.
std::string stableServiceKey(const Service& service);

class Browser {
 public:
  using ServiceHandler = std::function<void(const Service&)>;

  virtual ~Browser() = default;

  // Handlers run on the loop thread, never inside the DNS-SD library, in the order events
  // happened. A handler may call back into the browser (or stop it).
  virtual void onServiceAppeared(ServiceHandler handler) = 0;
  virtual void onServiceChanged(ServiceHandler handler) = 0;
  virtual void onServiceGone(ServiceHandler handler) = 0;

  // Every service currently known (already reported as appeared and not yet gone).
  virtual std::vector<Service> services() const = 0;
};

}  // namespace steward::discovery
