// The broker connection's settings: the [broker] table of stewardd.toml.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace steward::mqtt {

struct BrokerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  bool tls = false;       // mqtts:// URL
  std::string ca_file;    // TLS: CA bundle to verify the broker
  std::string cert_file;  // TLS: optional client certificate
  std::string key_file;   // TLS: its key
  std::string username;
  std::string password;
  std::string client_id = "stewardd";
  int keepalive_seconds = 30;
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{10'000};
};

}  // namespace steward::mqtt
