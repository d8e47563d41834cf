// See device_hub.hpp. Order of checks per message, cheapest first: is it a device's topic at
// all, size cap, token bucket, then the source's validation, then the registry's rules.
#include "discovery/device_hub.hpp"

#include <boost/asio/post.hpp>
#include <exception>

#include "discovery/ha_export.hpp"
#include "discovery/home_assistant.hpp"
#include "discovery/homie.hpp"
#include "discovery/json_util.hpp"
#include "discovery/steward_plugin.hpp"
#include "discovery/tasmota.hpp"
#include "discovery/zigbee2mqtt.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

constexpr auto kReportInterval = std::chrono::minutes(1);

}  // namespace

std::uint64_t DeviceHubCounters::rejected_total() const {
  std::uint64_t n = 0;
  for (auto r : rejected)
    n += r;
  return n;
}

DeviceHub::DeviceHub(boost::asio::any_io_executor executor, mqtt::Client& mqtt,
                     ledger::Ledger& ledger, const Settings& config, const core::Clock& clock,
                     core::Logger& log, DeviceHubOptions options)
    : executor_(executor),
      mqtt_(mqtt),
      ledger_(ledger),
      config_(config),
      clock_(clock),
      log_(log),
      options_(options),
      registry_(ledger, clock,
                Registry::Options{config.limits.max_devices, config.limits.max_needs_per_device}),
      limiter_(config.limits.device_messages_per_second, config.limits.device_burst,
               4 * config.limits.max_devices + 64),
      report_gate_(kReportInterval, 4 * config.limits.max_devices + 64),
      flush_timer_(executor),
      reconcile_timer_(executor) {
  const auto& d = config.discovery;
  const std::size_t max_devices = config.limits.max_devices;
  auto plugins = std::make_unique<StewardPluginSource>(max_devices);
  plugins_ = plugins.get();
  sources_.push_back(std::move(plugins));
  auto home_assistant =
      std::make_unique<HomeAssistantSource>(d.homeassistant_prefix, 16 * max_devices);
  home_assistant_ = home_assistant.get();
  sources_.push_back(std::move(home_assistant));
  sources_.push_back(std::make_unique<Zigbee2MqttSource>(d.zigbee2mqtt_base, max_devices));
  sources_.push_back(std::make_unique<TasmotaSource>(d.tasmota_prefix, max_devices));
  sources_.push_back(std::make_unique<HomieSource>(d.homie_prefix, max_devices));
  if (options_.max_watched_topics == 0) options_.max_watched_topics = 8 * max_devices;
  registry_.onNeedSignal([this](const NeedSignal&) { ++counters_.signals; });
}

DeviceHub::~DeviceHub() {
  *alive_ = false;
}

void DeviceHub::onDeviceEvent(Registry::DeviceHandler handler) {
  registry_.onDeviceEvent(std::move(handler));
}

void DeviceHub::onNeedSignal(Registry::SignalHandler handler) {
  registry_.onNeedSignal(std::move(handler));
}

core::Result<void> DeviceHub::start() {
  if (started_) return core::fail("discovery: already started");
  if (auto r = registry_.load(); !r) return core::fail("device registry: " + r.error().message);
  started_ = true;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    for (auto& filter : sources_[i]->filters()) {
      mqtt_.subscribe(std::move(filter), 1, [this, i](const mqtt::Message& m) { handle(i, m); });
    }
  }
  mqtt_.onConnectionChange([this, alive = alive_](bool connected) {
    reconcile_timer_.cancel();
    reread_hellos_.clear();
    reread_needs_.clear();
    reconciling_ = connected;
    if (!connected) return;
    republishExports();
    reconcile_timer_.expires_after(options_.reconcile_delay);
    reconcile_timer_.async_wait([this, alive](boost::system::error_code ec) {
      if (!ec && *alive) reconcile();
    });
  });
  log_.info("discovery.started", {{"devices", registry_.size()}, {"sources", sources_.size()}});
  armFlush();
  return {};
}

void DeviceHub::stop() {
  if (!started_) return;
  started_ = false;
  flush_timer_.cancel();
  reconcile_timer_.cancel();
  if (auto r = registry_.flush(); !r) {
    ++counters_.flush_errors;
    log_.error("discovery.flush_failed", {{"error", r.error().message}});
  }
}

void DeviceHub::armFlush() {
  flush_timer_.expires_after(options_.flush_interval);
  flush_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || !started_) return;  // operation_aborted: stopped, nothing to say
    if (auto r = registry_.flush(); !r) {
      ++counters_.flush_errors;
      log_.error("discovery.flush_failed", {{"error", r.error().message}});
    }
    armFlush();
  });
}

void DeviceHub::deliver(std::string_view source, const mqtt::Message& message) {
  for (std::size_t i = 0; i < sources_.size(); ++i)
    if (sources_[i]->name() == source) handle(i, message);
}

bool DeviceHub::watch(const std::string& topic) {
  const std::size_t index = current_source_;
  const std::string key = std::to_string(index) + " " + topic;
  if (watched_.contains(key)) return true;
  if (watched_.size() >= options_.max_watched_topics) return false;
  watched_.insert(key);
  // Subscribing from inside a message handler would change the client's handler list while it
  // is being walked; do it right after, on the same loop.
  boost::asio::post(executor_, [this, alive = alive_, index, topic] {
    if (!*alive) return;
    mqtt_.subscribe(topic, 1, [this, index](const mqtt::Message& m) { handle(index, m); });
  });
  return true;
}

void DeviceHub::handle(std::size_t index, const mqtt::Message& message) {
  ++counters_.received;
  Source& source = *sources_[index];
  const std::string who = source.speaker(message.topic);
  if (who.empty()) {
    ++counters_.ignored;
    return;
  }
  if (reconciling_ && message.retain && &source == plugins_) noteRetained(message);
  if (message.payload.size() > config_.limits.max_payload_bytes) {
    reject(who, message.topic,
           {Reject::too_large,
            std::string(message.topic) + ": payload of " + std::to_string(message.payload.size()) +
                " bytes is over the cap of " + std::to_string(config_.limits.max_payload_bytes)});
    return;
  }
  const core::TimePoint now = clock_.now();
  if (!limiter_.allow(who, now)) {
    reject(who, message.topic,
           {Reject::rate_limited,
            std::string(message.topic) + ": over " +
                std::to_string(static_cast<int>(config_.limits.device_messages_per_second)) +
                " messages/s (burst " +
                std::to_string(static_cast<int>(config_.limits.device_burst)) + ")"});
    return;
  }
  updates_.clear();
  std::optional<Rejection> r;
  current_source_ = index;
  try {
    r = source.parse(message, *this, updates_);
  } catch (const std::exception& e) {
    // A source must not throw; if one does, the message is refused and the hub goes on.
    r = Rejection{Reject::malformed, std::string(message.topic) + ": " + e.what()};
    updates_.clear();
  }
  if (r) {
    reject(who, message.topic, *r);
    return;
  }
  bool all_applied = true;
  for (auto& u : updates_) {
    const std::string ref = u.ref.str();
    if (auto rr = registry_.apply(std::move(u))) {
      reject(ref == who ? who : ref, message.topic, *rr);
      all_applied = false;
    }
  }
  if (all_applied) ++counters_.accepted;
  if (&source == plugins_ && options_.export_to_home_assistant && started_) {
    const std::string_view rest = message.topic.substr(kPluginTopicRoot.size());
    exportPlugin(std::string(rest.substr(0, rest.find('/'))));
  }
  if (&source == home_assistant_ && home_assistant_->births() != births_seen_) {
    // Home Assistant (re)started: like every integration, announce our devices again.
    births_seen_ = home_assistant_->births();
    if (options_.export_to_home_assistant) {
      std::vector<std::string> ids;
      for (const auto& [id, config] : exported_)
        ids.push_back(id);
      for (const auto& id : ids)
        exportPlugin(id, true);
    }
  }
}

void DeviceHub::reject(const std::string& who, std::string_view topic, const Rejection& r) {
  ++counters_.rejected[static_cast<std::size_t>(r.reason)];
  if (r.reason == Reject::storage) {
    // Not the device's fault, and the database is where we would record it: log every time.
    log_.error("device.storage_failed", {{"device", who}, {"error", r.message}});
    return;
  }
  if (!report_gate_.due(who, clock_.now())) return;
  log_.warning(
      "device.rejected",
      {{"device", who}, {"topic", topic}, {"reason", toString(r.reason)}, {"error", r.message}});
  ledger::Decision decision{"device.rejected",
                            "device:" + who,
                            bj::object{{"topic", topic}, {"reason", toString(r.reason)}},
                            "rejected",
                            {r.message},
                            "",
                            {}};
  if (auto rec = ledger_.record(decision); !rec) {
    log_.error("ledger.record_failed",
               {{"kind", "device.rejected"}, {"error", rec.error().message}});
  }
}

void DeviceHub::exportPlugin(const std::string& plugin_id, bool force) {
  const std::string topic =
      homeAssistantExportTopic(config_.discovery.homeassistant_prefix, plugin_id);
  const Device* device = registry_.findBySource({"steward", plugin_id});
  std::string payload;  // empty retained: the device is gone
  if (device) {
    static const std::map<std::string, SignalKind> kNone;
    const auto* kinds = plugins_->needKinds(plugin_id);
    payload = homeAssistantExportConfig(*device, plugin_id, kinds ? *kinds : kNone);
  }
  auto it = exported_.find(plugin_id);
  if (!force && it != exported_.end() && it->second == payload &&
      !export_pending_.contains(plugin_id))
    return;
  if (it == exported_.end() && payload.empty()) return;  // never exported, nothing to remove
  exported_[plugin_id] = payload;
  if (auto r = mqtt_.publish(topic, payload, 1, true); !r) {
    export_pending_.insert(plugin_id);  // retried on reconnect
    return;
  }
  export_pending_.erase(plugin_id);
  if (payload.empty()) exported_.erase(plugin_id);
}

void DeviceHub::republishExports() {
  const std::set<std::string> pending = export_pending_;
  for (const auto& id : pending)
    exportPlugin(id);
}

void DeviceHub::noteRetained(const mqtt::Message& message) {
  // Whatever its content, a retained message on a topic means the topic is still set.
  const std::size_t cap = config_.limits.max_devices * (config_.limits.max_needs_per_device + 1);
  const std::string_view rest = message.topic.substr(kPluginTopicRoot.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || reread_needs_.size() + reread_hellos_.size() >= cap)
    return;
  const std::string id(rest.substr(0, slash));
  const std::string_view type = rest.substr(slash + 1);
  if (type == "hello") reread_hellos_.insert(id);
  if (type.substr(0, 5) == "need/") reread_needs_.emplace(id, std::string(type.substr(5)));
}

void DeviceHub::reconcile() {
  reconciling_ = false;
  for (const auto& id : reread_hellos_) {
    const Device* d = registry_.findBySource({"steward", id});
    if (!d) continue;
    DeviceUpdate u;
    u.ref = {"steward", id};
    u.may_admit = false;
    for (const auto& [k, s] : d->needs) {
      if (s.source != "steward" || reread_needs_.contains({id, s.key})) continue;
      NeedSignal cleared;
      cleared.key = s.key;
      cleared.cleared = true;
      u.signals.push_back(std::move(cleared));
    }
    if (u.signals.empty()) continue;
    log_.info("discovery.stale_needs_closed", {{"device", d->id}, {"count", u.signals.size()}});
    if (auto r = registry_.apply(std::move(u))) reject("steward:" + id, "", *r);
  }
  reread_hellos_.clear();
  reread_needs_.clear();
}

bj::object DeviceHub::status() const {
  bj::object rejected;
  for (std::size_t i = 0; i < kRejectReasons; ++i)
    rejected[toString(static_cast<Reject>(i))] = counters_.rejected[i];
  return bj::object{{"devices", registry_.size()},
                    {"received", counters_.received},
                    {"ignored", counters_.ignored},
                    {"accepted", counters_.accepted},
                    {"rejected", std::move(rejected)},
                    {"rejected_total", counters_.rejected_total()},
                    {"signals", counters_.signals},
                    {"watched_topics", watched_.size()},
                    {"pending_flush", registry_.pendingFlush()},
                    {"flush_errors", counters_.flush_errors}};
}

}  // namespace steward::discovery
