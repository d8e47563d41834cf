// stewardctl, the owner's tool: runs one command against the running hub over D-Bus, or reads
// the database file (--db, or when the daemon is not running and the command only reads).
// Exit codes: 0 ok, 1 the answer is no or the command failed, 2 usage.
#pragma once

#include <ostream>
#include <span>
#include <string>

#include "core/clock.hpp"

namespace steward::stewardctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct Environment {
  bool stdout_is_terminal = false;   // colour only then (and never with --json or NO_COLOR)
  bool no_color = false;             // $NO_COLOR is set
  std::size_t terminal_columns = 0;  // the terminal's width; 0: not a terminal (80 is used)
  std::string default_config = "/etc/steward/stewardd.toml";
  const core::Clock* clock = nullptr;  // "now" for --since 48h and forecasts; system clock if null
};

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
        const Environment& env);

}  // namespace steward::stewardctl
