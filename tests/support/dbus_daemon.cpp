// See dbus_daemon.hpp. The generated bus config carries the stock system-bus defaults (deny
// method calls and name ownership unless a policy punches a hole) and then the mirrored policy
// file, as /usr/share/dbus-1/system.conf does with system.d/.
#include "support/dbus_daemon.hpp"

#include <sys/stat.h>

#include <stdexcept>

namespace steward::test {
namespace {

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

}  // namespace

DbusDaemon::DbusDaemon(DbusDaemonOptions options) {
  std::string policy = readFile(options.policy_file);
  if (policy.empty()) throw std::runtime_error("cannot read D-Bus policy " + options.policy_file);
  replaceAll(policy, "user=\"steward\"", "user=\"" + options.owner_user + "\"");
  replaceAll(policy, "group=\"steward-admin\"", "group=\"" + options.admin_group + "\"");
  const std::string policy_path = dir_.write("org.stewardhub.Steward1.conf", policy);

  const std::string socket = dir_.file("bus");
  address_ = "unix:path=" + socket;
  const std::string config = dir_.write(
      "bus.conf",
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <listen>" +
          address_ +
          "</listen>\n"
          "  <auth>EXTERNAL</auth>\n"
          "  <policy context=\"default\">\n"
          "    <allow user=\"*\"/>\n"
          "    <deny own=\"*\"/>\n"
          "    <deny send_type=\"method_call\"/>\n"
          "    <allow send_type=\"signal\"/>\n"
          "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
          "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
          "    <allow receive_type=\"method_call\"/>\n"
          "    <allow receive_type=\"method_return\"/>\n"
          "    <allow receive_type=\"error\"/>\n"
          "    <allow receive_type=\"signal\"/>\n"
          "    <allow send_destination=\"org.freedesktop.DBus\" "
          "send_interface=\"org.freedesktop.DBus\"/>\n"
          "    <allow send_destination=\"org.freedesktop.DBus\"\n"
          "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
          "    <allow send_destination=\"org.freedesktop.DBus\"\n"
          "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
          "  </policy>\n"
          "  <include>" +
          policy_path + "</include>\n" + options.extra_config + "\n</busconfig>\n");

  // Other uids (setpriv'd clients) must reach the socket inside the private directory.
  ::chmod(dir_.path().c_str(), 0755);
  process_ =
      Process({"dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile", "--nosyslog"},
              dir_.file("dbus-daemon.log"));
  struct stat st {};
  if (!waitFor([&] { return ::stat(socket.c_str(), &st) == 0 || !process_.running(); },
               std::chrono::seconds(10)) ||
      !process_.running())
    throw std::runtime_error("dbus-daemon did not start: " + log());
}

DbusDaemon::~DbusDaemon() {
  process_.stop(std::chrono::milliseconds(2000));
}

std::string DbusDaemon::log() const {
  return readFile(dir_.file("dbus-daemon.log"));
}

}  // namespace steward::test
