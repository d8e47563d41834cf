// The hub's view of the MQTT broker: typed subscriptions and publishing, with connection state.
// Subscriptions are remembered and re-made on every (re)connect, so modules subscribe once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace steward::mqtt {

struct Message {
  std::string_view topic;
  std::string_view payload;  // valid only during the handler call
  int qos = 0;
  bool retain = false;
};

class Client {
 public:
  using MessageHandler = std::function<void(const Message&)>;
  using ConnectionHandler = std::function<void(bool connected)>;

  virtual ~Client() = default;

  // Registers a handler for a topic filter (MQTT wildcards + and #). Every message whose topic
  // matches is delivered to every matching handler, in registration order, on the loop thread.
  virtual void subscribe(std::string filter, int qos, MessageHandler handler) = 0;

  // Queues a message. Fails when not connected or when the library refuses it (too large, bad
  // topic); QoS 1/2 messages queued while connected are retried by the library.
  virtual core::Result<void> publish(std::string_view topic, std::string_view payload, int qos,
                                     bool retain) = 0;

  // Called with true after every successful (re)connect, once subscriptions are re-sent, and
  // with false when the connection is lost.
  virtual void onConnectionChange(ConnectionHandler handler) = 0;

  virtual bool connected() const = 0;
};

// True when `topic` matches `filter` (MQTT 3.1.1 §4.7 wildcard rules).
bool topicMatches(std::string_view filter, std::string_view topic);

}  // namespace steward::mqtt
