// stewardctl's command line, parsed once into a value: global options (where to reach the hub,
// output form) and one command with its own options. Any problem is a usage error (exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace steward::stewardctl {

enum class Verb {
  status,
  devices,
  needs,
  log,
  explain,
  verify,
  exportLog,
  approvals,
  approve,
  reject,
  cancel,
  pause,
  resume,
  reload,
  policy,
  backup,
};

struct Invocation {
  // Where: a D-Bus address ("system" for the system bus); unset = the config's bus_address,
  // else the system bus. --db reads a database file instead and never talks to the daemon.
  std::optional<std::string> bus;
  std::optional<std::string> db;
  std::optional<std::string> config;  // stewardd.toml to find the database and the bus
  bool json = false;
  std::optional<bool> colour;  // --color / --no-color; default: only on a terminal
  bool wide = false;           // --wide: tables as wide as their content, not the terminal

  Verb verb = Verb::status;
  std::string
      target;  // explain ID, approve/reject ID, cancel ORDER, pause/resume DEVICE, backup FILE
  // log
  std::string since, device, kind;
  std::uint32_t limit = 0;
  // export
  std::string format = "jsonl";
  // verify: a checkpoint kept outside the database (needs database mode)
  std::string checkpoint;
  // needs: closed needs too (database mode)
  bool all = false;
  // policy: everything after "policy", handed to the policy module untouched
  std::vector<std::string> policy_args;
};

// Reads the arguments after the program name. Errors say what was wrong, for "stewardctl: ...".
core::Result<Invocation> parseArguments(std::span<const std::string> args);

// True for commands that only read (they may fall back to the database file).
bool readsOnly(Verb verb);
std::string_view verbName(Verb verb);

std::string usage();

}  // namespace steward::stewardctl
