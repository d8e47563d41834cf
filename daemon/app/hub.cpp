// See hub.hpp. The constructor builds the modules in dependency order (ledger, policy, broker,
// discovery, needs, the owner's surfaces) and connects their callbacks; run() starts the loop.
#include "app/hub.hpp"

#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <stdexcept>

#include <sdbus-c++/IConnection.h>

#include "app/household.hpp"
#include "app/owner_api.hpp"
#include "bus/dbus_service.hpp"
#include "discovery/avahi_browser.hpp"
#include "discovery/device_hub.hpp"
#include "discovery/dnssd.hpp"
#include "ha/entities.hpp"
#include "ledger/approvals.hpp"
#include "ledger/budget_store.hpp"
#include "ledger/checkpoint.hpp"
#include "ledger/controls.hpp"
#include "ledger/kinds.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "needs/engine.hpp"
#include "negotiation/signing/key_store.hpp"
#include "orders/purchasing.hpp"
#include "policy/budget.hpp"
#include "policy/budget_persistence.hpp"
#include "policy/keeper.hpp"

namespace steward::app {

using core::Duration;
using core::formatMoney;
using core::Logger;
using core::Money;
using core::Notifier;
using core::Result;
using core::TimePoint;

namespace asio = boost::asio;

namespace {

constexpr std::string_view kCheckpointTopic = "steward/hub/checkpoint";

template <class T>
T orThrow(Result<T> r, const std::string& what) {
  if (!r) throw std::runtime_error(what + ": " + r.error().message);
  return std::move(r).value();
}

}  // namespace

Hub::Hub(DaemonConfig config, std::string config_path, Logger& log, const core::Clock& clock,
         std::unique_ptr<sdbus::IConnection> bus)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      log_(log),
      clock_(clock),
      bus_connection_(std::move(bus)),
      signals_(io_),
      watchdog_timer_(io_),
      shutdown_deadline_(io_),
      tick_timer_(io_),
      soon_tick_timer_(io_),
      checkpoint_timer_(io_),
      tasks_(io_.get_executor(), log) {
  openLedger();
  loadPolicy();
  mqtt::MosquittoOptions mqtt_options;
  mqtt_options.broker = config_.broker;
  mqtt_ = std::make_unique<mqtt::MosquittoClient>(io_.get_executor(), mqtt_options, log_);
  mqtt_->onConnectionChange([this](bool connected) { reportBroker(connected); });
  buildDiscovery();
  buildNeeds();
  buildPurchasing();
  buildOwnerSurfaces();
  // A step the hub stopped before taking (a basket made ready just before a crash) is taken now.
  if (const int resumed = purchasing_->resume(); resumed > 0)
    log_.notice("orders.resumed_at_start", {{"purchases", resumed}});
}

Hub::~Hub() = default;

void Hub::openLedger() {
  std::error_code ec;
  std::filesystem::create_directories(config_.state_directory, ec);
  if (ec) {
    throw std::runtime_error("cannot create state directory " + config_.state_directory + ": " +
                             ec.message());
  }
  const std::string db_path = config_.state_directory + "/steward.db";
  ledger_ = orThrow(ledger::SqliteLedger::open(db_path, clock_), "opening " + db_path);
  auto& db = ledger_->database();
  checkpointer_ = std::make_unique<ledger::Checkpointer>(
      orThrow(ledger::Checkpointer::open(db, config_.state_directory + "/checkpoint.key", clock_),
              "checkpoint key"));
  approvals_ = std::make_unique<ledger::Approvals>(
      orThrow(ledger::Approvals::open(*ledger_, clock_), "approvals"));
  controls_ = std::make_unique<ledger::Controls>(
      orThrow(ledger::Controls::open(*ledger_, clock_), "controls"));
  budget_store_ =
      std::make_unique<ledger::BudgetStore>(orThrow(ledger::BudgetStore::open(db), "budget store"));
  budgets_ = std::make_unique<policy::BudgetBook>();
  if (auto r = policy::restoreBudgets(*budgets_, *budget_store_); !r)
    throw std::runtime_error("restoring budgets: " + r.error().message);
  log_.info("ledger.opened", {{"path", db_path}, {"key_id", checkpointer_->keyId()}});
  // Steward signs what it sends to vendors with a key of its own (not the ledger's).
  signing_key_ = std::make_unique<negotiation::KeyStore>(
      orThrow(negotiation::KeyStore::openOrCreate(config_.state_directory), "signing key"));
  log_.info(signing_key_->createdNow() ? "negotiation.key_created" : "negotiation.key_loaded",
            {{"path", signing_key_->path()}, {"kid", signing_key_->kid()}});
}

void Hub::loadPolicy() {
  policy_ = std::make_unique<policy::PolicyKeeper>(
      policy::PolicyKeeper::fromPaths({config_.policy_directory}), log_);
  const auto errors = policy_->start();
  if (!errors.empty()) {
    std::string message = "the household policy is invalid:";
    for (const auto& e : errors)
      message += "\n  " + e.format();
    throw std::runtime_error(message);
  }
  const auto p = policy_->current();
  (void)ledger_->record(
      ledger::Decision{std::string(ledger::kind::policyReloaded),
                       "",
                       boost::json::object{{"sources", boost::json::value_from(p->sources)}},
                       "loaded",
                       {},
                       p->revision,
                       {}});
  // The keeper has logged policy.loaded; the mode is the one thing it does not say.
  log_.info("policy.mode", {{"mode", policy::toString(p->purchasing.mode)}});
}

void Hub::buildDiscovery() {
  devices_ = std::make_unique<discovery::DeviceHub>(io_.get_executor(), *mqtt_, *ledger_,
                                                    config_.devices, clock_, log_);
  if (config_.devices.discovery.avahi) {
    avahi_ = std::make_unique<discovery::AvahiBrowser>(io_.get_executor(),
                                                       config_.devices.discovery, log_);
    connectBrowser();
  }
}

void Hub::connectBrowser() {
  // DNS-SD services are devices too: the registry merges them with what MQTT says when their
  // identifiers match.
  const auto apply = [this](const discovery::Service& s, bool present) {
    if (s.local) return;  // the hub's own announcement
    if (auto rejected = devices_->registry().apply(discovery::updateFromService(s, present))) {
      log_.info("dnssd.ignored",
                {{"service", s.name}, {"type", s.type}, {"reason", rejected->message}});
    }
  };
  avahi_->onServiceAppeared([apply](const discovery::Service& s) { apply(s, true); });
  avahi_->onServiceChanged([apply](const discovery::Service& s) { apply(s, true); });
  avahi_->onServiceGone([apply](const discovery::Service& s) { apply(s, false); });
}

void Hub::buildNeeds() {
  catalog_ = std::make_unique<PolicyCatalog>(*policy_, devices_->registry(), *controls_);
  gate_ = std::make_unique<PolicyGate>(*policy_, *budgets_, *controls_);
  needs::NeedsConfig needs_config;
  needs_config.max_needs_per_device = config_.devices.limits.max_needs_per_device;
  needs_config.settle = config_.needs.settle;
  needs_ = orThrow(
      needs::NeedsEngine::open(*ledger_, *catalog_, *gate_, clock_, log_, needs_config), "needs");
  devices_->onNeedSignal([this](const discovery::NeedSignal& s) {
    auto r = needs_->onSignal(s);
    if (!r) {
      log_.warning("needs.signal_rejected",
                   {{"device", s.device_id}, {"key", s.key}, {"error", r.error().message}});
    }
  });
  devices_->onDeviceEvent([this](const discovery::DeviceEvent& e) {
    if (e.type != discovery::DeviceEventType::gone) return;
    if (auto r = needs_->forgetDevice(e.device.id); !r)
      log_.warning("needs.forget_failed", {{"device", e.device.id}, {"error", r.error().message}});
  });
}

void Hub::buildPurchasing() {
  purchasing_ = orThrow(orders::Purchasing::open({*ledger_, *approvals_, *budget_store_, *budgets_,
                                                  *policy_, *needs_, clock_, log_}),
                        "orders");
  needs_->onBasketReady([this](const needs::Basket& b) {
    // Taken at once; if this fails (or the hub stops first) resume() takes it on the next tick.
    if (auto r = purchasing_->take(b); !r)
      log_.error("orders.take_failed",
                 {{"basket", static_cast<long long>(b.id)}, {"error", r.error().message}});
  });
  purchasing_->onApprovalRequested([this](const ledger::Approval& a, const orders::Purchase& p) {
    const bus::ApprovalRequest notice{a.id, purchasing_->summary(p), a.summary};
    if (dbus_) dbus_->approvalRequested(notice);
    if (home_assistant_) home_assistant_->approvalRequested(notice);
  });
  purchasing_->onBudgetChanged([this] {
    if (!owner_api_) return;
    for (const auto& use : owner_api_->budgetUse()) {
      if (dbus_) dbus_->budgetChanged(use);
      if (home_assistant_) home_assistant_->budgetChanged(use);
    }
  });
}

void Hub::buildOwnerSurfaces() {
  owner_api_ = std::make_unique<OwnerApi>(*this);
  if (!bus_connection_) {
    auto connection = bus::openConnection(config_.bus_address);
    if (!connection) throw std::runtime_error("D-Bus: " + connection.error().message);
    bus_connection_ = std::move(*connection);
  }
  dbus_ = std::make_unique<bus::DbusService>(io_.get_executor(), std::move(bus_connection_),
                                             *owner_api_, log_);
  dbus_->onConnectionLost([this] {
    log_.error("bus.connection_lost");
    exit_code_ = 1;
    shutdown();
  });

  ha::HomeAssistantOptions ha_options;
  ha_options.discovery_prefix = config_.devices.discovery.homeassistant_prefix;
  home_assistant_ =
      std::make_unique<ha::HomeAssistantEntities>(*mqtt_, *owner_api_, log_, ha_options);
  home_assistant_->setCommandsAllowed(policy_->current()->home_assistant.commands);
  policy_->onReplaced([this](const std::shared_ptr<const policy::Policy>& p) {
    if (!home_assistant_) return;
    home_assistant_->setCommandsAllowed(p->home_assistant.commands);
    home_assistant_->refresh();  // budget categories may have come or gone
  });

  // Every committed decision is announced on D-Bus and to Home Assistant.
  ledger_->onRecorded([this](const ledger::Decision& d, const ledger::RecordedDecision& r) {
    const bus::DecisionNotice notice{r.seq, r.id, d.kind, d.subject, d.outcome, r.at};
    if (dbus_) dbus_->decisionRecorded(notice);
    if (home_assistant_) home_assistant_->decisionRecorded(notice);
    if (d.kind.starts_with("purchasing.")) {
      if (dbus_) dbus_->modeChanged();
      if (home_assistant_) home_assistant_->modeChanged();
    }
    if (d.kind.starts_with("approval.") && d.kind != ledger::kind::approvalRequested) {
      if (dbus_) dbus_->approvalsChanged();
      if (home_assistant_) home_assistant_->approvalsChanged();
    }
  });
}

int Hub::run() {
  if (!start()) return 1;
  io_.run();
  log_.info("hub.stopped", {{"exit_code", exit_code_}});
  return exit_code_;
}

bool Hub::start() {
  startSignals();
  startWatchdog();
  notifier_.status("connecting to the MQTT broker");
  if (auto r = devices_->start(); !r) {
    log_.error("discovery.start_failed", {{"error", r.error().message}});
    return false;
  }
  if (avahi_) {
    if (auto r = avahi_->start(); !r)
      log_.error("avahi.start_failed", {{"error", r.error().message}});
  }
  if (auto r = dbus_->start(); !r) {
    log_.error("bus.start_failed", {{"error", r.error().message}});
    return false;
  }
  home_assistant_->start();
  mqtt_->start();
  checkReady();
  scheduleTick();
  scheduleCheckpoint();
  return true;
}

void Hub::checkReady() {
  if (ready_sent_ || stopping_) return;
  // READY=1 means: the ledger is open and the policy valid (both in the constructor) and the
  // bus name is ours. The broker may be recommended only, or on another host: it is retried in
  // the background and its state reported in STATUS=, `stewardctl status` and Home Assistant.
  if (!ledger_ || !policy_ || !dbus_ || !dbus_->ownsName()) return;
  ready_sent_ = true;
  notifier_.ready();
  log_.notice("hub.ready", {{"version", STEWARD_VERSION}, {"broker", mqtt_->connected()}});
  reportBroker(mqtt_->connected());
}

void Hub::reportBroker(bool connected) {
  const auto& b = config_.broker;
  const std::string where = b.host + ":" + std::to_string(b.port);
  notifier_.status(connected ? "listening to devices through the MQTT broker at " + where
                             : "waiting for the MQTT broker at " + where + " (retrying)");
}

void Hub::startSignals() {
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    onSignal(signo);
  });
}

void Hub::onSignal(int signo) {
  if (signo == SIGHUP) {
    reload(std::nullopt);
  } else {
    log_.notice("hub.signal", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
    shutdown();
    return;
  }
  signals_.async_wait([this](const boost::system::error_code& ec, int s) {
    if (!ec) onSignal(s);
  });
}

void Hub::startWatchdog() {
  const auto interval = Notifier::watchdogInterval();
  if (!interval) return;
  log_.info("hub.watchdog", {{"interval_us", static_cast<long long>(interval->count())}});
  struct Tick {
    Hub* hub;
    std::chrono::microseconds interval;
    void operator()(const boost::system::error_code& ec) const {
      if (ec || hub->stopping_) return;
      hub->notifier_.watchdog();
      hub->watchdog_timer_.expires_after(interval);
      hub->watchdog_timer_.async_wait(*this);
    }
  };
  notifier_.watchdog();
  watchdog_timer_.expires_after(*interval);
  watchdog_timer_.async_wait(Tick{this, *interval});
}

std::vector<std::string> Hub::reload(std::optional<std::uint32_t> uid) {
  notifier_.reloading();
  log_.notice("hub.reloading", {{"config", config_path_}});
  std::vector<std::string> problems;
  // The daemon settings themselves (broker, directories) need a restart; of them only the log
  // level follows a reload.
  if (!config_path_.empty()) {
    auto load = loadDaemonConfig(config_path_, true);
    for (const auto& e : load.errors)
      problems.push_back(e.format());
    if (load.errors.empty()) log_.setLevel(load.config.log_level);
  }
  const std::string before = policy_->current()->revision;
  const auto outcome = policy_->reload();
  const auto p = policy_->current();
  std::string outcome_name = "unchanged";
  std::vector<std::string> reasons;
  if (outcome == policy::PolicyKeeper::ReloadOutcome::failed) {
    outcome_name = "failed";
    // The keeper logged each error; the decision keeps them too.
    auto again = policy::PolicyKeeper::fromPaths({config_.policy_directory})();
    for (const auto& e : again.errors) {
      reasons.push_back(e.format());
      problems.push_back(e.format());
    }
  } else if (outcome == policy::PolicyKeeper::ReloadOutcome::replaced) {
    outcome_name = "replaced";
  }
  boost::json::object input{{"previous_revision", before}};
  if (uid) input["uid"] = *uid;
  (void)ledger_->record(ledger::Decision{std::string(ledger::kind::policyReloaded),
                                         "",
                                         std::move(input),
                                         outcome_name,
                                         std::move(reasons),
                                         p->revision,
                                         {}});
  notifier_.ready();
  log_.notice("hub.reloaded", {{"policy", outcome_name}, {"revision", p->revision.substr(0, 16)}});
  // A new policy may let held needs go ahead (or stop others): look again now.
  if (outcome == policy::PolicyKeeper::ReloadOutcome::replaced) tick();
  return problems;
}

void Hub::scheduleSoonTick() {
  // After a burst of signals, look once (a second later), not once per message.
  if (soon_tick_pending_ || stopping_) return;
  soon_tick_pending_ = true;
  soon_tick_timer_.expires_after(std::chrono::seconds(1));
  soon_tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    soon_tick_pending_ = false;
    if (ec || stopping_) return;
    tick();
  });
}

void Hub::scheduleTick() {
  tick_timer_.expires_after(config_.needs.tick_interval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    tick();
    scheduleTick();
  });
}

void Hub::tick() {
  for (const auto& p : purchasing_->expireApprovals(clock_.now()))
    log_.info("orders.approval_expired", {{"purchase", p.name()}, {"approval", p.approval_id}});
  const auto out = needs_->tick();
  purchasing_->resume();
  if (out.opened || out.baskets || out.expired || out.failures) {
    log_.info("needs.tick", {{"opened", out.opened},
                             {"baskets", out.baskets},
                             {"held", out.held},
                             {"expired", out.expired},
                             {"failures", out.failures}});
  }
}

void Hub::scheduleCheckpoint() {
  checkpoint_timer_.expires_after(config_.checkpoint_interval);
  checkpoint_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    writeCheckpoint("interval");
    scheduleCheckpoint();
  });
}

void Hub::writeCheckpoint(const char* why) {
  auto cp = checkpointer_->checkpoint();
  if (!cp) {
    log_.error("ledger.checkpoint_failed", {{"error", cp.error().message}});
    return;
  }
  log_.info("ledger.checkpoint", {{"seq", static_cast<long long>(cp->seq)},
                                  {"head", cp->head_hash},
                                  {"key_id", cp->key_id},
                                  {"why", why}});
  // A retained copy on the broker lives outside the database (see ledger/README.md).
  if (mqtt_->connected()) {
    (void)mqtt_->publish(kCheckpointTopic, boost::json::serialize(ledger::toJson(*cp)), 1, true);
  }
}

void Hub::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  notifier_.stopping();
  signals_.cancel();
  watchdog_timer_.cancel();
  tick_timer_.cancel();
  soon_tick_timer_.cancel();
  checkpoint_timer_.cancel();
  devices_->stop();
  if (avahi_) avahi_->stop();
  writeCheckpoint("shutdown");
  // Whatever is still running after the deadline is abandoned: the process must exit in time.
  shutdown_deadline_.expires_after(std::chrono::milliseconds(1500));
  shutdown_deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    log_.warning("hub.shutdown_forced");
    io_.stop();
  });
  // In-flight conversations are cancelled and get half a second to end (each records where it
  // stopped; start-up resumes it); then the broker hears that the hub is offline.
  tasks_.stop(std::chrono::milliseconds(500), [this](bool all_finished) {
    if (!all_finished) log_.warning("hub.tasks_abandoned", {{"tasks", tasks_.running()}});
    mqtt_->stop([this] {
      shutdown_deadline_.cancel();
      signals_.clear();
      // The D-Bus pump and Avahi keep waits on the loop; nothing else is left to do.
      io_.stop();
    });
  });
}

}  // namespace steward::app
