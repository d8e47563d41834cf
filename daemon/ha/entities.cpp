// See home_assistant.hpp. Discovery payloads follow HA's MQTT discovery schema; every config and
// state is retained so a restarted HA (or hub) converges without a handshake. A config for an
// entity that no longer exists is cleared with an empty retained message.
#include "ha/entities.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace steward::ha {

namespace json = boost::json;
using bus::Caller;
using bus::Mode;
using bus::OpResult;

namespace {

constexpr const char* kCaller = "home-assistant";
constexpr const char* kSpendPrefix = "steward_spend_";

json::object deviceBlock() {
  return json::object{{"identifiers", json::array{"steward_hub"}},
                      {"name", "Steward"},
                      {"manufacturer", "Steward"},
                      {"model", "stewardd"},
                      {"sw_version", STEWARD_VERSION}};
}

// "12.34" from 1234 EUR cents: the number HA plots, without the currency code.
std::string amount(const core::Money& m) {
  std::string text = core::formatMoney(m);
  return text.substr(0, text.find(' '));
}

std::string isoTime(core::TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss time{floor<seconds>(t - day)};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return text;
}

}  // namespace

HomeAssistantEntities::HomeAssistantEntities(mqtt::Client& client, Operations& operations,
                                             core::Logger& log, HomeAssistantOptions options)
    : client_(client), ops_(operations), log_(log), options_(std::move(options)) {}

void HomeAssistantEntities::start() {
  if (started_) return;
  started_ = true;
  client_.subscribe(pausedCommandTopic(), 1,
                    [this](const mqtt::Message& m) { onPausedCommand(m); });
  client_.subscribe(approveCommandTopic(), 1,
                    [this](const mqtt::Message& m) { onApproveCommand(m); });
  client_.onConnectionChange([this](bool connected) {
    if (connected) publishAll();
  });
  if (client_.connected()) publishAll();
}

void HomeAssistantEntities::setCommandsAllowed(bool allowed) {
  if (allowed == commands_allowed_) return;
  commands_allowed_ = allowed;
  log_.info("ha.commands", {{"allowed", allowed ? "yes" : "no"}});
  if (!started_) return;
  publishPausedConfig();
  publishPaused();
  publishApprovals();
}

void HomeAssistantEntities::publish(const std::string& topic, const std::string& payload) {
  if (!client_.connected()) return;  // everything is published again on connect
  if (auto r = client_.publish(topic, payload, 1, true); !r)
    log_.warning("ha.publish_failed", {{"topic", topic}, {"error", r.error().message}});
}

void HomeAssistantEntities::refresh() {
  if (started_) publishAll();
}

void HomeAssistantEntities::publishAll() {
  publishStaticConfigs();
  publishPausedConfig();
  const auto budgets = ops_.budgetUse();
  // Categories gone from the policy lose their entity; the others are (re)announced.
  for (auto it = spend_ids_.begin(); it != spend_ids_.end();) {
    const bool current = std::any_of(budgets.begin(), budgets.end(),
                                     [&](const BudgetUse& b) { return b.category == it->first; });
    if (current) {
      ++it;
      continue;
    }
    publish(options_.discovery_prefix + "/sensor/" + it->second + "/config", "");
    publish(spendStateTopic(it->second), "");
    it = spend_ids_.erase(it);
  }
  for (const auto& use : budgets)
    publishBudget(use, true);
  publishPaused();
  publishApprovals();
}

void HomeAssistantEntities::publishStaticConfigs() {
  const auto& p = options_.discovery_prefix;
  const auto& base = options_.base_topic;
  json::object pending{{"name", "Pending approvals"},
                       {"unique_id", "steward_pending_approvals"},
                       {"object_id", "steward_pending_approvals"},
                       {"icon", "mdi:cart-arrow-right"},
                       {"state_topic", base + "/approvals"},
                       {"value_template", "{{ value_json.pending }}"},
                       {"json_attributes_topic", base + "/approvals"},
                       {"json_attributes_template", "{{ value_json.shown | tojson }}"},
                       {"availability_topic", options_.availability_topic},
                       {"device", deviceBlock()}};
  publish(p + "/sensor/steward_pending_approvals/config", json::serialize(pending));

  json::object last{{"name", "Last decision"},
                    {"unique_id", "steward_last_decision"},
                    {"object_id", "steward_last_decision"},
                    {"icon", "mdi:script-text-outline"},
                    {"state_topic", base + "/last_decision"},
                    {"value_template", "{{ value_json.kind }}: {{ value_json.outcome }}"},
                    {"json_attributes_topic", base + "/last_decision"},
                    {"availability_topic", options_.availability_topic},
                    {"device", deviceBlock()}};
  publish(p + "/sensor/steward_last_decision/config", json::serialize(last));
}

// A switch when HA may pause purchasing, a binary_sensor when it may only look; the other
// component's config is cleared so HA never shows both.
void HomeAssistantEntities::publishPausedConfig() {
  const auto& p = options_.discovery_prefix;
  json::object config{{"name", "Purchasing paused"},
                      {"unique_id", "steward_purchasing_paused"},
                      {"object_id", "steward_purchasing_paused"},
                      {"icon", "mdi:pause-octagon"},
                      {"state_topic", options_.base_topic + "/paused"},
                      {"payload_on", "ON"},
                      {"payload_off", "OFF"},
                      {"availability_topic", options_.availability_topic},
                      {"device", deviceBlock()}};
  const std::string switch_topic = p + "/switch/steward_purchasing_paused/config";
  const std::string sensor_topic = p + "/binary_sensor/steward_purchasing_paused/config";
  if (commands_allowed_) {
    config["command_topic"] = pausedCommandTopic();
    config["state_on"] = "ON";
    config["state_off"] = "OFF";
    publish(sensor_topic, "");
    publish(switch_topic, json::serialize(config));
  } else {
    publish(switch_topic, "");
    publish(sensor_topic, json::serialize(config));
  }
}

void HomeAssistantEntities::publishPaused() {
  publish(options_.base_topic + "/paused", ops_.mode() == Mode::paused ? "ON" : "OFF");
}

// The pending count with the oldest request shown; the approve button presses exactly the
// request shown (its payload is that id), so a request that arrived meanwhile is never approved
// by a press meant for another.
void HomeAssistantEntities::publishApprovals() {
  const auto pending = ops_.pendingApprovals();
  json::value shown = nullptr;
  std::optional<std::string> shown_id;
  if (!pending.empty()) {
    shown_id = pending.front().id;
    shown = json::object{{"id", pending.front().id}, {"summary", pending.front().summary}};
  }
  publish(options_.base_topic + "/approvals",
          json::serialize(json::object{{"pending", pending.size()}, {"shown", shown}}));

  const std::string button_topic =
      options_.discovery_prefix + "/button/steward_approve_shown_request/config";
  if (commands_allowed_ && shown_id) {
    json::object button{{"name", "Approve shown request"},
                        {"unique_id", "steward_approve_shown_request"},
                        {"object_id", "steward_approve_shown_request"},
                        {"icon", "mdi:check-decagram"},
                        {"command_topic", approveCommandTopic()},
                        {"payload_press", *shown_id},
                        {"availability_topic", options_.availability_topic},
                        {"device", deviceBlock()}};
    publish(button_topic, json::serialize(button));
  } else {
    publish(button_topic, "");
  }
  shown_approval_ = shown_id;
}

std::string HomeAssistantEntities::spendObjectId(const std::string& category) {
  if (auto it = spend_ids_.find(category); it != spend_ids_.end()) return it->second;
  std::string id = kSpendPrefix;
  for (unsigned char c : category.substr(0, 48))
    id += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
  // Two categories that differ only in punctuation must not share an entity.
  std::string unique = id;
  for (int n = 2;; ++n) {
    bool taken = false;
    for (const auto& [_, used] : spend_ids_)
      taken = taken || used == unique;
    if (!taken) break;
    unique = id + "_" + std::to_string(n);
  }
  spend_ids_.emplace(category, unique);
  return unique;
}

std::string HomeAssistantEntities::spendStateTopic(const std::string& object_id) const {
  return options_.base_topic + "/spend/" + object_id.substr(std::string_view(kSpendPrefix).size());
}

void HomeAssistantEntities::publishBudget(const BudgetUse& use, bool with_config) {
  with_config = with_config || !spend_ids_.contains(use.category);
  const std::string object_id = spendObjectId(use.category);
  const std::string state_topic = spendStateTopic(object_id);
  if (with_config) {
    json::object config{{"name", "Spend this month: " + use.category},
                        {"unique_id", object_id},
                        {"object_id", object_id},
                        {"icon", "mdi:cash"},
                        {"device_class", "monetary"},
                        {"unit_of_measurement", std::string(use.spent.currency.view())},
                        {"state_topic", state_topic},
                        {"value_template", "{{ value_json.spent }}"},
                        {"json_attributes_topic", state_topic},
                        {"availability_topic", options_.availability_topic},
                        {"device", deviceBlock()}};
    publish(options_.discovery_prefix + "/sensor/" + object_id + "/config",
            json::serialize(config));
  }
  // Percent in whole units, rounded down, integer arithmetic only.
  const std::int64_t percent = use.limit.minor > 0 ? use.spent.minor * 100 / use.limit.minor : 0;
  json::object state{{"category", use.category},
                     {"spent", amount(use.spent)},
                     {"limit", amount(use.limit)},
                     {"currency", std::string(use.limit.currency.view())},
                     {"used_percent", percent}};
  publish(state_topic, json::serialize(state));
}

void HomeAssistantEntities::decisionRecorded(const DecisionNotice& d) {
  json::object state{{"seq", d.seq},         {"id", d.id},           {"kind", d.kind},
                     {"subject", d.subject}, {"outcome", d.outcome}, {"at", isoTime(d.at)}};
  publish(options_.base_topic + "/last_decision", json::serialize(state));
}

void HomeAssistantEntities::approvalRequested(const ApprovalRequest&) {
  publishApprovals();
}
void HomeAssistantEntities::approvalsChanged() {
  publishApprovals();
}
void HomeAssistantEntities::budgetChanged(const BudgetUse& use) {
  publishBudget(use, false);
}
void HomeAssistantEntities::modeChanged() {
  publishPaused();
}

bool HomeAssistantEntities::acceptCommand(const mqtt::Message& message, const char* command) {
  const char* reason = nullptr;
  if (!commands_allowed_)
    reason = "the policy does not allow commands from Home Assistant";
  else if (message.retain)
    reason = "retained message (a command is only valid when sent)";
  else if (message.payload.size() > options_.max_command_bytes)
    reason = "payload too large";
  if (!reason) return true;
  log_.warning("ha.command_refused",
               {{"command", command}, {"topic", message.topic}, {"reason", reason}});
  return false;
}

void HomeAssistantEntities::onPausedCommand(const mqtt::Message& message) {
  if (!acceptCommand(message, "pause")) return;
  const Caller caller{std::nullopt, kCaller};
  OpResult<std::string> result = bus::failed("unreachable");
  if (message.payload == "ON") {
    result = ops_.pause("", caller);
  } else if (message.payload == "OFF") {
    result = ops_.resume("", caller);
  } else {
    log_.warning(
        "ha.command_refused",
        {{"command", "pause"}, {"topic", message.topic}, {"reason", "payload must be ON or OFF"}});
    return;
  }
  if (!result)
    log_.warning("ha.command_failed", {{"command", message.payload == "ON" ? "pause" : "resume"},
                                       {"error", result.error().message}});
  publishPaused();
}

void HomeAssistantEntities::onApproveCommand(const mqtt::Message& message) {
  if (!acceptCommand(message, "approve")) return;
  // Re-read the pending list: the shown request may have been decided since it was shown.
  const auto pending = ops_.pendingApprovals();
  if (pending.empty() || pending.front().id != message.payload || !shown_approval_ ||
      *shown_approval_ != message.payload) {
    log_.warning("ha.command_refused", {{"command", "approve"},
                                        {"topic", message.topic},
                                        {"reason", "not the request shown in Home Assistant"}});
    publishApprovals();
    return;
  }
  const auto result = ops_.approve(message.payload, Caller{std::nullopt, kCaller});
  if (!result)
    log_.warning("ha.command_failed", {{"command", "approve"}, {"error", result.error().message}});
  publishApprovals();
}

}  // namespace steward::ha
