// What every Steward plugin does on MQTT (plugins/PROTOCOL.md): connect with the Last Will
// "offline" on its availability topic, publish retained QoS 1 messages under its device's topics,
// and on the way out say "offline" and wait until the broker has acknowledged everything.
#pragma once

#include <mosquitto.h>

#include <mutex>
#include <set>
#include <string>

namespace steward::plugin {

class PluginLink {
 public:
  // `id` is the device id (validated by the caller: 1..64 of [A-Za-z0-9._-]).
  PluginLink(std::string host, int port, std::string id);
  ~PluginLink();
  PluginLink(const PluginLink&) = delete;
  PluginLink& operator=(const PluginLink&) = delete;

  // Connects (blocking) and starts libmosquitto's network thread; false with a message on
  // stderr when the broker cannot be reached.
  bool connect();
  // Publishes retained, QoS 1, on steward/device/<id>/<leaf>. An empty payload clears the topic.
  void publish(const std::string& leaf, const std::string& payload);
  // Publishes availability "offline" and disconnects once the broker acknowledged (bounded wait).
  void goodbye();

  const std::string& id() const { return id_; }

  // True for ids the protocol accepts.
  static bool validId(const std::string& id);

 private:
  static void onPublish(mosquitto*, void* self, int mid);

  std::string host_;
  int port_;
  std::string id_;
  std::string base_;
  mosquitto* m_ = nullptr;
  std::mutex mutex_;
  std::set<int> inflight_;
};

}  // namespace steward::plugin
