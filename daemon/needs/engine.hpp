// The needs engine: turns device signals into a short, deduplicated list of household needs,
// forecasts run-out dates from level readings, groups due needs into baskets per retailer, asks
// the Gate about each basket, and moves needs through their lifecycle. Every open, merge,
// grouping and close is recorded in the ledger in the same transaction as the state change.
//
// Decisions it records (subject "need:<id>" unless noted):
//   need.opened (outcome "opened" or "opened-early" to join a basket), need.merged (another
//   device or signal asks for the same item), need.escalated (a more severe repeat),
//   need.source-withdrawn / need.source-satisfied, need.held (the gate denied the item or its
//   basket), needs.grouped (subject "basket:<id>", outcome the gate's verdict),
//   need.sourcing, need.awaiting-approval, need.ordered, need.reopened, and need.closed
//   (outcome "fulfilled", "cancelled" or "expired").
// Each operation runs in its own transaction, or joins the caller's (see the lifecycle steps).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "discovery/signals.hpp"
#include "ledger/ledger.hpp"
#include "needs/catalog.hpp"
#include "needs/forecast.hpp"
#include "needs/gate.hpp"
#include "needs/need.hpp"
#include "needs/store.hpp"

namespace steward::needs {

using core::Result;

struct NeedsConfig {
  std::size_t max_needs_per_device = 32;   // the daemon's limits.max_needs_per_device
  std::size_t max_series_per_device = 64;  // level series (consumables) tracked per device
  std::size_t max_meters_per_device = 16;
  SeriesParams series;  // forecast, refill detection, readings kept per consumable
  // A new need waits this long for others to join its basket, unless a source is critical.
  core::Duration settle = std::chrono::minutes{15};
  // Forecast needs of the same retailer falling due within this may join a basket early.
  core::Duration group_ahead = std::chrono::days{7};
  // After a need closes, its sources open no new need for this long unless the device clears
  // the signal or the level rises (a cancelled item is not re-opened by the next reading).
  core::Duration quiet_after_close = std::chrono::days{14};
  core::Duration report_grace = std::chrono::days{7};  // meter reading task: due day + this
  // How long past the visit lead time a repair may wait, by severity (critical: none).
  core::Duration warning_slack = std::chrono::days{7};
  core::Duration info_slack = std::chrono::days{30};
  std::size_t max_id = 128;    // device id and signal key, bytes
  std::size_t max_text = 512;  // description and product hint, bytes
};

struct SignalOutcome {
  enum class Action {
    ignored,    // the catalog does not track it
    observed,   // a reading was stored; nothing is due
    opened,     // a new need
    merged,     // joined the live need for the same item
    repeated,   // the same source asked again for its live need
    withdrawn,  // the device withdrew it (the need may have closed)
    refilled,   // the level rose (the need may be fulfilled)
  };
  Action action = Action::ignored;
  std::optional<NeedId> need;
};

struct TickOutcome {
  int opened = 0;
  int baskets = 0;
  int held = 0;
  int expired = 0;
  int failures = 0;  // actions that failed and were rolled back (logged)
};

struct SeriesView {
  std::string device_id, key, item_id, unit;
  Forecast forecast;
  std::optional<core::TimePoint> due;  // run-out − lead − safety
  int refills = 0;
  std::size_t readings = 0;
};

class NeedsEngine {
 public:
  using BasketListener = std::function<void(const Basket&)>;
  using NeedListener = std::function<void(const Need&)>;

  // Brings the needs schema up to date and reloads live needs, series and meters.
  static Result<std::unique_ptr<NeedsEngine>> open(ledger::Ledger& ledger, const Catalog& catalog,
                                                   Gate& gate, const core::Clock& clock,
                                                   core::Logger& log, NeedsConfig config = {});

  // One signal from discovery. A rejected signal (malformed, over a cap, out of order) gets an
  // error and changes nothing; the caller logs it.
  Result<SignalOutcome> onSignal(const discovery::NeedSignal& signal);

  // Time-driven work; call from a timer (minutes) and after signals: opens needs whose forecast
  // fell due, meter reading tasks, expires open needs nobody repeats, forms and checks baskets.
  // Failed actions are logged and rolled back one by one; the rest go ahead.
  TickOutcome tick();

  // Lifecycle steps for purchasing and approval. Each refuses an illegal move (or a second live
  // order) with an error and changes nothing. `causes` are the decisions that moved the need (the
  // approval, the purchase), recorded before the need's own opening so `explain` follows the
  // whole chain. Inside an open ledger transaction (another module's unit of work) the step joins
  // it and this engine's memory follows only once that commits.
  using Causes = std::span<const std::int64_t>;
  Result<void> markSourcing(NeedId id, std::string_view reason = {}, Causes causes = {});
  Result<void> awaitingApproval(NeedId id, std::string_view reason = {}, Causes causes = {});
  Result<void> ordered(NeedId id, std::string_view order_id, Causes causes = {});
  Result<void> fulfilled(NeedId id, std::string_view reason = "delivery confirmed",
                         Causes causes = {});
  Result<void> cancelled(NeedId id, std::string_view reason, Causes causes = {});
  Result<void> expired(NeedId id, std::string_view reason, Causes causes = {});
  // Back to open (no acceptable offer, order failed): it will be grouped and checked again.
  Result<void> reopen(NeedId id, std::string_view reason, Causes causes = {});

  // Baskets whose needs went to sourcing, as stored (the purchasing module picks up any it has
  // not yet taken, e.g. after a crash between the basket's commit and its own).
  std::vector<Basket> basketsInSourcing() const;

  // The registry dropped a device: withdraw its signals and forget its series and meters.
  Result<void> forgetDevice(std::string_view device_id);

  std::vector<Need> liveNeeds() const;  // by id
  std::optional<Need> liveNeed(NeedId id) const;
  std::optional<SeriesView> series(std::string_view device_id, std::string_view key) const;

  // Called after the commit that made a basket ready to source (most urgent first) / closed a need.
  void onBasketReady(BasketListener listener) { basket_ready_ = std::move(listener); }
  void onNeedClosed(NeedListener listener) { need_closed_ = std::move(listener); }

  ~NeedsEngine();
  NeedsEngine(const NeedsEngine&) = delete;
  NeedsEngine& operator=(const NeedsEngine&) = delete;

 private:
  using Key = std::pair<std::string, std::string>;  // (device id, signal key)
  struct Series;
  struct Change;
  struct OpenRequest;

  NeedsEngine(ledger::Ledger& ledger, const Catalog& catalog, Gate& gate, const core::Clock& clock,
              core::Logger& log, NeedsConfig config);
  Result<void> load();

  // Runs `action` inside one transaction; on success persists the change, commits, applies it
  // to memory and notifies listeners. On failure nothing is kept.
  template <class T>
  Result<T> transact(const std::function<Result<T>(Change&)>& action);
  Result<void> persist(Change& ch);
  void apply(Change& ch);

  Result<std::int64_t> record(std::string kind, std::string subject, boost::json::value input,
                              std::string outcome, std::vector<std::string> reasons,
                              std::string revision, std::vector<std::int64_t> causes);

  // Views through the pending change.
  Need& mutableNeed(Change& ch, NeedId id);
  std::optional<NeedId> liveNeedFor(Change& ch, std::string_view item_id);
  std::vector<NeedId> liveNeedIds(Change& ch);
  const Need& viewNeed(Change& ch, NeedId id);
  std::size_t liveNeedsOfDevice(Change& ch, std::string_view device_id);
  bool quiet(Change& ch, const Key& key, core::TimePoint now);

  Result<SignalOutcome> levelSignal(Change& ch, const discovery::NeedSignal& s,
                                    const CatalogItem& item);
  Result<SignalOutcome> serviceSignal(Change& ch, const discovery::NeedSignal& s,
                                      const CatalogItem& item);
  Result<SignalOutcome> meterSignal(Change& ch, const discovery::NeedSignal& s,
                                    const CatalogItem& item);
  Result<SignalOutcome> withdraw(Change& ch, const Key& key, std::string_view reason);
  Result<void> satisfy(Change& ch, const Key& key, std::string reason);
  Result<SignalOutcome> openOrMerge(Change& ch, const CatalogItem& item, const OpenRequest& req);
  std::optional<OpenRequest> forecastRequest(const Series& s, const CatalogItem& item,
                                             core::TimePoint now) const;
  Result<void> move(Change& ch, NeedId id, NeedState to, std::string reason,
                    std::string order_id = {}, Causes causes = {});
  Result<void> transition(NeedId id, NeedState to, std::string_view reason,
                          std::string_view order_id = {}, Causes causes = {});

  void tickQuiet(TickOutcome& out);
  void tickForecasts(TickOutcome& out);
  // A tick step that may open a need: counts it, or logs and counts the failure.
  void countOpening(const Result<SignalOutcome>& r, const char* step, const Key& key,
                    TickOutcome& out);
  void tickMeters(TickOutcome& out);
  void tickExpiry(TickOutcome& out);
  void tickBaskets(TickOutcome& out);
  bool settled(const Need& n, core::TimePoint now) const;
  struct BasketResult {
    bool sourced = false;  // the basket went to sourcing
    int held = 0;          // needs the gate held back
  };
  Result<BasketResult> sourceBasket(Change& ch, std::vector<NeedId> members,
                                    const std::string& retailer);

  CatalogQuery queryFor(const Series& s) const;
  store::SeriesRow seriesRow(const Series& s) const;

  ledger::Ledger& ledger_;
  const Catalog& catalog_;
  Gate& gate_;
  const core::Clock& clock_;
  core::Logger& log_;
  NeedsConfig config_;

  std::map<NeedId, Need> needs_;  // live needs only; closed ones stay in the database
  std::map<std::string, NeedId, std::less<>> live_by_item_;
  std::map<Key, std::unique_ptr<Series>> series_;
  std::map<Key, store::MeterRow> meters_;
  std::map<Key, store::QuietRow> quiet_;
  BasketListener basket_ready_;
  NeedListener need_closed_;
};

}  // namespace steward::needs
