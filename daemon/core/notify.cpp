// See notify.hpp.
#include "core/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace steward::core {

void Notifier::send(std::string_view message) {
  const std::string m(message);
  sd_notify(0, m.c_str());
}

void Notifier::ready() {
  send("READY=1\nSTATUS=running");
}

void Notifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void Notifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping");
}
void Notifier::watchdog() {
  send("WATCHDOG=1");
}
void Notifier::status(std::string_view text) {
  send("STATUS=" + std::string(text));
}

std::optional<std::chrono::microseconds> Notifier::watchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds{usec / 2};
}

}  // namespace steward::core
