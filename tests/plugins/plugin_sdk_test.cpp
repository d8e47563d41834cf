// The plugin SDK's options: flags and a TOML config file through one validating path (flags win),
// generated --help, clear errors; broker URLs and secrets.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "options.hpp"
#include "plugin.hpp"
#include "support/temp_dir.hpp"

namespace steward::sdk {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  BrokerSettings broker;
  DeviceInfo device;
  std::string port;
  long count = 5;
  bool once = false;
  std::chrono::milliseconds every{60'000};
};

std::optional<int> parse(Parsed& p, std::vector<const char*> args) {
  Options o("steward-test", "a test plugin");
  o.text("port", "DEV", "the port", p.port);
  o.integer("count", "N", "how many", p.count, 1, 10);
  o.flag("once", "once", p.once);
  o.duration("every", "how often", p.every, 1s, 1h);
  addBrokerOptions(o, p.broker, p.device);
  args.insert(args.begin(), "steward-test");
  return o.parse(static_cast<int>(args.size()), args.data());
}

TEST(PluginOptions, FlagsAndTheirValues) {
  Parsed p;
  EXPECT_FALSE(parse(p, {"--id", "meter-1", "--count", "7", "--once", "--every=5m", "--broker",
                         "mqtts://broker.lan"}));
  EXPECT_EQ(p.device.id, "meter-1");
  EXPECT_EQ(p.count, 7);
  EXPECT_TRUE(p.once);
  EXPECT_EQ(p.every, 5min);
  EXPECT_EQ(p.broker.finish(), "");
  EXPECT_TRUE(p.broker.tls);
  EXPECT_EQ(p.broker.port, 8883);
  EXPECT_EQ(p.broker.host, "broker.lan");
}

TEST(PluginOptions, BadValuesAreUsageErrors) {
  for (std::vector<const char*> bad : {std::vector<const char*>{"--count", "11"},
                                       {"--count", "x"},
                                       {"--id", "a b"},
                                       {"--id", ""},
                                       {"--every", "5 minutes"},
                                       {"--every", "0s"},
                                       {"--nope"},
                                       {"--count"},
                                       {"--once=yes"},
                                       {"stray"},
                                       {"--password", "x"},
                                       {"--log-level", "loud"}}) {
    Parsed p;
    EXPECT_EQ(parse(p, bad), 2) << bad[0];
    EXPECT_EQ(p.count, 5);
  }
  Parsed p;
  EXPECT_EQ(parse(p, {"--help"}), 0);
}

TEST(PluginOptions, AConfigFileWithFlagsWinning) {
  test::TempDir dir;
  const std::string conf =
      dir.write("p.toml",
                "id = \"from-file\"\ncount = 3\nonce = true\nevery = \"2m\"\n"
                "username = \"meter\"\npassword = \"pw\"\nbroker = \"mqtt://10.0.0.2:1884\"\n");
  Parsed p;
  EXPECT_FALSE(parse(p, {"--count", "9", "--config", conf.c_str()}));
  EXPECT_EQ(p.device.id, "from-file");
  EXPECT_EQ(p.count, 9);  // the flag, though it came first
  EXPECT_TRUE(p.once);
  EXPECT_EQ(p.every, 2min);
  EXPECT_EQ(p.broker.finish(), "");
  EXPECT_EQ(p.broker.host, "10.0.0.2");
  EXPECT_EQ(p.broker.port, 1884);
  EXPECT_EQ(p.broker.password, "pw");
}

TEST(PluginOptions, ConfigFileErrorsSayWhere) {
  Options o("steward-test", "t");
  long count = 5;
  bool once = false;
  o.integer("count", "N", "how many", count, 1, 10);
  o.flag("once", "once", once);
  EXPECT_EQ(o.parseConfigText("count = 3\ncuont = 4\n", "p.toml"),
            "p.toml:2:1: unknown setting \"cuont\" (did you mean \"count\"?)");
  EXPECT_EQ(o.parseConfigText("count = 30\n", "p.toml"),
            "p.toml:1:9: count: expected a whole number from 1 to 10");
  EXPECT_EQ(o.parseConfigText("once = \"yes\"\n", "p.toml"),
            "p.toml:1:8: once: expected true or false");
  EXPECT_NE(o.parseConfigText("count = \n", "p.toml").find("p.toml:1:"), std::string::npos);
  EXPECT_EQ(count, 3);  // from the first, valid file only
}

TEST(PluginOptions, BrokerUrlsAndSecrets) {
  BrokerSettings b;
  b.url = "127.0.0.1:1999";
  EXPECT_EQ(b.finish(), "");
  EXPECT_EQ(b.port, 1999);
  EXPECT_FALSE(b.tls);
  b.url = "mqtt://[::1]:1884";
  EXPECT_EQ(b.finish(), "");
  EXPECT_EQ(b.host, "::1");
  for (const char* bad : {"http://x", "mqtt://x:0", "mqtt://x:99999", "mqtt://", "mqtt://[::1"}) {
    BrokerSettings c;
    c.url = bad;
    EXPECT_NE(c.finish(), "") << bad;
  }
  test::TempDir dir;
  BrokerSettings c;
  c.username = "meter";
  c.password_file = dir.write("pw", "from-a-file\n");
  EXPECT_EQ(c.finish(), "");
  EXPECT_EQ(c.password, "from-a-file");
  BrokerSettings d;  // systemd's LoadCredential
  dir.write("creds/broker-password", "from-systemd\n");
  ::setenv("CREDENTIALS_DIRECTORY", dir.file("creds").c_str(), 1);
  d.username = "meter";
  EXPECT_EQ(d.finish(), "");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(d.password, "from-systemd");
  BrokerSettings e;
  e.password = "x";
  EXPECT_NE(e.finish().find("username"), std::string::npos);
}

}  // namespace
}  // namespace steward::sdk
