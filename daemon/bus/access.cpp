// See access.hpp. Membership comes from the user database (getgrouplist), not from the groups a
// process happens to carry: dbus-daemon judges group="" rules by the latter where the kernel
// reports them (SO_PEERGROUPS), so the daemon's check is the stricter of the two.
#include "bus/access.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <vector>

namespace steward::bus {

Access requiredAccess(std::string_view member) {
  static constexpr std::array<std::string_view, 3> kOpen = {"Status", "Devices", "Needs"};
  return std::find(kOpen.begin(), kOpen.end(), member) != kOpen.end() ? Access::anyone
                                                                      : Access::admin;
}

bool AdminCheck::isAdmin(uid_t uid) const {
  if (uid == 0) return true;

  std::vector<char> buffer(16 * 1024);
  struct group grp {};
  struct group* found_group = nullptr;
  if (getgrnam_r(group_.c_str(), &grp, buffer.data(), buffer.size(), &found_group) != 0 ||
      found_group == nullptr)
    return false;
  const gid_t admin_gid = found_group->gr_gid;

  struct passwd pw {};
  struct passwd* found_user = nullptr;
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found_user) != 0 || found_user == nullptr)
    return false;
  if (pw.pw_gid == admin_gid) return true;

  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) == -1) {
    groups.resize(static_cast<std::size_t>(count));
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) == -1) return false;
  }
  groups.resize(static_cast<std::size_t>(count));
  return std::find(groups.begin(), groups.end(), admin_gid) != groups.end();
}

}  // namespace steward::bus
