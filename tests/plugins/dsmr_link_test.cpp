// steward-dsmr on the links a real meter uses: a serial port (a pseudo-terminal pair made by
// socat stands in for the USB adapter) at 9600 7E1 for DSMR 2.2/3.0 and 115200 8N1 for DSMR 5,
// and a ser2net-style TCP stream (with reconnection). Also outage events, and corrupt telegrams
// refused and counted. Everything it publishes is read back from a real broker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "dsmr.hpp"
#include "mqtt_watch.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::dsmr {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

const std::string kDsmr = std::string(STEWARD_BINARY_DIR) + "/plugins/dsmr/steward-dsmr";

std::string versionTelegram(const std::string& name) {
  std::ifstream in(std::string(STEWARD_SOURCE_DIR) + "/tests/plugins/data/dsmr-versions.txt");
  std::string line, out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("### BEGIN " + name + " ", 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("### END", 0) == 0) {
      return out;
    } else if (inside) {
      out += line + "\r\n";
    }
  }
  ADD_FAILURE() << "no telegram " << name;
  return {};
}

// `telegram` with `from` replaced by `to` and its CRC recomputed (a meter's next reading).
std::string edited(std::string telegram, const std::string& from, const std::string& to) {
  telegram.replace(telegram.find(from), from.size(), to);
  const auto bang = telegram.find('!');
  char crc[8];
  std::snprintf(crc, sizeof crc, "%04X", crc16Arc(std::string_view(telegram).substr(0, bang + 1)));
  return telegram.substr(0, bang + 1) + crc + "\r\n";
}

// Every byte with an even-parity bit in bit 7, as 7E1 puts it on the wire.
std::string withEvenParity(const std::string& s) {
  std::string out = s;
  for (auto& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (__builtin_popcount(b & 0x7f) % 2) c = static_cast<char>(b | 0x80);
  }
  return out;
}

double level(const std::string& payload) {
  return bj::parse(payload).as_object().at("level").to_number<double>();
}

bool hasLevel(const std::string& p, double v) {
  return !p.empty() && std::abs(level(p) - v) < 1e-6;
}

class DsmrLink : public ::testing::Test {
 protected:
  // socat: a pseudo-terminal pair, "meter" (we write) and "p1" (the plugin reads).
  void makePtyPair() {
    if (test::findProgram("socat").empty()) GTEST_SKIP() << "socat is not installed";
    socat_ = test::Process({"socat", "pty,raw,echo=0,link=" + dir_.file("meter"),
                            "pty,raw,echo=0,link=" + dir_.file("p1")},
                           dir_.file("socat.log"));
    ASSERT_TRUE(test::waitFor(
        [&] {
          return ::access(dir_.file("meter").c_str(), F_OK) == 0 &&
                 ::access(dir_.file("p1").c_str(), F_OK) == 0;
        },
        10s))
        << test::readFile(dir_.file("socat.log"));
    meter_ = ::open(dir_.file("meter").c_str(), O_WRONLY | O_NOCTTY);
    ASSERT_GE(meter_, 0);
  }
  void TearDown() override {
    if (meter_ >= 0) ::close(meter_);
  }
  void write(const std::string& bytes) {
    ASSERT_EQ(::write(meter_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  test::Process plugin(std::vector<std::string> args) {
    std::vector<std::string> argv{kDsmr,     "--broker",   broker_.url(), "--id",
                                  "p1-test", "--interval", "0s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Process(argv, dir_.file("plugin.log"));
  }
  std::string log() { return test::readFile(dir_.file("plugin.log")); }
  std::string topic(const std::string& leaf) { return "steward/device/p1-test/" + leaf; }

  test::TempDir dir_;
  test::Broker broker_;
  test::Process socat_;
  int meter_ = -1;
};

TEST_F(DsmrLink, Dsmr22OverASerialPortAt9600SevenEvenOne) {
  makePtyPair();
  if (IsSkipped()) return;
  test::MqttWatch watch(broker_.port());
  auto p = plugin({"--serial", dir_.file("p1"), "--baud", "9600"});
  // The plugin set the line to 9600 baud with the parity bit stripped.
  ASSERT_TRUE(test::waitFor([&] { return log().find("connected") != std::string::npos; }, 20s))
      << log();
  const int fd = ::open(dir_.file("p1").c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  termios tio{};
  ASSERT_EQ(tcgetattr(fd, &tio), 0);
  ::close(fd);
  EXPECT_EQ(cfgetispeed(&tio), B9600);
  EXPECT_TRUE(tio.c_iflag & ISTRIP);
  // (CS7 and PARENB cannot be read back: Linux's pty driver forces CS8 without parity. That
  // 7-bit data is read right is shown below by bytes that carry their parity bit.)

  // The bytes arrive with their parity bit set; the plugin must still read the telegram.
  write(withEvenParity(versionTelegram("TELEGRAM_V2_2")));
  ASSERT_TRUE(watch.waitFor(topic("need/gas"), 20s, [](auto& p) { return hasLevel(p, 1.001); }))
      << log();
  ASSERT_TRUE(watch.waitFor(topic("need/electricity-import"), 5s,
                            [](auto& p) { return hasLevel(p, 2.002); }));
  EXPECT_TRUE(watch.waitFor(topic("hello"), 5s, [](auto& p) {
    return p.find("\"model\":\"ISk5\\\\2MT382-1004 (DSMR 2.2/3.0)\"") != std::string::npos;
  })) << watch.on(topic("hello")).back();
  EXPECT_TRUE(watch.waitFor(topic("availability"), 5s, [](auto& p) { return p == "online"; }));
  p.signal(SIGTERM);
  const auto status = p.wait(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << log();
  EXPECT_EQ(watch.on(topic("availability")).back(), "offline");
}

TEST_F(DsmrLink, Dsmr50OverSerialWithOutagesAndCorruptTelegrams) {
  makePtyPair();
  if (IsSkipped()) return;
  test::MqttWatch watch(broker_.port());
  auto p = plugin({"--serial", dir_.file("p1")});
  ASSERT_TRUE(test::waitFor([&] { return log().find("connected") != std::string::npos; }, 20s))
      << log();
  const std::string v5 = versionTelegram("TELEGRAM_V5");
  write(v5);
  ASSERT_TRUE(watch.waitFor(topic("need/electricity-import"), 20s, [](auto& p) {
    return hasLevel(p, 6.825);
  })) << log();

  // A flipped digit: refused, counted, reported once; nothing published from it.
  std::string corrupt = v5;
  corrupt[corrupt.find("000004.426")] = '9';
  write(corrupt);
  ASSERT_TRUE(watch.waitFor(topic("event"), 10s, [](auto& p) {
    return p.find("\"type\":\"telegrams-refused\"") != std::string::npos &&
           p.find("\"refused\":1") != std::string::npos;
  })) << log();
  EXPECT_NE(log().find("CRC mismatch"), std::string::npos);

  // Two more short power failures, then no power flowing at all, then power again.
  write(edited(edited(v5, "0-0:96.7.21(00013)", "0-0:96.7.21(00015)"), "1-0:1.7.0(00.244*kW)",
               "1-0:1.7.0(00.000*kW)"));
  ASSERT_TRUE(watch.waitFor(topic("event"), 10s, [](auto& p) {
    return p.find("\"type\":\"outage\"") != std::string::npos &&
           p.find("2 more power failure(s) (15 in all)") != std::string::npos;
  })) << log();
  ASSERT_TRUE(watch.waitFor(topic("event"), 5s, [](auto& p) {
    return p.find("\"type\":\"power-zero\"") != std::string::npos;
  }));
  write(edited(v5, "0-0:96.7.21(00013)", "0-0:96.7.21(00015)"));
  ASSERT_TRUE(watch.waitFor(topic("event"), 10s, [](auto& p) {
    return p.find("\"type\":\"power-restored\"") != std::string::npos;
  }));
  // The corrupt telegram's value never reached the broker.
  for (const auto& payload : watch.on(topic("need/electricity-import")))
    EXPECT_TRUE(hasLevel(payload, 6.825)) << payload;
  p.stop();
}

TEST_F(DsmrLink, OfflineWhenTheMeterFallsSilentAndOnlineWhenItSpeaksAgain) {
  makePtyPair();
  if (IsSkipped()) return;
  test::MqttWatch watch(broker_.port());
  auto p = plugin({"--serial", dir_.file("p1"), "--stale", "1s"});
  ASSERT_TRUE(watch.waitFor(topic("availability"), 20s, [](auto& v) { return v == "offline"; }))
      << log();  // no telegram yet
  const std::string v5 = versionTelegram("TELEGRAM_V5");
  write(v5);
  ASSERT_TRUE(watch.waitFor(topic("availability"), 10s, [](auto& v) { return v == "online"; }));
  ASSERT_TRUE(test::waitFor([&] { return watch.on(topic("availability")).back() == "offline"; },
                            10s))
      << log();  // silent for more than --stale
  write(v5);
  ASSERT_TRUE(
      test::waitFor([&] { return watch.on(topic("availability")).back() == "online"; }, 10s));
  p.stop();
}

TEST_F(DsmrLink, BelgianMeterOverTcpReconnectsWhenTheBridgeDrops) {
  // A ser2net-style bridge: a TCP listener that sends the raw P1 stream.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(::listen(listener, 4), 0);
  const int port = ntohs(addr.sin_port);

  test::MqttWatch watch(broker_.port());
  auto p = plugin({"--tcp", "127.0.0.1:" + std::to_string(port)});
  const std::string be = versionTelegram("TELEGRAM_FLUVIUS_V171");
  for (int round = 0; round < 2; ++round) {
    const int conn = ::accept(listener, nullptr, nullptr);  // the plugin (re)connects
    ASSERT_GE(conn, 0) << log();
    const std::string t = round == 0 ? be : edited(be, "(00872.234*m3)", "(00873.500*m3)");
    ASSERT_EQ(::write(conn, t.data(), t.size()), static_cast<ssize_t>(t.size()));
    const double water = round == 0 ? 872.234 : 873.5;
    EXPECT_TRUE(watch.waitFor(topic("need/water"), 20s, [&](auto& p) {
      return hasLevel(p, water);
    })) << log();
    ::close(conn);  // the bridge drops the connection
  }
  ::close(listener);
  EXPECT_TRUE(watch.waitFor(topic("need/gas"), 5s, [](auto& p) { return hasLevel(p, 112.384); }));
  EXPECT_TRUE(watch.waitFor(
      topic("hello"), 5s, [](auto& p) { return p.find("e-MUCS (Belgium)") != std::string::npos; }));
  EXPECT_NE(log().find("closed the connection"), std::string::npos) << log();
  p.stop();
}

TEST_F(DsmrLink, BadOptionsAreRefusedWithASentence) {
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{kDsmr};
    argv.insert(argv.end(), args.begin(), args.end());
    test::Process p(argv, dir_.file("usage.log"));
    return p.wait(10s);
  };
  auto status = run({"--serial", "/dev/null", "--baud", "57600"});
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(test::readFile(dir_.file("usage.log")).find("--baud: expected 115200 or 9600"),
            std::string::npos);
  status = run({"--serial", "/dev/null", "--tcp", "x:1"});
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(test::readFile(dir_.file("usage.log")).find("exactly one of"), std::string::npos);
  status = run({"--file", "x", "--id", "../other"});
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  // Not a serial port: a clear error, nothing published.
  status = run({"--serial", "/dev/null", "--broker", broker_.url()});
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(test::readFile(dir_.file("usage.log")).find("/dev/null: not a serial port"),
            std::string::npos)
      << test::readFile(dir_.file("usage.log"));
}

}  // namespace
}  // namespace steward::dsmr
