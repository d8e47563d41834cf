// The household's needs: one per item, with where it came from (sources), why it was opened, the
// window to order in, and its place in the lifecycle
// open → sourcing → awaiting approval → ordered → fulfilled, or cancelled / expired.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "discovery/device.hpp"
#include "discovery/signals.hpp"

namespace steward::needs {

using NeedId = std::int64_t;
using BasketId = std::int64_t;

enum class NeedState { open, sourcing, awaitingApproval, ordered, fulfilled, cancelled, expired };

std::string_view toString(NeedState s);  // "open", "sourcing", "awaiting-approval", ...
std::optional<NeedState> parseNeedState(std::string_view s);
bool isLive(NeedState s);  // not fulfilled, cancelled or expired
// Whether the lifecycle allows `from` → `to` (see engine.hpp for who moves which step).
bool canMove(NeedState from, NeedState to);

// Signal kinds and severities are named by discovery (discovery/device.hpp: toString,
// parseSignalKind, parseSeverity); the needs tables store those names.

// One device signal that asked for the need. Repeats of the same (device, key) count here and
// are not separate needs.
struct NeedSource {
  std::string device_id;
  std::string key;
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  discovery::Severity severity = discovery::Severity::info;
  core::TimePoint first_at, last_at;
  std::int64_t reports = 1;
  bool active = true;  // false once the device withdrew it or its level rose
};

struct Need {
  NeedId id = 0;
  std::string item_id;
  std::string category;
  std::string description;
  discovery::SignalKind kind = discovery::SignalKind::consumable;  // of the signal that opened it
  NeedState state = NeedState::open;
  int quantity = 1;  // consumables: one per device that needs it; services and tasks: 1

  core::TimePoint opened_at, updated_at;
  // The window to order in: from `order_from` (when it fell due) to `order_by` (the last moment
  // for it to arrive by `needed_by`, the forecast run-out or the visit/report deadline).
  core::TimePoint order_from, order_by, needed_by;
  core::TimePoint last_signal_at;  // an open need nobody repeats for `expire_after` expires
  core::Duration expire_after{};

  std::string reason;          // why it was opened, for people ("forecast: runs out ...")
  boost::json::object detail;  // forecast at opening, fault text, visit windows, meter reading
  std::vector<std::string> retailers;     // approved, in policy order
  std::optional<core::Money> unit_price;  // estimate, for the budget pre-check

  std::optional<BasketId> basket_id;
  std::string order_id;  // the live order, when ordered
  bool approval_required = false;

  // A need the gate denied stays open but held: asked again after `retry_after`, or once the
  // policy revision differs from `hold_revision`.
  bool held = false;
  std::vector<std::string> hold_reasons;
  std::string hold_revision;
  std::optional<core::TimePoint> retry_after;

  std::string closed_reason;
  std::optional<core::TimePoint> closed_at;
  std::int64_t opened_seq = 0;  // ledger sequence of the decision that opened it

  std::vector<NeedSource> sources;

  const NeedSource* source(std::string_view device_id, std::string_view key) const;
  NeedSource* source(std::string_view device_id, std::string_view key);
  std::size_t activeSources() const;
  // unit_price × quantity: what buying it is expected to cost; none without a price (or on
  // overflow).
  std::optional<core::Money> estimate() const;
};

// A group of open needs bought from one retailer in one window; what negotiation asks quotes for.
struct Basket {
  BasketId id = 0;
  std::string retailer;
  std::vector<NeedId> needs;  // most urgent first
  core::TimePoint created_at, order_by, needed_by;
  std::optional<core::Money> estimate;
  bool approval_required = false;  // the gate said needs-approval for the basket or an item
  std::string verdict;             // "allow", "needs-approval"
  std::vector<std::string> reasons;
  std::string policy_revision;
};

}  // namespace steward::needs
