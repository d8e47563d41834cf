// The Steward plugin SDK: what every device plugin does on MQTT (plugins/PROTOCOL.md), on one Asio
// loop with no other thread. A Link connects to the broker (TLS, user name and password, the Last
// Will "offline"), publishes the versioned hello and availability, keeps the device's needs
// retained (a cleared need is an empty retained payload), sends state and events, optionally
// announces the device to Home Assistant, and reconnects with capped backoff, re-publishing all of
// it. Every topic it writes is under steward/device/<id>/: a plugin built on it cannot speak for
// another device.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace steward::sdk {

constexpr int kProtocolVersion = 1;

// Lines for people, on stderr; with an sd-daemon "<N>" priority prefix when journald reads them.
class Log {
 public:
  enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };
  explicit Log(std::string program, Level level = Level::info);
  void setLevel(Level level) { level_ = level; }
  void write(Level level, std::string_view message);
  void error(std::string_view m) { write(Level::error, m); }
  void warning(std::string_view m) { write(Level::warning, m); }
  void info(std::string_view m) { write(Level::info, m); }
  void debug(std::string_view m) { write(Level::debug, m); }

 private:
  std::string program_;
  Level level_;
  bool journal_;
};

// Where the broker is and how to log in. Declared as options by addBrokerOptions().
struct BrokerSettings {
  std::string url = "mqtt://127.0.0.1:1883";  // mqtts://host:8883 for TLS
  std::string host = "127.0.0.1";
  int port = 1883;
  bool tls = false;
  std::string username, password, password_file, ca_file, cert_file, key_file;
  std::chrono::milliseconds keepalive{30'000};
  std::chrono::milliseconds reconnect_min{250}, reconnect_max{30'000};
  bool ha_discovery = false;
  std::string ha_prefix = "homeassistant";
  Log::Level log_level = Log::Level::info;

  // Completes the settings after parsing: host/port/tls from the URL, the password from
  // password_file or $CREDENTIALS_DIRECTORY/broker-password. "" or an error sentence.
  std::string finish();
};

// Who the device is: the hello (PROTOCOL.md "hello").
struct DeviceInfo {
  std::string id, kind, name, manufacturer, model;
  std::vector<std::string> capabilities, identifiers, endpoints;
};

// --id, --name, --broker, --username, --password-file, --ca-file, --cert-file, --key-file,
// --keepalive, --reconnect-max, --ha-discovery, --log-level (and `password` in the config file).
void addBrokerOptions(Options& options, BrokerSettings& broker, DeviceInfo& device);

class Link {
 public:
  Link(boost::asio::any_io_executor executor, BrokerSettings settings, DeviceInfo device, Log& log);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Starts connecting; returns at once. Failures are retried with capped exponential backoff.
  void start();
  // Publishes availability "offline", waits (bounded, 2 s) until the broker has acknowledged
  // everything in flight, disconnects, and then calls `done`. Safe when not connected. With a
  // `connect_grace`, a link still trying to reach the broker waits that long for it first, so
  // that what was published (a one-shot run) reaches the broker.
  void stop(std::function<void()> done,
            std::chrono::milliseconds connect_grace = std::chrono::milliseconds(0));

  // The hello (retained). The id cannot change; other fields may (model learnt later).
  void setDevice(DeviceInfo device);
  // availability "online"/"offline" (retained).
  void setAvailable(bool online);
  // A need (retained) on need/<key>: `fields` without id (added here). Published only when it
  // changed. Returns an error sentence for a bad key or too many needs, "" when taken.
  std::string setNeed(std::string_view key, boost::json::object fields);
  // An empty retained payload on need/<key>: the need is resolved. Nothing when it was not set.
  void clearNeed(std::string_view key);
  // state: {"levels": {...}} (not retained).
  void publishState(boost::json::object levels);
  // event: {"type": ..., "message": ...} plus `extra` (not retained). Queued (up to 64) while
  // disconnected.
  void publishEvent(std::string_view type, std::string_view message,
                    boost::json::object extra = {});
  // Commands for this device: steward/device/<id>/command (plain text, at most 256 bytes). The
  // handler gets the payload; it must validate it like any other input.
  void onCommand(std::function<void(std::string_view payload)> handler);

  bool connected() const { return connected_; }
  const DeviceInfo& device() const { return device_; }
  const std::map<std::string, std::string>& needs() const { return needs_; }
  std::uint64_t refusedByBroker() const { return refused_; }
  std::uint64_t connects() const { return connects_; }

  static constexpr std::size_t kMaxNeeds = 32;

 private:
  void connect();
  void scheduleReconnect();
  void attachSocket();
  void detachSocket();
  void armRead();
  void armWrite();
  void armMisc();
  void afterLibraryCall(int rc);
  void connectionLost(int rc);
  void onConnected();
  void send(const std::string& leaf, const std::string& payload, bool retain);
  void sendTopic(const std::string& topic, const std::string& payload, bool retain);
  void sendHello();
  void sendHaDiscovery();
  void finishStop();
  void checkStopDrained();

  static void onConnect(mosquitto*, void* self, int rc, int flags, const mqtt5__property*);
  static void onDisconnect(mosquitto*, void* self, int rc, const mqtt5__property*);
  static void onPublish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*);
  static void onMessage(mosquitto*, void* self, const mosquitto_message*, const mqtt5__property*);

  boost::asio::any_io_executor executor_;
  BrokerSettings settings_;
  DeviceInfo device_;
  Log& log_;
  std::string base_;
  mosquitto* mosq_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  int socket_fd_ = -1;
  std::uint64_t generation_ = 0;
  bool reading_ = false, writing_ = false;
  boost::asio::steady_timer misc_timer_, reconnect_timer_, stop_deadline_;
  std::chrono::milliseconds backoff_;
  bool connected_ = false, ever_connected_ = false, failing_ = false, stopping_ = false;
  bool online_ = true, stop_after_connect_ = false;
  std::map<std::string, std::string> needs_;                // key -> payload (what is retained now)
  std::set<std::string> pending_clears_;                    // cleared while disconnected
  std::deque<std::pair<std::string, std::string>> queued_;  // state/event while disconnected
  std::set<int> in_flight_;
  std::vector<std::function<void(std::string_view)>> command_handlers_;
  std::function<void()> stopped_;
  std::uint64_t refused_ = 0, connects_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Runs `io` until SIGTERM or SIGINT, then calls `on_stop` (the plugin's own clean-up: stop timers,
// close ports) and stops `link` cleanly (availability "offline"). Returns 0.
int runUntilStopped(boost::asio::io_context& io, Link& link, std::function<void()> on_stop = {});

}  // namespace steward::sdk
