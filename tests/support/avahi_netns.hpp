// A private network + mount namespace with its own system D-Bus and an avahi-daemon on loopback
// only, so DNS-SD tests run against the real daemon and no multicast ever reaches a host interface.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {

class AvahiNetns {
 public:
  static constexpr const char* kHostName = "steward-test";  // avahi's host name inside

  // Moves this test process into a fresh network and mount namespace (it must still be
  // single-threaded), mounts a private /run, brings `lo` up with multicast and starts
  // dbus-daemon as the namespace's system bus. avahi-daemon is not started yet. Fails with the
  // reason when namespaces cannot be made (no privilege) or a program is missing: tests skip.
  // The process stays in the namespace; each call makes a new one.
  static core::Result<std::unique_ptr<AvahiNetns>> create();
  ~AvahiNetns();  // ends avahi-daemon and dbus-daemon by PID

  AvahiNetns(const AvahiNetns&) = delete;
  AvahiNetns& operator=(const AvahiNetns&) = delete;

  // Starts avahi-daemon in the foreground (its PID is ours); throws if it exits at once.
  void startAvahi();
  // Ends it with `sig` (SIGKILL: a crash, SIGTERM: a clean stop) and reaps it.
  void stopAvahi(int sig = SIGKILL);
  bool avahiRunning();
  // Asks the daemon over the bus (org.freedesktop.Avahi.Server.GetState) until it is RUNNING.
  bool waitAvahiRunning(std::chrono::milliseconds timeout);
  std::string avahiLog() const;

  // Starts a program in the namespace; its output goes to dir()/<log_name>.log.
  Process spawn(std::vector<std::string> argv, const std::string& log_name);
  // Runs a program to its end (killed after `timeout`) and returns its output; `meanwhile` is
  // called every few milliseconds while waiting (to keep the caller's event loop turning).
  std::string run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                  const std::function<void()>& meanwhile = {});

  const TempDir& dir() const { return dir_; }

  // Names of the network interfaces this process can see.
  static std::vector<std::string> interfaces();

 private:
  AvahiNetns() = default;
  core::Result<void> enter();

  TempDir dir_;
  Process dbus_;
  Process avahi_;
  std::string avahi_conf_;
  int runs_ = 0;
};

}  // namespace steward::test
