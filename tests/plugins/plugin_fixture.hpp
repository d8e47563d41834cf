// What the plugins' contract tests share: a mosquitto broker run with the ACL printed in
// plugins/PROTOCOL.md (read from the document itself, so the example is what is tested), an
// account per plugin, and the real hub (stewardd on a private D-Bus) logged in as "stewardd".
#pragma once

#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mqtt_watch.hpp"
#include "support/broker.hpp"
#include "support/dbus_daemon.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {

inline const std::string kPassword = "s3cret-pw";

// The ACL example of plugins/PROTOCOL.md: the code block after "With mosquitto:".
inline std::string protocolAcl() {
  const std::string doc = readFile(STEWARD_SOURCE_DIR "/plugins/PROTOCOL.md");
  const auto at = doc.find("With mosquitto:");
  const auto open = doc.find("```\n", at);
  const auto close = doc.find("```", open + 4);
  if (at == std::string::npos || open == std::string::npos || close == std::string::npos)
    throw std::runtime_error("PROTOCOL.md has no ACL example");
  return doc.substr(open + 4, close - open - 4);
}

// Runs a program to its end (bounded) and returns its exit status, -1 on timeout.
inline int runToEnd(const std::vector<std::string>& argv, const std::string& log,
                    std::chrono::seconds timeout = std::chrono::seconds(30)) {
  Process p(argv, log);
  const auto status = p.wait(timeout);
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

class AclBroker {
 public:
  // Accounts: each of `users` (plus "stewardd" and "owner"), all with kPassword.
  explicit AclBroker(std::vector<std::string> users) {
    users.push_back("stewardd");
    users.push_back("owner");
    const std::string acl = dir_.write("acl", protocolAcl());
    const std::string passwords = dir_.write("passwords", "");
    for (const auto& u : users) {
      if (runToEnd({"mosquitto_passwd", "-b", passwords, u, kPassword}, dir_.file("passwd.log")) !=
          0)
        throw std::runtime_error("mosquitto_passwd: " + readFile(dir_.file("passwd.log")));
    }
    ::chmod(passwords.c_str(), 0600);
    ::chmod(acl.c_str(), 0600);
    password_file_ = dir_.write("password", kPassword + "\n");
    broker_ = std::make_unique<Broker>("allow_anonymous false\npassword_file " + passwords +
                                       "\nacl_file " + acl + "\n");
  }
  Broker& broker() { return *broker_; }
  std::uint16_t port() const { return broker_->port(); }
  const std::string& passwordFile() const { return password_file_; }

 private:
  TempDir dir_;
  std::string password_file_;
  std::unique_ptr<Broker> broker_;
};

// The real hub, logged in to `port` as "stewardd" (when `with_account`).
class RealHub {
 public:
  RealHub(std::uint16_t port, bool with_account) : bus_(busOptions()) {
    // The shipped policy, plus what the household buys for the test appliances.
    dir_.write("etc/policy.toml", readFile(STEWARD_SOURCE_DIR "/policy/policy.toml") + R"(
[items.softener-salt]
key = "salt"
device_kinds = ["softener"]
category = "consumables"
products = ["4008838217813"]
max_unit_price = "12.00 EUR"
max_quantity = 1
lead_time = "3d"

[items.rinse-aid]
key = "rinse-aid"
device_kinds = ["dishwasher"]
category = "consumables"
products = ["4015000961010"]
max_unit_price = "6.00 EUR"
max_quantity = 1
lead_time = "3d"
)");
    const std::string account =
        with_account ? "username = \"stewardd\"\npassword = \"" + kPassword + "\"\n" : "";
    const std::string config = dir_.write(
        "stewardd.toml",
        "[daemon]\nstate_directory = \"" + dir_.file("state") + "\"\npolicy_directory = \"" +
            dir_.file("etc") + "\"\nbus_address = \"" + bus_.address() +
            "\"\n[broker]\nurl = \"mqtt://127.0.0.1:" + std::to_string(port) + "\"\n" + account +
            "reconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n"
            "[discovery]\navahi = false\n");
    process_ = Process({STEWARD_BINARY_DIR "/daemon/stewardd", "--config", config},
                       dir_.file("stewardd.log"));
  }
  ~RealHub() { process_.stop(); }

  // stewardctl --json VERB against this hub's bus; its output.
  std::string ctl(const std::string& verb) {
    const std::string out = dir_.file("ctl.out");
    ::unlink(out.c_str());
    runToEnd({STEWARD_BINARY_DIR "/daemon/stewardctl/stewardctl", "--bus", bus_.address(), "--json",
              verb},
             out);
    return readFile(out);
  }
  bool running() { return process_.running(); }
  std::string log() const { return readFile(dir_.file("stewardd.log")); }

 private:
  static DbusDaemonOptions busOptions() {
    DbusDaemonOptions o;
    o.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
    return o;
  }
  TempDir dir_;
  DbusDaemon bus_;
  Process process_;
};

}  // namespace steward::test
