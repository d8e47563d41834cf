// See engine.hpp: device signals in — levels feed the forecast, faults and meters open needs,
// withdrawals and refills close them.
#include "needs/engine_parts.hpp"
#include "needs/schedule.hpp"

namespace steward::needs {

using namespace detail;

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
    if (series->forecast.runout) series->due = dueOf(series->forecast, item);
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
  const core::TimePoint due = dueOf(f, item);
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
  if (f.uncertainty >= std::chrono::hours{1})
    r.reason += " and " + core::formatDuration(roundedToHours(f.uncertainty)) +
                " earlier for the forecast's uncertainty";
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

}  // namespace steward::needs
