// See hub.hpp.
#include "core/hub.hpp"

#include <signal.h>

#include <filesystem>
#include <stdexcept>

#include "ledger/sqlite_ledger.hpp"
#include "mqtt/mosquitto_client.hpp"

namespace steward::core {

namespace asio = boost::asio;

Hub::Hub(DaemonConfig config, std::string config_path, Logger& log)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      log_(log),
      signals_(io_),
      watchdog_timer_(io_),
      shutdown_deadline_(io_) {
  std::error_code ec;
  std::filesystem::create_directories(config_.state_directory, ec);
  if (ec) {
    throw std::runtime_error("cannot create state directory " + config_.state_directory + ": " +
                             ec.message());
  }
  const std::string db_path = config_.state_directory + "/steward.db";
  auto ledger = ledger::SqliteLedger::open(db_path, clock_);
  if (!ledger) throw std::runtime_error(ledger.error().message);
  ledger_ = std::move(*ledger);
  log_.info("ledger.opened", {{"path", db_path}});

  mqtt::MosquittoOptions mqtt_options;
  mqtt_options.broker = config_.broker;
  mqtt_ = std::make_unique<mqtt::MosquittoClient>(io_.get_executor(), mqtt_options, log_);
  mqtt_->onConnectionChange([this](bool connected) {
    if (connected) checkReady();
  });
}

Hub::~Hub() = default;

int Hub::run() {
  startSignals();
  startWatchdog();
  notifier_.status("connecting to the MQTT broker");
  mqtt_->start();
  io_.run();
  log_.info("hub.stopped", {{"exit_code", exit_code_}});
  return exit_code_;
}

void Hub::checkReady() {
  if (ready_sent_ || stopping_) return;
  // READY=1 means: the ledger is open (done in the constructor) and the broker is connected.
  if (!ledger_ || !mqtt_->connected()) return;
  ready_sent_ = true;
  notifier_.ready();
  log_.notice("hub.ready", {{"version", STEWARD_VERSION}});
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
    reload();
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

void Hub::reload() {
  notifier_.reloading();
  log_.notice("hub.reloading", {{"config", config_path_}});
  // The daemon config itself (broker, directories) needs a restart to change; SIGHUP re-reads
  // what can change at run time. Nothing is reloaded until the new version is valid.
  if (!config_path_.empty()) {
    auto load = loadDaemonConfig(config_path_, true);
    if (!load.errors.empty()) {
      for (const auto& e : load.errors)
        log_.error("config.invalid", {{"error", e.format()}});
    } else {
      log_.setLevel(load.config.log_level);
      config_.log_level = load.config.log_level;
    }
  }
  notifier_.ready();
  log_.notice("hub.reloaded");
}

void Hub::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  notifier_.stopping();
  signals_.cancel();
  watchdog_timer_.cancel();
  // Whatever is still running after the deadline is abandoned: the process must exit in time.
  shutdown_deadline_.expires_after(std::chrono::milliseconds(1500));
  shutdown_deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    log_.warning("hub.shutdown_forced");
    io_.stop();
  });
  mqtt_->stop([this] {
    shutdown_deadline_.cancel();
    signals_.clear();
  });
}

}  // namespace steward::core
