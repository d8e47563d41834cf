// The device registry: one Device per physical device however many sources report it, kept in
// memory and persisted in the hub's SQLite database (tables `devices` and `device_needs`,
// migration component "registry"). Admissions, merges, removals, availability and need changes
// commit at once, together with their ledger decisions; "last seen" and level changes are
// batched and written by flush(), so a steady stream of unchanged state costs no disk writes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "discovery/device.hpp"
#include "discovery/source.hpp"
#include "ledger/ledger.hpp"

namespace steward::discovery {

enum class DeviceEventType { appeared, changed, gone };

struct DeviceEvent {
  DeviceEventType type = DeviceEventType::changed;
  const Device& device;     // for `gone`, the device as it was
  std::string merged_into;  // `gone` because merged: the device it became part of
};

class Registry {
 public:
  struct Options {
    std::size_t max_devices = 1000;
    std::size_t max_needs_per_device = 32;  // open needs; levels are capped at twice this
  };
  using DeviceHandler = std::function<void(const DeviceEvent&)>;
  using SignalHandler = std::function<void(const NeedSignal&)>;

  Registry(ledger::Ledger& ledger, const core::Clock& clock, Options options);

  // Creates or upgrades the tables and loads every device. Call once, before apply().
  core::Result<void> load();

  // Applies what a source said. A rejection (unknown device, caps, spoofing, storage failure)
  // leaves the registry and the database exactly as they were.
  std::optional<Rejection> apply(DeviceUpdate update);

  // Writes the batched "last seen" and level changes. Safe to call at any time.
  core::Result<void> flush();

  void onDeviceEvent(DeviceHandler handler) { device_handlers_.push_back(std::move(handler)); }
  // Every level reading is passed on with its own time, changed or not (the forecast needs
  // them all); other signals only when they open, change or clear a need.
  void onNeedSignal(SignalHandler handler) { signal_handlers_.push_back(std::move(handler)); }

  const Device* find(std::string_view id) const;
  const Device* findBySource(const SourceRef& ref) const;
  std::vector<const Device*> devices() const;  // ordered by id
  std::size_t size() const { return devices_.size(); }
  std::size_t pendingFlush() const { return dirty_.size(); }

 private:
  struct Effects {
    std::vector<NeedSignal> emit;  // signals to hand to the needs module after commit
    bool needs_changed = false;    // open needs opened, changed or closed: commit now
    bool levels_changed = false;   // only levels moved: batch
  };

  Device* lookup(const DeviceUpdate& u, std::vector<std::string>& others);
  // Applies signals to `d` (or only classifies them when `dry`), filling `effects`.
  std::optional<Rejection> applySignals(Device& d, std::vector<NeedSignal>& signals,
                                        Effects& effects, bool dry) const;
  bool mergeFields(Device& d, DeviceUpdate& u) const;  // true when identity fields changed
  // Writes `d` (when given), deletes `deleted` and records `decision`, in one transaction.
  std::optional<Rejection> persist(const Device* d, const std::vector<std::string>& deleted,
                                   const ledger::Decision* decision);
  void index(const Device& d);
  void unindex(const Device& d);
  void emit(DeviceEventType type, const Device& d, const std::string& merged_into = {});
  void emitSignals(const std::vector<NeedSignal>& signals);

  ledger::Ledger& ledger_;
  const core::Clock& clock_;
  Options options_;
  std::map<std::string, Device, std::less<>> devices_;
  std::unordered_map<std::string, std::string> by_source_;      // "src:id" -> device id
  std::unordered_map<std::string, std::string> by_identifier_;  // identifier -> device id
  std::unordered_set<std::string> dirty_;                       // ids with batched changes
  std::vector<DeviceHandler> device_handlers_;
  std::vector<SignalHandler> signal_handlers_;
  bool loaded_ = false;
};

// JSON forms used in the database and by report.cpp.
std::string signalToJson(const NeedSignal& s);
std::optional<NeedSignal> signalFromJson(std::string_view text);
std::string levelsToJson(const std::map<std::string, Level>& levels);
std::map<std::string, Level> levelsFromJson(std::string_view text);

}  // namespace steward::discovery
