// Contract tests of every plugin program, as shipped: the handshake (a versioned hello, then
// availability, retained), a clean goodbye ("offline"), bad input refused, and — with mosquitto
// running the ACL of plugins/PROTOCOL.md — that a plugin logged in as one device cannot speak for
// another. The dishwasher and the shell plugin also run against the real hub (stewardd).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "plugin_fixture.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

const std::string kBin = STEWARD_BINARY_DIR "/plugins/";
const std::string kShell = STEWARD_SOURCE_DIR "/plugins/shell/steward-softener";

struct PluginCase {
  std::string name;
  // The program's argv for device `id`, logged in as `user` with the password in `password_file`.
  std::function<std::vector<std::string>(const std::string& id, const std::string& user,
                                         const std::string& password_file, std::uint16_t port,
                                         TempDir& dir)>
      argv;
  bool runs_on = false;  // a long-running program: stopped with SIGTERM once it said hello
};

std::vector<PluginCase> cases() {
  auto broker = [](const std::string& user, const std::string& pw, std::uint16_t port) {
    return std::vector<std::string>{"--broker",        "mqtt://127.0.0.1:" + std::to_string(port),
                                    "--username",      user,
                                    "--password-file", pw};
  };
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  return {
      {"dsmr",
       [=](auto& id, auto& user, auto& pw, auto port, TempDir&) {
         return with({kBin + "dsmr/steward-dsmr", "--id", id, "--once", "--file",
                      STEWARD_SAMPLES_DIR "/dsmr-telegrams.txt"},
                     broker(user, pw, port));
       }},
      {"printer",
       [=](auto& id, auto& user, auto& pw, auto port, TempDir&) {
         // No printer answers there: the plugin says hello and reports itself offline.
         return with({kBin + "printer/steward-printer", "--id", id, "--once", "--uri",
                      "ipp://127.0.0.1:" + std::to_string(freeTcpPort()) + "/ipp/print"},
                     broker(user, pw, port));
       }},
      {"dishwasher",
       [=](auto& id, auto& user, auto& pw, auto port, TempDir&) {
         return with({kBin + "dishwasher/steward-dishwasher", "--id", id, "--max-cycles", "1",
                      "--time-scale", "864000"},
                     broker(user, pw, port));
       }},
      {"softener",
       [=](auto& id, auto& user, auto& pw, auto port, TempDir& dir) {
         return std::vector<std::string>{kShell,
                                         "--id",
                                         id,
                                         "--level-file",
                                         dir.write("level", "40\n"),
                                         "--port",
                                         std::to_string(port),
                                         "--username",
                                         user,
                                         "--password-file",
                                         pw};
       },
       true},
  };
}

class PluginContract : public ::testing::TestWithParam<PluginCase> {};

TEST_P(PluginContract, SpeaksOnlyForItsOwnDeviceUnderTheProtocolAcl) {
  const auto& c = GetParam();
  AclBroker acl({"dev1"});
  MqttWatch hub_view(acl.port(), "#", "stewardd", kPassword);
  ASSERT_EQ(hub_view.connectRc(), 0);
  TempDir dir;

  // As itself: the handshake reaches the broker.
  {
    Process p(c.argv("dev1", "dev1", acl.passwordFile(), acl.port(), dir), dir.file("own.log"));
    ASSERT_TRUE(hub_view.waitFor("steward/device/dev1/hello", 30s))
        << readFile(dir.file("own.log"));
    const auto hello = bj::parse(hub_view.on("steward/device/dev1/hello").front()).as_object();
    EXPECT_EQ(hello.at("protocol").as_int64(), 1);
    EXPECT_EQ(hello.at("id").as_string(), "dev1");
    EXPECT_FALSE(hello.at("kind").as_string().empty());
    ASSERT_TRUE(hub_view.waitFor("steward/device/dev1/availability", 10s));
    if (c.runs_on) {
      ASSERT_TRUE(hub_view.waitFor("steward/device/dev1/need/salt", 10s));
      p.signal(SIGTERM);
    }
    const auto status = p.wait(40s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(dir.file("own.log"));
    // The goodbye: "offline", retained, as the last word.
    ASSERT_TRUE(hub_view.waitFor("steward/device/dev1/availability", 5s,
                                 [](auto& v) { return v == "offline"; }));
    EXPECT_EQ(hub_view.on("steward/device/dev1/availability").back(), "offline");
  }

  // Logged in as dev1 but claiming to be dev2: the broker lets nothing through.
  {
    Process p(c.argv("dev2", "dev1", acl.passwordFile(), acl.port(), dir), dir.file("other.log"));
    if (c.runs_on) {
      std::this_thread::sleep_for(3s);
      p.signal(SIGTERM);
    }
    ASSERT_TRUE(p.wait(40s));
    if (!c.runs_on) {  // the SDK reports what the broker refused (MQTT 5 "not authorized")
      EXPECT_NE(readFile(dir.file("other.log")).find("Not authorized"), std::string::npos)
          << readFile(dir.file("other.log"));
    }
  }
  std::this_thread::sleep_for(300ms);
  for (const auto& m : hub_view.messages())
    EXPECT_NE(m.topic.rfind("steward/device/dev2/", 0), 0u) << m.topic << " got through";
}

void PrintTo(const PluginCase& c, std::ostream* os) {
  *os << c.name;
}

INSTANTIATE_TEST_SUITE_P(Plugins, PluginContract, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(PluginContractUsage, EachProgramRefusesBadInputWithASentence) {
  TempDir dir;
  struct Bad {
    std::vector<std::string> argv;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{kBin + "dishwasher/steward-dishwasher", "--id", "a/b"}, "--id: expected 1 to 64"},
      {{kBin + "dishwasher/steward-dishwasher", "--id", "dw", "--fault-code", "E99"},
       "expected E09, E15, E22, E24 or E25"},
      {{kBin + "dishwasher/steward-dishwasher", "--id", "dw", "--time-scale", "fast"},
       "--time-scale: expected a number"},
      {{kBin + "dishwasher/steward-dishwasher", "--id", "dw", "--password", "x"},
       "may only be set in the config file"},
      {{kBin + "printer/steward-printer", "--id", "p", "--uri", "ipp://8.8.8.8/ipp/print"},
       "not on the local network"},
      {{kBin + "printer/steward-printer", "--id", "p", "--uri", "ipp://printer/$(reboot)"},
       "not allowed"},
      {{kBin + "dsmr/steward-dsmr", "--file", "x", "--broker", "http://x"},
       "expected a URL like mqtt://"},
      {{kShell, "--id", "a/b", "--level-file", "x"}, "--id: expected 1 to 64"},
      {{kShell, "--id", "ok", "--level-file", "x", "--port", "eighty"}, "--port: expected"},
  };
  for (const auto& b : bad) {
    const std::string log = dir.file("bad.log");
    ::unlink(log.c_str());
    EXPECT_EQ(runToEnd(b.argv, log), 2) << b.argv[0] << " " << b.argv[2];
    EXPECT_NE(readFile(log).find(b.says), std::string::npos) << readFile(log);
  }
  // A config file is checked like the flags, with file:line:col and a suggestion.
  const std::string conf = dir.write("dw.toml", "id = \"dw\"\ntime_scale = 10\n");
  const std::string log = dir.file("conf.log");
  EXPECT_EQ(runToEnd({kBin + "dishwasher/steward-dishwasher", "--config", conf}, log), 2);
  EXPECT_NE(readFile(log).find("dw.toml:2:1: unknown setting \"time_scale\" (did you mean "
                               "\"time-scale\"?)"),
            std::string::npos)
      << readFile(log);
}

TEST(PluginContractUsage, TheExampleConfigFilesAreValid) {
  TempDir dir;
  for (const auto& [program, example] : std::vector<std::pair<std::string, std::string>>{
           {"dsmr/steward-dsmr", "dsmr/examples/dsmr-home.toml"},
           {"printer/steward-printer", "printer/examples/printer-office.toml"},
           {"dishwasher/steward-dishwasher", "dishwasher/examples/dishwasher-demo.toml"}}) {
    const std::string log = dir.file("check.log");
    ::unlink(log.c_str());
    EXPECT_EQ(runToEnd({kBin + program, "--config", STEWARD_SOURCE_DIR "/plugins/" + example,
                        "--check-config"},
                       log),
              0)
        << readFile(log);
    EXPECT_NE(readFile(log).find("the configuration is valid"), std::string::npos);
  }
  // And a broken one is not.
  const std::string broken = dir.write("broken.toml", "id = \"p1\"\nbaud = \"57600\"\n");
  EXPECT_EQ(runToEnd({kBin + "dsmr/steward-dsmr", "--config", broken, "--check-config"},
                     dir.file("broken.log")),
            2);
  EXPECT_NE(readFile(dir.file("broken.log")).find("broken.toml:2:8: baud: expected 115200 or 9600"),
            std::string::npos)
      << readFile(dir.file("broken.log"));
}

// Waits until `ctl` output holds `text`.
bool hubShows(RealHub& hub, const std::string& verb, const std::string& text) {
  return waitFor([&] { return hub.ctl(verb).find(text) != std::string::npos; }, 30s);
}

TEST(DishwasherContract, TheRealHubSeesItsWearAndFaultsAndCommandsReachIt) {
  AclBroker acl({"dw1"});
  MqttWatch view(acl.port(), "#", "stewardd", kPassword);
  RealHub hub(acl.port(), true);
  ASSERT_TRUE(view.waitFor("steward/hub/availability", 30s, [](auto& v) { return v == "online"; }))
      << hub.log();
  TempDir dir;
  Process dw({kBin + "dishwasher/steward-dishwasher", "--id", "dw1", "--name", "Test dishwasher",
              "--broker", "mqtt://127.0.0.1:" + std::to_string(acl.port()), "--username", "dw1",
              "--password-file", acl.passwordFile(), "--rinse-aid", "16", "--seed",
              "3"},  // a cycle a day: only ours run
             dir.file("dw.log"));
  ASSERT_TRUE(hubShows(hub, "devices", "dw1")) << hub.log() << readFile(dir.file("dw.log"));

  // A wash cycle takes rinse aid below its 15 % mark: the hub opens a need for it.
  MqttWatch owner(acl.port(), "steward/device/dw1/command", "owner", kPassword);
  EXPECT_EQ(owner.publish("steward/device/dw1/command", "run"), 0);
  ASSERT_TRUE(view.waitFor("steward/device/dw1/need/rinse-aid", 10s, [](const std::string& v) {
    return bj::parse(v).as_object().at("level").to_number<double>() < 15;
  })) << readFile(dir.file("dw.log"));
  EXPECT_TRUE(hubShows(hub, "needs", "rinse-aid")) << hub.ctl("needs");

  // A fault on command: a fault need at the hub; cleared again by command.
  EXPECT_EQ(owner.publish("steward/device/dw1/command", "fault E15"), 0);
  ASSERT_TRUE(view.waitFor("steward/device/dw1/need/E15", 10s));
  EXPECT_TRUE(hubShows(hub, "needs", "E15")) << hub.ctl("needs");
  EXPECT_EQ(owner.publish("steward/device/dw1/command", "clear E15"), 0);
  ASSERT_TRUE(view.waitFor("steward/device/dw1/need/E15", 10s, [](auto& v) { return v.empty(); }));

  // A bad command is refused, said so, and changes nothing.
  const auto needs_before = view.on("steward/device/dw1/need/salt").size();
  EXPECT_EQ(owner.publish("steward/device/dw1/command", "fault E99; rm -rf /"), 0);
  ASSERT_TRUE(view.waitFor("steward/device/dw1/event", 10s,
                           [](auto& v) { return v.find("command-refused") != std::string::npos; }));
  EXPECT_EQ(view.on("steward/device/dw1/need/salt").size(), needs_before);

  // A plugin's account may not command another device (the owner's may command any).
  MqttWatch self(acl.port(), "x", "dw1", kPassword);
  EXPECT_EQ(self.publish("steward/device/printer-office/command", "run"), 0x87);
  EXPECT_EQ(owner.publish("steward/device/printer-office/command", "run"), 0);

  dw.signal(SIGTERM);
  const auto status = dw.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_EQ(view.on("steward/device/dw1/availability").back(), "offline");
  EXPECT_TRUE(hub.running());
}

TEST(DishwasherContract, ReconnectsAfterTheBrokerRestartsAndStillHearsCommands) {
  Broker broker;
  TempDir dir;
  Process dw({kBin + "dishwasher/steward-dishwasher", "--id", "dw-r", "--broker", broker.url(),
              "--reconnect-max", "500ms"},
             dir.file("dw.log"));
  {
    MqttWatch view(broker.port());
    ASSERT_TRUE(view.waitFor("steward/device/dw-r/availability", 20s,
                             [](auto& v) { return v == "online"; }));
  }
  broker.kill();  // gone without a goodbye
  std::this_thread::sleep_for(1s);
  broker.restart();
  ASSERT_TRUE(waitFor(
      [&] {
        const auto log = readFile(dir.file("dw.log"));
        const auto first = log.find("connected to the MQTT broker");
        return first != std::string::npos &&
               log.find("connected to the MQTT broker", first + 1) != std::string::npos;
      },
      20s))
      << readFile(dir.file("dw.log"));
  EXPECT_NE(readFile(dir.file("dw.log")).find("lost the MQTT broker"), std::string::npos);
  // Its command subscription came back with the connection.
  MqttWatch view(broker.port());
  EXPECT_EQ(view.publish("steward/device/dw-r/command", "fault E09"), 0);
  EXPECT_TRUE(view.waitFor("steward/device/dw-r/need/E09", 10s)) << readFile(dir.file("dw.log"));
  EXPECT_EQ(view.on("steward/device/dw-r/availability").back(), "online");
  dw.stop();
}

TEST(DishwasherContract, OverTlsWithAPrivateCa) {
  TempDir dir;
  // A CA and a broker certificate for 127.0.0.1, made here.
  ASSERT_EQ(runToEnd({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
                      "-keyout", dir.file("ca.key"), "-out", dir.file("ca.pem")},
                     dir.file("openssl.log")),
            0);
  ASSERT_EQ(runToEnd({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", dir.file("broker.key"), "-out",
                      dir.file("broker.csr")},
                     dir.file("openssl.log")),
            0);
  dir.write("san.ext", "subjectAltName=IP:127.0.0.1\n");
  ASSERT_EQ(runToEnd({"openssl", "x509", "-req", "-in", dir.file("broker.csr"), "-CA",
                      dir.file("ca.pem"), "-CAkey", dir.file("ca.key"), "-CAcreateserial", "-days",
                      "2", "-extfile", dir.file("san.ext"), "-out", dir.file("broker.pem")},
                     dir.file("openssl.log")),
            0)
      << readFile(dir.file("openssl.log"));
  const auto tls_port = freeTcpPort();
  Broker broker("listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " +
                dir.file("ca.pem") + "\ncertfile " + dir.file("broker.pem") + "\nkeyfile " +
                dir.file("broker.key") + "\n");
  ASSERT_TRUE(waitFor([&] { return tcpPortOpen(tls_port); }, 10s)) << broker.log();
  MqttWatch view(broker.port());
  const std::string url = "mqtts://127.0.0.1:" + std::to_string(tls_port);
  EXPECT_EQ(
      runToEnd({kBin + "dishwasher/steward-dishwasher", "--id", "dw-tls", "--broker", url,
                "--ca-file", dir.file("ca.pem"), "--max-cycles", "1", "--time-scale", "864000"},
               dir.file("dw.log")),
      0)
      << readFile(dir.file("dw.log"));
  EXPECT_TRUE(view.waitFor("steward/device/dw-tls/hello", 5s));
  // Without the CA the broker's certificate is not trusted: nothing is sent.
  Process untrusted({kBin + "dishwasher/steward-dishwasher", "--id", "dw-untrusted", "--broker",
                     url, "--max-cycles", "1", "--time-scale", "864000"},
                    dir.file("untrusted.log"));
  std::this_thread::sleep_for(2s);
  untrusted.stop();
  EXPECT_TRUE(view.on("steward/device/dw-untrusted/hello").empty());
}

TEST(DishwasherContract, AnnouncesItselfToHomeAssistantWhenAsked) {
  Broker broker;
  MqttWatch view(broker.port());
  TempDir dir;
  EXPECT_EQ(runToEnd({kBin + "dishwasher/steward-dishwasher", "--id", "dw-ha", "--broker",
                      broker.url(), "--ha-discovery", "--max-cycles", "1", "--time-scale", "864000",
                      "--fault-every", "1"},
                     dir.file("dw.log")),
            0);
  const std::string topic = "homeassistant/device/steward_dw-ha/config";
  ASSERT_TRUE(view.waitFor(topic, 5s, [](auto& v) { return v.find("E24") != std::string::npos; }));
  const auto config = bj::parse(view.on(topic).back()).as_object();
  EXPECT_EQ(config.at("availability_topic").as_string(), "steward/device/dw-ha/availability");
  const auto& components = config.at("components").as_object();
  ASSERT_TRUE(components.contains("salt"));
  EXPECT_EQ(components.at("salt").at("state_topic").as_string(), "steward/device/dw-ha/need/salt");
  EXPECT_EQ(components.at("salt").at("unit_of_measurement").as_string(), "%");
  EXPECT_EQ(components.at("E24").at("value_template").as_string(), "{{ value_json.severity }}");
  // Without the flag (a hub does this), nothing is published there.
  EXPECT_EQ(runToEnd({kBin + "dishwasher/steward-dishwasher", "--id", "dw-plain", "--broker",
                      broker.url(), "--max-cycles", "1", "--time-scale", "864000"},
                     dir.file("plain.log")),
            0);
  EXPECT_TRUE(view.on("homeassistant/device/steward_dw-plain/config").empty());
}

TEST(DishwasherContract, SignalsRaiseTheFaultAndRunACycle) {
  Broker broker;
  MqttWatch view(broker.port());
  TempDir dir;
  Process dw({kBin + "dishwasher/steward-dishwasher", "--id", "dw-sig", "--broker", broker.url(),
              "--fault-code", "E25"},
             dir.file("dw.log"));
  ASSERT_TRUE(view.waitFor("steward/device/dw-sig/need/salt", 20s));
  dw.signal(SIGUSR2);  // a cycle now
  ASSERT_TRUE(view.waitFor("steward/device/dw-sig/event", 10s, [](auto& v) {
    return v.find("\"cycle-finished\"") != std::string::npos;
  }));
  dw.signal(SIGUSR1);  // the configured fault
  ASSERT_TRUE(view.waitFor("steward/device/dw-sig/need/E25", 10s, [](auto& v) {
    return v.find("\"severity\":\"critical\"") != std::string::npos;
  })) << readFile(dir.file("dw.log"));
  dw.signal(SIGUSR2);  // stopped by E25: no wash
  ASSERT_TRUE(view.waitFor("steward/device/dw-sig/event", 10s, [](auto& v) {
    return v.find("\"cycle-skipped\"") != std::string::npos;
  }));
  dw.signal(SIGTERM);
  const auto status = dw.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(DishwasherContract, TheSameSeedGivesTheSameRun) {
  Broker broker;
  MqttWatch view(broker.port());
  TempDir dir;
  std::vector<std::vector<std::string>> runs;
  for (const std::string id : {"dw-a", "dw-b"}) {
    EXPECT_EQ(runToEnd({kBin + "dishwasher/steward-dishwasher", "--id", id, "--broker",
                        broker.url(), "--seed", "42", "--time-scale", "8640000", "--cycles-per-day",
                        "100", "--max-cycles", "6", "--fault-every", "4"},
                       dir.file(id + ".log")),
              0);
    std::vector<std::string> levels;
    for (auto p : view.on("steward/device/" + id + "/need/salt")) {
      auto o = bj::parse(p).as_object();
      levels.push_back(bj::serialize(o.at("level")));
    }
    runs.push_back(levels);
    EXPECT_TRUE(view.waitFor("steward/device/" + id + "/need/E24", 5s));
  }
  ASSERT_EQ(runs[0].size(), 5u);  // the start and four cycles: E24 stopped the fifth and sixth
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(ShellPluginContract, TheRealHubKnowsTheSoftenerAndItsLowSalt) {
  Broker broker;
  MqttWatch view(broker.port());
  RealHub hub(broker.port(), false);
  ASSERT_TRUE(view.waitFor("steward/hub/availability", 30s, [](auto& v) { return v == "online"; }))
      << hub.log();
  TempDir dir;
  const std::string level = dir.write("level", "55\n");
  Process sh({kShell, "--id", "softener-1", "--level-file", level, "--port",
              std::to_string(broker.port()), "--interval", "1"},
             dir.file("sh.log"));
  ASSERT_TRUE(hubShows(hub, "devices", "softener-1")) << hub.log() << readFile(dir.file("sh.log"));
  EXPECT_EQ(hub.ctl("needs").find("softener-1"), std::string::npos);  // 55 % is not low

  // Not a number: said so, nothing published.
  dir.write("level", "lots\n");
  ASSERT_TRUE(waitFor(
      [&] {
        return readFile(dir.file("sh.log")).find("expected a whole number") != std::string::npos;
      },
      10s));
  EXPECT_EQ(view.on("steward/device/softener-1/need/salt").size(), 1u);

  dir.write("level", "12\n");  // low: at or under the 20 % threshold
  ASSERT_TRUE(hubShows(hub, "needs", "softener-1")) << hub.ctl("needs") << hub.log();

  sh.signal(SIGTERM);
  const auto status = sh.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  ASSERT_TRUE(view.waitFor("steward/device/softener-1/availability", 5s,
                           [](auto& v) { return v == "offline"; }));
  EXPECT_TRUE(hub.running());
}

}  // namespace
}  // namespace steward::test
