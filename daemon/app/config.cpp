// See config.hpp. The file has four tables: [daemon], [broker], [limits], [discovery].
#include "app/config.hpp"

#include <toml++/toml.h>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/duration.hpp"
#include "core/toml_text.hpp"

namespace steward::app {

using core::Diagnostic;
using core::Diagnostics;
using core::didYouMean;
using core::parseDuration;
using core::parseLogLevel;
using core::tomlTypeName;
namespace {

class Reader {
 public:
  Reader(std::string file, Diagnostics& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const toml::node* node, std::string key, std::string message) {
    Diagnostic d{file_, 0, 0, std::move(key), std::move(message)};
    if (node) {
      d.line = static_cast<int>(node->source().begin.line);
      d.column = static_cast<int>(node->source().begin.column);
    }
    errors_.push_back(std::move(d));
  }

  // Every key of `table` must be one of `known`; otherwise an error with a suggestion.
  void checkKeys(const toml::table& table, std::string_view prefix,
                 std::span<const std::string_view> known) {
    for (const auto& [key, node] : table) {
      bool found = false;
      for (auto k : known)
        found = found || k == key.str();
      if (found) continue;
      const std::string message = "unknown key" + didYouMean(key.str(), known);
      Diagnostic d{file_, static_cast<int>(key.source().begin.line),
                   static_cast<int>(key.source().begin.column), join(prefix, key.str()), message};
      errors_.push_back(std::move(d));
    }
  }

  static std::string join(std::string_view prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
  }

  void string(const toml::table& t, std::string_view prefix, std::string_view key,
              std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (auto v = n->value<std::string>()) {
      out = *v;
    } else {
      error(n, join(prefix, key), "expected a string, got " + tomlTypeName(*n));
    }
  }

  void boolean(const toml::table& t, std::string_view prefix, std::string_view key, bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (n->is_boolean()) {
      out = n->as_boolean()->get();
    } else {
      error(n, join(prefix, key), "expected true or false, got " + tomlTypeName(*n));
    }
  }

  template <class T>
  void integer(const toml::table& t, std::string_view prefix, std::string_view key, T& out,
               std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_integer()) {
      error(n, join(prefix, key), "expected an integer, got " + tomlTypeName(*n));
      return;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      error(n, join(prefix, key),
            "expected " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                std::to_string(v));
      return;
    }
    out = static_cast<T>(v);
  }

  void number(const toml::table& t, std::string_view prefix, std::string_view key, double& out,
              double min, double max) {
    const toml::node* n = t.get(key);
    if (!n) return;
    std::optional<double> v;
    if (n->is_floating_point()) v = n->as_floating_point()->get();
    if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
    if (!v) {
      error(n, join(prefix, key), "expected a number, got " + tomlTypeName(*n));
      return;
    }
    if (*v < min || *v > max) {
      std::ostringstream m;
      m << "expected " << min << ".." << max << ", got " << *v;
      error(n, join(prefix, key), m.str());
      return;
    }
    out = *v;
  }

  template <class D>
  void duration(const toml::table& t, std::string_view prefix, std::string_view key, D& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    auto s = n->value<std::string>();
    if (!s) {
      error(n, join(prefix, key), "expected a duration like \"30s\", got " + tomlTypeName(*n));
      return;
    }
    auto d = parseDuration(*s);
    if (!d) {
      error(n, join(prefix, key), d.error().message);
      return;
    }
    out = std::chrono::duration_cast<D>(*d);
  }

  void strings(const toml::table& t, std::string_view prefix, std::string_view key,
               std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) {
      error(n, join(prefix, key), "expected an array of strings, got " + tomlTypeName(*n));
      return;
    }
    std::vector<std::string> values;
    for (const auto& item : *a) {
      auto v = item.value<std::string>();
      if (!v) {
        error(&item, join(prefix, key), "expected a string, got " + tomlTypeName(item));
        return;
      }
      values.push_back(*v);
    }
    out = std::move(values);
  }

  const toml::table* table(const toml::table& root, std::string_view key) {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      error(n, std::string(key), "expected a table, got " + tomlTypeName(*n));
      return nullptr;
    }
    return n->as_table();
  }

 private:
  std::string file_;
  Diagnostics& errors_;
};

// "mqtt://host:port" or "mqtts://host:port"; the port defaults to 1883 / 8883.
bool parseBrokerUrl(std::string_view url, mqtt::BrokerConfig& broker, std::string& why) {
  std::string_view rest;
  if (url.starts_with("mqtt://")) {
    broker.tls = false;
    broker.port = 1883;
    rest = url.substr(7);
  } else if (url.starts_with("mqtts://")) {
    broker.tls = true;
    broker.port = 8883;
    rest = url.substr(8);
  } else {
    why = "expected a URL like \"mqtt://127.0.0.1:1883\" or \"mqtts://broker:8883\", got \"" +
          std::string(url) + "\"";
    return false;
  }
  std::string_view host = rest;
  if (const auto colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    host = rest.substr(0, colon);
    const std::string port(rest.substr(colon + 1));
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
      why = "invalid port in \"" + std::string(url) + "\"";
      return false;
    }
    broker.port = static_cast<std::uint16_t>(p);
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty() || host.find('/') != std::string_view::npos) {
    why = "invalid host in \"" + std::string(url) + "\"";
    return false;
  }
  broker.host = std::string(host);
  return true;
}

void readConfig(const toml::table& root, Reader& r, DaemonConfig& c) {
  static constexpr std::string_view kTop[] = {"daemon", "broker", "limits", "discovery", "needs"};
  r.checkKeys(root, "", kTop);

  if (const auto* t = r.table(root, "daemon")) {
    static constexpr std::string_view kKeys[] = {"state_directory", "policy_directory", "log_level",
                                                 "checkpoint_interval", "bus_address"};
    r.checkKeys(*t, "daemon", kKeys);
    r.string(*t, "daemon", "state_directory", c.state_directory);
    r.string(*t, "daemon", "policy_directory", c.policy_directory);
    std::string level;
    r.string(*t, "daemon", "log_level", level);
    if (!level.empty()) {
      if (auto l = parseLogLevel(level)) {
        c.log_level = *l;
      } else {
        r.error(t->get("log_level"), "daemon.log_level",
                "expected one of error, warning, notice, info, debug, got \"" + level + "\"");
      }
    }
    r.duration(*t, "daemon", "checkpoint_interval", c.checkpoint_interval);
    r.string(*t, "daemon", "bus_address", c.bus_address);
  }

  if (const auto* t = r.table(root, "broker")) {
    static constexpr std::string_view kKeys[] = {
        "url",      "username",  "password",  "ca_file",       "cert_file",
        "key_file", "client_id", "keepalive", "reconnect_min", "reconnect_max"};
    r.checkKeys(*t, "broker", kKeys);
    std::string url;
    r.string(*t, "broker", "url", url);
    if (!url.empty()) {
      std::string why;
      if (!parseBrokerUrl(url, c.broker, why)) r.error(t->get("url"), "broker.url", why);
    }
    r.string(*t, "broker", "username", c.broker.username);
    r.string(*t, "broker", "password", c.broker.password);
    r.string(*t, "broker", "ca_file", c.broker.ca_file);
    r.string(*t, "broker", "cert_file", c.broker.cert_file);
    r.string(*t, "broker", "key_file", c.broker.key_file);
    r.string(*t, "broker", "client_id", c.broker.client_id);
    std::chrono::seconds keepalive{c.broker.keepalive_seconds};
    r.duration(*t, "broker", "keepalive", keepalive);
    c.broker.keepalive_seconds = static_cast<int>(keepalive.count());
    r.duration(*t, "broker", "reconnect_min", c.broker.reconnect_min);
    r.duration(*t, "broker", "reconnect_max", c.broker.reconnect_max);
    if (c.broker.keepalive_seconds < 5 || c.broker.keepalive_seconds > 3600)
      r.error(t->get("keepalive"), "broker.keepalive", "expected 5s..1h");
    if (c.broker.reconnect_min.count() <= 0 || c.broker.reconnect_max < c.broker.reconnect_min)
      r.error(t->get("reconnect_max"), "broker.reconnect_max",
              "expected reconnect_min > 0 and reconnect_max >= reconnect_min");
    if (!c.broker.cert_file.empty() && c.broker.key_file.empty())
      r.error(t->get("cert_file"), "broker.cert_file", "a client certificate needs key_file too");
    if (c.broker.client_id.empty() || c.broker.client_id.size() > 23)
      r.error(t->get("client_id"), "broker.client_id", "expected 1..23 characters");
  }

  if (const auto* t = r.table(root, "limits")) {
    static constexpr std::string_view kKeys[] = {"max_payload_bytes", "max_devices",
                                                 "max_needs_per_device",
                                                 "device_messages_per_second", "device_burst"};
    r.checkKeys(*t, "limits", kKeys);
    r.integer(*t, "limits", "max_payload_bytes", c.devices.limits.max_payload_bytes, 256, 16 << 20);
    r.integer(*t, "limits", "max_devices", c.devices.limits.max_devices, 1, 100000);
    r.integer(*t, "limits", "max_needs_per_device", c.devices.limits.max_needs_per_device, 1, 1000);
    r.number(*t, "limits", "device_messages_per_second",
             c.devices.limits.device_messages_per_second, 0.01, 100000);
    r.number(*t, "limits", "device_burst", c.devices.limits.device_burst, 1, 1e7);
  }

  if (const auto* t = r.table(root, "needs")) {
    static constexpr std::string_view kKeys[] = {"settle", "tick_interval"};
    r.checkKeys(*t, "needs", kKeys);
    r.duration(*t, "needs", "settle", c.needs.settle);
    r.duration(*t, "needs", "tick_interval", c.needs.tick_interval);
    if (c.needs.tick_interval < std::chrono::seconds(1))
      r.error(t->get("tick_interval"), "needs.tick_interval", "expected at least 1s");
  }

  if (const auto* t = r.table(root, "discovery")) {
    static constexpr std::string_view kKeys[] = {
        "homeassistant_prefix", "zigbee2mqtt_base", "tasmota_prefix", "homie_prefix",
        "service_types",        "publish_hub",      "avahi"};
    r.checkKeys(*t, "discovery", kKeys);
    r.string(*t, "discovery", "homeassistant_prefix", c.devices.discovery.homeassistant_prefix);
    r.string(*t, "discovery", "zigbee2mqtt_base", c.devices.discovery.zigbee2mqtt_base);
    r.string(*t, "discovery", "tasmota_prefix", c.devices.discovery.tasmota_prefix);
    r.string(*t, "discovery", "homie_prefix", c.devices.discovery.homie_prefix);
    r.strings(*t, "discovery", "service_types", c.devices.discovery.service_types);
    r.boolean(*t, "discovery", "publish_hub", c.devices.discovery.publish_hub);
    r.boolean(*t, "discovery", "avahi", c.devices.discovery.avahi);
  }
}

}  // namespace

ConfigLoad parseDaemonConfig(std::string_view text, const std::string& name) {
  ConfigLoad load;
  load.config.source = name;
  Reader reader(name, load.errors);
  try {
    toml::table root = toml::parse(text, name);
    readConfig(root, reader, load.config);
  } catch (const toml::parse_error& e) {
    load.errors.push_back(Diagnostic{name, static_cast<int>(e.source().begin.line),
                                     static_cast<int>(e.source().begin.column), "",
                                     std::string(e.description())});
  }
  return load;
}

ConfigLoad loadDaemonConfig(const std::string& path, bool missing_ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoad load;
    if (!missing_ok) load.errors.push_back(Diagnostic{path, 0, 0, "", "cannot read file"});
    return load;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parseDaemonConfig(text.str(), path);
}

void applySystemdDirectories(DaemonConfig& config) {
  // systemd may pass several colon-separated directories; the first is ours.
  auto first = [](const char* v) {
    std::string s(v);
    return s.substr(0, s.find(':'));
  };
  if (const char* v = std::getenv("STATE_DIRECTORY"); v && *v) config.state_directory = first(v);
  if (const char* v = std::getenv("CONFIGURATION_DIRECTORY"); v && *v)
    config.policy_directory = first(v);
}

}  // namespace steward::app
