// See diagnostics.hpp.
#include "core/diagnostics.hpp"

#include <algorithm>

namespace steward::core {

std::string Diagnostic::format() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closestMatch(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t bestDistance = static_cast<std::size_t>(-1);
  for (auto c : candidates) {
    const auto d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // Suggest only when at most about a third of the word differs.
  if (best.empty() || bestDistance > std::max<std::size_t>(2, word.size() / 3)) return {};
  return std::string(best);
}

std::string didYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  const auto s = closestMatch(word, candidates);
  return s.empty() ? std::string() : "; did you mean \"" + s + "\"?";
}

}  // namespace steward::core
