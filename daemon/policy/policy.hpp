// The household policy as one immutable value: what the owner allows Steward to do, parsed once
// from policy.toml and its drop-ins (see parse.hpp) and shared as std::shared_ptr<const Policy>.
// Every module may read it; only the engine (engine.hpp) turns it into decisions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "policy/time_zone.hpp"

namespace steward::policy {

enum class PurchasingMode {
  automatic,   // "auto": orders within the limits are placed without asking
  approveAll,  // "approve-all": every action waits for the owner
  paused,      // "paused": the off switch; nothing that spends money happens
};
std::string_view toString(PurchasingMode mode);

enum class RequestKind { purchase, service, meterReport };
std::string_view toString(RequestKind kind);  // "purchase", "service", "meter-report"

struct Household {
  std::string name;
  core::Currency currency;  // every amount in the policy is in this currency
  TimeZone time_zone;       // budget months, windows and quiet hours are in this zone
  std::string region;       // delivery region: "DE" or "DE-BE" (ISO 3166)
};

struct Purchasing {
  PurchasingMode mode = PurchasingMode::approveAll;
  core::Money auto_approve_limit;  // zero unless set: in auto mode, totals above it need approval
  std::chrono::milliseconds approval_timeout = std::chrono::hours(48);  // unanswered = rejected
  std::chrono::milliseconds cancel_window = std::chrono::hours(2);
};

// How offers are ranked: relative integer weights, normalised by their sum (which is > 0).
struct OfferWeights {
  int price = 60;
  int delivery = 25;
  int rating = 15;
};

struct Offers {
  OfferWeights weights;
  int max_counter_rounds = 2;
};

struct Budget {
  std::string category;
  core::Money monthly;                   // cap on spent + reserved per calendar month
  std::optional<core::Money> per_order;  // cap on one order's total
  std::map<std::string, core::Money, std::less<>> per_retailer_monthly;
};

// An approved retailer or service provider.
struct Retailer {
  std::string id;
  std::string name;
  std::string endpoint;                    // https:// URL of its Steward vendor API
  std::vector<unsigned char> signing_key;  // raw Ed25519 public key, 32 bytes
  std::vector<unsigned char> tls_pin;      // SHA-256 of its TLS SPKI, 32 bytes; empty = no pin
  std::vector<std::string> categories;     // budget categories it may sell in
  int rating = 3;                          // 1..5, assigned by the owner

  bool serves(std::string_view category) const;
};

// What to buy when a device reports a consumable running low.
struct Item {
  std::string id;
  std::string key;                        // consumable key devices report ("toner-black")
  std::vector<std::string> device_kinds;  // applies to these kinds of device (empty = any)
  std::vector<std::string> devices;       // or to these device ids (more specific than kinds)
  std::string category;
  std::vector<std::string> products;      // acceptable product identifiers (GTIN, MPN)
  std::vector<std::string> alternatives;  // compatible substitutes
  bool substitution = false;              // may an alternative be bought instead?
  std::optional<core::Money> max_unit_price;
  int max_quantity = 1;
  std::chrono::milliseconds lead_time{0};    // how long delivery usually takes
  std::chrono::milliseconds order_ahead{0};  // order this long before lead time runs out
  std::vector<std::string> retailers;        // restrict to these (empty = any approved)
};

// A weekly window in household local time: days of the week and a time-of-day range. A range
// that ends at or before its start crosses midnight and belongs to the day it starts on.
struct TimeWindow {
  unsigned days = 0x7f;   // bit 0 = Monday .. bit 6 = Sunday
  int start_minute = 0;   // 0..1439
  int end_minute = 1440;  // 1..1440

  bool contains(std::chrono::local_time<std::chrono::milliseconds> t) const;
  std::string text;  // as written, for messages
};

struct Service {
  std::string category = "repairs";
  std::vector<std::string> providers;  // retailer ids allowed to do service visits
  std::optional<core::Money> max_call_out_fee;
  std::vector<TimeWindow> visit_windows;  // empty = any time (outside quiet hours)
  std::vector<TimeWindow> quiet_hours;
};

// When meter readings are due to the energy supplier (retailers approved for "energy").
struct MeterReports {
  int report_day = 1;    // day of the month, clamped to the month's last day
  int every_months = 1;  // 1 monthly, 3 quarterly, 12 yearly
};

// What Home Assistant may do through the hub's own entities.
struct HomeAssistant {
  bool commands = false;  // accept pause/resume and "approve the shown request" from HA
};

struct DeviceOverride {
  std::string device_id;
  bool disabled = false;
  std::string category;  // "" = keep the item's category
};

enum class Effect { permit, forbid };

// An explicit rule. Every condition given must hold for the rule to match; list conditions match
// any of their values. A condition the request has no value for makes the rule unevaluable, which
// denies (fail closed).
struct Rule {
  std::string id;
  Effect effect = Effect::forbid;
  std::string description;
  std::vector<RequestKind> kinds;
  std::vector<std::string> categories, items, retailers, devices, device_kinds;
  std::optional<core::Money> amount_above;    // matches totals strictly above
  std::optional<core::Money> amount_at_most;  // matches totals at or below
  std::vector<TimeWindow> when;               // matches at local times inside any window
  std::optional<bool> substitute;             // matches when an alternative product is (not) used
  bool require_approval = false;              // permit only: matched requests need the owner
};

struct Policy {
  Household household;
  Purchasing purchasing;
  Offers offers;
  Service service;
  MeterReports meter;
  HomeAssistant home_assistant;
  std::map<std::string, Budget, std::less<>> budgets;
  std::map<std::string, Retailer, std::less<>> retailers;
  std::map<std::string, Item, std::less<>> items;
  std::map<std::string, DeviceOverride, std::less<>> devices;
  std::vector<Rule> forbids;
  std::vector<Rule> permits;
  std::vector<std::string> sources;  // the files merged, in order
  std::string canonical;             // canonical serialisation of the merged files
  std::string revision;              // hex SHA-256 of `canonical`

  const Budget* budget(std::string_view category) const;
  const Retailer* retailer(std::string_view id) const;
  const Item* item(std::string_view id) const;
  const DeviceOverride* device(std::string_view device_id) const;
  bool deviceDisabled(std::string_view device_id) const;

  // The item for a consumable `key` reported by a device: one listing the device id wins over one
  // listing its kind, which wins over one for any device. nullptr when none applies. The parser
  // rejects policies where two items would tie.
  const Item* findItem(std::string_view device_id, std::string_view device_kind,
                       std::string_view key) const;
  // The budget category for spending on behalf of `device_id` on `item` (either may be empty):
  // the device override's category, else the item's, else `fallback`.
  std::string categoryFor(std::string_view device_id, const Item* item,
                          std::string_view fallback) const;
  // Approved retailers that may sell `item`: serve its category and, if the item lists retailers,
  // are among them. Best rating first, then by id.
  std::vector<const Retailer*> retailersFor(const Item& item) const;
  // Zero in the household currency.
  core::Money zero() const { return core::Money{0, household.currency}; }
};

}  // namespace steward::policy
