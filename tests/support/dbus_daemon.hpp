// A private dbus-daemon on a unix socket in the test's temp dir, whose policy is the shipped
// systemd/org.stewardhub.Steward1.conf with its user and group swapped for ones that exist on
// the test machine, so tests exercise the real rules. Started by the fixture, ended by PID.
#pragma once

#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {

struct DbusDaemonOptions {
  std::string policy_file;            // the shipped policy file to mirror
  std::string owner_user = "root";    // stands in for user="steward" (who may own the name)
  std::string admin_group = "users";  // stands in for group="steward-admin"
  std::string extra_config;           // appended inside <busconfig> after the policy
};

class DbusDaemon {
 public:
  explicit DbusDaemon(DbusDaemonOptions options);
  ~DbusDaemon();
  DbusDaemon(const DbusDaemon&) = delete;
  DbusDaemon& operator=(const DbusDaemon&) = delete;

  // "unix:path=/tmp/steward-test-XXXXXX/bus": usable by any local uid.
  const std::string& address() const { return address_; }
  pid_t pid() const { return process_.pid(); }
  // What the daemon wrote (rejections are logged here, since syslog is off).
  std::string log() const;
  const std::string& directory() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string address_;
  Process process_;
};

}  // namespace steward::test
