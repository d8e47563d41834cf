// See plugin.hpp. libmosquitto is driven from Asio handlers (no library thread), as in the hub:
// the socket is watched with a stream_descriptor, every library call is followed by
// afterLibraryCall(), and handlers carry the socket generation so a wait on a replaced socket does
// nothing.
#include "plugin.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace steward::sdk {
namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

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

std::string readSecret(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot be read";
    return {};
  }
  std::string s;
  std::getline(in, s);
  if (s.size() > 1024) error = path + ": longer than 1024 characters";
  return s;
}

}  // namespace

Log::Log(std::string program, Level level)
    : program_(std::move(program)), level_(level), journal_(std::getenv("JOURNAL_STREAM")) {}

void Log::write(Level level, std::string_view message) {
  if (level > level_) return;
  if (journal_) {
    std::fprintf(stderr, "<%d>%.*s\n", static_cast<int>(level), static_cast<int>(message.size()),
                 message.data());
  } else {
    std::fprintf(stderr, "%s: %.*s\n", program_.c_str(), static_cast<int>(message.size()),
                 message.data());
  }
}

std::string BrokerSettings::finish() {
  std::string_view u = url;
  if (u.rfind("mqtts://", 0) == 0) {
    tls = true;
    port = 8883;
    u.remove_prefix(8);
  } else if (u.rfind("mqtt://", 0) == 0) {
    tls = false;
    port = 1883;
    u.remove_prefix(7);
  } else if (u.find("://") == std::string_view::npos) {
    tls = false;  // HOST[:PORT]: plain MQTT
    port = 1883;
  } else {
    return "broker: expected a URL like mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883";
  }
  std::string_view h = u;
  if (!h.empty() && h.front() == '[') {  // [::1]:1883
    const auto close = h.find(']');
    if (close == std::string_view::npos) return "broker: unclosed '[' in the host";
    host = std::string(h.substr(1, close - 1));
    h.remove_prefix(close + 1);
    if (!h.empty() && h.front() != ':') return "broker: expected ':PORT' after the host";
  } else {
    const auto colon = h.find(':');
    host = std::string(h.substr(0, colon));
    h = colon == std::string_view::npos ? std::string_view() : h.substr(colon);
  }
  if (!h.empty()) {
    h.remove_prefix(1);
    char* end = nullptr;
    const std::string p(h);
    const long n = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || n < 1 || n > 65535)
      return "broker: the port must be a number from 1 to 65535";
    port = static_cast<int>(n);
  }
  if (host.empty() || host.size() > 253 || host.find('/') != std::string::npos)
    return "broker: expected a host name or address";
  if (!password_file.empty()) {
    std::string error;
    password = readSecret(password_file, error);
    if (!error.empty()) return "password-file: " + error;
  } else if (password.empty()) {
    // systemd's LoadCredential=broker-password:... puts it here.
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) {
      const std::string path = std::string(dir) + "/broker-password";
      if (::access(path.c_str(), R_OK) == 0) {
        std::string error;
        password = readSecret(path, error);
        if (!error.empty()) return error;
      }
    }
  }
  if (!password.empty() && username.empty()) return "a broker password needs a username too";
  if (keepalive < std::chrono::seconds(5)) return "keepalive: at least 5 s";
  if (reconnect_min > reconnect_max) reconnect_min = reconnect_max;
  return {};
}

void addBrokerOptions(Options& o, BrokerSettings& b, DeviceInfo& d) {
  o.value("id", "ID", "device id: 1-64 of A-Z a-z 0-9 . _ - (stable across restarts)",
          [&d](std::string_view v) {
            if (!validId(v)) return std::string("expected 1 to 64 of A-Z a-z 0-9 . _ -");
            d.id = std::string(v);
            return std::string();
          });
  o.value("name", "NAME", "the device's name for people", [&d](std::string_view v) {
    if (v.size() > 128) return std::string("longer than 128 characters");
    d.name = std::string(v);
    return std::string();
  });
  o.text("broker", "URL", "MQTT broker, mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS)", b.url);
  o.text("username", "USER", "broker user name (with the broker ACL: the device id)", b.username);
  o.text("password-file", "FILE",
         "file holding the broker password (default: $CREDENTIALS_DIRECTORY/broker-password)",
         b.password_file);
  o.fileOnly("password", "broker password (config file only; prefer password-file)", b.password);
  o.text("ca-file", "FILE", "TLS: CA bundle (default: the system's)", b.ca_file);
  o.text("cert-file", "FILE", "TLS: client certificate", b.cert_file);
  o.text("key-file", "FILE", "TLS: client key", b.key_file);
  o.duration("keepalive", "MQTT keepalive (default 30s)", b.keepalive, std::chrono::seconds(5),
             std::chrono::hours(1));
  o.duration("reconnect-max", "longest wait between reconnection attempts (default 30s)",
             b.reconnect_max, std::chrono::milliseconds(10), std::chrono::hours(1));
  o.flag("ha-discovery",
         "announce the device to Home Assistant itself (leave off when a Steward hub runs: it "
         "does this)",
         b.ha_discovery);
  o.value("log-level", "LEVEL", "error, warning, notice, info (default) or debug",
          [&b](std::string_view v) {
            static const std::pair<std::string_view, Log::Level> kLevels[] = {
                {"error", Log::Level::error},
                {"warning", Log::Level::warning},
                {"notice", Log::Level::notice},
                {"info", Log::Level::info},
                {"debug", Log::Level::debug}};
            for (auto [name, level] : kLevels) {
              if (v == name) {
                b.log_level = level;
                return std::string();
              }
            }
            return std::string("expected error, warning, notice, info or debug");
          });
}

Link::Link(asio::any_io_executor executor, BrokerSettings settings, DeviceInfo device, Log& log)
    : executor_(std::move(executor)),
      settings_(std::move(settings)),
      device_(std::move(device)),
      log_(log),
      base_("steward/device/" + device_.id + "/"),
      misc_timer_(executor_),
      reconnect_timer_(executor_),
      stop_deadline_(executor_),
      backoff_(settings_.reconnect_min) {
  if (!validId(device_.id)) throw std::invalid_argument("device id \"" + device_.id + "\"");
  ensureLibraryInitialised();
  mosq_ = mosquitto_new(("steward-" + device_.id).c_str(), true, this);
  if (!mosq_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(mosq_, &Link::onConnect);
  mosquitto_disconnect_v5_callback_set(mosq_, &Link::onDisconnect);
  mosquitto_publish_v5_callback_set(mosq_, &Link::onPublish);
  mosquitto_message_v5_callback_set(mosq_, &Link::onMessage);
  const std::string will = base_ + "availability";
  mosquitto_will_set(mosq_, will.c_str(), 7, "offline", 1, true);
  if (!settings_.username.empty())
    mosquitto_username_pw_set(mosq_, settings_.username.c_str(),
                              settings_.password.empty() ? nullptr : settings_.password.c_str());
  if (settings_.tls) {
    const auto& s = settings_;
    const int rc = mosquitto_tls_set(mosq_, s.ca_file.empty() ? nullptr : s.ca_file.c_str(),
                                     s.ca_file.empty() ? "/etc/ssl/certs" : nullptr,
                                     s.cert_file.empty() ? nullptr : s.cert_file.c_str(),
                                     s.key_file.empty() ? nullptr : s.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
      throw std::runtime_error(std::string("TLS setup: ") + mosquitto_strerror(rc));
  }
}

Link::~Link() {
  *alive_ = false;
  detachSocket();
  mosquitto_destroy(mosq_);
}

void Link::start() {
  stopping_ = false;
  connect();
}

void Link::connect() {
  const int keepalive = static_cast<int>(settings_.keepalive.count() / 1000);
  const int rc =
      ever_connected_ || failing_
          ? mosquitto_reconnect_async(mosq_)
          : mosquitto_connect_async(mosq_, settings_.host.c_str(), settings_.port, keepalive);
  if (rc != MOSQ_ERR_SUCCESS) {
    const std::string why = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
    if (!failing_)
      log_.warning("cannot reach the MQTT broker at " + settings_.host + ":" +
                   std::to_string(settings_.port) + " (" + why + "); retrying");
    failing_ = true;
    scheduleReconnect();
    return;
  }
  failing_ = true;  // until CONNACK says otherwise; later attempts use reconnect
  attachSocket();
  armMisc();
}

void Link::scheduleReconnect() {
  if (stopping_) return;
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, settings_.reconnect_max);
  reconnect_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired() || stopping_) return;
    connect();
  });
}

void Link::attachSocket() {
  detachSocket();
  const int fd = mosquitto_socket(mosq_);
  if (fd < 0) return;
  socket_.emplace(executor_, fd);
  socket_fd_ = fd;
  ++generation_;
  armRead();
  if (mosquitto_want_write(mosq_)) armWrite();
}

void Link::detachSocket() {
  if (!socket_) return;
  ++generation_;
  boost::system::error_code ignored;
  socket_->cancel(ignored);
  (void)socket_->release();  // the library owns the descriptor
  socket_.reset();
  socket_fd_ = -1;
  reading_ = writing_ = false;
}

void Link::armRead() {
  if (!socket_ || reading_) return;
  reading_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_read,
                      [this, gen = generation_, alive = std::weak_ptr<bool>(alive_)](auto ec) {
                        if (alive.expired() || gen != generation_) return;
                        reading_ = false;
                        if (ec) return;
                        int rc = MOSQ_ERR_SUCCESS;
                        for (int i = 0; i < 64; ++i) {
                          rc = mosquitto_loop_read(mosq_, 1);
                          if (rc != MOSQ_ERR_SUCCESS || gen != generation_ ||
                              mosquitto_socket(mosq_) != socket_fd_ ||
                              bytesAvailable(socket_fd_) == 0)
                            break;
                        }
                        afterLibraryCall(rc);
                      });
}

void Link::armWrite() {
  if (!socket_ || writing_) return;
  writing_ = true;
  socket_->async_wait(asio::posix::descriptor_base::wait_write,
                      [this, gen = generation_, alive = std::weak_ptr<bool>(alive_)](auto ec) {
                        if (alive.expired() || gen != generation_) return;
                        writing_ = false;
                        if (ec) return;
                        afterLibraryCall(mosquitto_loop_write(mosq_, 1));
                      });
}

void Link::armMisc() {
  misc_timer_.expires_after(std::chrono::seconds(1));
  misc_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired() || !socket_) return;
    afterLibraryCall(mosquitto_loop_misc(mosq_));
    if (socket_) armMisc();
  });
}

void Link::afterLibraryCall(int rc) {
  if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) != socket_fd_ || socket_fd_ < 0) {
    if (socket_) connectionLost(rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
    return;
  }
  armRead();
  if (mosquitto_want_write(mosq_)) armWrite();
}

void Link::connectionLost(int rc) {
  detachSocket();
  misc_timer_.cancel();
  const bool was = connected_;
  connected_ = false;
  in_flight_.clear();
  if (stopping_) {
    finishStop();
    return;
  }
  if (was)
    log_.warning("lost the MQTT broker (" +
                 std::string(rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)) +
                 "); reconnecting");
  mosquitto_disconnect(mosq_);
  scheduleReconnect();
}

void Link::onConnect(mosquitto*, void* self, int rc, int, const mqtt5__property*) {
  auto* l = static_cast<Link*>(self);
  if (rc != 0) {
    l->log_.error("the MQTT broker refused the connection: " +
                  std::string(mosquitto_reason_string(rc)));
    return;  // the broker closes; afterLibraryCall() notices and we retry with backoff
  }
  l->onConnected();
}

void Link::onConnected() {
  connected_ = true;
  ever_connected_ = true;
  failing_ = false;
  backoff_ = settings_.reconnect_min;
  ++connects_;
  log_.info("connected to the MQTT broker at " + settings_.host + ":" +
            std::to_string(settings_.port) + " as device " + device_.id);
  // Everything retained again: after a broker restart without persistence it would be gone.
  sendHello();
  send("availability", online_ ? "online" : "offline", true);
  for (const auto& key : pending_clears_)
    send("need/" + key, "", true);
  pending_clears_.clear();
  for (const auto& [key, payload] : needs_)
    send("need/" + key, payload, true);
  sendHaDiscovery();
  while (!queued_.empty()) {
    send(queued_.front().first, queued_.front().second, false);
    queued_.pop_front();
  }
  if (!command_handlers_.empty()) {
    const std::string topic = base_ + "command";
    mosquitto_subscribe_v5(mosq_, nullptr, topic.c_str(), 1, 0, nullptr);
  }
  if (mosquitto_want_write(mosq_)) armWrite();
  if (stop_after_connect_) {
    stop_deadline_.cancel();
    stop(std::exchange(stopped_, nullptr));
  }
}

void Link::onDisconnect(mosquitto*, void*, int, const mqtt5__property*) {}

void Link::onPublish(mosquitto*, void* self, int mid, int reason, const mqtt5__property*) {
  auto* l = static_cast<Link*>(self);
  l->in_flight_.erase(mid);
  if (reason >= 0x80) {
    // With an ACL, the broker says "not authorized" here (MQTT 5 PUBACK reason 0x87).
    ++l->refused_;
    l->log_.error("the broker refused a message from device " + l->device_.id + ": " +
                  mosquitto_reason_string(reason));
  }
  l->checkStopDrained();
}

void Link::onMessage(mosquitto*, void* self, const mosquitto_message* msg, const mqtt5__property*) {
  auto* l = static_cast<Link*>(self);
  if (!msg->topic || l->base_ + "command" != msg->topic) return;
  if (msg->payloadlen > 256) {
    l->log_.warning("ignored a command of " + std::to_string(msg->payloadlen) +
                    " bytes: commands are at most 256 bytes");
    return;
  }
  const std::string_view payload(static_cast<const char*>(msg->payload),
                                 static_cast<std::size_t>(msg->payloadlen));
  for (auto& h : l->command_handlers_) {
    try {
      h(payload);
    } catch (const std::exception& e) {
      l->log_.error(std::string("a command handler failed: ") + e.what());
    }
  }
}

void Link::sendTopic(const std::string& topic, const std::string& payload, bool retain) {
  int mid = 0;
  const int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                      payload.data(), 1, retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    log_.warning("could not publish on " + topic + ": " + mosquitto_strerror(rc));
    return;
  }
  in_flight_.insert(mid);
  if (mosquitto_want_write(mosq_)) armWrite();
}

void Link::send(const std::string& leaf, const std::string& payload, bool retain) {
  sendTopic(base_ + leaf, payload, retain);
}

void Link::sendHello() {
  bj::object hello{{"protocol", kProtocolVersion}, {"id", device_.id}, {"kind", device_.kind}};
  if (!device_.name.empty()) hello["name"] = device_.name;
  if (!device_.manufacturer.empty()) hello["manufacturer"] = device_.manufacturer;
  if (!device_.model.empty()) hello["model"] = device_.model;
  auto list = [&](const char* name, const std::vector<std::string>& v) {
    if (v.empty()) return;
    bj::array a;
    for (std::size_t i = 0; i < v.size() && i < 16; ++i)
      a.emplace_back(v[i]);
    hello[name] = std::move(a);
  };
  list("capabilities", device_.capabilities);
  list("identifiers", device_.identifiers);
  list("endpoints", device_.endpoints);
  send("hello", bj::serialize(hello), true);
}

void Link::sendHaDiscovery() {
  if (!settings_.ha_discovery || !connected_) return;
  // Device-based discovery: one sensor per need, reading the need topic itself.
  bj::object components;
  for (const auto& [key, payload] : needs_) {
    bj::object c{{"p", "sensor"},
                 {"name", key},
                 {"unique_id", "steward_" + device_.id + "_" + key},
                 {"state_topic", base_ + "need/" + key}};
    const bj::value doc = bj::parse(payload);
    const auto& o = doc.as_object();
    if (o.contains("level")) {
      c["value_template"] = "{{ value_json.level }}";
      if (const auto* u = o.if_contains("unit"); u && u->is_string()) {
        c["unit_of_measurement"] = *u;
        if (u->as_string() == "kWh") {
          c["device_class"] = "energy";
          c["state_class"] = "total_increasing";
        } else if (u->as_string() == "m3") {
          c["device_class"] = "gas";
          c["state_class"] = "total_increasing";
        }
      }
    } else {
      c["value_template"] = "{{ value_json.severity }}";
    }
    components[key] = std::move(c);
  }
  bj::object dev{{"identifiers", bj::array{"steward_" + device_.id}},
                 {"name", device_.name.empty() ? device_.id : device_.name}};
  if (!device_.manufacturer.empty()) dev["manufacturer"] = device_.manufacturer;
  if (!device_.model.empty()) dev["model"] = device_.model;
  bj::object config{{"device", std::move(dev)},
                    {"origin", bj::object{{"name", "Steward plugin SDK"}}},
                    {"availability_topic", base_ + "availability"},
                    {"components", std::move(components)}};
  sendTopic(settings_.ha_prefix + "/device/steward_" + device_.id + "/config",
            bj::serialize(config), true);
}

void Link::setDevice(DeviceInfo device) {
  device.id = device_.id;
  device_ = std::move(device);
  if (connected_) sendHello();
}

void Link::setAvailable(bool online) {
  if (online == online_) return;
  online_ = online;
  if (connected_) send("availability", online ? "online" : "offline", true);
}

std::string Link::setNeed(std::string_view key, bj::object fields) {
  if (!validId(key))
    return "need key \"" + std::string(key.substr(0, 64)) + "\" is not 1-64 of A-Z a-z 0-9 . _ -";
  const std::string k(key);
  if (!needs_.contains(k) && needs_.size() >= kMaxNeeds)
    return "more than " + std::to_string(kMaxNeeds) + " needs at once";
  fields["id"] = device_.id;
  std::string payload = bj::serialize(fields);
  auto [it, inserted] = needs_.try_emplace(k, payload);
  if (!inserted && it->second == payload) return {};
  it->second = std::move(payload);
  pending_clears_.erase(k);
  if (connected_) {
    send("need/" + k, it->second, true);
    if (inserted) sendHaDiscovery();
  }
  return {};
}

void Link::clearNeed(std::string_view key) {
  const auto it = needs_.find(std::string(key));
  if (it == needs_.end()) return;
  needs_.erase(it);
  if (connected_) {
    send("need/" + std::string(key), "", true);
    sendHaDiscovery();
  } else {
    pending_clears_.insert(std::string(key));
  }
}

void Link::publishState(bj::object levels) {
  bj::object state{{"id", device_.id}, {"levels", std::move(levels)}};
  if (connected_) send("state", bj::serialize(state), false);
}

void Link::publishEvent(std::string_view type, std::string_view message, bj::object extra) {
  extra["id"] = device_.id;
  extra["type"] = type;
  extra["message"] = message;
  std::string payload = bj::serialize(extra);
  if (connected_) {
    send("event", payload, false);
    return;
  }
  if (queued_.size() >= 64) queued_.pop_front();
  queued_.emplace_back("event", std::move(payload));
}

void Link::onCommand(std::function<void(std::string_view)> handler) {
  command_handlers_.push_back(std::move(handler));
  if (connected_ && command_handlers_.size() == 1) {
    const std::string topic = base_ + "command";
    mosquitto_subscribe_v5(mosq_, nullptr, topic.c_str(), 1, 0, nullptr);
    if (mosquitto_want_write(mosq_)) armWrite();
  }
}

void Link::stop(std::function<void()> done, std::chrono::milliseconds connect_grace) {
  stopped_ = std::move(done);
  if (!connected_ && connect_grace.count() > 0) {
    stop_after_connect_ = true;
    stop_deadline_.expires_after(connect_grace);
    stop_deadline_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
      if (ec || alive.expired() || !stop_after_connect_) return;
      log_.warning("leaving without having reached the MQTT broker");
      stop_after_connect_ = false;
      stop(std::exchange(stopped_, nullptr));
    });
    return;
  }
  stop_after_connect_ = false;
  stopping_ = true;
  reconnect_timer_.cancel();
  if (!connected_ || !socket_) {
    finishStop();
    return;
  }
  send("availability", "offline", true);
  stop_deadline_.expires_after(std::chrono::seconds(2));
  stop_deadline_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired() || !stopped_) return;
    log_.warning("the broker did not acknowledge everything within 2 s; leaving anyway");
    mosquitto_disconnect(mosq_);
    finishStop();
  });
}

void Link::checkStopDrained() {
  if (!stopping_ || !connected_ || !in_flight_.empty()) return;
  connected_ = false;
  mosquitto_disconnect(mosq_);  // a clean DISCONNECT: the Will is not sent
  afterLibraryCall(MOSQ_ERR_SUCCESS);
}

void Link::finishStop() {
  detachSocket();
  misc_timer_.cancel();
  stop_deadline_.cancel();
  if (auto done = std::exchange(stopped_, nullptr)) done();
}

int runUntilStopped(asio::io_context& io, Link& link, std::function<void()> on_stop) {
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (on_stop) on_stop();
    link.stop([&io] { io.stop(); });
  });
  link.start();
  io.run();
  return 0;
}

}  // namespace steward::sdk
