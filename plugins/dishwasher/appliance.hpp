// A simulated dishwasher: what each wash cycle uses up (rinse aid, regeneration salt, filter
// life) and the fault codes it can raise. Pure and deterministic: the same seed and the same
// sequence of calls give the same levels, so demos and tests can rely on them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace steward::dishwasher {

struct FaultCode {
  std::string_view code, severity, description;
};
// The codes the simulator knows (the common Bosch/Siemens ones), e.g. E24 "drain blocked".
const std::vector<FaultCode>& faultCodes();
const FaultCode* findFault(std::string_view code);

struct Consumable {
  std::string key, description, product;
  double level = 100;        // percent left
  double low_threshold = 0;  // percent
  double per_cycle = 0;      // percent used by one cycle, before jitter
};

class Dishwasher {
 public:
  explicit Dishwasher(std::uint32_t seed);

  // Starting levels in percent (0..100).
  void setLevel(std::string_view key, double percent);

  // One wash cycle: uses up consumables (with up to +20 % seeded jitter). Returns false (and uses
  // nothing) while a critical fault stops the machine. A worn-out filter raises E22.
  bool runCycle();
  // "" or why not: unknown code.
  std::string raise(std::string_view code);
  // Clears one fault (or all with ""); false when it was not open.
  bool clear(std::string_view code);
  // Refills or replaces a consumable ("rinse-aid", "salt", "filter"); false for an unknown key.
  bool refill(std::string_view key);

  const std::vector<Consumable>& consumables() const { return consumables_; }
  const std::map<std::string, const FaultCode*>& faults() const { return faults_; }
  long cycles() const { return cycles_; }
  bool stopped() const;

 private:
  std::mt19937 random_;
  std::vector<Consumable> consumables_;
  std::map<std::string, const FaultCode*> faults_;
  long cycles_ = 0;
};

// A command from the device's command topic, validated. Returns "" when applied, else the reason
// it was refused (nothing changed). Commands: "run", "fault <code>", "clear [<code>]",
// "refill rinse-aid|salt", "replace filter".
std::string applyCommand(Dishwasher& d, std::string_view command, bool& run_cycle);

}  // namespace steward::dishwasher
