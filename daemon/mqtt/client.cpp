// See client.hpp. The parts of the MQTT vocabulary that need no broker library, so modules that
// only speak through mqtt::Client (discovery, ha) do not pull in libmosquitto.
#include "mqtt/client.hpp"

#include <algorithm>

namespace steward::mqtt {

bool topicMatches(std::string_view filter, std::string_view topic) {
  // Topics starting with '$' are not matched by filters starting with a wildcard (§4.7.2).
  if (!topic.empty() && topic[0] == '$' && !filter.empty() &&
      (filter[0] == '+' || filter[0] == '#'))
    return false;
  std::size_t f = 0, t = 0;
  for (;;) {
    const std::size_t fe = std::min(filter.find('/', f), filter.size());
    const std::string_view flevel = filter.substr(f, fe - f);
    if (flevel == "#") return true;
    if (t > topic.size()) return false;
    const std::size_t te = std::min(topic.find('/', t), topic.size());
    const std::string_view tlevel = topic.substr(t, te - t);
    if (flevel != "+" && flevel != tlevel) return false;
    const bool filterDone = fe == filter.size();
    const bool topicDone = te == topic.size();
    if (filterDone || topicDone) {
      // "a/#" also matches "a" (the parent level).
      if (filterDone && topicDone) return true;
      if (topicDone && filter.substr(fe) == "/#") return true;
      return false;
    }
    f = fe + 1;
    t = te + 1;
  }
}

}  // namespace steward::mqtt
