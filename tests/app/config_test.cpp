// The daemon config: defaults, values, and errors reported with file:line:col.
#include "app/config.hpp"

#include <gtest/gtest.h>

namespace steward::app {
namespace {

TEST(DaemonConfig, EmptyFileGivesDefaults) {
  auto load = parseDaemonConfig("", "stewardd.toml");
  ASSERT_TRUE(load.errors.empty());
  EXPECT_EQ(load.config.broker.host, "127.0.0.1");
  EXPECT_EQ(load.config.broker.port, 1883);
  EXPECT_EQ(load.config.devices.limits.max_payload_bytes, 65536u);
  EXPECT_EQ(load.config.devices.discovery.homeassistant_prefix, "homeassistant");
}

TEST(DaemonConfig, ReadsValues) {
  auto load = parseDaemonConfig(R"(
[daemon]
state_directory = "/tmp/s"
log_level = "debug"
[broker]
url = "mqtts://broker.lan:8884"
username = "steward"
ca_file = "/etc/ssl/ca.pem"
reconnect_max = "2s"
[limits]
max_payload_bytes = 4096
device_messages_per_second = 5
[discovery]
service_types = ["_ipp._tcp"]
)",
                                "stewardd.toml");
  ASSERT_TRUE(load.errors.empty()) << load.errors[0].format();
  const auto& c = load.config;
  EXPECT_EQ(c.state_directory, "/tmp/s");
  EXPECT_EQ(c.log_level, core::LogLevel::debug);
  EXPECT_TRUE(c.broker.tls);
  EXPECT_EQ(c.broker.host, "broker.lan");
  EXPECT_EQ(c.broker.port, 8884);
  EXPECT_EQ(c.broker.username, "steward");
  EXPECT_EQ(c.broker.reconnect_max, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.devices.limits.max_payload_bytes, 4096u);
  EXPECT_DOUBLE_EQ(c.devices.limits.device_messages_per_second, 5.0);
  EXPECT_EQ(c.devices.discovery.service_types, std::vector<std::string>{"_ipp._tcp"});
}

TEST(DaemonConfig, ReportsEveryErrorWithPosition) {
  auto load = parseDaemonConfig(R"([daemon]
log_levl = "debug"
[broker]
url = "http://x"
[limits]
max_payload_bytes = "big"
)",
                                "stewardd.toml");
  ASSERT_EQ(load.errors.size(), 3u);
  EXPECT_EQ(load.errors[0].format(),
            "stewardd.toml:2:1: daemon.log_levl: unknown key; did you mean \"log_level\"?");
  EXPECT_EQ(load.errors[1].line, 4);
  EXPECT_EQ(load.errors[1].column, 7);
  EXPECT_EQ(load.errors[1].key, "broker.url");
  EXPECT_EQ(load.errors[2].format(),
            "stewardd.toml:6:21: limits.max_payload_bytes: expected an integer, got a string");
}

TEST(DaemonConfig, SyntaxErrorHasPosition) {
  auto load = parseDaemonConfig("[daemon]\nlog_level = \n", "x.toml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].line, 2);
  EXPECT_EQ(load.errors[0].file, "x.toml");
}

}  // namespace
}  // namespace steward::app
