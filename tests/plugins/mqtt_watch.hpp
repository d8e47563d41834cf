// A test's own MQTT client (libmosquitto, its network thread) that records every message on the
// topics it subscribes to, so a test can wait for what a plugin or the hub published. Also
// publishes, and reports the broker's MQTT 5 answer to each publish (0x87: not authorised).
#pragma once

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace steward::test {

class MqttWatch {
 public:
  struct Message {
    std::string topic, payload;
    bool retain = false;
  };

  MqttWatch(std::uint16_t port, const std::string& subscription = "#", const std::string& user = {},
            const std::string& password = {}) {
    mosquitto_lib_init();
    m_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (!user.empty()) mosquitto_username_pw_set(m_, user.c_str(), password.c_str());
    mosquitto_connect_v5_callback_set(
        m_, [](mosquitto* m, void* self, int rc, int, const mosquitto_property*) {
          auto* w = static_cast<MqttWatch*>(self);
          std::lock_guard lock(w->mutex_);
          w->connect_rc_ = rc;
          if (rc == 0) mosquitto_subscribe_v5(m, nullptr, w->subscription_.c_str(), 1, 0, nullptr);
        });
    mosquitto_subscribe_v5_callback_set(
        m_, [](mosquitto*, void* self, int, int, const int*, const mosquitto_property*) {
          auto* w = static_cast<MqttWatch*>(self);
          std::lock_guard lock(w->mutex_);
          w->subscribed_ = true;
        });
    mosquitto_message_v5_callback_set(
        m_, [](mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*) {
          auto* w = static_cast<MqttWatch*>(self);
          std::lock_guard lock(w->mutex_);
          w->messages_.push_back({msg->topic,
                                  std::string(static_cast<const char*>(msg->payload),
                                              static_cast<std::size_t>(msg->payloadlen)),
                                  msg->retain});
        });
    mosquitto_publish_v5_callback_set(
        m_, [](mosquitto*, void* self, int mid, int reason, const mosquitto_property*) {
          auto* w = static_cast<MqttWatch*>(self);
          std::lock_guard lock(w->mutex_);
          w->acks_[mid] = reason;
        });
    subscription_ = subscription;
    if (mosquitto_connect(m_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m_) != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("test MQTT client cannot connect");
    if (!test::waitFor([&] { return subscribed() || connectRc() > 0; }, std::chrono::seconds(10)))
      throw std::runtime_error("test MQTT client did not subscribe");
  }
  ~MqttWatch() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }

  int connectRc() {
    std::lock_guard lock(mutex_);
    return connect_rc_;
  }
  bool subscribed() {
    std::lock_guard lock(mutex_);
    return subscribed_;
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  // The payloads seen on `topic`, in order.
  std::vector<std::string> on(const std::string& topic) {
    std::vector<std::string> out;
    for (auto& m : messages())
      if (m.topic == topic) out.push_back(m.payload);
    return out;
  }
  // Waits until some payload on `topic` satisfies `pred` (any payload when none is given).
  bool waitFor(const std::string& topic, std::chrono::milliseconds timeout,
               std::function<bool(const std::string&)> pred = {}) {
    return test::waitFor(
        [&] {
          for (auto& p : on(topic))
            if (!pred || pred(p)) return true;
          return false;
        },
        timeout);
  }
  // Publishes QoS 1 and returns the broker's reason code (0 = accepted, 0x87 = not authorised),
  // or -1 when no answer came.
  int publish(const std::string& topic, const std::string& payload, bool retain = false) {
    int mid = 0;
    if (mosquitto_publish_v5(m_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), 1, retain, nullptr) != MOSQ_ERR_SUCCESS)
      return -1;
    int reason = -1;
    test::waitFor(
        [&] {
          std::lock_guard lock(mutex_);
          auto it = acks_.find(mid);
          if (it == acks_.end()) return false;
          reason = it->second;
          return true;
        },
        std::chrono::seconds(5));
    return reason;
  }

 private:
  mosquitto* m_ = nullptr;
  std::mutex mutex_;
  std::string subscription_;
  int connect_rc_ = -1;
  bool subscribed_ = false;
  std::vector<Message> messages_;
  std::map<int, int> acks_;
};

}  // namespace steward::test
