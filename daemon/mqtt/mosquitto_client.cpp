// See mosquitto_client.hpp. libmosquitto is driven entirely from Asio handlers: every library
// call is followed by afterLibraryCall(), which notices a closed socket (connection lost) and
// re-arms the read/write waits. Handlers carry the socket generation so that a wait on a socket
// that has since been replaced does nothing.
#include "mqtt/mosquitto_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace steward::mqtt {
namespace {

namespace asio = boost::asio;

// mosquitto_lib_init/cleanup are process-wide; the first client initialises the library and
// the library stays initialised for the life of the process.
void ensureLibraryInitialised() {
  static const bool initialised = [] {
    mosquitto_lib_init();
    return true;
  }();
  (void)initialised;
}

std::size_t bytesAvailable(int fd) {
  int n = 0;
  if (::ioctl(fd, FIONREAD, &n) != 0) return 0;
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

MosquittoClient::MosquittoClient(asio::any_io_executor executor, MosquittoOptions options,
                                 core::Logger& log)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      log_(log),
      misc_timer_(executor_),
      reconnect_timer_(executor_),
      backoff_(options_.broker.reconnect_min),
      stop_deadline_(executor_) {
  ensureLibraryInitialised();
  mosq_ = mosquitto_new(options_.broker.client_id.c_str(), true, this);
  if (!mosq_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(mosq_, &MosquittoClient::onConnect);
  mosquitto_disconnect_v5_callback_set(mosq_, &MosquittoClient::onDisconnect);
  mosquitto_message_v5_callback_set(mosq_, &MosquittoClient::onMessage);
  const std::string offline = "offline";
  mosquitto_will_set(mosq_, options_.availability_topic.c_str(), static_cast<int>(offline.size()),
                     offline.data(), 1, true);
  const auto& b = options_.broker;
  if (!b.username.empty()) {
    mosquitto_username_pw_set(mosq_, b.username.c_str(),
                              b.password.empty() ? nullptr : b.password.c_str());
  }
  if (b.tls) {
    const char* cafile = b.ca_file.empty() ? nullptr : b.ca_file.c_str();
    const char* capath = b.ca_file.empty() ? "/etc/ssl/certs" : nullptr;
    const int rc = mosquitto_tls_set(mosq_, cafile, capath,
                                     b.cert_file.empty() ? nullptr : b.cert_file.c_str(),
                                     b.key_file.empty() ? nullptr : b.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
      throw std::runtime_error(std::string("MQTT TLS setup: ") + mosquitto_strerror(rc));
  }
}

MosquittoClient::~MosquittoClient() {
  *alive_ = false;
  detachSocket();
  misc_timer_.cancel();
  reconnect_timer_.cancel();
  stop_deadline_.cancel();
  mosquitto_destroy(mosq_);
}

void MosquittoClient::start() {
  stopping_ = false;
  connect();
}

void MosquittoClient::connect() {
  const auto& b = options_.broker;
  const int rc = ever_connected_ || reconnects_ > 0
                     ? mosquitto_reconnect_async(mosq_)
                     : mosquitto_connect_async(mosq_, b.host.c_str(), b.port, b.keepalive_seconds);
  if (rc != MOSQ_ERR_SUCCESS) {
    const std::string why = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
    log_.log(failing_ ? core::LogLevel::debug : core::LogLevel::warning, "mqtt.connect_failed",
             {{"host", b.host},
              {"port", b.port},
              {"error", why},
              {"retry_ms", static_cast<long long>(backoff_.count())}});
    failing_ = true;
    scheduleReconnect();
    return;
  }
  attachSocket();
  armMisc();
}

void MosquittoClient::scheduleReconnect() {
  if (stopping_) return;
  ++reconnects_;
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, options_.broker.reconnect_max);
  reconnect_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired() || stopping_) return;
    connect();
  });
}

void MosquittoClient::attachSocket() {
  detachSocket();
  const int fd = mosquitto_socket(mosq_);
  if (fd < 0) return;
  socket_.emplace(executor_, fd);
  socket_fd_ = fd;
  ++generation_;
  armRead();
  if (mosquitto_want_write(mosq_)) armWrite();
}

void MosquittoClient::detachSocket() {
  if (!socket_) return;
  ++generation_;
  // The library owns the file descriptor: hand it back without closing it.
  boost::system::error_code ignored;
  socket_->cancel(ignored);
  (void)socket_->release();
  socket_.reset();
  socket_fd_ = -1;
  reading_ = writing_ = false;
}

void MosquittoClient::armRead() {
  if (!socket_ || reading_) return;
  reading_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_read,
                      [this, gen = generation_, alive = std::weak_ptr<bool>(alive_)](auto ec) {
                        if (alive.expired() || gen != generation_) return;
                        reading_ = false;
                        if (ec) return;
                        // Read every complete packet already in the kernel buffer, a bounded
                        // number at a time so other handlers still get their turn.
                        int rc = MOSQ_ERR_SUCCESS;
                        for (int i = 0; i < 512; ++i) {
                          rc = mosquitto_loop_read(mosq_, 1);
                          if (rc != MOSQ_ERR_SUCCESS || gen != generation_ ||
                              mosquitto_socket(mosq_) != socket_fd_ ||
                              bytesAvailable(socket_fd_) == 0)
                            break;
                        }
                        afterLibraryCall(rc, "read");
                      });
}

void MosquittoClient::armWrite() {
  if (!socket_ || writing_) return;
  writing_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_write,
                      [this, gen = generation_, alive = std::weak_ptr<bool>(alive_)](auto ec) {
                        if (alive.expired() || gen != generation_) return;
                        writing_ = false;
                        if (ec) return;
                        afterLibraryCall(mosquitto_loop_write(mosq_, 1), "write");
                      });
}

void MosquittoClient::armMisc() {
  misc_timer_.expires_after(std::chrono::seconds(1));
  misc_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired()) return;
    if (socket_) {
      afterLibraryCall(mosquitto_loop_misc(mosq_), "misc");
      if (socket_) armMisc();
    }
  });
}

void MosquittoClient::afterLibraryCall(int rc, const char* what) {
  if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) != socket_fd_ || socket_fd_ < 0) {
    if (socket_) connectionLost(rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
    return;
  }
  (void)what;
  if (stopping_ && !mosquitto_want_write(mosq_) && !connected_) {
    finishStop();
    return;
  }
  armRead();
  if (mosquitto_want_write(mosq_)) armWrite();
}

void MosquittoClient::connectionLost(int rc) {
  detachSocket();
  misc_timer_.cancel();
  const bool was = connected_;
  connected_ = false;
  if (stopping_) {
    finishStop();
    return;
  }
  if (was) {
    log_.warning("mqtt.disconnected",
                 {{"host", options_.broker.host},
                  {"port", options_.broker.port},
                  {"error", rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)}});
    for (auto& h : connection_handlers_)
      h(false);
  }
  // Make sure the library's own socket is closed before reconnecting.
  mosquitto_disconnect(mosq_);
  scheduleReconnect();
}

void MosquittoClient::onConnect(mosquitto*, void* self, int rc, int, const mqtt5__property*) {
  auto* c = static_cast<MosquittoClient*>(self);
  if (rc != 0) {
    // Refused (bad credentials, not authorised, ...): the broker closes; we retry with backoff.
    c->log_.log(c->failing_ ? core::LogLevel::debug : core::LogLevel::error, "mqtt.refused",
                {{"host", c->options_.broker.host}, {"reason", mosquitto_reason_string(rc)}});
    c->failing_ = true;
    return;
  }
  c->connected_ = true;
  c->ever_connected_ = true;
  c->failing_ = false;
  c->backoff_ = c->options_.broker.reconnect_min;
  c->log_.info("mqtt.connected",
               {{"host", c->options_.broker.host}, {"port", c->options_.broker.port}});
  const std::string online = "online";
  mosquitto_publish(c->mosq_, nullptr, c->options_.availability_topic.c_str(),
                    static_cast<int>(online.size()), online.data(), 1, true);
  for (const auto& s : c->subscriptions_)
    c->sendSubscription(s);
  // Copy: a handler may register further handlers.
  auto handlers = c->connection_handlers_;
  for (auto& h : handlers) {
    try {
      h(true);
    } catch (const std::exception& e) {
      c->log_.error("mqtt.handler_failed", {{"error", e.what()}});
    }
  }
}

void MosquittoClient::onDisconnect(mosquitto*, void* self, int, const mqtt5__property*) {
  // The socket is closed by now; afterLibraryCall() notices and takes it from there.
  (void)self;
}

void MosquittoClient::onMessage(mosquitto*, void* self, const mosquitto_message* msg,
                                const mqtt5__property* props) {
  static_cast<MosquittoClient*>(self)->dispatch(msg, props);
}

void MosquittoClient::dispatch(const mosquitto_message* msg, const mqtt5__property* props) {
  ++received_;
  Message m;
  m.topic = msg->topic ? std::string_view(msg->topic) : std::string_view();
  m.payload = std::string_view(static_cast<const char*>(msg->payload),
                               msg->payload ? static_cast<std::size_t>(msg->payloadlen) : 0);
  m.qos = msg->qos;
  m.retain = msg->retain;
  // A message carries the identifiers of every subscription of ours it matched.
  const mosquitto_property* p = props;
  bool first = true;
  for (;;) {
    uint32_t id = 0;
    p = mosquitto_property_read_varint(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &id, !first);
    first = false;
    if (!p) break;
    for (auto& s : subscriptions_) {
      if (s.identifier != static_cast<int>(id)) continue;
      for (auto& h : s.handlers) {
        try {
          h(m);
        } catch (const std::exception& e) {
          log_.error("mqtt.handler_failed", {{"topic", m.topic}, {"error", e.what()}});
        }
      }
    }
  }
}

void MosquittoClient::sendSubscription(const Subscription& s) {
  mosquitto_property* props = nullptr;
  mosquitto_property_add_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER,
                                static_cast<uint32_t>(s.identifier));
  const int rc = mosquitto_subscribe_v5(mosq_, nullptr, s.filter.c_str(), s.qos, 0, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS)
    log_.error("mqtt.subscribe_failed", {{"filter", s.filter}, {"error", mosquitto_strerror(rc)}});
  if (mosquitto_want_write(mosq_)) armWrite();
}

void MosquittoClient::subscribe(std::string filter, int qos, MessageHandler handler) {
  for (auto& s : subscriptions_) {
    if (s.filter == filter) {
      s.handlers.push_back(std::move(handler));
      return;
    }
  }
  const int identifier = static_cast<int>(subscriptions_.size()) + 1;
  subscriptions_.push_back(Subscription{std::move(filter), qos, identifier, {std::move(handler)}});
  if (connected_) sendSubscription(subscriptions_.back());
}

core::Result<void> MosquittoClient::publish(std::string_view topic, std::string_view payload,
                                            int qos, bool retain) {
  if (!connected_) return core::fail("not connected to the MQTT broker");
  const std::string t(topic);
  const int rc = mosquitto_publish(mosq_, nullptr, t.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) return core::fail(std::string("publish: ") + mosquitto_strerror(rc));
  if (mosquitto_want_write(mosq_)) armWrite();
  return {};
}

void MosquittoClient::onConnectionChange(ConnectionHandler handler) {
  connection_handlers_.push_back(std::move(handler));
}

void MosquittoClient::stop(std::function<void()> done) {
  stopped_ = std::move(done);
  stopping_ = true;
  reconnect_timer_.cancel();
  if (!connected_ || !socket_) {
    finishStop();
    return;
  }
  // Say goodbye: the retained "offline" and a clean DISCONNECT (which also cancels the Last
  // Will). Both are written at once when the socket can take them; otherwise flushed by the
  // write handler, with a deadline so shutdown never hangs on a stuck broker.
  const std::string offline = "offline";
  mosquitto_publish(mosq_, nullptr, options_.availability_topic.c_str(),
                    static_cast<int>(offline.size()), offline.data(), 0, true);
  connected_ = false;
  mosquitto_disconnect(mosq_);
  stop_deadline_.expires_after(std::chrono::milliseconds(1000));
  stop_deadline_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired()) return;
    finishStop();
  });
  afterLibraryCall(MOSQ_ERR_SUCCESS, "stop");
}

void MosquittoClient::finishStop() {
  detachSocket();
  misc_timer_.cancel();
  stop_deadline_.cancel();
  if (auto done = std::exchange(stopped_, nullptr)) done();
}

}  // namespace steward::mqtt
