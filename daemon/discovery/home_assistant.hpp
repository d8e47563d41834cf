// Home Assistant MQTT discovery as a device source: `<prefix>/<component>/[<node>/]<object>/config`
// (full and abbreviated keys, `~` expansion), device-based discovery
// (`<prefix>/device/<id>/config`), empty payload = removal, availability topics and lists, and the
// `<prefix>/status` birth. Entity state topics named by the configs are watched; battery,
// battery-low and meter entities become NeedSignals. Whatever else an entity reports only refreshes
// "last seen".
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "discovery/source.hpp"

namespace steward::discovery {

class HomeAssistantSource final : public Source {
 public:
  // `max_entities` caps the entities kept in total (each costs memory and watched topics).
  HomeAssistantSource(std::string prefix, std::size_t max_entities);

  std::string_view name() const override { return "homeassistant"; }
  std::vector<std::string> filters() const override;
  std::string speaker(std::string_view topic) const override;
  std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                 std::vector<DeviceUpdate>& out) override;

  std::size_t entityCount() const;
  std::uint64_t births() const { return births_; }

  // Discovery topics whose object id starts with this are the hub's own: its re-export of plugin
  // devices (see PROTOCOL.md) and its own entities. They are not read back as devices.
  static constexpr std::string_view kOwnExportPrefix = "steward_";

 private:
  struct AvailabilityEntry {
    std::string topic;
    std::string payload_available = "online";
    std::string payload_not_available = "offline";
    std::string value_template;
  };
  struct Entity {
    std::string device;  // SourceRef id of the device the entity belongs to
    std::string component, device_class, state_class, unit, value_template, state_topic;
    std::string payload_on = "ON";
    std::vector<AvailabilityEntry> availability;
    std::string availability_mode = "latest";
  };

  std::optional<Rejection> parseConfig(std::string_view topic, std::string_view component,
                                       std::string_view object_id, std::string_view payload,
                                       SourceContext& context, std::vector<DeviceUpdate>& out);
  std::optional<Rejection> parseState(std::string_view topic, std::string_view payload,
                                      std::vector<DeviceUpdate>& out) const;
  std::optional<Rejection> parseAvailability(std::string_view topic, std::string_view payload,
                                             std::vector<DeviceUpdate>& out);
  void reindex();
  bool deviceStillKnown(const std::string& device) const;

  std::string prefix_;
  std::size_t max_entities_;
  std::uint64_t births_ = 0;
  std::map<std::string, std::vector<Entity>> by_config_;  // discovery topic -> its entities
  // Derived from by_config_ on every config change (rare); the hot path only reads these.
  std::unordered_map<std::string, std::vector<const Entity*>> by_state_topic_;
  std::unordered_map<std::string, std::vector<const Entity*>> by_availability_topic_;
  // device -> availability topic -> online, for availability_mode all/any.
  std::map<std::string, std::map<std::string, bool>> availability_state_;
};

// Evaluates the small subset of Jinja that discovery configs use to pick a value out of a
// payload: `{{ value }}`, `{{ value_json.a.b }}`, `{{ value_json['a'] }}`, trailing filters
// ignored. nullopt when the template is something else or the path is absent.
std::optional<std::string> evaluateValueTemplate(std::string_view tmpl, std::string_view payload);

// Maps Home Assistant's abbreviated discovery keys ("stat_t", "dev", "ids") to the full names.
std::string_view expandAbbreviation(std::string_view key);

}  // namespace steward::discovery
