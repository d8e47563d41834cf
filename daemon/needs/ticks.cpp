// See engine.hpp: the time-driven work of tick() — quiet marks, forecasts falling due, meter
// reading tasks and expiry. Baskets are in sourcing.cpp.
#include "needs/engine_parts.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

using namespace detail;

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

}  // namespace steward::needs
