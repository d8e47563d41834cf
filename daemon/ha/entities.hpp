// ha: the hub as a Home Assistant device: retained MQTT discovery for its own entities (spend this
// month per budget category, pending approvals, purchasing paused, last decision) and their
// state under steward/hub/..., so it appears in HA by itself. Commands from HA (pause/resume
// purchasing, approve the request shown) are carried out only while the policy allows them.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "bus/operations.hpp"
#include "core/log.hpp"
#include "mqtt/client.hpp"

namespace steward::ha {

using bus::ApprovalRequest;
using bus::BudgetUse;
using bus::DecisionNotice;
using bus::Listener;
using bus::Operations;

struct HomeAssistantOptions {
  std::string discovery_prefix = "homeassistant";  // core::DiscoveryConfig::homeassistant_prefix
  std::string base_topic = "steward/hub";
  std::string availability_topic = "steward/hub/availability";  // MosquittoOptions' LWT topic
  std::size_t max_command_bytes = 256;
};

class HomeAssistantEntities final : public Listener {
 public:
  HomeAssistantEntities(mqtt::Client& client, Operations& operations, core::Logger& log,
                        HomeAssistantOptions options = {});

  // Subscribes to the command topics and publishes everything on every (re)connect.
  void start();

  // The policy's setting (reloads may change it). While false, HA sees a read-only
  // binary_sensor and no approve button, and commands are refused.
  void setCommandsAllowed(bool allowed);
  bool commandsAllowed() const { return commands_allowed_; }
  // Announces everything again; after a policy reload (budget categories may have come or gone;
  // entities of categories that are gone are removed).
  void refresh();

  // Listener: each updates the retained state HA reads.
  void decisionRecorded(const DecisionNotice& decision) override;
  void approvalRequested(const ApprovalRequest& request) override;
  void approvalsChanged() override;
  void budgetChanged(const BudgetUse& use) override;
  void modeChanged() override;

  // Topics, for the Hub's documentation and for tests.
  std::string pausedCommandTopic() const { return options_.base_topic + "/paused/set"; }
  std::string approveCommandTopic() const { return options_.base_topic + "/approvals/approve"; }

 private:
  void publishAll();
  void publishStaticConfigs();
  void publishPausedConfig();
  void publishApprovals();
  void publishBudget(const BudgetUse& use, bool with_config);
  std::string spendStateTopic(const std::string& object_id) const;
  void publishPaused();
  void publish(const std::string& topic, const std::string& payload);
  std::string spendObjectId(const std::string& category);

  void onPausedCommand(const mqtt::Message& message);
  void onApproveCommand(const mqtt::Message& message);
  // Common gate for commands; logs the refusal and returns false when one is not acceptable.
  bool acceptCommand(const mqtt::Message& message, const char* command);

  mqtt::Client& client_;
  Operations& ops_;
  core::Logger& log_;
  HomeAssistantOptions options_;
  bool commands_allowed_ = false;
  bool started_ = false;
  std::map<std::string, std::string> spend_ids_;  // category -> object id
  std::optional<std::string> shown_approval_;     // the id the approve button presses
};

}  // namespace steward::ha
