// Errors in files a person edits: "file:line:col: key.path: message", collected so one run can
// report several. Shared by the daemon config and the household policy.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace steward::core {

struct Diagnostic {
  std::string file;
  int line = 0;     // 1-based; 0 when the position is unknown
  int column = 0;   // 1-based
  std::string key;  // dotted key path, may be empty
  std::string message;

  // "policy.toml:14:9: budgets.monthly: expected ..."
  std::string format() const;
};

using Diagnostics = std::vector<Diagnostic>;

// The candidate closest to `word` by edit distance, or "" when none is close enough to suggest.
std::string closestMatch(std::string_view word, std::span<const std::string_view> candidates);

// "; did you mean \"log_level\"?" for the closest candidate, or "" when none is close.
std::string didYouMean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace steward::core
