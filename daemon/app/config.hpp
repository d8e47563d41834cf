// The daemon's own settings (/etc/steward/stewardd.toml), assembled from the settings each module
// owns (mqtt/, discovery/, needs/) plus the daemon's directories and logging. Parsed once into an
// immutable value; every default lives in the modules' struct initialisers. The household policy
// is separate (daemon/policy/).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/log.hpp"
#include "discovery/settings.hpp"
#include "mqtt/settings.hpp"
#include "needs/settings.hpp"

namespace steward::app {

struct DaemonConfig {
  std::string source;  // file the values came from ("" for built-in defaults)
  std::string state_directory = "/var/lib/steward";
  std::string policy_directory = "/etc/steward";  // policy.toml and policy.d/
  core::LogLevel log_level = core::LogLevel::info;
  // D-Bus: "" for the system bus (production); a bus address such as
  // "unix:path=/run/x/bus" for a private bus (tests, the demo).
  std::string bus_address;
  mqtt::BrokerConfig broker;
  discovery::Settings devices;  // [limits] and [discovery]
  needs::Timing needs;
  std::chrono::seconds checkpoint_interval{3600};
};

struct ConfigLoad {
  DaemonConfig config;
  core::Diagnostics errors;  // empty when the file is valid
};

// Reads and validates a config file. A missing file at the default path is not an error (the
// defaults apply) only when `missing_ok`; every other problem is reported as a diagnostic.
ConfigLoad loadDaemonConfig(const std::string& path, bool missing_ok);

// Parses config text (for tests and --check-config); `name` is used in diagnostics.
ConfigLoad parseDaemonConfig(std::string_view text, const std::string& name);

// Overrides the directories from systemd's $STATE_DIRECTORY / $CONFIGURATION_DIRECTORY when set.
void applySystemdDirectories(DaemonConfig& config);

}  // namespace steward::app
