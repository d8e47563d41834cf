// See broker.hpp.
#include "support/broker.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <stdexcept>

namespace steward::test {

Broker::Broker(std::string extra_config) : extra_(std::move(extra_config)) {
  port_ = freeTcpPort();
  start();
}

Broker::~Broker() {
  process_.stop(std::chrono::milliseconds(2000));
}

namespace {

std::string currentUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "root";
}

}  // namespace

void Broker::start() {
  // Persistence on, saved on every change, so a killed broker comes back with its retained
  // messages like a real one restarted by systemd.
  const std::string conf = dir_.write(
      "mosquitto.conf", "listener " + std::to_string(port_) +
                            " 127.0.0.1\nallow_anonymous true\npersistence true\n"
                            "persistence_location " +
                            dir_.path() +
                            "/\n"
                            "autosave_interval 1\nautosave_on_changes true\n"
                            "max_keepalive 3600\n"
                            // Run as root, mosquitto would drop to user "mosquitto", which
                            // cannot read this private temp dir: stay the invoking user.
                            "user " +
                            currentUser() + "\n" + extra_ + "\n");
  for (int attempt = 0; attempt < 3; ++attempt) {
    process_ = Process({"mosquitto", "-c", conf}, dir_.file("mosquitto.log"));
    if (waitFor([&] { return tcpPortOpen(port_) || !process_.running(); },
                std::chrono::seconds(10)) &&
        process_.running()) {
      return;
    }
    // Lost the port to someone else between probing and binding: pick another.
    port_ = freeTcpPort();
  }
  throw std::runtime_error("mosquitto did not start: " + log());
}

std::string Broker::log() const {
  return readFile(dir_.file("mosquitto.log"));
}

void Broker::kill() {
  process_.signal(SIGKILL);
  process_.wait(std::chrono::seconds(5));
}

void Broker::restart() {
  kill();
  const std::string conf = dir_.file("mosquitto.conf");
  process_ = Process({"mosquitto", "-c", conf}, dir_.file("mosquitto.log"));
  if (!waitFor([&] { return tcpPortOpen(port_); }, std::chrono::seconds(10)))
    throw std::runtime_error("mosquitto did not restart: " + log());
}

}  // namespace steward::test
