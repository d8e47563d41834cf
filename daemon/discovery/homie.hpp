// Homie 5 as a device source: `homie/5/<dev>/$state` (availability), `$description` (name and the
// nodes/properties, of which battery properties are remembered), property values, and
// `$alert/<id>` (a retained text alert, deleted with an empty payload when resolved).
#pragma once

#include <map>
#include <set>
#include <string>

#include "discovery/source.hpp"

namespace steward::discovery {

class HomieSource final : public Source {
 public:
  HomieSource(std::string prefix, std::size_t max_devices);

  std::string_view name() const override { return "homie"; }
  std::vector<std::string> filters() const override { return {root_ + "#"}; }
  std::string speaker(std::string_view topic) const override;
  std::optional<Rejection> parse(const mqtt::Message& message, SourceContext& context,
                                 std::vector<DeviceUpdate>& out) override;

 private:
  std::optional<Rejection> parseDescription(const std::string& device, std::string_view payload,
                                            std::vector<DeviceUpdate>& out);

  std::string root_;  // "homie/5/"
  std::size_t max_devices_;
  // device -> "<node>/<property>" paths that carry a battery level in %.
  std::map<std::string, std::set<std::string>, std::less<>> battery_properties_;
};

// "Battery is low, at 8%" -> 8: the last number directly followed by '%', if any.
std::optional<double> percentInText(std::string_view text);

}  // namespace steward::discovery
