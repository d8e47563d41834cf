// MQTT topic filter matching (MQTT 3.1.1 §4.7).
#include <gtest/gtest.h>

#include "mqtt/client.hpp"

namespace steward::mqtt {
namespace {

TEST(TopicMatches, FollowsTheSpecification) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  } cases[] = {
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/+", "a/b", true},
      {"a/+", "a/b/c", false},
      {"a/#", "a/b/c", true},
      {"a/#", "a", true},
      {"#", "a/b", true},
      {"+/+", "a/b", true},
      {"+", "a/b", false},
      {"a/+/c", "a//c", true},
      {"+", "", true},
      {"a/b/#", "a/b", true},
      {"#", "$SYS/x", false},
      {"+/x", "$SYS/x", false},
      {"$SYS/#", "$SYS/x", true},
      {"homeassistant/+/+/config", "homeassistant/sensor/t/config", true},
      {"homeassistant/+/+/config", "homeassistant/sensor/n/t/config", false},
      {"a/b", "a/b/", false},
      {"a/b/+", "a/b/", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topicMatches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
  }
}

}  // namespace
}  // namespace steward::mqtt
