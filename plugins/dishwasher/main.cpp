// steward-dishwasher: a simulated dishwasher that speaks the Steward plugin protocol and nothing
// else (plugins/PROTOCOL.md). Each wash cycle wears its consumables — rinse aid, regeneration salt,
// filter life — which it publishes as consumable needs (low below 15 %, 20 %, 10 %); it raises
// fault codes (E24 drain blocked, E15 leak, E09 heater, E22 filter, E25 pump) as fault needs on a
// schedule, on command or on a signal, and stops washing while a critical fault is open. The demo
// and the end-to-end tests use it as a household appliance.
//
//   steward-dishwasher --id dishwasher-kitchen --name "Kitchen dishwasher"
//   steward-dishwasher --id dw --time-scale 86400 --cycles-per-day 24 --seed 7 --fault-every 10
//                      # a simulated day per real second: a cycle an hour, E24 every tenth cycle
//
// Commands, as plain text on steward/device/<id>/command (at most 256 bytes):
//   run | fault E24 | clear E24 | clear | refill rinse-aid | refill salt | replace filter
// Signals: SIGUSR1 raises --fault-code, SIGUSR2 runs a cycle now, SIGTERM leaves cleanly.
// With the same --seed and the same commands, every run publishes the same levels.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <cstdio>

#include "appliance.hpp"
#include "plugin.hpp"

namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;
using steward::dishwasher::Dishwasher;

struct Settings {
  double time_scale = 1;      // simulated seconds per real second
  double cycles_per_day = 1;  // simulated
  long seed = 1;
  long fault_every = 0;  // cycles; 0 = never
  std::string fault_code = "E24";
  long max_cycles = 0;  // 0 = run on
  double rinse_aid = 100, salt = 100, filter = 100;
};

class Simulator {
 public:
  Simulator(asio::io_context& io, const Settings& s, steward::sdk::Link& link,
            steward::sdk::Log& log)
      : s_(s),
        link_(link),
        log_(log),
        machine_(static_cast<std::uint32_t>(s.seed)),
        timer_(io),
        signals_(io, SIGUSR1, SIGUSR2) {
    machine_.setLevel("rinse-aid", s.rinse_aid);
    machine_.setLevel("salt", s.salt);
    machine_.setLevel("filter", s.filter);
  }

  void start(std::function<void()> finished) {
    finished_ = std::move(finished);
    link_.onCommand([this](std::string_view c) { command(c); });
    waitSignal();
    publish();
    schedule();
  }
  void stop() {
    timer_.cancel();
    signals_.cancel();
  }

 private:
  std::chrono::microseconds period() const {
    const double real_s = 86400.0 / s_.cycles_per_day / s_.time_scale;
    return std::max(std::chrono::microseconds(10'000),
                    std::chrono::microseconds(static_cast<long long>(real_s * 1e6)));
  }

  void schedule() {
    timer_.expires_after(period());
    timer_.async_wait([this](auto ec) {
      if (ec) return;
      cycle("scheduled");
      if (!done()) schedule();
    });
  }

  bool done() {
    if (s_.max_cycles > 0 && slots_ >= s_.max_cycles) {
      timer_.cancel();
      if (auto f = std::exchange(finished_, nullptr)) f();
      return true;
    }
    return false;
  }

  void waitSignal() {
    signals_.async_wait([this](auto ec, int sig) {
      if (ec) return;
      if (sig == SIGUSR1) {
        raise(s_.fault_code, "signal");
      } else {
        cycle("signal");
        done();
      }
      waitSignal();
    });
  }

  void cycle(const char* why) {
    ++slots_;
    const auto before = machine_.faults();
    if (!machine_.runCycle()) {
      link_.publishEvent("cycle-skipped", "No wash: the machine is stopped by a fault");
      return;
    }
    const long n = machine_.cycles();
    log_.debug("cycle " + std::to_string(n) + " (" + why + ")");
    link_.publishEvent("cycle-finished", "Wash cycle " + std::to_string(n) + " finished",
                       {{"cycle", n}});
    for (const auto& [code, f] : machine_.faults())
      if (!before.contains(code)) announce(*f);  // a worn-out filter: E22
    if (s_.fault_every > 0 && n % s_.fault_every == 0) raise(s_.fault_code, "schedule");
    publish();
  }

  void raise(const std::string& code, const char* why) {
    const bool was_open = machine_.faults().contains(code);
    if (auto err = machine_.raise(code); !err.empty()) {
      log_.warning(err);
      return;
    }
    log_.info("fault " + code + " raised (" + why + ")");
    if (!was_open) announce(*machine_.faults().at(code));
    publish();
  }

  void announce(const steward::dishwasher::FaultCode& f) {
    link_.publishEvent("fault", std::string(f.code) + ": " + std::string(f.description),
                       {{"code", f.code}, {"severity", f.severity}});
  }

  void command(std::string_view text) {
    bool run = false;
    const std::string shown(text.substr(0, 64));
    const auto before = machine_.faults();
    if (auto err = steward::dishwasher::applyCommand(machine_, text, run); !err.empty()) {
      ++refused_;
      log_.warning("refused the command \"" + shown + "\": " + err);
      link_.publishEvent("command-refused", err);
      return;
    }
    log_.info("command: " + shown);
    for (const auto& [code, f] : machine_.faults())
      if (!before.contains(code)) announce(*f);
    if (run) {
      cycle("command");
      done();
    }
    publish();
  }

  // Every consumable as a need; every open fault as a need; faults no longer open are cleared.
  void publish() {
    for (const auto& c : machine_.consumables()) {
      const auto err = link_.setNeed(c.key, {{"kind", "consumable"},
                                             {"level", c.level},
                                             {"unit", "%"},
                                             {"low_threshold", c.low_threshold},
                                             {"product", c.product},
                                             {"description", c.description}});
      if (!err.empty()) log_.error(err);
    }
    for (const auto& [code, f] : machine_.faults()) {
      link_.setNeed(code, {{"kind", "fault"},
                           {"code", f->code},
                           {"severity", f->severity},
                           {"description", f->description}});
    }
    std::vector<std::string> gone;
    for (const auto& [key, payload] : link_.needs())
      if (steward::dishwasher::findFault(key) && !machine_.faults().contains(key))
        gone.push_back(key);
    for (const auto& key : gone)
      link_.clearNeed(key);
  }

  const Settings& s_;
  steward::sdk::Link& link_;
  steward::sdk::Log& log_;
  Dishwasher machine_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::function<void()> finished_;
  long refused_ = 0, slots_ = 0;  // slots: cycles run or skipped because of a fault
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  steward::sdk::BrokerSettings broker;
  steward::sdk::DeviceInfo device;
  device.kind = "dishwasher";
  device.name = "Dishwasher";
  device.manufacturer = "Steward";
  device.model = "Simulated dishwasher";
  device.capabilities = {"consumables", "faults"};
  steward::sdk::Options o(
      "steward-dishwasher",
      "a simulated dishwasher: consumables wear per wash cycle, fault codes on a schedule or on "
      "command",
      "  steward-dishwasher --id dishwasher-kitchen\n"
      "  steward-dishwasher --id dw --time-scale 86400 --cycles-per-day 24 --fault-every 10\n"
      "commands on steward/device/<id>/command: run | fault E24 | clear [E24] |\n"
      "  refill rinse-aid | refill salt | replace filter\n"
      "signals: SIGUSR1 raises --fault-code, SIGUSR2 runs a cycle");
  o.number("time-scale", "FACTOR", "simulated seconds per real second (default 1)", s.time_scale,
           0.001, 1e7);
  o.number("cycles-per-day", "N", "wash cycles per simulated day (default 1)", s.cycles_per_day,
           0.01, 100000);
  o.integer("seed", "N", "seed of the wear jitter: the same seed, the same run (default 1)", s.seed,
            0, 4294967295L);
  o.integer("fault-every", "CYCLES", "raise --fault-code every this many cycles (0: never)",
            s.fault_every, 0, 1'000'000);
  o.value("fault-code", "CODE", "the scheduled fault (default E24)", [&s](std::string_view v) {
    if (!steward::dishwasher::findFault(v))
      return std::string("expected E09, E15, E22, E24 or E25");
    s.fault_code = std::string(v);
    return std::string();
  });
  o.integer("max-cycles", "N",
            "exit cleanly after this many cycles, run or skipped for a fault (0: run on)",
            s.max_cycles, 0, 1'000'000'000);
  o.number("rinse-aid", "PERCENT", "starting rinse aid level (default 100)", s.rinse_aid, 0, 100);
  o.number("salt", "PERCENT", "starting salt level (default 100)", s.salt, 0, 100);
  o.number("filter", "PERCENT", "starting filter life (default 100)", s.filter, 0, 100);
  steward::sdk::addBrokerOptions(o, broker, device);
  if (auto rc = o.parse(argc, argv)) return *rc;
  std::string error = device.id.empty() ? "--id is required" : broker.finish();
  if (!error.empty()) {
    std::fprintf(stderr, "steward-dishwasher: %s\n", error.c_str());
    return 2;
  }
  if (o.checkOnly()) {
    std::printf("steward-dishwasher: the configuration is valid\n");
    return 0;
  }
  steward::sdk::Log log("steward-dishwasher", broker.log_level);
  asio::io_context io;
  steward::sdk::Link link(io.get_executor(), broker, device, log);
  Simulator sim(io, s, link, log);
  sim.start([&] {
    log.info("ran the requested cycles; leaving");
    link.stop([&] { io.stop(); }, std::chrono::seconds(30));
  });
  steward::sdk::runUntilStopped(io, link, [&] { sim.stop(); });
  return 0;
}
