// The daemon's own settings (/etc/steward/stewardd.toml): broker, directories, limits, logging.
// Parsed once into an immutable value; every default lives in the struct initialisers below.
// The household policy is separate (daemon/policy/).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/log.hpp"

namespace steward::core {

struct BrokerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  bool tls = false;       // mqtts:// URL
  std::string ca_file;    // TLS: CA bundle to verify the broker
  std::string cert_file;  // TLS: optional client certificate
  std::string key_file;   // TLS: its key
  std::string username;
  std::string password;
  std::string client_id = "stewardd";
  int keepalive_seconds = 30;
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{10'000};
};

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

struct NeedsTiming {
  // A new need waits this long for others to join its basket (critical ones do not wait).
  std::chrono::milliseconds settle{std::chrono::minutes(15)};
  // How often forecasts, meter schedules, expiry and approvals are looked at.
  std::chrono::milliseconds tick_interval{std::chrono::minutes(1)};
};

struct DaemonConfig {
  std::string source;  // file the values came from ("" for built-in defaults)
  std::string state_directory = "/var/lib/steward";
  std::string policy_directory = "/etc/steward";  // policy.toml and policy.d/
  LogLevel log_level = LogLevel::info;
  // D-Bus: "" for the system bus (production); a bus address such as
  // "unix:path=/run/x/bus" for a private bus (tests, the demo).
  std::string bus_address;
  BrokerConfig broker;
  LimitsConfig limits;
  DiscoveryConfig discovery;
  NeedsTiming needs;
  std::chrono::seconds checkpoint_interval{3600};
};

struct ConfigLoad {
  DaemonConfig config;
  Diagnostics errors;  // empty when the file is valid
};

// Reads and validates a config file. A missing file at the default path is not an error (the
// defaults apply) only when `missing_ok`; every other problem is reported as a diagnostic.
ConfigLoad loadDaemonConfig(const std::string& path, bool missing_ok);

// Parses config text (for tests and --check-config); `name` is used in diagnostics.
ConfigLoad parseDaemonConfig(std::string_view text, const std::string& name);

// Overrides the directories from systemd's $STATE_DIRECTORY / $CONFIGURATION_DIRECTORY when set.
void applySystemdDirectories(DaemonConfig& config);

}  // namespace steward::core
