// See arguments.hpp. Global options may come before or after the command (people type
// `stewardctl log --json` as often as `stewardctl --json log`), except after `policy`, whose
// arguments belong to the policy module.
#include "stewardctl/arguments.hpp"

#include <array>
#include <charconv>

namespace steward::stewardctl {
namespace {

struct VerbInfo {
  std::string_view name;
  Verb verb;
  bool read_only;
};

constexpr std::array<VerbInfo, 16> kVerbs{{
    {"status", Verb::status, true},
    {"devices", Verb::devices, true},
    {"needs", Verb::needs, true},
    {"log", Verb::log, true},
    {"explain", Verb::explain, true},
    {"verify", Verb::verify, true},
    {"export", Verb::exportLog, true},
    {"approvals", Verb::approvals, true},
    {"approve", Verb::approve, false},
    {"reject", Verb::reject, false},
    {"cancel", Verb::cancel, false},
    {"pause", Verb::pause, false},
    {"resume", Verb::resume, false},
    {"reload", Verb::reload, false},
    {"policy", Verb::policy, true},
    {"backup", Verb::backup, true},
}};

const VerbInfo* findVerb(std::string_view name) {
  for (const auto& v : kVerbs)
    if (v.name == name) return &v;
  return nullptr;
}

}  // namespace

bool readsOnly(Verb verb) {
  for (const auto& v : kVerbs)
    if (v.verb == verb) return v.read_only;
  return false;
}

std::string_view verbName(Verb verb) {
  for (const auto& v : kVerbs)
    if (v.verb == verb) return v.name;
  return "?";
}

std::string usage() {
  return "usage: stewardctl [--bus ADDRESS | --system] [--db PATH] [--config FILE] [--json]\n"
         "                  [--color | --no-color] [--wide] COMMAND [ARGS]\n"
         "\n"
         "Reading (over D-Bus, or from the database file with --db or when stewardd is not\n"
         "running):\n"
         "  status                       hub state and this month's budget use\n"
         "  devices                      the device registry\n"
         "  needs [--all]                open needs with their forecasts (--all: closed too)\n"
         "  log [--since TIME|AGO] [--device ID] [--kind KIND] [--limit N]\n"
         "                               decisions, oldest first (--since 48h, 2026-05-01)\n"
         "  explain ID                   the causal chain behind a decision (D42, A3, order:o-1)\n"
         "  verify [--checkpoint FILE]   check the decision chain for tampering\n"
         "  export [--format jsonl|csv]  every decision, every column\n"
         "  approvals                    purchases waiting for the owner\n"
         "  backup FILE                  copy the database to FILE (safe while stewardd runs)\n"
         "Changing (root or steward-admin; needs the running daemon):\n"
         "  approve ID | reject ID       answer an approval request\n"
         "  cancel ORDER                 cancel an order\n"
         "  pause [DEVICE] | resume [DEVICE]\n"
         "                               stop/restart purchasing (all, or for one device)\n"
         "  reload                       re-read the policy\n"
         "Policy files (no daemon needed):\n"
         "  policy check | policy simulate ...\n"
         "\n"
         "Exit status: 0 ok, 1 the answer is no or the command failed, 2 usage error.\n";
}

core::Result<Invocation> parseArguments(std::span<const std::string> args) {
  Invocation inv;
  std::optional<Verb> verb;
  std::vector<std::string> positional;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (verb == Verb::policy) {
      inv.policy_args.push_back(a);
      continue;
    }
    auto value = [&](std::string_view option) -> core::Result<std::string> {
      if (i + 1 >= args.size()) return core::fail(std::string(option) + " needs a value");
      return args[++i];
    };
    auto take = [&](std::string_view option, std::string& into) -> core::Result<void> {
      auto v = value(option);
      if (!v) return v.error();
      into = *v;
      return {};
    };
    core::Result<void> taken;
    if (a == "--json") {
      inv.json = true;
    } else if (a == "--wide") {
      inv.wide = true;
    } else if (a == "--color" || a == "--colour") {
      inv.colour = true;
    } else if (a == "--no-color" || a == "--no-colour") {
      inv.colour = false;
    } else if (a == "--system") {
      inv.bus = "system";
    } else if (a == "--bus") {
      std::string v;
      taken = take(a, v);
      inv.bus = v;
    } else if (a == "--db") {
      std::string v;
      taken = take(a, v);
      inv.db = v;
    } else if (a == "--config") {
      std::string v;
      taken = take(a, v);
      inv.config = v;
    } else if (a == "-h" || a == "--help") {
      return core::fail("help");
    } else if (verb == Verb::log && a == "--since") {
      taken = take(a, inv.since);
    } else if (verb == Verb::log && a == "--device") {
      taken = take(a, inv.device);
    } else if (verb == Verb::log && a == "--kind") {
      taken = take(a, inv.kind);
    } else if (verb == Verb::log && a == "--limit") {
      std::string v;
      taken = take(a, v);
      if (taken) {
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), inv.limit);
        if (ec != std::errc() || end != v.data() + v.size())
          return core::fail("--limit: expected a whole number, got \"" + v + "\"");
      }
    } else if (verb == Verb::exportLog && a == "--format") {
      taken = take(a, inv.format);
      if (taken && inv.format != "jsonl" && inv.format != "csv")
        return core::fail("--format: expected jsonl or csv, got \"" + inv.format + "\"");
    } else if (verb == Verb::verify && a == "--checkpoint") {
      taken = take(a, inv.checkpoint);
    } else if (verb == Verb::needs && a == "--all") {
      inv.all = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return core::fail("unknown option " + a +
                        (verb ? std::string(" for ") + std::string(verbName(*verb)) : ""));
    } else if (!verb) {
      const VerbInfo* v = findVerb(a);
      if (!v) return core::fail("unknown command \"" + a + "\"");
      verb = v->verb;
    } else {
      positional.push_back(a);
    }
    if (!taken) return taken.error();
  }

  if (!verb) return core::fail("no command given");
  inv.verb = *verb;

  std::size_t min = 0, max = 0;
  const char* what = "";
  switch (inv.verb) {
    case Verb::explain:
      min = max = 1, what = "a decision id";
      break;
    case Verb::approve:
    case Verb::reject:
      min = max = 1, what = "an approval id";
      break;
    case Verb::cancel:
      min = max = 1, what = "an order id";
      break;
    case Verb::backup:
      min = max = 1, what = "a file to write the copy to";
      break;
    case Verb::pause:
    case Verb::resume:
      max = 1, what = "at most one device id";
      break;
    default:
      break;
  }
  if (positional.size() < min || positional.size() > max) {
    if (max == 0)
      return core::fail(std::string(verbName(inv.verb)) + " takes no arguments (got \"" +
                        positional.front() + "\")");
    return core::fail(std::string(verbName(inv.verb)) + " needs " + what);
  }
  if (!positional.empty()) inv.target = positional.front();
  if (inv.verb == Verb::policy && inv.policy_args.empty())
    return core::fail("policy needs a subcommand: check or simulate");
  if (inv.db && !readsOnly(inv.verb))
    return core::fail(std::string(verbName(inv.verb)) +
                      " changes things and needs the running daemon; --db is read-only");
  return inv;
}

}  // namespace steward::stewardctl
