// The Hub: owns the one io_context and every module, wires them together, and keeps the
// systemd contract (READY once the ledger is open and the broker is connected, WATCHDOG from a
// loop timer, RELOADING around SIGHUP, STOPPING and a clean shutdown on SIGTERM/SIGINT).
// Only the Hub and main() name concrete module types.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/notify.hpp"

namespace steward::ledger {
class SqliteLedger;
}
namespace steward::mqtt {
class MosquittoClient;
}

namespace steward::core {

class Hub {
 public:
  // Builds every module. Throws std::runtime_error with a message for the operator when the
  // hub cannot start (unwritable state directory, unreadable database, ...).
  Hub(DaemonConfig config, std::string config_path, Logger& log);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Runs the loop on the calling thread until shutdown; returns the process exit code.
  int run();

 private:
  void startSignals();
  void startWatchdog();
  void onSignal(int signo);
  void reload();
  void shutdown();
  void checkReady();

  DaemonConfig config_;
  std::string config_path_;
  Logger& log_;
  SystemClock clock_;
  Notifier notifier_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer shutdown_deadline_;

  std::unique_ptr<ledger::SqliteLedger> ledger_;
  std::unique_ptr<mqtt::MosquittoClient> mqtt_;

  bool ready_sent_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace steward::core
