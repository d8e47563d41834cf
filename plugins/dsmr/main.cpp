// steward-dsmr: a Steward plugin for Dutch/Belgian smart meters. Reads DSMR P1 telegrams from the
// meter's serial port (or a file of telegrams), checks each CRC, and publishes the meter readings
// as Steward needs over MQTT (plugins/PROTOCOL.md): electricity imported/exported (kWh), gas (m3).
//
//   steward-dsmr --serial /dev/ttyUSB0 [--baud 115200] [--broker 127.0.0.1:1883] [--id p1-meter]
//   steward-dsmr --file telegrams.txt --once      # publish what the file says, then exit
//
// Readings are re-published at most every --interval seconds (default 60) while they change.
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "dsmr.hpp"
#include "plugin_link.hpp"

namespace {

namespace bj = boost::json;
using SteadyClock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

struct Options {
  std::string id = "p1-meter";
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string serial, file;
  int baud = 115200;
  int interval_s = 60;
  bool once = false;
};

class Publisher {
 public:
  Publisher(const Options& o, steward::plugin::PluginLink& link) : o_(o), link_(link) {}

  // Publishes the hello once, then each reading when it changed and its interval has passed.
  void telegram(const steward::dsmr::Telegram& t) {
    if (!said_hello_) {
      bj::object hello{{"protocol", 1},     {"id", o_.id},
                       {"kind", "meter"},   {"name", "Smart meter"},
                       {"model", t.header}, {"capabilities", bj::array{"meter"}}};
      if (!t.equipment_id.empty()) hello["identifiers"] = bj::array{"dsmr:" + t.equipment_id};
      link_.publish("hello", bj::serialize(hello));
      link_.publish("availability", "online");
      said_hello_ = true;
    }
    if (auto kwh = t.importKwh())
      reading("electricity-import", *kwh, "kWh", "Electricity imported, all tariffs");
    if (auto kwh = t.exportKwh(); kwh && *kwh > 0)
      reading("electricity-export", *kwh, "kWh", "Electricity exported, all tariffs");
    if (t.gas) reading("gas", t.gas->value, "m3", "Gas, reading of " + t.gas_timestamp);
  }

 private:
  void reading(const std::string& key, double value, const char* unit, const std::string& what) {
    const auto now = SteadyClock::now();
    auto& last = last_[key];
    if (last.published && last.value == value) return;
    if (last.published && now - last.at < std::chrono::seconds(o_.interval_s) && !o_.once) return;
    bj::object need{
        {"id", o_.id}, {"kind", "meter"}, {"level", value}, {"unit", unit}, {"description", what}};
    link_.publish("need/" + key, bj::serialize(need));
    last = {true, value, now};
  }

  struct Last {
    bool published = false;
    double value = 0;
    SteadyClock::time_point at{};
  };

  const Options& o_;
  steward::plugin::PluginLink& link_;
  bool said_hello_ = false;
  std::map<std::string, Last> last_;
};

bool configureSerial(int fd, int baud) {
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) return errno == ENOTTY;  // a file or FIFO: nothing to set
  cfmakeraw(&tio);
  if (baud == 9600) {
    // DSMR 2.2/3.0: 9600 7E1
    tio.c_cflag = (tio.c_cflag & ~(CSIZE | PARODD)) | CS7 | PARENB;
    cfsetspeed(&tio, B9600);
  } else {
    tio.c_cflag = (tio.c_cflag & ~(CSIZE | PARENB)) | CS8;  // DSMR 4+: 115200 8N1
    cfsetspeed(&tio, B115200);
  }
  tio.c_cflag |= CLOCAL | CREAD;
  return tcsetattr(fd, TCSANOW, &tio) == 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: steward-dsmr (--serial DEV [--baud 115200|9600] | --file PATH) [--once]\n"
               "                    [--broker HOST[:PORT]] [--id ID] [--interval SECONDS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--once") {
      o.once = true;
    } else if ((a == "--serial" || a == "--file" || a == "--broker" || a == "--id" ||
                a == "--baud" || a == "--interval") &&
               (v = next())) {
      if (a == "--serial") o.serial = v;
      if (a == "--file") o.file = v;
      if (a == "--id") o.id = v;
      if (a == "--baud") o.baud = std::atoi(v);
      if (a == "--interval") o.interval_s = std::atoi(v);
      if (a == "--broker") {
        std::string b = v;
        if (auto colon = b.rfind(':'); colon != std::string::npos) {
          o.port = std::atoi(b.c_str() + colon + 1);
          b.resize(colon);
        }
        o.host = b;
      }
    } else {
      return usage();
    }
  }
  if (o.serial.empty() == o.file.empty() || o.port <= 0 || o.port > 65535 ||
      !steward::plugin::PluginLink::validId(o.id))
    return usage();

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const std::string path = o.serial.empty() ? o.file : o.serial;
  const int fd = open(path.c_str(), O_RDONLY | O_NOCTTY);
  if (fd < 0) {
    std::fprintf(stderr, "steward-dsmr: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  if (!o.serial.empty() && !configureSerial(fd, o.baud)) {
    std::fprintf(stderr, "steward-dsmr: %s: cannot configure the port\n", path.c_str());
    return 1;
  }
  steward::plugin::PluginLink link(o.host, o.port, o.id);
  if (!link.connect()) return 1;
  Publisher publisher(o, link);

  steward::dsmr::Framer framer;
  char buf[4096];
  long good = 0, bad = 0;
  while (!g_stop) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "steward-dsmr: read %s: %s\n", path.c_str(), std::strerror(errno));
      break;
    }
    if (n == 0) {
      if (o.once || o.serial.empty()) break;  // end of the file
      continue;
    }
    for (const auto& text : framer.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
      const auto r = steward::dsmr::parseTelegram(text);
      if (!r.telegram) {
        ++bad;
        std::fprintf(stderr, "steward-dsmr: telegram refused: %s\n", r.error.c_str());
        continue;
      }
      ++good;
      publisher.telegram(*r.telegram);
    }
  }
  close(fd);
  link.goodbye();
  std::fprintf(stderr, "steward-dsmr: %ld telegrams published, %ld refused\n", good, bad);
  return good > 0 || !o.once ? 0 : 1;
}
