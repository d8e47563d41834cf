// AdminCheck against the machine's real user database: root always, members of the group (the
// primary group counts), nobody else; unknown users and groups never.
#include <gtest/gtest.h>
#include <pwd.h>

#include "bus/access.hpp"

namespace steward::bus {
namespace {

uid_t uidOf(const char* name) {
  return getpwnam(name)->pw_uid;
}

TEST(AdminCheck, RootIsAlwaysAdmin) {
  EXPECT_TRUE(AdminCheck("steward-admin-does-not-exist").isAdmin(0));
}

TEST(AdminCheck, MembershipComesFromTheUserDatabase) {
  EXPECT_TRUE(AdminCheck("nogroup").isAdmin(uidOf("nobody")));  // primary group
  EXPECT_FALSE(AdminCheck("users").isAdmin(uidOf("nobody")));
  EXPECT_FALSE(AdminCheck("nogroup").isAdmin(uidOf("daemon")));
}

TEST(AdminCheck, UnknownUsersAndGroupsAreNeverAdmins) {
  EXPECT_FALSE(AdminCheck("nogroup").isAdmin(4'000'000'000u));
  EXPECT_FALSE(AdminCheck("no-such-group-here").isAdmin(uidOf("nobody")));
}

TEST(RequiredAccess, OnlyTheHubsOverviewIsOpen) {
  EXPECT_EQ(requiredAccess("Status"), Access::anyone);
  EXPECT_EQ(requiredAccess("Devices"), Access::anyone);
  EXPECT_EQ(requiredAccess("Needs"), Access::anyone);
  for (const char* member :
       {"Log", "Explain", "Verify", "Export", "Approvals", "Approve", "Reject", "Cancel", "Pause",
        "Resume", "Reload", "PolicyCheck", "Simulate", "SomethingNew"})
    EXPECT_EQ(requiredAccess(member), Access::admin) << member;
}

}  // namespace
}  // namespace steward::bus
