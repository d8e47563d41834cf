// From policy text to the immutable Policy: merge policy.toml and its drop-ins (later wins),
// validate everything, and report each problem as file:line:col: key.path: message. Pure: the
// texts and a time-zone lookup come in, nothing is read here (the loader does that).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/diagnostics.hpp"
#include "core/result.hpp"
#include "policy/policy.hpp"

namespace steward::policy {

struct PolicySource {
  std::string name;  // the path shown in diagnostics
  std::string text;
};

// Resolves an IANA zone name to a TimeZone; its error message is shown to the owner as is.
using ZoneLookup = std::function<core::Result<TimeZone>(std::string_view name)>;

struct PolicyLoad {
  std::shared_ptr<const Policy> policy;  // null whenever `errors` is not empty
  core::Diagnostics errors;
};

// Merges `sources` in order and parses the result. Merging: tables merge key by key, a later
// value replaces an earlier one, and [[forbid]] / [[permit]] rules accumulate (a later rule with
// the same id replaces the earlier one). Every error found is reported, not just the first.
PolicyLoad parsePolicy(std::span<const PolicySource> sources, const ZoneLookup& zones);

// The keys each table of the format accepts, for the schema consistency test. `path` uses "*"
// for owner-chosen names ("budgets.*") and "[]" for arrays of tables ("forbid[]").
struct KeySet {
  std::string_view path;
  std::span<const std::string_view> keys;
};
std::span<const KeySet> policyKeySets();

// Lower-case letters, digits, '-' and '_', starting with a letter or digit; 1..64 characters.
// Category, retailer, item and rule ids all follow it.
bool isValidId(std::string_view id);

// Parses "Mon-Fri 08:00-18:00", "Sat", "22:00-07:00", "Mon,Wed 09:00-12:00".
core::Result<TimeWindow> parseTimeWindow(std::string_view text);

}  // namespace steward::policy
