// See engine.hpp. Every public operation runs in one ledger transaction over a Change: the
// needs, series, meters and quiet marks it touches are copied into the Change, modified there,
// written with the decisions, committed, and only then applied to memory, so a failure at any
// point leaves both the database and memory as they were.
#include "needs/engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/duration.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {
namespace {

// The ledger's caps on one decision (ledger/sqlite_ledger.hpp).
constexpr std::size_t kMaxReasons = 64;
constexpr std::size_t kMaxCauses = 64;
constexpr std::size_t kMaxReasonBytes = 1024;

// Cuts at a UTF-8 character boundary.
std::string clip(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  s.resize(cut);
  return s + "...";
}

bool hasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string subjectOf(NeedId id) {
  return "need:" + std::to_string(id);
}

bool isLevelKind(discovery::SignalKind k) {
  return k == discovery::SignalKind::consumable || k == discovery::SignalKind::battery;
}

int severityRank(discovery::Severity s) {
  switch (s) {
    case discovery::Severity::info:
      return 0;
    case discovery::Severity::warning:
      return 1;
    case discovery::Severity::critical:
      return 2;
  }
  return 0;
}

// Consumables: one per device that needs it; services and tasks: one.
int quantityOf(const Need& n) {
  if (!isLevelKind(n.kind)) return 1;
  std::set<std::string> devices;
  for (const auto& s : n.sources)
    if (s.active && isLevelKind(s.kind)) devices.insert(s.device_id);
  return std::max<int>(1, static_cast<int>(devices.size()));
}

boost::json::value timeJson(const std::optional<core::TimePoint>& t) {
  if (!t) return nullptr;
  return boost::json::value(formatUtc(*t));
}

const char* statusName(ForecastStatus s) {
  switch (s) {
    case ForecastStatus::insufficient:
      return "insufficient";
    case ForecastStatus::idle:
      return "idle";
    case ForecastStatus::depleting:
      return "depleting";
  }
  return "?";
}

boost::json::object forecastJson(const Forecast& f, const std::string& unit, core::TimePoint now) {
  boost::json::object o;
  o["status"] = statusName(f.status);
  o["level"] = std::round(f.level * 10.0) / 10.0;
  o["unit"] = unit;
  o["rate_per_day"] = std::round(f.rate_per_day * 1000.0) / 1000.0;
  o["runout"] = timeJson(f.runout);
  o["readings"] = f.points;
  o["last_reading"] = timeJson(f.points ? std::optional(f.last_at) : std::nullopt);
  o["stale"] = f.staleAt(now);
  return o;
}

std::optional<core::Money> times(const std::optional<core::Money>& unit, int quantity) {
  if (!unit || quantity < 0 || unit->minor > INT64_MAX / std::max(quantity, 1)) return std::nullopt;
  return core::Money{unit->minor * quantity, unit->currency};
}

// What the gate is asked about one need bought from `retailer`.
ItemCheck itemCheck(const Need& n, const std::string& retailer, core::TimePoint now) {
  ItemCheck c;
  c.need_id = n.id;
  c.item_id = n.item_id;
  c.category = n.category;
  c.quantity = n.quantity;
  c.unit_price = n.unit_price;
  c.estimate = times(n.unit_price, n.quantity);
  for (const auto& src : n.sources)
    if (src.active) c.devices.push_back(src.device_id);
  c.retailer = retailer;
  c.needed_by = n.needed_by;
  c.at = now;
  return c;
}

boost::json::value moneyJson(const std::optional<core::Money>& m) {
  if (!m) return nullptr;
  return boost::json::value(core::formatMoney(*m));
}

}  // namespace

struct NeedsEngine::Series {
  std::string device_id, key, item_id, unit;
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  LevelSeries levels;
  Forecast forecast;
  std::optional<core::TimePoint> due;
  std::optional<core::TimePoint> last_refill_at;
};

struct NeedsEngine::Change {
  core::TimePoint now;
  std::map<NeedId, Need> needs;
  std::map<Key, std::optional<Series>> series;  // nullopt: delete
  std::set<Key> observed;                       // series whose readings changed
  std::map<Key, std::optional<store::MeterRow>> meters;
  std::map<Key, std::optional<store::QuietRow>> quiet;
  std::set<BasketId> touched_baskets;
  std::vector<Basket> ready;
  std::vector<NeedId> closed;
};

struct NeedsEngine::OpenRequest {
  std::string device_id, key;
  discovery::SignalKind kind = discovery::SignalKind::consumable;
  discovery::Severity severity = discovery::Severity::info;
  std::string reason;
  std::string outcome = "opened";
  core::TimePoint order_from, order_by, needed_by;
  boost::json::object evidence;
};

NeedsEngine::NeedsEngine(ledger::Ledger& ledger, const Catalog& catalog, Gate& gate,
                         const core::Clock& clock, core::Logger& log, NeedsConfig config)
    : ledger_(ledger),
      catalog_(catalog),
      gate_(gate),
      clock_(clock),
      log_(log),
      config_(std::move(config)) {}

NeedsEngine::~NeedsEngine() = default;

Result<std::unique_ptr<NeedsEngine>> NeedsEngine::open(ledger::Ledger& ledger,
                                                       const Catalog& catalog, Gate& gate,
                                                       const core::Clock& clock, core::Logger& log,
                                                       NeedsConfig config) {
  std::unique_ptr<NeedsEngine> engine(
      new NeedsEngine(ledger, catalog, gate, clock, log, std::move(config)));
  if (auto r = engine->load(); !r) return r.error();
  return engine;
}

Result<void> NeedsEngine::load() {
  ledger::Database& db = ledger_.database();
  if (auto r = store::migrate(db); !r) return r;
  auto needs = store::loadNeeds(db, false);
  if (!needs) return needs.error();
  for (auto& n : *needs) {
    live_by_item_[n.item_id] = n.id;
    needs_.emplace(n.id, std::move(n));
  }
  auto series = store::loadSeries(db, true);
  if (!series) return series.error();
  for (auto& row : *series) {
    auto s = std::make_unique<Series>();
    s->device_id = row.device_id;
    s->key = row.key;
    s->item_id = row.item_id;
    s->unit = row.unit;
    s->kind = row.kind;
    s->levels = LevelSeries(std::move(row.segment), std::move(row.pending), row.refills);
    s->forecast = row.forecast;  // exactly what was computed from these readings
    s->due = row.due;
    s->last_refill_at = row.last_refill_at;
    series_.emplace(Key{row.device_id, row.key}, std::move(s));
  }
  auto meters = store::loadMeters(db);
  if (!meters) return meters.error();
  for (auto& m : *meters)
    meters_.emplace(Key{m.device_id, m.key}, std::move(m));
  auto quiet = store::loadQuiet(db);
  if (!quiet) return quiet.error();
  for (auto& q : *quiet)
    quiet_.emplace(Key{q.device_id, q.key}, std::move(q));
  return {};
}

// ---- transactions -----------------------------------------------------------------------------

template <class T>
Result<T> NeedsEngine::transact(const std::function<Result<T>(Change&)>& action) {
  // Memory follows the commit of the outermost transaction: inside another module's unit of
  // work (a savepoint here), the change is applied only once that commits, and never if it rolls
  // back. Until then this engine still shows the state before the change.
  ledger::Database& db = ledger_.database();
  const bool joined = db.inTransaction();
  ledger::Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto ch = std::make_shared<Change>();
  ch->now = clock_.now();
  auto result = action(*ch);
  if (!result) return result.error();
  if (auto r = persist(*ch); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  if (joined) {
    db.afterCommit([this, ch] { apply(*ch); });
  } else {
    apply(*ch);
  }
  return result;
}

Result<void> NeedsEngine::persist(Change& ch) {
  ledger::Database& db = ledger_.database();
  for (const auto& [id, n] : ch.needs)
    if (auto r = store::updateNeed(db, n); !r) return r;
  for (const auto& [key, s] : ch.series) {
    if (!s) {
      if (auto r = store::deleteSeries(db, key.first, key.second); !r) return r;
      continue;
    }
    if (auto r = store::saveSeries(db, seriesRow(*s)); !r) return r;
    if (ch.observed.count(key)) {
      if (auto r = store::syncObservations(db, key.first, key.second, s->levels.segment(),
                                           s->levels.pending());
          !r)
        return r;
    }
  }
  for (const auto& [key, m] : ch.meters) {
    auto r = m ? store::saveMeter(db, *m) : store::deleteMeter(db, key.first, key.second);
    if (!r) return r;
  }
  for (const auto& [key, q] : ch.quiet) {
    auto r = q ? store::setQuiet(db, *q) : store::clearQuiet(db, key.first, key.second);
    if (!r) return r;
  }
  // A basket is done once none of its needs is still being sourced or ordered through it.
  for (BasketId b : ch.touched_baskets) {
    bool busy = false;
    for (NeedId id : liveNeedIds(ch)) {
      const Need& n = viewNeed(ch, id);
      busy = busy || (n.basket_id == b && n.state != NeedState::open);
    }
    if (!busy)
      if (auto r = store::setBasketState(db, b, "closed"); !r) return r;
  }
  return {};
}

void NeedsEngine::apply(Change& ch) {
  for (auto& [id, n] : ch.needs) {
    if (isLive(n.state)) {
      live_by_item_[n.item_id] = id;
      needs_[id] = n;
    } else {
      if (auto it = live_by_item_.find(n.item_id); it != live_by_item_.end() && it->second == id)
        live_by_item_.erase(it);
      needs_.erase(id);
    }
  }
  for (auto& [key, s] : ch.series) {
    if (s) {
      series_[key] = std::make_unique<Series>(std::move(*s));
    } else {
      series_.erase(key);
    }
  }
  for (auto& [key, m] : ch.meters) {
    if (m) {
      meters_[key] = std::move(*m);
    } else {
      meters_.erase(key);
    }
  }
  for (auto& [key, q] : ch.quiet) {
    if (q) {
      quiet_[key] = std::move(*q);
    } else {
      quiet_.erase(key);
    }
  }
  // Listeners last: they may call back into the engine.
  for (NeedId id : ch.closed) {
    const Need& n = ch.needs.at(id);
    log_.info("need.closed", {{"need", id}, {"item", n.item_id}, {"state", toString(n.state)}});
    if (need_closed_) need_closed_(n);
  }
  for (const Basket& b : ch.ready) {
    log_.info("basket.ready",
              {{"basket", b.id}, {"retailer", b.retailer}, {"needs", b.needs.size()}});
    if (basket_ready_) basket_ready_(b);
  }
}

Result<std::int64_t> NeedsEngine::record(std::string kind, std::string subject,
                                         boost::json::value input, std::string outcome,
                                         std::vector<std::string> reasons, std::string revision,
                                         std::vector<std::int64_t> causes) {
  // Within the ledger's caps: a long device text or a huge basket is clipped, not refused.
  if (reasons.size() > kMaxReasons) reasons.resize(kMaxReasons);
  for (auto& r : reasons)
    r = clip(std::move(r), kMaxReasonBytes);
  if (causes.size() > kMaxCauses) causes.resize(kMaxCauses);
  ledger::Decision d{std::move(kind),    std::move(subject),  std::move(input), std::move(outcome),
                     std::move(reasons), std::move(revision), std::move(causes)};
  auto r = ledger_.record(d);
  if (!r) return r.error();
  return r->seq;
}

// ---- views through a change -------------------------------------------------------------------

Need& NeedsEngine::mutableNeed(Change& ch, NeedId id) {
  auto it = ch.needs.find(id);
  if (it != ch.needs.end()) return it->second;
  return ch.needs.emplace(id, needs_.at(id)).first->second;
}

const Need& NeedsEngine::viewNeed(Change& ch, NeedId id) {
  auto it = ch.needs.find(id);
  return it != ch.needs.end() ? it->second : needs_.at(id);
}

std::optional<NeedId> NeedsEngine::liveNeedFor(Change& ch, std::string_view item_id) {
  for (const auto& [id, n] : ch.needs)
    if (n.item_id == item_id && isLive(n.state)) return id;
  auto it = live_by_item_.find(item_id);
  if (it == live_by_item_.end() || ch.needs.count(it->second)) return std::nullopt;
  return it->second;
}

std::vector<NeedId> NeedsEngine::liveNeedIds(Change& ch) {
  std::vector<NeedId> ids;
  for (const auto& [id, n] : needs_)
    if (!ch.needs.count(id)) ids.push_back(id);
  for (const auto& [id, n] : ch.needs)
    if (isLive(n.state)) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::size_t NeedsEngine::liveNeedsOfDevice(Change& ch, std::string_view device_id) {
  std::size_t count = 0;
  for (NeedId id : liveNeedIds(ch)) {
    const Need& n = viewNeed(ch, id);
    count += std::any_of(n.sources.begin(), n.sources.end(),
                         [&](const NeedSource& s) { return s.active && s.device_id == device_id; });
  }
  return count;
}

bool NeedsEngine::quiet(Change& ch, const Key& key, core::TimePoint now) {
  if (auto it = ch.quiet.find(key); it != ch.quiet.end())
    return it->second && it->second->until > now;
  auto it = quiet_.find(key);
  return it != quiet_.end() && it->second.until > now;
}

CatalogQuery NeedsEngine::queryFor(const Series& s) const {
  return CatalogQuery{s.device_id, s.kind, s.key, "", s.unit};
}

store::SeriesRow NeedsEngine::seriesRow(const Series& s) const {
  store::SeriesRow r;
  r.device_id = s.device_id;
  r.key = s.key;
  r.item_id = s.item_id;
  r.kind = s.kind;
  r.unit = s.unit;
  r.refills = s.levels.refills();
  r.last_refill_at = s.last_refill_at;
  r.forecast = s.forecast;
  r.due = s.due;
  return r;
}

// ---- signals ----------------------------------------------------------------------------------

Result<SignalOutcome> NeedsEngine::onSignal(const discovery::NeedSignal& s) {
  const std::string where =
      "signal from \"" + clip(s.device_id, 64) + "\" about \"" + clip(s.key, 64) + "\"";
  if (s.device_id.empty() || s.key.empty())
    return core::fail(where + ": device id and key must not be empty");
  if (s.device_id.size() > config_.max_id || s.key.size() > config_.max_id || s.unit.size() > 32)
    return core::fail(where + ": device id or key longer than " + std::to_string(config_.max_id) +
                      " bytes, or unit longer than 32");
  if (s.description.size() > config_.max_text || s.product_hint.size() > config_.max_text)
    return core::fail(where + ": description or product hint longer than " +
                      std::to_string(config_.max_text) + " bytes");
  for (std::string_view text :
       {std::string_view(s.device_id), std::string_view(s.key), std::string_view(s.unit),
        std::string_view(s.description), std::string_view(s.product_hint)})
    if (hasControl(text)) return core::fail(where + ": control characters in a text field");
  if (s.level) {
    if (!std::isfinite(*s.level)) return core::fail(where + ": level is not a finite number");
    if (*s.level < 0.0) return core::fail(where + ": level " + number(*s.level) + " is negative");
    if (s.unit == "%" && *s.level > 100.0)
      return core::fail(where + ": level " + number(*s.level) + " % is above 100 %");
  }
  if (s.low_threshold && !std::isfinite(*s.low_threshold))
    return core::fail(where + ": low threshold is not a finite number");

  if (s.cleared) {
    const Key key{s.device_id, s.key};
    return transact<SignalOutcome>([&](Change& ch) {
      return withdraw(
          ch, key,
          "the device withdrew its " + std::string(toString(s.kind)) + " signal \"" + s.key + "\"");
    });
  }
  const auto item =
      catalog_.lookup(CatalogQuery{s.device_id, s.kind, s.key, s.product_hint, s.unit});
  if (!item) return SignalOutcome{};
  if (item->item_id.empty()) return core::fail(where + ": the catalog gave an empty item id");
  return transact<SignalOutcome>([&](Change& ch) -> Result<SignalOutcome> {
    switch (s.kind) {
      case discovery::SignalKind::consumable:
      case discovery::SignalKind::battery:
        return levelSignal(ch, s, *item);
      case discovery::SignalKind::fault:
      case discovery::SignalKind::outage:
        return serviceSignal(ch, s, *item);
      case discovery::SignalKind::meter:
        return meterSignal(ch, s, *item);
    }
    return SignalOutcome{};
  });
}

Result<SignalOutcome> NeedsEngine::levelSignal(Change& ch, const discovery::NeedSignal& s,
                                               const CatalogItem& item) {
  const Key key{s.device_id, s.key};
  const core::TimePoint now = ch.now;
  SignalOutcome outcome{SignalOutcome::Action::observed, std::nullopt};
  Series* series = nullptr;

  if (s.level) {
    auto existing = series_.find(key);
    if (existing == series_.end()) {
      std::size_t of_device = 0;
      for (const auto& [k, v] : series_)
        of_device += k.first == s.device_id;
      if (of_device >= config_.max_series_per_device)
        return core::fail("device \"" + s.device_id + "\" already has " +
                          std::to_string(of_device) + " tracked levels (the limit)");
      ch.series[key] = Series{};
    } else {
      ch.series[key] = *existing->second;
    }
    series = &*ch.series[key];
    series->device_id = s.device_id;
    series->key = s.key;
    series->kind = s.kind;
    series->item_id = item.item_id;
    if (series->unit != s.unit) {
      series->levels = LevelSeries();  // a different unit starts a new series
      series->unit = s.unit;
    }
    if (auto newest = series->levels.newest(); newest && s.observed_at < *newest)
      return core::fail("reading of \"" + s.key + "\" from \"" + s.device_id + "\" at " +
                        formatUtc(s.observed_at) + " is older than the last one (" +
                        formatUtc(*newest) + ")");
    SeriesParams params = config_.series;
    params.forecast.empty_level = item.empty_level;
    params.full_scale = s.unit == "%" ? 100.0 : 0.0;
    const auto observed = series->levels.observe(Observation{s.observed_at, *s.level}, params);
    if (observed.outcome != LevelSeries::Outcome::duplicate) ch.observed.insert(key);
    series->forecast = series->levels.forecast(params.forecast);
    series->due.reset();
    if (series->forecast.runout)
      series->due = *series->forecast.runout - item.lead_time - item.safety;
    if (observed.outcome == LevelSeries::Outcome::refilled) {
      series->last_refill_at = s.observed_at;
      ch.quiet[key] = std::nullopt;
      if (auto r = satisfy(ch, key,
                           "level rose from " + number(observed.from_level) + " to " +
                               number(observed.to_level) + " " + s.unit + " on " + s.device_id);
          !r)
        return r.error();
      outcome.action = SignalOutcome::Action::refilled;
      return outcome;
    }
  }

  if (quiet(ch, key, now)) return outcome;
  const bool empty = s.level && *s.level <= item.empty_level;
  std::optional<OpenRequest> req;
  if (s.low || empty) {
    OpenRequest r;
    r.device_id = s.device_id;
    r.key = s.key;
    r.kind = s.kind;
    r.severity = discovery::Severity::warning;
    r.order_from = now;
    r.needed_by = now + item.lead_time;
    if (series && series->forecast.runout && *series->forecast.runout > r.needed_by)
      r.needed_by = *series->forecast.runout;
    r.order_by = r.needed_by - item.lead_time;
    r.reason = (empty ? "device reports " + item.description + " empty"
                      : "device reports " + item.description + " low") +
               (s.level ? " (" + number(*s.level) + " " + s.unit + ")" : std::string()) + " on " +
               s.device_id;
    r.evidence["signal"] = empty ? "empty" : "low";
    if (s.level) r.evidence["level"] = *s.level;
    if (series) r.evidence["forecast"] = forecastJson(series->forecast, series->unit, now);
    req = std::move(r);
  } else if (series) {
    req = forecastRequest(*series, item, now);
  }
  if (req) {
    auto r = openOrMerge(ch, item, *req);
    if (!r) return r.error();
    return *r;
  }
  // Nothing due: still a sign of life from a source of a live need.
  if (auto id = liveNeedFor(ch, item.item_id)) {
    Need& n = mutableNeed(ch, *id);
    if (NeedSource* src = n.source(s.device_id, s.key); src && src->active) {
      src->reports += 1;
      src->last_at = now;
      n.last_signal_at = now;
      outcome.need = *id;
    } else {
      ch.needs.erase(*id);  // untouched after all
    }
  }
  return outcome;
}

std::optional<NeedsEngine::OpenRequest> NeedsEngine::forecastRequest(const Series& s,
                                                                     const CatalogItem& item,
                                                                     core::TimePoint now) const {
  const Forecast& f = s.forecast;
  if (f.status != ForecastStatus::depleting || !f.runout) return std::nullopt;
  const core::TimePoint due = *f.runout - item.lead_time - item.safety;
  if (due > now) return std::nullopt;
  OpenRequest r;
  r.device_id = s.device_id;
  r.key = s.key;
  r.kind = s.kind;
  r.order_from = due;
  r.needed_by = *f.runout;
  r.order_by = *f.runout - item.lead_time;
  r.reason = "forecast: " + item.description + " on " + s.device_id + " runs out around " +
             formatDay(*f.runout) + " (" + number(f.level) + " " + s.unit + " at " +
             formatUtc(f.last_at) + ", using " + number(f.rate_per_day) + " " + s.unit +
             "/day over " + std::to_string(f.points) + " readings); ordering " +
             core::formatDuration(item.lead_time + item.safety) + " ahead (lead " +
             core::formatDuration(item.lead_time) + " + safety " +
             core::formatDuration(item.safety) + ")";
  if (f.staleAt(now))
    r.reason += "; no reading since " + formatUtc(f.last_at) + ", the forecast is extrapolated";
  r.evidence["forecast"] = forecastJson(f, s.unit, now);
  r.evidence["due"] = formatUtc(due);
  return r;
}

Result<SignalOutcome> NeedsEngine::serviceSignal(Change& ch, const discovery::NeedSignal& s,
                                                 const CatalogItem& item) {
  const Key key{s.device_id, s.key};
  if (quiet(ch, key, ch.now)) return SignalOutcome{SignalOutcome::Action::observed, std::nullopt};
  const core::Duration slack = s.severity == discovery::Severity::critical  ? core::Duration{0}
                               : s.severity == discovery::Severity::warning ? config_.warning_slack
                                                                            : config_.info_slack;
  OpenRequest r;
  r.device_id = s.device_id;
  r.key = s.key;
  r.kind = s.kind;
  r.severity = s.severity;
  r.order_from = ch.now;
  r.needed_by = ch.now + item.lead_time + slack;
  r.order_by = ch.now + slack;
  const std::string severity(toString(s.severity));
  r.reason = s.kind == discovery::SignalKind::fault
                 ? "fault " + s.key + " (" + severity + ") reported by " + s.device_id
                 : "outage of " + s.key + " (" + severity + ") reported by " + s.device_id;
  if (!s.description.empty()) r.reason += ": " + s.description;
  r.evidence["code"] = s.key;
  r.evidence["severity"] = severity;
  r.evidence["description"] = s.description;
  return openOrMerge(ch, item, r);
}

Result<SignalOutcome> NeedsEngine::meterSignal(Change& ch, const discovery::NeedSignal& s,
                                               const CatalogItem& item) {
  if (!item.report_schedule) return SignalOutcome{};
  if (auto r = validate(*item.report_schedule); !r)
    return core::fail("report schedule of " + item.item_id + ": " + r.error().message);
  if (!s.level)
    return core::fail("meter reading of \"" + s.key + "\" from \"" + s.device_id +
                      "\" carries no value");
  const Key key{s.device_id, s.key};
  store::MeterRow m;
  if (auto it = meters_.find(key); it != meters_.end()) {
    m = it->second;
    if (s.observed_at < m.read_at)
      return core::fail("meter reading of \"" + s.key + "\" from \"" + s.device_id + "\" at " +
                        formatUtc(s.observed_at) + " is older than the last one (" +
                        formatUtc(m.read_at) + ")");
  } else {
    std::size_t of_device = 0;
    for (const auto& [k, v] : meters_)
      of_device += k.first == s.device_id;
    if (of_device >= config_.max_meters_per_device)
      return core::fail("device \"" + s.device_id + "\" already has " + std::to_string(of_device) +
                        " meters (the limit)");
    m.device_id = s.device_id;
    m.key = s.key;
  }
  m.item_id = item.item_id;
  m.unit = s.unit;
  m.value = *s.level;
  m.read_at = s.observed_at;
  if (!m.next_due) m.next_due = nextDue(*item.report_schedule, ch.now);
  ch.meters[key] = m;

  SignalOutcome out{SignalOutcome::Action::observed, std::nullopt};
  // A reading task still open carries the newest reading.
  if (auto id = liveNeedFor(ch, item.item_id)) {
    Need& n = mutableNeed(ch, *id);
    if (NeedSource* src = n.source(s.device_id, s.key); src && n.state == NeedState::open) {
      src->reports += 1;
      src->last_at = ch.now;
      n.last_signal_at = ch.now;
      n.detail["reading"] = m.value;
      n.detail["read_at"] = formatUtc(m.read_at);
      out.need = *id;
    } else {
      ch.needs.erase(*id);
    }
  }
  return out;
}

Result<SignalOutcome> NeedsEngine::openOrMerge(Change& ch, const CatalogItem& item,
                                               const OpenRequest& req) {
  const core::TimePoint now = ch.now;
  if (auto id = liveNeedFor(ch, item.item_id)) {
    Need& n = mutableNeed(ch, *id);
    if (NeedSource* src = n.source(req.device_id, req.key)) {
      const bool rejoined = !src->active;
      const bool escalated = severityRank(req.severity) > severityRank(src->severity);
      if (rejoined && liveNeedsOfDevice(ch, req.device_id) >= config_.max_needs_per_device)
        return core::fail("device \"" + req.device_id + "\" already has " +
                          std::to_string(config_.max_needs_per_device) + " live needs (the limit)");
      src->active = true;
      src->reports += 1;
      src->last_at = now;
      n.last_signal_at = now;
      n.updated_at = now;
      if (escalated) src->severity = req.severity;
      if (rejoined || escalated) {
        const int before = n.quantity;
        if (n.state == NeedState::open || n.state == NeedState::sourcing)
          n.quantity = quantityOf(n);
        if (n.state == NeedState::open && req.needed_by < n.needed_by) {
          n.needed_by = req.needed_by;
          n.order_by = std::min(n.order_by, req.order_by);
        }
        boost::json::object input{{"device", req.device_id},
                                  {"key", req.key},
                                  {"severity", toString(src->severity)},
                                  {"quantity_before", before},
                                  {"quantity", n.quantity},
                                  {"needed_by", formatUtc(n.needed_by)}};
        auto seq = record(rejoined ? "need.merged" : "need.escalated", subjectOf(*id),
                          std::move(input), rejoined ? "rejoined" : "escalated", {req.reason},
                          item.policy_revision, {n.opened_seq});
        if (!seq) return seq.error();
      }
      return SignalOutcome{
          rejoined ? SignalOutcome::Action::merged : SignalOutcome::Action::repeated, *id};
    }
    if (liveNeedsOfDevice(ch, req.device_id) >= config_.max_needs_per_device)
      return core::fail("device \"" + req.device_id + "\" already has " +
                        std::to_string(config_.max_needs_per_device) + " live needs (the limit)");
    NeedSource src{req.device_id, req.key, req.kind, req.severity, now, now, 1, true};
    n.sources.push_back(src);
    n.last_signal_at = now;
    n.updated_at = now;
    const int before = n.quantity;
    std::string note;
    if (n.state == NeedState::open || n.state == NeedState::sourcing) {
      n.quantity = quantityOf(n);
    } else {
      note = "joined while " + std::string(toString(n.state)) + "; the quantity stays " +
             std::to_string(n.quantity);
    }
    if (n.state == NeedState::open && req.needed_by < n.needed_by) {
      n.needed_by = req.needed_by;
      n.order_by = std::min(n.order_by, req.order_by);
    }
    std::vector<std::string> reasons{req.reason};
    if (!note.empty()) reasons.push_back(note);
    boost::json::object input{{"device", req.device_id},    {"key", req.key},
                              {"kind", toString(req.kind)}, {"quantity_before", before},
                              {"quantity", n.quantity},     {"evidence", req.evidence}};
    auto seq = record("need.merged", subjectOf(*id), std::move(input), "merged", std::move(reasons),
                      item.policy_revision, {n.opened_seq});
    if (!seq) return seq.error();
    log_.info("need.merged", {{"need", *id}, {"item", item.item_id}, {"device", req.device_id}});
    return SignalOutcome{SignalOutcome::Action::merged, *id};
  }

  if (liveNeedsOfDevice(ch, req.device_id) >= config_.max_needs_per_device)
    return core::fail("device \"" + req.device_id + "\" already has " +
                      std::to_string(config_.max_needs_per_device) + " live needs (the limit)");
  Need n;
  n.item_id = item.item_id;
  n.category = item.category;
  n.description = item.description;
  n.kind = req.kind;
  n.state = NeedState::open;
  n.opened_at = n.updated_at = n.last_signal_at = now;
  n.order_from = req.order_from;
  n.order_by = req.order_by;
  n.needed_by = req.needed_by;
  n.expire_after = item.expire_after;
  n.reason = req.reason;
  n.detail = req.evidence;
  if (!item.visit_windows.empty()) {
    boost::json::array windows;
    for (const auto& w : item.visit_windows)
      windows.emplace_back(w);
    n.detail["visit_windows"] = std::move(windows);
  }
  n.retailers = item.retailers;
  n.unit_price = item.estimated_price;
  n.sources.push_back(
      NeedSource{req.device_id, req.key, req.kind, req.severity, now, now, 1, true});
  n.quantity = quantityOf(n);
  auto id = store::insertNeed(ledger_.database(), n);
  if (!id) return id.error();
  n.id = *id;
  boost::json::array retailers;
  for (const auto& r : item.retailers)
    retailers.emplace_back(r);
  boost::json::object input{{"item", item.item_id},
                            {"category", item.category},
                            {"device", req.device_id},
                            {"key", req.key},
                            {"kind", toString(req.kind)},
                            {"severity", toString(req.severity)},
                            {"order_from", formatUtc(n.order_from)},
                            {"order_by", formatUtc(n.order_by)},
                            {"needed_by", formatUtc(n.needed_by)},
                            {"lead_time", core::formatDuration(item.lead_time)},
                            {"safety", core::formatDuration(item.safety)},
                            {"retailers", std::move(retailers)},
                            {"evidence", req.evidence}};
  auto seq = record("need.opened", subjectOf(n.id), std::move(input), req.outcome, {req.reason},
                    item.policy_revision, {});
  if (!seq) return seq.error();
  n.opened_seq = *seq;
  log_.info("need.opened", {{"need", n.id}, {"item", n.item_id}, {"device", req.device_id}});
  ch.needs[n.id] = std::move(n);
  return SignalOutcome{SignalOutcome::Action::opened, *id};
}

Result<SignalOutcome> NeedsEngine::withdraw(Change& ch, const Key& key, std::string_view reason) {
  ch.quiet[key] = std::nullopt;
  SignalOutcome out{SignalOutcome::Action::withdrawn, std::nullopt};
  for (NeedId id : liveNeedIds(ch)) {
    const NeedSource* seen = viewNeed(ch, id).source(key.first, key.second);
    if (!seen || !seen->active) continue;
    Need& n = mutableNeed(ch, id);
    n.source(key.first, key.second)->active = false;
    n.updated_at = ch.now;
    out.need = id;
    const bool before_order = n.state == NeedState::open || n.state == NeedState::sourcing ||
                              n.state == NeedState::awaitingApproval;
    if (n.activeSources() == 0 && before_order) {
      if (auto r = move(ch, id, NeedState::cancelled, std::string(reason)); !r) return r.error();
      continue;
    }
    const int before = n.quantity;
    if (n.state == NeedState::open || n.state == NeedState::sourcing) n.quantity = quantityOf(n);
    boost::json::object input{{"device", key.first},
                              {"key", key.second},
                              {"quantity_before", before},
                              {"quantity", n.quantity},
                              {"state", toString(n.state)}};
    auto seq = record("need.source-withdrawn", subjectOf(id), std::move(input), "withdrawn",
                      {std::string(reason)}, "", {n.opened_seq});
    if (!seq) return seq.error();
  }
  return out;
}

Result<void> NeedsEngine::satisfy(Change& ch, const Key& key, std::string reason) {
  for (NeedId id : liveNeedIds(ch)) {
    const NeedSource* seen = viewNeed(ch, id).source(key.first, key.second);
    if (!seen || !seen->active) continue;
    Need& n = mutableNeed(ch, id);
    n.source(key.first, key.second)->active = false;
    n.updated_at = ch.now;
    if (n.activeSources() == 0) {
      if (auto r = move(ch, id, NeedState::fulfilled, reason); !r) return r;
      continue;
    }
    const int before = n.quantity;
    if (n.state == NeedState::open || n.state == NeedState::sourcing) n.quantity = quantityOf(n);
    boost::json::object input{{"device", key.first},
                              {"key", key.second},
                              {"quantity_before", before},
                              {"quantity", n.quantity}};
    auto seq = record("need.source-satisfied", subjectOf(id), std::move(input), "satisfied",
                      {reason}, "", {n.opened_seq});
    if (!seq) return seq.error();
  }
  return {};
}

// ---- lifecycle --------------------------------------------------------------------------------

Result<void> NeedsEngine::move(Change& ch, NeedId id, NeedState to, std::string reason,
                               std::string order_id, Causes causes) {
  Need& n = mutableNeed(ch, id);
  const std::string what = "need " + std::to_string(id) + " (" + n.item_id + ")";
  if (to == NeedState::ordered && n.state == NeedState::ordered)
    return core::fail(what + " already has a live order " + n.order_id +
                      "; it must be fulfilled, cancelled or reopened before another");
  if (!canMove(n.state, to))
    return core::fail(what + " is " + std::string(toString(n.state)) + " and cannot become " +
                      std::string(toString(to)));
  if (to == NeedState::ordered) {
    if (order_id.empty()) return core::fail(what + ": an order id is required");
    if (n.state == NeedState::sourcing && n.approval_required)
      return core::fail(what + " needs the owner's approval before it is ordered");
  }
  const NeedState from = n.state;
  n.state = to;
  n.updated_at = ch.now;
  if (to == NeedState::ordered) n.order_id = order_id;
  if (to == NeedState::open) {
    if (n.basket_id) ch.touched_baskets.insert(*n.basket_id);
    n.basket_id.reset();
    n.order_id.clear();
    n.approval_required = false;
    n.held = false;
  }
  if (!isLive(to)) {
    n.closed_reason = reason;
    n.closed_at = ch.now;
    ch.closed.push_back(id);
    if (n.basket_id) ch.touched_baskets.insert(*n.basket_id);
    // Sources still asking go quiet for a while, so the next reading does not re-open it.
    for (const auto& s : n.sources) {
      if (!s.active) continue;
      ch.quiet[Key{s.device_id, s.key}] =
          store::QuietRow{s.device_id, s.key, ch.now + config_.quiet_after_close,
                          "need " + std::to_string(id) + " " + std::string(toString(to))};
    }
  }
  boost::json::object input{{"from", toString(from)}, {"to", toString(to)}, {"item", n.item_id}};
  if (!n.order_id.empty()) input["order"] = n.order_id;
  if (n.basket_id) input["basket"] = *n.basket_id;
  std::vector<std::string> reasons;
  if (!reason.empty()) reasons.push_back(reason);
  // Closing steps share one kind (the ledger's vocabulary), the outcome says which.
  const std::string kind = to == NeedState::open ? "need.reopened"
                           : isLive(to)          ? "need." + std::string(toString(to))
                                                 : "need.closed";
  // The step that moved it (an approval, a purchase) first, then the need's own opening.
  std::vector<std::int64_t> chain(causes.begin(), causes.end());
  chain.push_back(n.opened_seq);
  auto seq = record(kind, subjectOf(id), std::move(input), std::string(toString(to)),
                    std::move(reasons), "", std::move(chain));
  if (!seq) return seq.error();
  return {};
}

Result<void> NeedsEngine::transition(NeedId id, NeedState to, std::string_view reason,
                                     std::string_view order_id, Causes causes) {
  if (!needs_.count(id))
    return core::notFound("no live need " + std::to_string(id) +
                          " (it does not exist or is already closed)");
  return transact<void>([&](Change& ch) {
    return move(ch, id, to, std::string(reason), std::string(order_id), causes);
  });
}

Result<void> NeedsEngine::markSourcing(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::sourcing, reason, {}, causes);
}
Result<void> NeedsEngine::awaitingApproval(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::awaitingApproval, reason, {}, causes);
}
Result<void> NeedsEngine::ordered(NeedId id, std::string_view order_id, Causes causes) {
  return transition(id, NeedState::ordered, "order " + std::string(order_id) + " placed", order_id,
                    causes);
}
Result<void> NeedsEngine::fulfilled(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::fulfilled, reason, {}, causes);
}
Result<void> NeedsEngine::cancelled(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::cancelled, reason, {}, causes);
}
Result<void> NeedsEngine::expired(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::expired, reason, {}, causes);
}
Result<void> NeedsEngine::reopen(NeedId id, std::string_view reason, Causes causes) {
  return transition(id, NeedState::open, reason, {}, causes);
}

std::vector<Basket> NeedsEngine::basketsInSourcing() const {
  auto baskets = store::basketsInState(ledger_.database(), "sourcing");
  if (!baskets) {
    log_.error("needs.baskets_unreadable", {{"error", baskets.error().message}});
    return {};
  }
  return std::move(*baskets);
}

Result<void> NeedsEngine::forgetDevice(std::string_view device_id) {
  return transact<void>([&](Change& ch) -> Result<void> {
    std::set<Key> keys;
    for (const auto& [k, v] : series_)
      if (k.first == device_id) keys.insert(k);
    for (const auto& [k, v] : meters_)
      if (k.first == device_id) keys.insert(k);
    for (const auto& [k, v] : quiet_)
      if (k.first == device_id) keys.insert(k);
    for (NeedId id : liveNeedIds(ch))
      for (const auto& s : viewNeed(ch, id).sources)
        if (s.device_id == device_id) keys.insert(Key{s.device_id, s.key});
    for (const auto& key : keys) {
      if (auto r = withdraw(ch, key, "device " + key.first + " was removed from the registry"); !r)
        return r.error();
      if (series_.count(key)) ch.series[key] = std::nullopt;
      if (meters_.count(key)) ch.meters[key] = std::nullopt;
      ch.quiet[key] = std::nullopt;
    }
    return {};
  });
}

// ---- queries ----------------------------------------------------------------------------------

std::vector<Need> NeedsEngine::liveNeeds() const {
  std::vector<Need> out;
  out.reserve(needs_.size());
  for (const auto& [id, n] : needs_)
    out.push_back(n);
  return out;
}

std::optional<Need> NeedsEngine::liveNeed(NeedId id) const {
  auto it = needs_.find(id);
  if (it == needs_.end()) return std::nullopt;
  return it->second;
}

std::optional<SeriesView> NeedsEngine::series(std::string_view device_id,
                                              std::string_view key) const {
  auto it = series_.find(Key{std::string(device_id), std::string(key)});
  if (it == series_.end()) return std::nullopt;
  const Series& s = *it->second;
  return SeriesView{s.device_id, s.key, s.item_id,          s.unit,
                    s.forecast,  s.due, s.levels.refills(), s.levels.segment().size()};
}

// ---- time-driven work -------------------------------------------------------------------------

TickOutcome NeedsEngine::tick() {
  TickOutcome out;
  tickQuiet(out);
  tickForecasts(out);
  tickMeters(out);
  tickExpiry(out);
  tickBaskets(out);
  return out;
}

// Quiet marks that ran out are dropped, so the table does not grow with every closed need.
void NeedsEngine::tickQuiet(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  std::vector<Key> over;
  for (const auto& [key, q] : quiet_)
    if (q.until <= now) over.push_back(key);
  if (over.empty()) return;
  auto r = transact<void>([&](Change& ch) -> Result<void> {
    for (const auto& key : over)
      ch.quiet[key] = std::nullopt;
    return {};
  });
  if (!r) {
    ++out.failures;
    log_.warning("needs.tick-failed", {{"step", "quiet"}, {"error", r.error().message}});
  }
}

void NeedsEngine::tickForecasts(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  std::vector<Key> keys;
  for (const auto& [k, s] : series_)
    keys.push_back(k);
  for (const Key& key : keys) {
    auto it = series_.find(key);
    if (it == series_.end()) continue;
    const Series& s = *it->second;
    if (!s.forecast.runout) continue;
    if (auto q = quiet_.find(key); q != quiet_.end() && q->second.until > now) continue;
    const auto item = catalog_.lookup(queryFor(s));
    if (!item) continue;
    if (auto live = live_by_item_.find(item->item_id); live != live_by_item_.end()) {
      const NeedSource* src = needs_.at(live->second).source(key.first, key.second);
      if (src && src->active) continue;
    }
    auto req = forecastRequest(s, *item, now);
    if (!req) continue;
    auto r = transact<SignalOutcome>([&](Change& ch) -> Result<SignalOutcome> {
      if (liveNeedsOfDevice(ch, key.first) >= config_.max_needs_per_device)
        return SignalOutcome{};  // at the cap: wait, the device's other needs come first
      return openOrMerge(ch, *item, *req);
    });
    countOpening(r, "forecast", key, out);
  }
}

void NeedsEngine::countOpening(const Result<SignalOutcome>& r, const char* step, const Key& key,
                               TickOutcome& out) {
  if (!r) {
    ++out.failures;
    log_.warning(
        "needs.tick-failed",
        {{"step", step}, {"device", key.first}, {"key", key.second}, {"error", r.error().message}});
  } else if (r->action == SignalOutcome::Action::opened) {
    ++out.opened;
  }
}

void NeedsEngine::tickMeters(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  std::vector<Key> keys;
  for (const auto& [k, m] : meters_)
    keys.push_back(k);
  for (const Key& key : keys) {
    auto it = meters_.find(key);
    if (it == meters_.end()) continue;
    const store::MeterRow m = it->second;
    if (!m.next_due || now < *m.next_due) continue;
    // Due, but nothing new to report: the task opens once a reading arrives.
    if (m.reported_read_at && m.read_at <= *m.reported_read_at) continue;
    const auto item =
        catalog_.lookup(CatalogQuery{m.device_id, discovery::SignalKind::meter, m.key, "", m.unit});
    if (!item || !item->report_schedule || !validate(*item->report_schedule)) continue;
    auto r = transact<SignalOutcome>([&](Change& ch) -> Result<SignalOutcome> {
      OpenRequest req;
      req.device_id = m.device_id;
      req.key = m.key;
      req.kind = discovery::SignalKind::meter;
      req.order_from = *m.next_due;
      req.needed_by = *m.next_due + config_.report_grace;
      req.order_by = req.needed_by;
      req.reason = "meter reading of " + item->description + " due " + formatDay(*m.next_due) +
                   " (day " + std::to_string(item->report_schedule->day_of_month) + " every " +
                   std::to_string(item->report_schedule->every_months) +
                   " month(s)): " + number(m.value) + " " + m.unit + " read " +
                   formatUtc(m.read_at) + " on " + m.device_id;
      req.evidence["reading"] = m.value;
      req.evidence["unit"] = m.unit;
      req.evidence["read_at"] = formatUtc(m.read_at);
      req.evidence["due"] = formatUtc(*m.next_due);
      auto opened = openOrMerge(ch, *item, req);
      if (!opened) return opened.error();
      if (opened->action != SignalOutcome::Action::opened && opened->need) {
        // Last period's task is still open: it now carries this period's reading.
        Need& n = mutableNeed(ch, *opened->need);
        n.detail["reading"] = m.value;
        n.detail["read_at"] = formatUtc(m.read_at);
        n.detail["due"] = formatUtc(*m.next_due);
        auto seq = record("need.merged", subjectOf(n.id), req.evidence, "updated-reading",
                          {req.reason}, item->policy_revision, {n.opened_seq});
        if (!seq) return seq.error();
      }
      store::MeterRow next = m;
      next.reported_read_at = m.read_at;
      next.next_due = nextDue(*item->report_schedule, now);
      ch.meters[key] = next;
      return opened;
    });
    countOpening(r, "meter", key, out);
  }
}

void NeedsEngine::tickExpiry(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  std::vector<NeedId> due;
  for (const auto& [id, n] : needs_)
    if (n.state == NeedState::open && n.last_signal_at + n.expire_after <= now) due.push_back(id);
  for (NeedId id : due) {
    const Need& n = needs_.at(id);
    const std::string reason = "nobody asked again since " + formatUtc(n.last_signal_at) +
                               " (expires after " + core::formatDuration(n.expire_after) + ")";
    if (auto r = transition(id, NeedState::expired, reason); !r) {
      ++out.failures;
      log_.warning("needs.tick-failed",
                   {{"step", "expiry"}, {"need", id}, {"error", r.error().message}});
    } else {
      ++out.expired;
    }
  }
}

// A new need waits `settle` for others to join its basket; a critical one does not wait.
bool NeedsEngine::settled(const Need& n, core::TimePoint now) const {
  return n.opened_at + config_.settle <= now ||
         std::any_of(n.sources.begin(), n.sources.end(), [](const NeedSource& s) {
           return s.active && s.severity == discovery::Severity::critical;
         });
}

void NeedsEngine::tickBaskets(TickOutcome& out) {
  const core::TimePoint now = clock_.now();
  const std::string revision = gate_.revision();
  std::vector<NeedId> candidates;
  bool any_ready = false;
  for (const auto& [id, n] : needs_) {
    if (n.state != NeedState::open) continue;
    if (n.held && (n.retry_after ? now < *n.retry_after : revision == n.hold_revision)) continue;
    candidates.push_back(id);
    any_ready = any_ready || settled(n, now);
  }
  if (!any_ready) return;

  // Retailers: the one carrying most candidates first (then most first choices, then name).
  std::vector<std::pair<std::string, std::vector<NeedId>>> groups;
  std::vector<NeedId> remaining;
  for (NeedId id : candidates) {
    if (needs_.at(id).retailers.empty()) {
      auto r = transact<void>([&](Change& ch) -> Result<void> {
        Need& n = mutableNeed(ch, id);
        n.held = true;
        n.hold_reasons = {"no approved retailer carries " + n.item_id};
        n.hold_revision = revision;
        n.retry_after.reset();
        auto seq = record("need.held", subjectOf(id), boost::json::object{{"item", n.item_id}},
                          "deny", n.hold_reasons, revision, {n.opened_seq});
        if (!seq) return seq.error();
        return {};
      });
      if (!r)
        ++out.failures;
      else
        ++out.held;
      continue;
    }
    remaining.push_back(id);
  }
  // A retailer the policy would refuse for an item (a per-retailer cap, a forbid rule) is no
  // choice for it: group each need only with retailers that may sell it. When none may, keep
  // them all, so the basket check holds the need and records why.
  std::map<NeedId, std::vector<std::string>> choices;
  for (NeedId id : remaining) {
    const Need& n = needs_.at(id);
    std::vector<std::string> allowed;
    for (const auto& r : n.retailers)
      if (gate_.evaluateItem(itemCheck(n, r, now)).verdict != Verdict::deny) allowed.push_back(r);
    choices[id] = allowed.empty() ? n.retailers : std::move(allowed);
  }
  while (!remaining.empty()) {
    std::map<std::string, std::pair<int, int>> score;  // retailer → (carries, first choice)
    for (NeedId id : remaining) {
      const auto& rs = choices.at(id);
      for (std::size_t i = 0; i < rs.size(); ++i) {
        score[rs[i]].first += 1;
        score[rs[i]].second += i == 0 ? 1 : 0;
      }
    }
    auto best = std::max_element(score.begin(), score.end(), [](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second < b.second;
      return a.first > b.first;  // alphabetical first wins ties
    });
    const std::string retailer = best->first;
    std::vector<NeedId> group, rest;
    for (NeedId id : remaining) {
      const auto& rs = choices.at(id);
      (std::find(rs.begin(), rs.end(), retailer) != rs.end() ? group : rest).push_back(id);
    }
    groups.emplace_back(retailer, std::move(group));
    remaining = std::move(rest);
  }

  // Within a retailer, needs whose order windows overlap share a basket.
  struct Planned {
    std::string retailer;
    std::vector<NeedId> members;
    core::TimePoint order_by, needed_by;
  };
  std::vector<Planned> planned;
  for (auto& [retailer, ids] : groups) {
    std::sort(ids.begin(), ids.end(), [&](NeedId a, NeedId b) {
      const Need &na = needs_.at(a), &nb = needs_.at(b);
      return std::tie(na.order_from, na.id) < std::tie(nb.order_from, nb.id);
    });
    std::vector<NeedId> cluster;
    core::TimePoint end{};
    auto flush = [&] {
      if (cluster.empty()) return;
      bool ready = false;
      Planned p{retailer, cluster, core::TimePoint::max(), core::TimePoint::max()};
      for (NeedId id : cluster) {
        const Need& n = needs_.at(id);
        ready = ready || settled(n, now);
        p.order_by = std::min(p.order_by, n.order_by);
        p.needed_by = std::min(p.needed_by, n.needed_by);
      }
      if (ready) planned.push_back(std::move(p));
      cluster.clear();
    };
    for (NeedId id : ids) {
      const Need& n = needs_.at(id);
      const core::TimePoint window_end = std::max(n.order_by, now);
      if (!cluster.empty() && n.order_from > end) flush();
      end = cluster.empty() ? window_end : std::min(end, window_end);
      cluster.push_back(id);
    }
    flush();
  }
  // Urgency orders the baskets: the earliest order-by first gets the budget first.
  std::sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
    return std::tie(a.order_by, a.needed_by, a.retailer) <
           std::tie(b.order_by, b.needed_by, b.retailer);
  });
  for (auto& p : planned) {
    auto r =
        transact<BasketResult>([&](Change& ch) { return sourceBasket(ch, p.members, p.retailer); });
    if (!r) {
      ++out.failures;
      log_.warning("needs.tick-failed",
                   {{"step", "basket"}, {"retailer", p.retailer}, {"error", r.error().message}});
      continue;
    }
    out.baskets += r->sourced ? 1 : 0;
    out.held += r->held;
  }
}

Result<NeedsEngine::BasketResult> NeedsEngine::sourceBasket(Change& ch, std::vector<NeedId> members,
                                                            const std::string& retailer) {
  const core::TimePoint now = ch.now;
  core::TimePoint order_by = core::TimePoint::max();
  for (NeedId id : members)
    order_by = std::min(order_by, viewNeed(ch, id).order_by);

  // Forecast needs of this retailer falling due before the basket's window closes join it now.
  const core::TimePoint pull_until = std::min(now + config_.group_ahead, std::max(order_by, now));
  for (const auto& [key, s] : series_) {
    if (!s->due || *s->due <= now || *s->due > pull_until || !s->forecast.runout) continue;
    if (quiet(ch, key, now)) continue;
    const auto item = catalog_.lookup(queryFor(*s));
    if (!item || liveNeedFor(ch, item->item_id)) continue;
    if (std::find(item->retailers.begin(), item->retailers.end(), retailer) ==
        item->retailers.end())
      continue;
    if (liveNeedsOfDevice(ch, key.first) >= config_.max_needs_per_device) continue;
    OpenRequest req;
    req.device_id = s->device_id;
    req.key = s->key;
    req.kind = s->kind;
    const core::TimePoint due = *s->due;
    req.order_from = due;
    req.needed_by = *s->forecast.runout;
    req.order_by = *s->forecast.runout - item->lead_time;
    req.outcome = "opened-early";
    req.reason = "opened early to share a basket from " + retailer + ": " + item->description +
                 " on " + s->device_id + " falls due " + formatDay(due) + " (runs out around " +
                 formatDay(*s->forecast.runout) + ")";
    req.evidence["forecast"] = forecastJson(s->forecast, s->unit, now);
    req.evidence["due"] = formatUtc(due);
    auto opened = openOrMerge(ch, *item, req);
    if (!opened) return opened.error();
    if (opened->need) members.push_back(*opened->need);
  }
  std::sort(members.begin(), members.end(), [&](NeedId a, NeedId b) {
    const Need &na = viewNeed(ch, a), &nb = viewNeed(ch, b);
    return std::tie(na.order_by, na.needed_by, na.id) < std::tie(nb.order_by, nb.needed_by, nb.id);
  });

  auto hold = [&](NeedId id, const GateResult& g,
                  std::vector<std::int64_t> causes) -> Result<void> {
    Need& n = mutableNeed(ch, id);
    n.held = true;
    n.hold_reasons = g.reasons;
    n.hold_revision = g.policy_revision.empty() ? gate_.revision() : g.policy_revision;
    n.retry_after = g.retry_after;
    causes.push_back(n.opened_seq);
    boost::json::object input{
        {"item", n.item_id}, {"retailer", retailer}, {"retry_after", timeJson(g.retry_after)}};
    auto seq = record("need.held", subjectOf(id), std::move(input), "deny", g.reasons,
                      g.policy_revision, std::move(causes));
    if (!seq) return seq.error();
    return {};
  };

  int held = 0;
  std::vector<ItemCheck> items;
  std::vector<GateResult> item_results;
  for (NeedId id : members) {
    ItemCheck c = itemCheck(viewNeed(ch, id), retailer, now);
    GateResult g = gate_.evaluateItem(c);
    if (g.verdict == Verdict::deny) {
      if (auto r = hold(id, g, {}); !r) return r.error();
      ++held;
      continue;
    }
    items.push_back(std::move(c));
    item_results.push_back(std::move(g));
  }
  if (items.empty()) return BasketResult{false, held};

  BasketCheck check;
  check.retailer = retailer;
  check.items = items;
  check.at = now;
  check.order_by = core::TimePoint::max();
  for (const auto& c : items) {
    check.order_by = std::min(check.order_by, viewNeed(ch, c.need_id).order_by);
    if (!c.estimate) {
      check.estimate_complete = false;
      continue;
    }
    check.estimate = check.estimate ? core::add(*check.estimate, *c.estimate) : c.estimate;
    if (!check.estimate) check.estimate_complete = false;
  }
  for (const auto& [id, n] : needs_) {
    if (n.state != NeedState::sourcing && n.state != NeedState::awaitingApproval) continue;
    auto e = times(n.unit_price, n.quantity);
    if (!e) continue;
    check.pending = check.pending ? core::add(*check.pending, *e) : e;
    auto [it, fresh] = check.pending_by_category.try_emplace(n.category, *e);
    if (!fresh) {
      if (auto sum = core::add(it->second, *e)) it->second = *sum;
    }
  }
  const GateResult g = gate_.evaluateBasket(check);

  Basket b;
  b.retailer = retailer;
  b.created_at = now;
  b.order_by = check.order_by;
  b.needed_by = core::TimePoint::max();
  for (const auto& c : items) {
    b.needs.push_back(c.need_id);
    b.needed_by = std::min(b.needed_by, c.needed_by);
  }
  b.estimate = check.estimate;
  b.approval_required =
      g.verdict == Verdict::needsApproval ||
      std::any_of(item_results.begin(), item_results.end(),
                  [](const GateResult& r) { return r.verdict == Verdict::needsApproval; });
  b.verdict = g.verdict == Verdict::deny ? "deny"
              : b.approval_required      ? "needs-approval"
                                         : "allow";
  b.reasons = g.reasons;
  for (std::size_t i = 0; i < items.size(); ++i)
    for (const auto& r : item_results[i].reasons)
      b.reasons.push_back(items[i].item_id + ": " + r);
  b.policy_revision = g.policy_revision;

  auto id = store::insertBasket(ledger_.database(), b,
                                g.verdict == Verdict::deny ? "denied" : "sourcing");
  if (!id) return id.error();
  b.id = *id;
  boost::json::array lines;
  std::vector<std::int64_t> causes;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Need& n = viewNeed(ch, items[i].need_id);
    causes.push_back(n.opened_seq);
    lines.push_back(boost::json::object{{"need", n.id},
                                        {"item", n.item_id},
                                        {"quantity", n.quantity},
                                        {"estimate", moneyJson(items[i].estimate)},
                                        {"order_by", formatUtc(n.order_by)},
                                        {"needed_by", formatUtc(n.needed_by)},
                                        {"item_verdict", toString(item_results[i].verdict)}});
  }
  boost::json::object input{{"retailer", retailer},
                            {"items", std::move(lines)},
                            {"estimate", moneyJson(check.estimate)},
                            {"estimate_complete", check.estimate_complete},
                            {"pending", moneyJson(check.pending)},
                            {"order_by", formatUtc(check.order_by)},
                            {"retry_after", timeJson(g.retry_after)}};
  auto seq = record("needs.grouped", "basket:" + std::to_string(b.id), std::move(input), b.verdict,
                    b.reasons, g.policy_revision, causes);
  if (!seq) return seq.error();

  if (g.verdict == Verdict::deny) {
    for (const auto& c : items) {
      if (auto r = hold(c.need_id, g, {*seq}); !r) return r.error();
      ++held;
    }
    return BasketResult{false, held};
  }
  for (const auto& c : items) {
    Need& n = mutableNeed(ch, c.need_id);
    n.basket_id = b.id;
    n.approval_required = b.approval_required;
    n.held = false;
    n.hold_reasons.clear();
    n.hold_revision.clear();
    n.retry_after.reset();
    if (auto r = move(ch, c.need_id, NeedState::sourcing,
                      "grouped into basket " + std::to_string(b.id) + " from " + retailer);
        !r)
      return r.error();
  }
  ch.ready.push_back(std::move(b));
  return BasketResult{true, held};
}

}  // namespace steward::needs
