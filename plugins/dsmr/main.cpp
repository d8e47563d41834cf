// steward-dsmr: a Steward plugin for Dutch/Belgian smart meters. Reads DSMR P1 telegrams from the
// meter's serial port (or a file of telegrams), checks each CRC, and publishes the meter readings
// as Steward needs over MQTT (plugins/PROTOCOL.md): electricity imported/exported (kWh), gas (m3).
//
//   steward-dsmr --serial /dev/ttyUSB0 [--baud 115200] [--broker 127.0.0.1:1883] [--id p1-meter]
//   steward-dsmr --file telegrams.txt --once      # publish what the file says, then exit
//
// Readings are re-published at most every --interval seconds (default 60) while they change.
#include <fcntl.h>
#include <mosquitto.h>
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
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "dsmr.hpp"

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

// QoS 1 publishes still in flight, so a clean exit waits for them.
std::mutex g_mutex;
std::set<int> g_inflight;

class Publisher {
 public:
  explicit Publisher(const Options& o) : o_(o), base_("steward/device/" + o.id) {}
  ~Publisher() {
    if (m_) {
      mosquitto_loop_stop(m_, true);
      mosquitto_destroy(m_);
    }
    mosquitto_lib_cleanup();
  }

  bool connect() {
    mosquitto_lib_init();
    m_ = mosquitto_new(("steward-dsmr-" + o_.id).c_str(), true, nullptr);
    if (!m_) return false;
    const std::string will = base_ + "/availability";
    mosquitto_will_set(m_, will.c_str(), 7, "offline", 1, true);
    mosquitto_publish_callback_set(m_, [](mosquitto*, void*, int mid) {
      std::lock_guard lock(g_mutex);
      g_inflight.erase(mid);
    });
    mosquitto_reconnect_delay_set(m_, 1, 30, true);
    const int rc = mosquitto_connect(m_, o_.host.c_str(), o_.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "steward-dsmr: cannot connect to %s:%d: %s\n", o_.host.c_str(), o_.port,
                   mosquitto_strerror(rc));
      return false;
    }
    return mosquitto_loop_start(m_) == MOSQ_ERR_SUCCESS;
  }

  void publish(const std::string& leaf, const std::string& payload) {
    const std::string topic = base_ + "/" + leaf;
    std::lock_guard lock(g_mutex);
    int mid = 0;
    const int rc = mosquitto_publish(m_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), 1, true);
    if (rc == MOSQ_ERR_SUCCESS) {
      g_inflight.insert(mid);
    } else {
      std::fprintf(stderr, "steward-dsmr: publish %s: %s\n", topic.c_str(), mosquitto_strerror(rc));
    }
  }

  // Publishes the hello once, then each reading when it changed and its interval has passed.
  void telegram(const steward::dsmr::Telegram& t) {
    if (!said_hello_) {
      bj::object hello{{"protocol", 1},     {"id", o_.id},
                       {"kind", "meter"},   {"name", "Smart meter"},
                       {"model", t.header}, {"capabilities", bj::array{"meter"}}};
      if (!t.equipment_id.empty()) hello["identifiers"] = bj::array{"dsmr:" + t.equipment_id};
      publish("hello", bj::serialize(hello));
      publish("availability", "online");
      said_hello_ = true;
    }
    if (auto kwh = t.importKwh())
      reading("electricity-import", *kwh, "kWh", "Electricity imported, all tariffs");
    if (auto kwh = t.exportKwh(); kwh && *kwh > 0)
      reading("electricity-export", *kwh, "kWh", "Electricity exported, all tariffs");
    if (t.gas) reading("gas", t.gas->value, "m3", "Gas, reading of " + t.gas_timestamp);
  }

  void goodbye() {
    if (said_hello_) publish("availability", "offline");
    // Wait (bounded) until the broker has acknowledged everything.
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(g_mutex);
        if (g_inflight.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    mosquitto_disconnect(m_);
  }

 private:
  void reading(const std::string& key, double value, const char* unit, const std::string& what) {
    const auto now = SteadyClock::now();
    auto& last = last_[key];
    if (last.published && last.value == value) return;
    if (last.published && now - last.at < std::chrono::seconds(o_.interval_s) && !o_.once) return;
    bj::object need{
        {"id", o_.id}, {"kind", "meter"}, {"level", value}, {"unit", unit}, {"description", what}};
    publish("need/" + key, bj::serialize(need));
    last = {true, value, now};
  }

  struct Last {
    bool published = false;
    double value = 0;
    SteadyClock::time_point at{};
  };

  const Options& o_;
  std::string base_;
  mosquitto* m_ = nullptr;
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
  if (o.serial.empty() == o.file.empty() || o.port <= 0 || o.port > 65535 || o.id.empty() ||
      o.id.size() > 64 || o.id.find_first_of("/+#: ") != std::string::npos)
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
  Publisher publisher(o);
  if (!publisher.connect()) return 1;

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
  publisher.goodbye();
  std::fprintf(stderr, "steward-dsmr: %ld telegrams published, %ld refused\n", good, bad);
  return good > 0 || !o.once ? 0 : 1;
}
