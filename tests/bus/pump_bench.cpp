// Benchmark: how much the hub's way of serving D-Bus (sdbus-c++ driven from the Asio loop by
// ConnectionPump, plus the adapter's checks) costs against sdbus-c++ serving the same method on
// its own event loop thread. Both run on one private dbus-daemon and answer Status with the same
// document; a client thread makes blocking calls to each in turn. Prints calls/s and the ratio.
#include <sdbus-c++/sdbus-c++.h>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "bus/dbus_service.hpp"
#include "bus/fake_operations.hpp"
#include "support/dbus_daemon.hpp"

using namespace steward;

namespace {

double callsPerSecond(sdbus::IProxy& proxy, const char* interface, int calls) {
  const auto start = std::chrono::steady_clock::now();
  std::string answer;
  for (int i = 0; i < calls; ++i)
    proxy.callMethod("Status").onInterface(interface).storeResultsTo(answer);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return calls / took.count();
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 5000;
  test::DbusDaemonOptions options;
  options.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
  // The baseline service needs a name of its own on the bus.
  options.extra_config =
      "<policy user=\"root\"><allow own=\"org.stewardhub.Baseline\"/>"
      "<allow send_destination=\"org.stewardhub.Baseline\"/></policy>";
  test::DbusDaemon daemon(options);
  const std::string document = R"({"ledger":{"head_seq":42},"approvals":{"pending":1}})";

  // The hub's way: Asio loop on this thread.
  boost::asio::io_context io;
  core::Logger quiet(core::LogLevel::error);
  test::FakeOperations ops;
  ops.answers.emplace("status", document);
  auto connection = bus::openConnection(daemon.address());
  bus::DbusService service(io.get_executor(), std::move(*connection), ops, quiet);
  if (auto r = service.start(); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }

  // The baseline: sdbus-c++'s own loop thread.
  auto baseline_connection = sdbus::createSessionBusConnectionWithAddress(daemon.address());
  baseline_connection->requestName("org.stewardhub.Baseline");
  auto baseline = sdbus::createObject(*baseline_connection, "/org/stewardhub/Baseline");
  baseline->registerMethod("Status").onInterface("org.stewardhub.Baseline").implementedAs([&] {
    return document;
  });
  baseline->finishRegistration();
  baseline_connection->enterEventLoopAsync();

  double hub_rate = 0, baseline_rate = 0;
  std::atomic<bool> done = false;
  std::thread client([&] {
    auto c = sdbus::createSessionBusConnectionWithAddress(daemon.address());
    auto hub = sdbus::createProxy(*c, bus::kBusName, bus::kObjectPath);
    auto base = sdbus::createProxy(*c, "org.stewardhub.Baseline", "/org/stewardhub/Baseline");
    callsPerSecond(*hub, bus::kInterface, calls / 10);  // warm up both
    callsPerSecond(*base, "org.stewardhub.Baseline", calls / 10);
    hub_rate = callsPerSecond(*hub, bus::kInterface, calls);
    baseline_rate = callsPerSecond(*base, "org.stewardhub.Baseline", calls);
    done = true;
  });
  while (!done)
    io.run_for(std::chrono::milliseconds(10));
  client.join();
  baseline_connection->leaveEventLoop();

  std::printf("Status over D-Bus, %d blocking calls each\n", calls);
  std::printf("  hub (Asio loop + ConnectionPump): %10.0f calls/s\n", hub_rate);
  std::printf("  sdbus-c++ own loop thread:        %10.0f calls/s\n", baseline_rate);
  std::printf("  ratio hub/baseline:               %10.2f\n", hub_rate / baseline_rate);
  return 0;
}
