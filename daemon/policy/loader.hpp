// Reading the household policy from disk: policy.toml plus policy.d/*.toml drop-ins in name
// order, and the time zone from the system's tz database (date/tz.h). The only file I/O of the
// policy module; everything else is in parse.hpp and is pure.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/parse.hpp"

namespace steward::policy {

inline constexpr std::string_view kDefaultPolicyDirectory = "/etc/steward";
// Each path is a file, or a directory holding policy.toml and optionally policy.d/*.toml. Paths are
// merged in the order given, each directory's drop-ins after its policy.toml in byte order of
// their names (later wins). Files over 1 MiB, a missing policy.toml and unreadable files are
// errors; so is every problem parsePolicy() finds.
PolicyLoad loadPolicy(std::span<const std::string> paths);

// The files loadPolicy() would read, in merge order; errors for those it cannot.
std::vector<PolicySource> readPolicySources(std::span<const std::string> paths,
                                            core::Diagnostics& errors);

// Looks zones up in the system's tz database; an unknown name gets a "did you mean".
ZoneLookup systemZoneLookup();

}  // namespace steward::policy
