// The fixed names of the owner's D-Bus API, shared by the daemon side and stewardctl.
#pragma once

namespace steward::bus {

inline constexpr const char* kBusName = "org.stewardhub.Steward1";
inline constexpr const char* kObjectPath = "/org/stewardhub/Steward1";
inline constexpr const char* kInterface = "org.stewardhub.Steward1";
inline constexpr const char* kErrorPrefix = "org.stewardhub.Steward1.Error.";
// The group whose members (with root) may change things and read the ledger.
inline constexpr const char* kAdminGroup = "steward-admin";

}  // namespace steward::bus
