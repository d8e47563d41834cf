// Who may call what on the owner's API. The D-Bus policy file enforces the same split at the bus
// daemon; the daemon checks again, because a misinstalled policy must not open the ledger.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace steward::bus {

enum class Access {
  anyone,  // status, devices, needs, properties
  admin,   // root or a member of the admin group: changing things, reading the ledger, policy
};

// The access a method of org.stewardhub.Steward1 needs; unknown members need admin.
Access requiredAccess(std::string_view member);

class AdminCheck {
 public:
  explicit AdminCheck(std::string group) : group_(std::move(group)) {}

  // Root, or a user whose group list in the system's user database (primary group included)
  // holds the admin group. Unknown users and a missing group are never admins.
  bool isAdmin(uid_t uid) const;
  const std::string& group() const { return group_; }

 private:
  std::string group_;
};

}  // namespace steward::bus
