// The hub on D-Bus: owns org.stewardhub.Steward1, serves /org/stewardhub/Steward1 by translating
// each call into bus::Operations and each failure into a named error, checks the caller's
// credentials, and emits signals and property changes as the hub announces them (Listener).
// Runs on the hub's Asio loop through a ConnectionPump.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "bus/access.hpp"
#include "bus/connection.hpp"
#include "bus/connection_pump.hpp"
#include "bus/names.hpp"
#include "bus/operations.hpp"
#include "core/log.hpp"
#include "core/result.hpp"

namespace sdbus {
class IConnection;
}

namespace steward::bus {

struct DbusServiceOptions {
  std::string bus_name = kBusName;
  std::string admin_group = kAdminGroup;  // tests name an existing group instead
};

class DbusService final : public Listener {
 public:
  DbusService(boost::asio::any_io_executor executor, std::unique_ptr<sdbus::IConnection> connection,
              Operations& operations, core::Logger& log, DbusServiceOptions options = {});
  ~DbusService() override;
  DbusService(const DbusService&) = delete;
  DbusService& operator=(const DbusService&) = delete;

  // Publishes the object, requests the bus name and confirms with the bus daemon that this
  // connection is now its primary owner (a second stewardd would only be queued). Blocks for
  // the round trips, so call it once at start-up. READY=1 may be sent once this returned ok.
  core::Result<void> start();
  bool ownsName() const { return owns_name_; }
  // Runs once if the bus connection breaks (the bus daemon went away).
  void onConnectionLost(std::function<void()> handler) { on_lost_ = std::move(handler); }

  // Listener: signals and PropertiesChanged. Failures to emit are logged, never thrown.
  void decisionRecorded(const DecisionNotice& decision) override;
  void approvalRequested(const ApprovalRequest& request) override;
  void approvalsChanged() override;
  void budgetChanged(const BudgetUse& use) override;
  void modeChanged() override;

  class Adaptor;  // the generated adaptor's implementation (dbus_service.cpp)

 private:
  void emitPropertiesChanged(const char* property);

  DbusServiceOptions options_;
  core::Logger& log_;
  std::unique_ptr<sdbus::IConnection> connection_;
  AdminCheck admin_;
  std::unique_ptr<Adaptor> adaptor_;
  ConnectionPump pump_;
  std::function<void()> on_lost_;
  bool owns_name_ = false;
};

}  // namespace steward::bus
