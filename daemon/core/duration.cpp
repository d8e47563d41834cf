// See duration.hpp.
#include "core/duration.hpp"

#include <cstdint>

namespace steward::core {

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  const std::string expected =
      "expected a duration like \"30s\", \"15m\", \"48h\" or \"3d\", got \"" + std::string(text) +
      "\"";
  if (text.empty()) return fail(expected);
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return fail("duration too long: \"" + std::string(text) + "\"");
      ++i;
    }
    if (i == start) return fail(expected);
    std::int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        case 'w':
          unit = 7 * 86'400'000LL;
          break;
        default:
          return fail(expected);
      }
      ++i;
    } else {
      return fail(expected);
    }
    total += n * unit;
  }
  return std::chrono::milliseconds{total};
}

std::string formatDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    std::int64_t size;
    const char* name;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"},
                 Unit{1, "ms"}}) {
    if (ms >= u.size) {
      out += std::to_string(ms / u.size) + u.name;
      ms %= u.size;
    }
  }
  return out;
}

}  // namespace steward::core
