// The systemd contract through sd_notify(3): READY, RELOADING, STOPPING, WATCHDOG and STATUS.
// Without $NOTIFY_SOCKET every call is a no-op, so the daemon runs the same in a terminal.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace steward::core {

class Notifier {
 public:
  void ready();
  void reloading();  // RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects
  void stopping();
  void watchdog();
  void status(std::string_view text);

  // The interval at which to send WATCHDOG=1 (half of $WATCHDOG_USEC), if the watchdog is on.
  static std::optional<std::chrono::microseconds> watchdogInterval();

 private:
  void send(std::string_view message);
};

}  // namespace steward::core
