// A real mosquitto broker on a free loopback port, in the test's own temp dir; started by the
// fixture and ended by PID. It can be killed and restarted on the same port (reconnect tests).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {

class Broker {
 public:
  // Starts mosquitto; `extra_config` is appended to the generated mosquitto.conf.
  explicit Broker(std::string extra_config = {});
  ~Broker();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_.pid(); }
  const std::string& directory() const { return dir_.path(); }
  std::string log() const;

  void kill();     // SIGKILL: the broker vanishes without a goodbye
  void restart();  // start again on the same port (retained messages persist on disk)

 private:
  void start();

  TempDir dir_;
  std::string extra_;
  std::uint16_t port_ = 0;
  Process process_;
};

}  // namespace steward::test
