// See engine.hpp. Every public operation runs in one ledger transaction over a Change: the
// needs, series, meters and quiet marks it touches are copied into the Change, modified there,
// written with the decisions, committed, and only then applied to memory, so a failure at any
// point leaves both the database and memory as they were. This file: loading, the transaction
// (persist, apply, record), views through a change, and queries.
#include "needs/engine_parts.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

using namespace detail;

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

}  // namespace steward::needs
