// Ingest benchmark: a real mosquitto broker, the discovery pipeline (MosquittoClient on an
// io_context -> DeviceHub -> Registry on a real SQLite ledger), and `mosquitto_sub` subscribed to
// the same stream. A publisher process sends N Zigbee2MQTT-style state messages for D devices;
// the program prints the pipeline's processing rate divided by mosquitto_sub's receive rate.
//
//   ingest_bench [--messages 200000] [--devices 100] [--timeout 120]
//
// Loopback only; bounded in messages and time. Build it in a Release tree for figures.
#include <mosquitto.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "discovery/device_hub.hpp"
#include "discovery/settings.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using steward::test::waitFor;
using Clock = std::chrono::steady_clock;

constexpr const char* kBase = "bench";  // the Zigbee2MQTT base topic of the stream

struct Args {
  long messages = 200'000;
  int devices = 100;
  int timeout_s = 120;
};

std::string statePayload(long i, int devices) {
  // Mostly unchanged fields, as real state reports are: the battery moves every 1000 reports.
  const long per_device = i / devices;
  const int battery = 100 - static_cast<int>((per_device / 1000) % 90);
  return "{\"battery\":" + std::to_string(battery) +
         ",\"voltage\":2990,\"linkquality\":" + std::to_string(60 + i % 40) + "}";
}

// The publisher child: connects, sends the stream as fast as libmosquitto takes it, then a QoS 1
// end marker, and exits once that is acknowledged (so everything before it has left).
int publish(int port, long messages, int devices) {
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new("bench-publisher", true, nullptr);
  static bool acked = false;
  static int end_mid = -1;
  mosquitto_publish_callback_set(m, [](mosquitto*, void*, int mid) {
    if (mid == end_mid) acked = true;
  });
  if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) return 2;
  if (mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) return 2;
  for (long i = 0; i < messages; ++i) {
    const std::string topic = std::string(kBase) + "/dev-" + std::to_string(i % devices);
    const std::string payload = statePayload(i, devices);
    while (mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), 0, false) == MOSQ_ERR_NOMEM)
      usleep(1000);
  }
  int mid = 0;
  mosquitto_publish(m, &mid, (std::string(kBase) + "/bridge/end").c_str(), 1, "x", 1, false);
  end_mid = mid;
  for (int i = 0; i < 120'000 && !acked; ++i)
    usleep(1000);
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  return acked ? 0 : 3;
}

// CPU time (user + system) this process has used: the pipeline's cost, the broker, publisher and
// mosquitto_sub being other processes.
double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string selfPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "ingest_bench";
  return std::string(buf, static_cast<std::size_t>(n));
}

struct SubStats {
  long count = 0;
  double first = 0, last = 0;
};

// mosquitto_sub prints "<unix time with ns> <topic>" per message; only the stream counts.
SubStats readSubLog(const std::string& path) {
  SubStats s;
  std::ifstream in(path);
  std::string line;
  const std::string prefix = std::string(kBase) + "/dev-";
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos || line.compare(space + 1, prefix.size(), prefix) != 0) continue;
    const double t = std::strtod(line.c_str(), nullptr);
    if (s.count == 0) s.first = t;
    s.last = t;
    ++s.count;
  }
  return s;
}

long countLines(const std::string& path) {
  std::ifstream in(path);
  long n = 0;
  std::string line;
  while (std::getline(in, line))
    ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--publish" && i + 3 < argc)
      return publish(std::atoi(argv[i + 1]), std::atol(argv[i + 2]), std::atoi(argv[i + 3]));
    if (a == "--messages" && i + 1 < argc)
      args.messages = std::atol(argv[++i]);
    else if (a == "--devices" && i + 1 < argc)
      args.devices = std::atoi(argv[++i]);
    else if (a == "--timeout" && i + 1 < argc)
      args.timeout_s = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: ingest_bench [--messages N] [--devices D] [--timeout S]\n");
      return 2;
    }
  }
  if (args.messages < 2 || args.devices < 1 || args.messages > 10'000'000) return 2;

  // Unbounded queues: a slow reader must see the whole stream late, not a thinned one.
  steward::test::Broker broker("max_queued_messages 0\nmax_queued_bytes 0\n");
  steward::test::TempDir dir;

  steward::discovery::Settings config;
  config.discovery.zigbee2mqtt_base = kBase;
  config.limits.device_messages_per_second = 1e9;  // measure the pipeline, not the throttle
  config.limits.device_burst = 1e9;
  steward::core::SystemClock clock;
  steward::core::Logger log(steward::core::LogLevel::warning);
  auto ledger = steward::ledger::SqliteLedger::open(dir.file("steward.db"), clock);
  if (!ledger) {
    std::fprintf(stderr, "ledger: %s\n", ledger.error().message.c_str());
    return 1;
  }

  boost::asio::io_context io;
  steward::mqtt::MosquittoOptions options;
  options.broker.port = broker.port();
  options.broker.client_id = "stewardd-bench";
  steward::mqtt::MosquittoClient mqtt(io.get_executor(), options, log);
  steward::discovery::DeviceHub hub(io.get_executor(), mqtt, **ledger, config, clock, log);
  if (auto r = hub.start(); !r) {
    std::fprintf(stderr, "discovery: %s\n", r.error().message.c_str());
    return 1;
  }
  mqtt.start();

  const auto deadline = Clock::now() + std::chrono::seconds(args.timeout_s);
  auto runUntil = [&](auto done) {
    while (!done()) {
      if (Clock::now() > deadline) return false;
      io.run_for(2ms);
      io.restart();
    }
    return true;
  };

  // The baseline subscriber, on the same topics as the pipeline.
  const std::string sub_log = dir.file("mosquitto_sub.log");
  steward::test::Process sub(
      {"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-t",
       std::string(kBase) + "/#", "-q", "0", "-F", "%U %t"},
      sub_log);

  // Both are listening once a knock reaches both (connected is not yet subscribed).
  const std::string knock = std::string(kBase) + "/bridge/knock";
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    const auto before = hub.counters().ignored;
    if (mqtt.connected()) (void)mqtt.publish(knock, "x", 0, false);
    const auto until = Clock::now() + 100ms;
    runUntil([&] { return Clock::now() > until; });
    ready = hub.counters().ignored > before && countLines(sub_log) > 0;
  }
  if (!ready) {
    std::fprintf(stderr, "subscribers did not come up\n");
    return 1;
  }

  const std::uint64_t base_received = hub.counters().received;
  const std::uint64_t base_ignored = hub.counters().ignored;
  const auto target = base_received + static_cast<std::uint64_t>(args.messages);
  steward::test::Process publisher({selfPath(), "--publish", std::to_string(broker.port()),
                                    std::to_string(args.messages), std::to_string(args.devices)},
                                   dir.file("publisher.log"));

  // The pipeline's rate: from its first stream message to its last, measured on its own loop.
  Clock::time_point first{}, last{};
  double cpu_first = 0, cpu_last = 0;
  std::uint64_t seen = base_received;
  while (Clock::now() < deadline) {
    io.run_one_for(100ms);
    const std::uint64_t now_received =
        hub.counters().received - (hub.counters().ignored - base_ignored);
    if (now_received != seen) {
      if (seen == base_received) {
        first = Clock::now();
        cpu_first = cpuSeconds();
      }
      seen = now_received;
      last = Clock::now();
      cpu_last = cpuSeconds();
      if (seen >= target) break;
    }
  }
  const long hub_count = static_cast<long>(seen - base_received);

  // mosquitto_sub: wait until it has the stream (or the publisher is done and it went quiet).
  const long want_lines = args.messages;
  waitFor([&] { return readSubLog(sub_log).count >= want_lines || Clock::now() > deadline; },
          std::chrono::seconds(args.timeout_s));
  publisher.wait(10s);
  sub.stop(2s);
  const SubStats s = readSubLog(sub_log);

  const double hub_secs = std::chrono::duration<double>(last - first).count();
  const double sub_secs = s.last - s.first;
  if (hub_count < 2 || s.count < 2 || hub_secs <= 0 || sub_secs <= 0) {
    std::fprintf(stderr, "incomplete run: pipeline %ld, mosquitto_sub %ld messages\n", hub_count,
                 s.count);
    return 1;
  }
  const double hub_rate = static_cast<double>(hub_count - 1) / hub_secs;
  const double sub_rate = static_cast<double>(s.count - 1) / sub_secs;
  hub.stop();
  std::printf("stream: %ld state messages for %d devices (Zigbee2MQTT format, QoS 0)\n",
              args.messages, args.devices);
  std::printf("mosquitto_sub:    %ld received in %.3f s = %.0f msg/s\n", s.count, sub_secs,
              sub_rate);
  std::printf(
      "discovery ingest: %ld processed in %.3f s = %.0f msg/s "
      "(accepted %llu, rejected %llu, devices %zu)\n",
      hub_count, hub_secs, hub_rate, static_cast<unsigned long long>(hub.counters().accepted),
      static_cast<unsigned long long>(hub.counters().rejected_total()), hub.registry().size());
  const double cpu = cpu_last - cpu_first;
  if (cpu > 0) {
    std::printf("discovery CPU:    %.1f us/message, i.e. capacity %.0f msg/s on one core\n",
                cpu * 1e6 / static_cast<double>(hub_count), static_cast<double>(hub_count) / cpu);
  }
  std::printf("ratio (discovery / mosquitto_sub): %.3f\n", hub_rate / sub_rate);
  return hub_count == args.messages ? 0 : 1;
}
