// steward-dsmr: a Steward plugin for Dutch and Belgian smart meters. It reads DSMR P1 telegrams —
// from the meter's serial port, from a ser2net-style TCP bridge, or from a file — checks each one
// (CRC where the version has one), and publishes over MQTT (plugins/PROTOCOL.md):
//   - meter readings as needs: electricity imported/exported (kWh), gas and water (m3);
//   - events: "outage" when the meter's power-failure counters rise, "power-zero" when no power
//     flows either way any more (and "power-restored"), "telegrams-refused" for corrupt input.
// Versions: DSMR 2.2/3.0 (9600 baud 7E1, no CRC), 4.x/5.0 (115200 8N1, CRC), Belgian e-MUCS.
//
//   steward-dsmr --serial /dev/ttyUSB0 [--baud 115200|9600] --id p1-meter
//   steward-dsmr --tcp 192.168.1.20:2001 --id p1-meter --broker mqtt://127.0.0.1:1883
//   steward-dsmr --file telegrams.txt --once       # publish what the file says, then exit
//   steward-dsmr --config /etc/steward/plugins/dsmr.toml     # the same options as TOML keys
//
// Readings are re-published when they change, at most every --interval (default 60s). Without a
// good telegram for --stale (default 2m) the device is marked offline until one arrives.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "dsmr.hpp"
#include "plugin.hpp"

namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Settings {
  std::string serial, tcp, file;
  long baud = 115200;
  std::chrono::milliseconds interval{60'000}, stale{120'000};
  bool once = false;
};

std::string fmt(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Turns accepted telegrams into needs and events; counts refusals.
class Meter {
 public:
  Meter(const Settings& s, steward::sdk::Link& link, steward::sdk::Log& log)
      : s_(s), link_(link), log_(log) {}

  void bytes(std::string_view chunk) {
    for (const auto& text : framer_.feed(chunk)) {
      const auto r = steward::dsmr::parseTelegram(text);
      if (!r.telegram) {
        refused(r.error);
        continue;
      }
      ++good_;
      telegram(*r.telegram);
    }
  }

  long good() const { return good_; }
  long bad() const { return bad_; }
  Clock::time_point lastGood() const { return last_good_; }

 private:
  void refused(const std::string& why) {
    ++bad_;
    if (bad_ <= 5 || bad_ % 100 == 0)
      log_.warning("refused a telegram (" + std::to_string(bad_) + " so far): " + why);
    const auto now = Clock::now();
    if (last_refusal_event_ == Clock::time_point{} || now - last_refusal_event_ >= 1min) {
      last_refusal_event_ = now;
      link_.publishEvent("telegrams-refused",
                         std::to_string(bad_) + " corrupt telegram(s) refused so far; last: " + why,
                         {{"refused", bad_}, {"accepted", good_}});
    }
  }

  void telegram(const steward::dsmr::Telegram& t) {
    last_good_ = Clock::now();
    if (!described_) {
      auto d = link_.device();
      d.model = t.header + " (" + t.variant() + ")";
      d.capabilities = {"meter", "outage"};
      if (!t.equipment_id.empty()) d.identifiers = {"dsmr:" + t.equipment_id.substr(0, 64)};
      link_.setDevice(std::move(d));
      log_.info("reading a " + t.variant() + " meter (" + t.header + ")");
      described_ = true;
    }
    link_.setAvailable(true);
    if (auto kwh = t.importKwh())
      reading("electricity-import", *kwh, "kWh", "Electricity imported, all tariffs");
    if (auto kwh = t.exportKwh(); kwh && *kwh > 0)
      reading("electricity-export", *kwh, "kWh", "Electricity exported, all tariffs");
    if (t.gas) reading("gas", t.gas->value, "m3", "Gas, reading of " + t.gas_timestamp);
    if (t.water) reading("water", t.water->value, "m3", "Water, reading of " + t.water_timestamp);
    outages(t);
  }

  void outages(const steward::dsmr::Telegram& t) {
    auto counter = [&](const std::optional<long>& now, std::optional<long>& last,
                       const char* what) {
      if (!now) return;
      if (last && *now > *last) {
        const long more = *now - *last;
        link_.publishEvent("outage",
                           "The meter counted " + std::to_string(more) + " more " + what + " (" +
                               std::to_string(*now) + " in all)",
                           {{"severity", "warning"}, {"count", *now}});
      }
      last = now;
    };
    counter(t.power_failures, last_failures_, "power failure(s)");
    counter(t.long_power_failures, last_long_failures_, "long power failure(s) of 3 min or more");
    if (t.power_delivered) {
      const double flow =
          t.power_delivered->value + (t.power_returned ? t.power_returned->value : 0);
      const bool zero = flow == 0;
      if (power_zero_ && *power_zero_ != zero) {
        if (zero)
          link_.publishEvent("power-zero",
                             "No power flows in or out any more (0 kW): a tripped main switch or "
                             "an outage on the supply",
                             {{"severity", "warning"}});
        else
          link_.publishEvent("power-restored", "Power flows again: " + fmt(flow) + " kW",
                             {{"severity", "info"}});
      }
      power_zero_ = zero;
    }
  }

  void reading(const std::string& key, double value, const char* unit, const std::string& what) {
    const auto now = Clock::now();
    auto& last = last_[key];
    if (last.published && last.value == value) return;
    if (last.published && now - last.at < s_.interval && !s_.once) return;
    const auto err = link_.setNeed(
        key, {{"kind", "meter"}, {"level", value}, {"unit", unit}, {"description", what}});
    if (!err.empty()) log_.error(err);
    last = {true, value, now};
  }

  struct Last {
    bool published = false;
    double value = 0;
    Clock::time_point at{};
  };

  const Settings& s_;
  steward::sdk::Link& link_;
  steward::sdk::Log& log_;
  steward::dsmr::Framer framer_;
  bool described_ = false;
  long good_ = 0, bad_ = 0;
  std::map<std::string, Last> last_;
  std::optional<long> last_failures_, last_long_failures_;
  std::optional<bool> power_zero_;
  Clock::time_point last_good_{}, last_refusal_event_{};
};

// Sets a serial port (or a pseudo-terminal standing in for one) to the P1 line settings:
// 115200 8N1 for DSMR 4/5, 9600 7E1 for DSMR 2.2/3.0 (parity stripped: ISTRIP, and masked again
// by the reader). Returns "" or what failed.
std::string configureSerial(int fd, long baud) {
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) return std::string("not a serial port: ") + std::strerror(errno);
  cfmakeraw(&tio);
  if (baud == 9600) {
    tio.c_cflag = (tio.c_cflag & ~(CSIZE | PARODD | CSTOPB)) | CS7 | PARENB;
    tio.c_iflag |= ISTRIP;
    cfsetispeed(&tio, B9600);
    cfsetospeed(&tio, B9600);
  } else {
    tio.c_cflag = (tio.c_cflag & ~(CSIZE | PARENB | CSTOPB)) | CS8;
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
  }
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &tio) != 0) return std::strerror(errno);
  return {};
}

// The byte sources: a serial port, a TCP bridge (reconnecting with backoff), or a file.
class Reader {
 public:
  Reader(asio::io_context& io, const Settings& s, Meter& meter, steward::sdk::Log& log,
         std::function<void()> at_end)
      : io_(io),
        s_(s),
        meter_(meter),
        log_(log),
        at_end_(std::move(at_end)),
        tcp_(io),
        retry_(io) {}

  // "" or why the source cannot be used at all.
  std::string start() {
    if (!s_.serial.empty()) {
      const int fd = ::open(s_.serial.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) return s_.serial + ": " + std::strerror(errno);
      if (auto err = configureSerial(fd, s_.baud); !err.empty()) {
        ::close(fd);
        return s_.serial + ": " + err;
      }
      serial_.emplace(io_, fd);
      seven_bit_ = s_.baud == 9600;
      readSerial();
      return {};
    }
    if (!s_.tcp.empty()) {
      const auto colon = s_.tcp.rfind(':');
      if (colon == std::string::npos || colon == 0)
        return "--tcp: expected HOST:PORT, like 192.168.1.20:2001";
      host_ = s_.tcp.substr(0, colon);
      if (host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
      port_ = s_.tcp.substr(colon + 1);
      connectTcp();
      return {};
    }
    file_ = ::open(s_.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (file_ < 0) return s_.file + ": " + std::strerror(errno);
    asio::post(io_, [this] { readFile(); });
    return {};
  }

  void stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    if (serial_) serial_->close(ignored);
    tcp_.close(ignored);
    retry_.cancel();
    if (file_ >= 0) ::close(file_);
    file_ = -1;
  }

 private:
  void feed(std::size_t n) {
    if (seven_bit_)
      for (std::size_t i = 0; i < n; ++i)
        buf_[i] &= 0x7f;
    meter_.bytes(std::string_view(buf_.data(), n));
  }

  void readSerial() {
    serial_->async_read_some(asio::buffer(buf_), [this](auto ec, std::size_t n) {
      if (stopped_ || ec == asio::error::operation_aborted) return;
      if (ec) {
        log_.error("reading " + s_.serial + " failed: " + ec.message());
        at_end_();
        return;
      }
      feed(n);
      readSerial();
    });
  }

  void connectTcp() {
    asio::ip::tcp::resolver resolver(io_);
    boost::system::error_code ec;
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) {
      retry("cannot resolve " + s_.tcp + ": " + ec.message());
      return;
    }
    asio::async_connect(tcp_, endpoints, [this](auto ec, const auto&) {
      if (stopped_ || ec == asio::error::operation_aborted) return;
      if (ec) {
        retry("cannot connect to " + s_.tcp + ": " + ec.message());
        return;
      }
      log_.info("reading telegrams from " + s_.tcp);
      backoff_ = 1s;
      readTcp();
    });
  }

  void readTcp() {
    tcp_.async_read_some(asio::buffer(buf_), [this](auto ec, std::size_t n) {
      if (stopped_ || ec == asio::error::operation_aborted) return;
      if (ec) {
        boost::system::error_code ignored;
        tcp_.close(ignored);
        retry(s_.tcp + " closed the connection (" + ec.message() + ")");
        return;
      }
      feed(n);
      readTcp();
    });
  }

  void retry(const std::string& why) {
    log_.warning(why + "; trying again in " + std::to_string(backoff_.count()) + " s");
    retry_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, std::chrono::seconds(60));
    retry_.async_wait([this](auto ec) {
      if (!ec && !stopped_) connectTcp();
    });
  }

  void readFile() {
    if (stopped_ || file_ < 0) return;
    const ssize_t n = ::read(file_, buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR) {
      asio::post(io_, [this] { readFile(); });
      return;
    }
    if (n <= 0) {
      if (n < 0) log_.error("reading " + s_.file + " failed: " + std::strerror(errno));
      at_end_();
      return;
    }
    feed(static_cast<std::size_t>(n));
    asio::post(io_, [this] { readFile(); });
  }

  asio::io_context& io_;
  const Settings& s_;
  Meter& meter_;
  steward::sdk::Log& log_;
  std::function<void()> at_end_;
  std::optional<asio::posix::stream_descriptor> serial_;
  asio::ip::tcp::socket tcp_;
  asio::steady_timer retry_;
  std::string host_, port_;
  std::chrono::seconds backoff_{1};
  int file_ = -1;
  bool seven_bit_ = false, stopped_ = false;
  std::array<char, 4096> buf_{};
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  steward::sdk::BrokerSettings broker;
  steward::sdk::DeviceInfo device;
  device.id = "p1-meter";
  device.kind = "meter";
  device.name = "Smart meter";
  steward::sdk::Options o(
      "steward-dsmr", "DSMR P1 smart-meter readings and outages as Steward needs and events",
      "  steward-dsmr --serial /dev/ttyUSB0 --id p1-meter\n"
      "  steward-dsmr --serial /dev/ttyUSB0 --baud 9600 --id p1-meter     # DSMR 2.2/3.0 meters\n"
      "  steward-dsmr --tcp 192.168.1.20:2001 --id p1-meter               # ser2net and P1 "
      "dongles\n"
      "  steward-dsmr --file telegrams.txt --once --id p1-meter");
  o.text("serial", "DEVICE", "the P1 serial port, e.g. /dev/ttyUSB0", s.serial);
  o.value("baud", "RATE", "115200 (8N1, DSMR 4/5 and e-MUCS; default) or 9600 (7E1, DSMR 2.2/3.0)",
          [&s](std::string_view v) {
            if (v == "115200")
              s.baud = 115200;
            else if (v == "9600")
              s.baud = 9600;
            else
              return std::string("expected 115200 or 9600");
            return std::string();
          });
  o.text("tcp", "HOST:PORT", "a TCP bridge sending the raw P1 stream (ser2net, P1 dongles)", s.tcp);
  o.text("file", "PATH", "read telegrams from a file (with --once: publish and exit)", s.file);
  o.flag("once", "exit after the input ends (a file)", s.once);
  o.duration("interval", "publish a changed reading at most this often (default 60s)", s.interval,
             0ms, 24h);
  o.duration("stale", "offline after this long without a good telegram (default 2m)", s.stale, 1s,
             24h);
  steward::sdk::addBrokerOptions(o, broker, device);
  if (auto rc = o.parse(argc, argv)) return *rc;
  const int sources = !s.serial.empty() + !s.tcp.empty() + !s.file.empty();
  std::string err =
      sources == 1 ? broker.finish() : "give exactly one of --serial, --tcp or --file";
  if (err.empty() && s.once && s.file.empty()) err = "--once goes with --file";
  if (!err.empty()) {
    std::fprintf(stderr, "steward-dsmr: %s\n", err.c_str());
    return 2;
  }

  if (o.checkOnly()) {
    std::printf("steward-dsmr: the configuration is valid\n");
    return 0;
  }
  steward::sdk::Log log("steward-dsmr", broker.log_level);
  asio::io_context io;
  steward::sdk::Link link(io.get_executor(), broker, device, log);
  link.setAvailable(false);  // online with the first good telegram
  Meter meter(s, link, log);
  asio::steady_timer stale(io);
  std::function<void()> watch = [&] {
    stale.expires_after(std::min<std::chrono::milliseconds>(s.stale, 10s));
    stale.async_wait([&](auto ec) {
      if (ec) return;
      if (meter.lastGood() != Clock::time_point{} && Clock::now() - meter.lastGood() > s.stale)
        link.setAvailable(false);
      watch();
    });
  };
  bool stopping = false;
  auto finish = [&] {
    if (stopping) return;
    stopping = true;
    stale.cancel();
    // Waits (up to 30 s) for the broker, so what a file produced reaches it before we leave.
    link.stop([&] { io.stop(); }, 30s);
  };
  Reader reader(io, s, meter, log, [&] {
    if (!s.file.empty()) finish();
  });
  if (auto e = reader.start(); !e.empty()) {
    log.error(e);
    return 1;
  }
  watch();
  steward::sdk::runUntilStopped(io, link, [&] {
    reader.stop();
    stale.cancel();
    stopping = true;
  });
  reader.stop();
  log.info(std::to_string(meter.good()) + " telegram(s) read, " + std::to_string(meter.bad()) +
           " refused");
  return meter.good() > 0 || !s.once ? 0 : 1;
}
