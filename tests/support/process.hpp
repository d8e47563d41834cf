// Child processes for tests: real components (mosquitto, dbus-daemon, stewardd) started with
// posix_spawn and ended by PID, never by name. Output goes to a log file in the test's temp dir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace steward::test {

class Process {
 public:
  Process() = default;
  // Starts argv[0] (looked up in PATH) with `env` added to this process's environment.
  // stdout and stderr go to `log_path` (appended); stdin is /dev/null.
  Process(std::vector<std::string> argv, const std::string& log_path,
          std::vector<std::string> env = {});
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();  // SIGKILL + reap if still running

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to `timeout` for the process to exit; returns its wait status, or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
std::uint16_t freeTcpPort();

// Polls `condition` every 10 ms until it holds or `timeout` passes.
template <class F>
bool waitFor(F&& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    struct timespec ts {
      0, 10'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return true;
}

// True when a TCP connection to 127.0.0.1:port succeeds.
bool tcpPortOpen(std::uint16_t port);

// Full path of a program in PATH (or in /usr/sbin, /sbin), "" when absent.
std::string findProgram(const std::string& name);

}  // namespace steward::test
