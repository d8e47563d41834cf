// See device.hpp: names of the enums as they appear in topics, payloads and the database.
#include "discovery/device.hpp"

#include <algorithm>

#include "discovery/source.hpp"

namespace steward::discovery {

std::string_view toString(Availability a) {
  switch (a) {
    case Availability::online:
      return "online";
    case Availability::offline:
      return "offline";
    case Availability::unknown:
      break;
  }
  return "unknown";
}

Availability parseAvailability(std::string_view s) {
  if (s == "online") return Availability::online;
  if (s == "offline") return Availability::offline;
  return Availability::unknown;
}

bool Device::hasSource(const SourceRef& ref) const {
  return std::find(sources.begin(), sources.end(), ref) != sources.end();
}

std::string_view toString(SignalKind k) {
  switch (k) {
    case SignalKind::consumable:
      return "consumable";
    case SignalKind::battery:
      return "battery";
    case SignalKind::fault:
      return "fault";
    case SignalKind::meter:
      return "meter";
    case SignalKind::outage:
      return "outage";
  }
  return "consumable";
}

std::optional<SignalKind> parseSignalKind(std::string_view s) {
  if (s == "consumable") return SignalKind::consumable;
  if (s == "battery") return SignalKind::battery;
  if (s == "fault") return SignalKind::fault;
  if (s == "meter") return SignalKind::meter;
  if (s == "outage") return SignalKind::outage;
  return std::nullopt;
}

std::string_view toString(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
  }
  return "info";
}

std::optional<Severity> parseSeverity(std::string_view s) {
  if (s == "info") return Severity::info;
  if (s == "warning") return Severity::warning;
  if (s == "critical") return Severity::critical;
  return std::nullopt;
}

std::string needKey(const NeedSignal& s) {
  std::string k(toString(s.kind));
  k += '/';
  k += s.key;
  return k;
}

bool isOpenNeed(const NeedSignal& s) {
  if (s.cleared) return false;
  return s.low || s.kind == SignalKind::fault || s.kind == SignalKind::outage;
}

NeedSignal batterySignal(double percent, std::optional<bool> low_flag) {
  NeedSignal s;
  s.kind = SignalKind::battery;
  s.key = "battery";
  s.level = percent;
  s.unit = std::string(1, '%');  // not = "%": GCC 12 -O2 warns falsely (-Wrestrict)
  s.low_threshold = kBatteryLowPercent;
  s.low = low_flag ? *low_flag : percent <= kBatteryLowPercent;
  s.severity = s.low ? Severity::warning : Severity::info;
  return s;
}

std::string_view toString(Reject r) {
  switch (r) {
    case Reject::too_large:
      return "too_large";
    case Reject::malformed:
      return "malformed";
    case Reject::invalid:
      return "invalid";
    case Reject::spoofed:
      return "spoofed";
    case Reject::unknown_device:
      return "unknown_device";
    case Reject::unsupported_version:
      return "unsupported_version";
    case Reject::rate_limited:
      return "rate_limited";
    case Reject::device_cap:
      return "device_cap";
    case Reject::need_cap:
      return "need_cap";
    case Reject::storage:
      return "storage";
  }
  return "invalid";
}

}  // namespace steward::discovery
