// The owner's off switch: purchasing paused for the whole household or for one device, with who
// paused it and when. Persisted, and every change is a decision (purchasing.paused/resumed)
// recorded in the same transaction.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "ledger/ledger.hpp"

namespace steward::ledger {

struct Pause {
  std::string device;  // "" = all purchasing
  std::uint32_t uid = 0;
  core::TimePoint since;
  std::string reason;
  std::int64_t decision_seq = 0;
};

boost::json::object toJson(const Pause& p);

class Controls {
 public:
  // Brings the "controls" tables up to date. `ledger` and `clock` must outlive this.
  static Result<Controls> open(Ledger& ledger, const core::Clock& clock);

  // `device` "" pauses all purchasing. Fails, changing nothing, when that scope is already
  // paused (the error says since when and by whom) or the device id is malformed.
  // `channel` is how the owner asked ("dbus", "home-assistant"; "" = "dbus"); it is recorded.
  Result<Pause> pause(std::string_view device, std::uint32_t uid, std::string_view reason = {},
                      std::string_view channel = {});
  // Fails, changing nothing, when that scope is not paused.
  Result<RecordedDecision> resume(std::string_view device, std::uint32_t uid,
                                  std::string_view channel = {});

  // Whether purchasing for `device` is paused, globally or for that device: the pause that
  // applies (the global one first), or nullopt.
  Result<std::optional<Pause>> pausedFor(std::string_view device);
  Result<bool> globallyPaused();

 private:
  Controls(Ledger& ledger, const core::Clock& clock) : ledger_(&ledger), clock_(&clock) {}

  Ledger* ledger_;
  const core::Clock* clock_;
};

// Every pause in force, global first; empty when the table is absent. Read-only connections OK.
Result<std::vector<Pause>> listPauses(Database& db);

}  // namespace steward::ledger
