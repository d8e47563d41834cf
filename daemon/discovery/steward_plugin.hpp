// Steward's own plugin protocol (plugins/PROTOCOL.md) as a device source:
// `steward/device/<id>/hello|availability|state|need/<key>|event`. Deny by default: a payload's
// `id` must equal the topic's id, every message but the hello needs a device that said hello
// (the registry enforces that), and the hello must speak a protocol version the hub knows.
#pragma once

#include <map>
#include <string>

#include "discovery/source.hpp"

namespace steward::discovery {

inline constexpr int kPluginProtocolVersion = 1;
inline constexpr std::string_view kPluginTopicRoot = "steward/device/";

class StewardPluginSource final : public Source {
 public:
  explicit StewardPluginSource(std::size_t max_devices) : max_devices_(max_devices) {}

  std::string_view name() const override { return "steward"; }
  // Hellos first: retained hellos then arrive before the retained needs they authorise.
  std::vector<std::string> filters() const override;
  std::string speaker(std::string_view topic) const override;
  std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                 std::vector<DeviceUpdate>& out) override;

  // The need keys (and their kinds) a plugin has published since the hub started.
  const std::map<std::string, SignalKind>* needKinds(std::string_view id) const {
    auto it = need_kinds_.find(id);
    return it == need_kinds_.end() ? nullptr : &it->second;
  }

 private:
  std::size_t max_devices_;
  // device -> need key -> kind, so an empty (cleared) need payload names what it clears.
  std::map<std::string, std::map<std::string, SignalKind>, std::less<>> need_kinds_;
};

// Validates one need payload (also used by plugins' own tests). `key` is the topic's key.
std::optional<Rejection> parsePluginNeed(const std::string& where, const std::string& id,
                                         const std::string& key, std::string_view payload,
                                         NeedSignal& out);

}  // namespace steward::discovery
