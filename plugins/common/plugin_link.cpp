// See plugin_link.hpp.
#include "plugin_link.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace steward::plugin {

PluginLink::PluginLink(std::string host, int port, std::string id)
    : host_(std::move(host)), port_(port), id_(std::move(id)), base_("steward/device/" + id_) {
  mosquitto_lib_init();
}

PluginLink::~PluginLink() {
  if (m_) {
    mosquitto_loop_stop(m_, true);
    mosquitto_destroy(m_);
  }
  mosquitto_lib_cleanup();
}

bool PluginLink::validId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void PluginLink::onPublish(mosquitto*, void* self, int mid) {
  auto* link = static_cast<PluginLink*>(self);
  std::lock_guard lock(link->mutex_);
  link->inflight_.erase(mid);
}

bool PluginLink::connect() {
  m_ = mosquitto_new(("steward-plugin-" + id_).c_str(), true, this);
  if (!m_) return false;
  const std::string will = base_ + "/availability";
  mosquitto_will_set(m_, will.c_str(), 7, "offline", 1, true);
  mosquitto_publish_callback_set(m_, &PluginLink::onPublish);
  mosquitto_reconnect_delay_set(m_, 1, 30, true);
  const int rc = mosquitto_connect(m_, host_.c_str(), port_, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "cannot connect to %s:%d: %s\n", host_.c_str(), port_,
                 mosquitto_strerror(rc));
    return false;
  }
  return mosquitto_loop_start(m_) == MOSQ_ERR_SUCCESS;
}

void PluginLink::publish(const std::string& leaf, const std::string& payload) {
  const std::string topic = base_ + "/" + leaf;
  // Hold the lock across the call so the acknowledgement cannot arrive before we note the mid.
  std::lock_guard lock(mutex_);
  int mid = 0;
  const int rc = mosquitto_publish(m_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 1, true);
  if (rc == MOSQ_ERR_SUCCESS) {
    inflight_.insert(mid);
  } else {
    std::fprintf(stderr, "publish %s: %s\n", topic.c_str(), mosquitto_strerror(rc));
  }
}

void PluginLink::goodbye() {
  publish("availability", "offline");
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mutex_);
      if (inflight_.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  mosquitto_disconnect(m_);
}

}  // namespace steward::plugin
