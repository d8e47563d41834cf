// See appliance.hpp. Consumption figures are typical of a household machine: rinse aid lasts
// about 50 cycles, a salt fill about 40, a filter about 250 before it needs replacing.
#include "appliance.hpp"

#include <algorithm>
#include <cmath>

namespace steward::dishwasher {

const std::vector<FaultCode>& faultCodes() {
  static const std::vector<FaultCode> codes = {
      {"E09", "critical", "Heating element fault: the water does not heat"},
      {"E15", "critical", "Water in the base pan: the leak protection has stopped the machine"},
      {"E22", "warning", "Filter clogged: clean or replace the filter"},
      {"E24", "critical", "Drain blocked: the water is not pumping out (hose or filter)"},
      {"E25", "critical", "Drain pump blocked"},
  };
  return codes;
}

const FaultCode* findFault(std::string_view code) {
  for (const auto& f : faultCodes())
    if (f.code == code) return &f;
  return nullptr;
}

Dishwasher::Dishwasher(std::uint32_t seed) : random_(seed) {
  consumables_ = {
      {"rinse-aid", "Rinse aid", "Dishwasher rinse aid", 100, 15, 2.0},
      {"salt", "Regeneration salt", "Dishwasher salt", 100, 20, 2.5},
      {"filter", "Filter life left", "Dishwasher filter", 100, 10, 0.4},
  };
}

void Dishwasher::setLevel(std::string_view key, double percent) {
  for (auto& c : consumables_)
    if (c.key == key) c.level = std::clamp(percent, 0.0, 100.0);
}

bool Dishwasher::stopped() const {
  for (const auto& [code, f] : faults_)
    if (f->severity == "critical") return true;
  return false;
}

bool Dishwasher::runCycle() {
  if (stopped()) return false;
  ++cycles_;
  for (auto& c : consumables_) {
    // mt19937's output sequence is fixed by the standard, so this jitter is the same everywhere.
    const double jitter = 1.0 + 0.2 * static_cast<double>(random_() % 1000) / 1000.0;
    c.level = std::max(0.0, std::round((c.level - c.per_cycle * jitter) * 10) / 10);
    if (c.key == "filter" && c.level == 0) raise("E22");
  }
  return true;
}

std::string Dishwasher::raise(std::string_view code) {
  const FaultCode* f = findFault(code);
  if (!f) {
    std::string known;
    for (const auto& k : faultCodes())
      known += (known.empty() ? "" : ", ") + std::string(k.code);
    return "unknown fault code \"" + std::string(code.substr(0, 16)) + "\" (known: " + known + ")";
  }
  faults_[std::string(f->code)] = f;
  return {};
}

bool Dishwasher::clear(std::string_view code) {
  if (code.empty()) {
    const bool any = !faults_.empty();
    faults_.clear();
    return any;
  }
  return faults_.erase(std::string(code)) > 0;
}

bool Dishwasher::refill(std::string_view key) {
  for (auto& c : consumables_) {
    if (c.key != key) continue;
    c.level = 100;
    if (key == "filter") faults_.erase("E22");
    return true;
  }
  return false;
}

std::string applyCommand(Dishwasher& d, std::string_view command, bool& run_cycle) {
  run_cycle = false;
  while (!command.empty() &&
         (command.back() == '\n' || command.back() == '\r' || command.back() == ' '))
    command.remove_suffix(1);
  const auto space = command.find(' ');
  const std::string_view verb = command.substr(0, space);
  const std::string_view arg =
      space == std::string_view::npos ? std::string_view() : command.substr(space + 1);
  if (verb == "run" && arg.empty()) {
    if (d.stopped()) return "the machine is stopped by a fault; clear it first";
    run_cycle = true;
    return {};
  }
  if (verb == "fault" && !arg.empty()) return d.raise(arg);
  if (verb == "clear") {
    if (!d.clear(arg))
      return arg.empty() ? "no fault is open"
                         : "fault " + std::string(arg.substr(0, 16)) + " is not open";
    return {};
  }
  if ((verb == "refill" && (arg == "rinse-aid" || arg == "salt")) ||
      (verb == "replace" && arg == "filter")) {
    d.refill(arg);
    return {};
  }
  return "unknown command; expected one of: run, fault <code>, clear [<code>], refill rinse-aid, "
         "refill salt, replace filter";
}

}  // namespace steward::dishwasher
