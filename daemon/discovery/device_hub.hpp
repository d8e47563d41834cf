// The discovery module's entry point: subscribes every device source on the MQTT client, guards
// each message (size cap, per-device token bucket, validation by its source), feeds the Registry,
// and reports refusals once per device per minute (log + ledger), with counters for status.
// Owned by the Hub; everything runs on the Hub's loop thread.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "discovery/rate_limiter.hpp"
#include "discovery/registry.hpp"
#include "discovery/settings.hpp"
#include "discovery/source.hpp"
#include "ledger/ledger.hpp"
#include "mqtt/client.hpp"

namespace steward::discovery {

class StewardPluginSource;
class HomeAssistantSource;

struct DeviceHubOptions {
  // Batched "last seen"/level writes happen at most this often (and on stop()).
  std::chrono::milliseconds flush_interval{5000};
  // Topics that discovery configs may ask the hub to watch; 0 means 8 x limits.max_devices.
  std::size_t max_watched_topics = 0;
  // Re-publish plugin devices as Home Assistant discovery (see ha_export.hpp).
  bool export_to_home_assistant = true;
  // After a (re)connect, retained plugin messages are re-read; once this long has passed, an open
  // plugin need whose retained topic was not re-read (cleared while the hub was away) is closed.
  std::chrono::milliseconds reconcile_delay{2000};
};

struct DeviceHubCounters {
  std::uint64_t received = 0;  // messages delivered to a source
  std::uint64_t ignored = 0;   // on a subscribed topic but not a device's (bridge logs, commands)
  std::uint64_t accepted = 0;  // parsed and applied
  std::array<std::uint64_t, kRejectReasons> rejected{};  // by Reject
  std::uint64_t signals = 0;                             // NeedSignals handed on
  std::uint64_t flush_errors = 0;  // failed batched writes (retried at the next flush)
  std::uint64_t rejected_total() const;
};

class DeviceHub final : private SourceContext {
 public:
  DeviceHub(boost::asio::any_io_executor executor, mqtt::Client& mqtt, ledger::Ledger& ledger,
            const Settings& config, const core::Clock& clock, core::Logger& log,
            DeviceHubOptions options = {});
  ~DeviceHub() override;
  DeviceHub(const DeviceHub&) = delete;
  DeviceHub& operator=(const DeviceHub&) = delete;

  // Loads the registry from the database and subscribes every source. Fails only when the
  // registry's tables cannot be created or read. Call once, before the loop runs.
  core::Result<void> start();
  // Writes batched changes and stops the flush timer. Subscriptions stay with the client.
  void stop();

  // Connect these before start(): device appeared/changed/gone, and NeedSignals for needs/.
  void onDeviceEvent(Registry::DeviceHandler handler);
  void onNeedSignal(Registry::SignalHandler handler);

  const Registry& registry() const { return registry_; }
  Registry& registry() { return registry_; }
  const DeviceHubCounters& counters() const { return counters_; }
  // Counters and sizes as JSON, for `stewardctl status`.
  boost::json::object status() const;

  // The path every subscribed message takes; public so tests and benchmarks can drive a source
  // without a broker. `source` is a name() ("homeassistant", "zigbee2mqtt", ...).
  void deliver(std::string_view source, const mqtt::Message& message);

 private:
  bool watch(const std::string& topic) override;
  void handle(std::size_t source_index, const mqtt::Message& message);
  void reject(const std::string& who, std::string_view topic, const Rejection& r);
  void armFlush();
  // Publishes the plugin device's Home Assistant config when it changed (or always, `force`).
  void exportPlugin(const std::string& plugin_id, bool force = false);
  void republishExports();
  void noteRetained(const mqtt::Message& message);
  void reconcile();

  boost::asio::any_io_executor executor_;
  mqtt::Client& mqtt_;
  ledger::Ledger& ledger_;
  const Settings& config_;
  const core::Clock& clock_;
  core::Logger& log_;
  DeviceHubOptions options_;
  Registry registry_;
  std::vector<std::unique_ptr<Source>> sources_;
  StewardPluginSource* plugins_ = nullptr;         // owned by sources_
  HomeAssistantSource* home_assistant_ = nullptr;  // owned by sources_
  std::uint64_t births_seen_ = 0;
  std::size_t current_source_ = 0;  // which source is parsing (for watch())
  RateLimiter limiter_;
  OncePer report_gate_;
  std::set<std::string, std::less<>> watched_;
  std::vector<DeviceUpdate> updates_;            // reused between messages
  std::map<std::string, std::string> exported_;  // plugin id -> last HA config published
  std::set<std::string> export_pending_;         // plugin ids whose publish failed
  boost::asio::steady_timer flush_timer_;
  boost::asio::steady_timer reconcile_timer_;
  bool reconciling_ = false;             // between a connect and its reconcile()
  std::set<std::string> reread_hellos_;  // plugin ids
  std::set<std::pair<std::string, std::string>> reread_needs_;  // (plugin id, need key)
  DeviceHubCounters counters_;
  bool started_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::discovery
