// The Hub: owns the one io_context and every module, wires them together, and keeps the
// systemd contract (READY once the ledger is open, the broker is connected and the bus name is
// owned; WATCHDOG from a loop timer; RELOADING around SIGHUP; STOPPING and a clean shutdown on
// SIGTERM/SIGINT). Only the Hub and main() name concrete module types.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include <sdbus-c++/IConnection.h>

#include "app/config.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/notify.hpp"
#include "core/tasks.hpp"

namespace steward::ledger {
class SqliteLedger;
class Checkpointer;
class Approvals;
class Controls;
class BudgetStore;
}  // namespace steward::ledger
namespace steward::policy {
class PolicyKeeper;
class BudgetBook;
}  // namespace steward::policy
namespace steward::mqtt {
class MosquittoClient;
}
namespace steward::discovery {
class DeviceHub;
class AvahiBrowser;
}  // namespace steward::discovery
namespace steward::needs {
class NeedsEngine;
struct Basket;
}  // namespace steward::needs
namespace steward::negotiation {
class KeyStore;
}
namespace steward::orders {
class Purchasing;
}
namespace steward::bus {
class DbusService;
}  // namespace steward::bus
namespace steward::ha {
class HomeAssistantEntities;
}  // namespace steward::ha

namespace steward::app {

class PolicyCatalog;
class PolicyGate;
class OwnerApi;

class Hub {
 public:
  // Builds every module. Throws std::runtime_error with a message for the operator when the
  // hub cannot start (unwritable state directory, invalid policy, no D-Bus, ...). `clock` must
  // outlive the Hub. `bus` is the D-Bus connection to serve on; when null the Hub opens the one
  // `config.bus_address` names (tests hand in a private bus's connection).
  Hub(DaemonConfig config, std::string config_path, core::Logger& log, const core::Clock& clock,
      std::unique_ptr<sdbus::IConnection> bus = nullptr);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Runs the loop on the calling thread until shutdown; returns the process exit code.
  int run();
  // What run() does before it runs the loop: for tests that drive io() themselves. False (and
  // the error logged) when a part could not start.
  bool start();
  // Stops as on SIGTERM.
  void stop() { shutdown(); }

  boost::asio::io_context& io() { return io_; }
  OwnerApi& ownerApi() { return *owner_api_; }
  bool ready() const { return ready_sent_; }

  // SIGHUP and `stewardctl reload`: re-reads the policy (and the log level). A version that
  // fails validation is not applied; its errors are returned and logged.
  std::vector<std::string> reload(std::optional<std::uint32_t> uid);

 private:
  friend class OwnerApi;

  void openLedger();
  void loadPolicy();
  void buildDiscovery();
  void connectBrowser();
  void buildNeeds();
  void buildOwnerSurfaces();

  void startSignals();
  void startWatchdog();
  void onSignal(int signo);
  void shutdown();
  void checkReady();
  void reportBroker(bool connected);

  void scheduleTick();
  void scheduleSoonTick();
  void tick();
  void scheduleCheckpoint();
  void writeCheckpoint(const char* why);
  void buildPurchasing();

  DaemonConfig config_;
  std::string config_path_;
  core::Logger& log_;
  const core::Clock& clock_;
  std::unique_ptr<sdbus::IConnection> bus_connection_;  // until the D-Bus service takes it
  core::Notifier notifier_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer shutdown_deadline_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer soon_tick_timer_;
  boost::asio::steady_timer checkpoint_timer_;
  // Vendor conversations and other multi-step network work; cancelled and awaited at shutdown.
  core::TaskGroup tasks_;

  std::unique_ptr<ledger::SqliteLedger> ledger_;
  std::unique_ptr<ledger::Checkpointer> checkpointer_;
  std::unique_ptr<negotiation::KeyStore> signing_key_;  // Steward's own P-256 key for vendors
  std::unique_ptr<ledger::Approvals> approvals_;
  std::unique_ptr<ledger::Controls> controls_;
  std::unique_ptr<ledger::BudgetStore> budget_store_;
  std::unique_ptr<policy::BudgetBook> budgets_;
  std::unique_ptr<policy::PolicyKeeper> policy_;
  std::unique_ptr<mqtt::MosquittoClient> mqtt_;
  std::unique_ptr<discovery::DeviceHub> devices_;
  std::unique_ptr<discovery::AvahiBrowser> avahi_;
  std::unique_ptr<PolicyCatalog> catalog_;
  std::unique_ptr<PolicyGate> gate_;
  std::unique_ptr<needs::NeedsEngine> needs_;
  std::unique_ptr<orders::Purchasing> purchasing_;
  std::unique_ptr<OwnerApi> owner_api_;
  std::unique_ptr<bus::DbusService> dbus_;
  std::unique_ptr<ha::HomeAssistantEntities> home_assistant_;

  bool soon_tick_pending_ = false;
  bool ready_sent_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace steward::app
