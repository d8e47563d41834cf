// libmosquitto on the hub's Asio loop: the socket is watched with a posix::stream_descriptor,
// loop_read/loop_write run when it is ready, loop_misc on a timer. No library thread.
// Reconnects with capped exponential backoff; announces the hub's availability (retained
// "online", Last Will "offline"); TLS and username/password from the daemon config.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "mqtt/client.hpp"
#include "mqtt/settings.hpp"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace steward::mqtt {

struct MosquittoOptions {
  BrokerConfig broker;
  std::string availability_topic = "steward/hub/availability";  // "online" / "offline", retained
};

class MosquittoClient final : public Client {
 public:
  MosquittoClient(boost::asio::any_io_executor executor, MosquittoOptions options,
                  core::Logger& log);
  ~MosquittoClient() override;
  MosquittoClient(const MosquittoClient&) = delete;
  MosquittoClient& operator=(const MosquittoClient&) = delete;

  // Starts connecting; returns at once. Failures are retried with backoff and logged.
  void start();
  // Publishes "offline", disconnects cleanly and stops reconnecting. `done` runs when the
  // goodbye has been flushed (or could not be). Safe to call when not connected.
  void stop(std::function<void()> done);

  void subscribe(std::string filter, int qos, MessageHandler handler) override;
  core::Result<void> publish(std::string_view topic, std::string_view payload, int qos,
                             bool retain) override;
  void onConnectionChange(ConnectionHandler handler) override;
  bool connected() const override { return connected_; }

  // Counters for status output and benchmarks.
  std::uint64_t messagesReceived() const { return received_; }
  std::uint64_t reconnects() const { return reconnects_; }

 private:
  // One broker subscription per distinct filter, tagged with an MQTT 5 subscription identifier,
  // so a message matching several overlapping filters reaches each handler exactly once.
  struct Subscription {
    std::string filter;
    int qos;
    int identifier;
    std::vector<MessageHandler> handlers;
  };

  void connect();
  void scheduleReconnect();
  void attachSocket();
  void detachSocket();
  void armRead();
  void armWrite();
  void armMisc();
  void afterLibraryCall(int rc, const char* what);
  void connectionLost(int rc);
  void sendSubscription(const Subscription& s);
  void finishStop();
  void dispatch(const mosquitto_message* msg, const struct mqtt5__property* props);

  static void onConnect(mosquitto*, void* self, int rc, int flags, const mqtt5__property* props);
  static void onDisconnect(mosquitto*, void* self, int rc, const mqtt5__property* props);
  static void onMessage(mosquitto*, void* self, const mosquitto_message* msg,
                        const mqtt5__property* props);

  boost::asio::any_io_executor executor_;
  MosquittoOptions options_;
  core::Logger& log_;
  mosquitto* mosq_ = nullptr;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  int socket_fd_ = -1;
  bool reading_ = false;
  bool writing_ = false;
  boost::asio::steady_timer misc_timer_;
  boost::asio::steady_timer reconnect_timer_;
  std::chrono::milliseconds backoff_;
  bool connected_ = false;
  bool stopping_ = false;
  bool ever_connected_ = false;
  unsigned generation_ = 0;  // bumped whenever the socket is replaced; stale handlers see it
  bool failing_ = false;     // the last connect attempt failed (log repeats at debug only)
  boost::asio::steady_timer stop_deadline_;
  std::function<void()> stopped_;
  std::vector<Subscription> subscriptions_;
  std::vector<ConnectionHandler> connection_handlers_;
  std::uint64_t received_ = 0;
  std::uint64_t reconnects_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::mqtt
