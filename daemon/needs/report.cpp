// See report.hpp. Reads only: needs, their sources and the level series' stored forecasts.
#include "needs/report.hpp"

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <map>

#include "needs/need.hpp"
#include "needs/schedule.hpp"
#include "needs/store.hpp"

namespace steward::needs {
namespace {

using Key = std::pair<std::string, std::string>;

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

boost::json::value timeOrNull(const std::optional<core::TimePoint>& t) {
  if (!t) return nullptr;
  return boost::json::value(formatUtc(*t));
}

const char* statusName(ForecastStatus s) {
  return s == ForecastStatus::depleting ? "depleting"
         : s == ForecastStatus::idle    ? "idle"
                                        : "insufficient";
}

boost::json::object forecastObject(const store::SeriesRow& s, core::TimePoint now) {
  const Forecast& f = s.forecast;
  return {{"status", statusName(f.status)},
          {"level", std::round(f.level * 10.0) / 10.0},
          {"unit", s.unit},
          {"rate_per_day", std::round(f.rate_per_day * 1000.0) / 1000.0},
          {"runout", timeOrNull(f.runout)},
          {"order_from", timeOrNull(s.due)},
          {"readings", f.points},
          {"last_reading", timeOrNull(f.points ? std::optional(f.last_at) : std::nullopt)},
          {"stale", f.staleAt(now)},
          {"refills", s.refills}};
}

// "23.0 % -1.10/d → 2025-02-14", "stale", "no forecast yet".
std::string forecastShort(const store::SeriesRow& s, core::TimePoint now) {
  const Forecast& f = s.forecast;
  std::string out = fixed(f.level, 1) + " " + s.unit;
  if (f.status == ForecastStatus::depleting && f.runout) {
    out += " -" + fixed(f.rate_per_day, 2) + "/d → " + formatDay(*f.runout);
  } else if (f.status == ForecastStatus::idle) {
    out += " not falling";
  } else {
    out += " (too few readings)";
  }
  if (f.staleAt(now)) out += " STALE since " + formatDay(f.last_at);
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

core::Result<boost::json::array> needsJson(ledger::Database& db, core::TimePoint now,
                                           bool include_closed) {
  auto present = store::present(db);
  if (!present) return present.error();
  if (!*present) return boost::json::array{};
  auto needs = store::loadNeeds(db, include_closed);
  if (!needs) return needs.error();
  auto series = store::loadSeries(db, false);
  if (!series) return series.error();
  std::map<Key, const store::SeriesRow*> by_key;
  for (const auto& s : *series)
    by_key[Key{s.device_id, s.key}] = &s;

  boost::json::array out;
  for (const Need& n : *needs) {
    boost::json::array sources;
    for (const auto& s : n.sources) {
      boost::json::object o{{"device", s.device_id},
                            {"key", s.key},
                            {"kind", toString(s.kind)},
                            {"severity", toString(s.severity)},
                            {"reports", s.reports},
                            {"first_at", formatUtc(s.first_at)},
                            {"last_at", formatUtc(s.last_at)},
                            {"active", s.active}};
      auto it = by_key.find(Key{s.device_id, s.key});
      o["forecast"] = it != by_key.end() ? boost::json::value(forecastObject(*it->second, now))
                                         : boost::json::value(nullptr);
      sources.push_back(std::move(o));
    }
    boost::json::array retailers;
    for (const auto& r : n.retailers)
      retailers.emplace_back(r);
    boost::json::value held = nullptr;
    if (n.held) {
      boost::json::array reasons;
      for (const auto& r : n.hold_reasons)
        reasons.emplace_back(r);
      held = boost::json::object{{"reasons", std::move(reasons)},
                                 {"revision", n.hold_revision},
                                 {"retry_after", timeOrNull(n.retry_after)}};
    }
    boost::json::value closed = nullptr;
    if (n.closed_at)
      closed = boost::json::object{{"reason", n.closed_reason}, {"at", formatUtc(*n.closed_at)}};
    out.push_back(boost::json::object{
        {"id", n.id},
        {"item", n.item_id},
        {"category", n.category},
        {"description", n.description},
        {"state", toString(n.state)},
        {"quantity", n.quantity},
        {"opened_at", formatUtc(n.opened_at)},
        {"order_from", formatUtc(n.order_from)},
        {"order_by", formatUtc(n.order_by)},
        {"needed_by", formatUtc(n.needed_by)},
        {"reason", n.reason},
        {"retailers", std::move(retailers)},
        {"estimate", n.unit_price ? boost::json::value(core::formatMoney(*n.unit_price))
                                  : boost::json::value(nullptr)},
        {"basket", n.basket_id ? boost::json::value(*n.basket_id) : boost::json::value(nullptr)},
        {"order",
         n.order_id.empty() ? boost::json::value(nullptr) : boost::json::value(n.order_id)},
        {"approval_required", n.approval_required},
        {"held", std::move(held)},
        {"closed", std::move(closed)},
        {"detail", n.detail},
        {"sources", std::move(sources)},
    });
  }
  return out;
}

core::Result<void> writeNeedsReport(ledger::Database& db, core::TimePoint now,
                                    const ReportOptions& options, std::ostream& out) {
  if (options.json) {
    auto j = needsJson(db, now, options.include_closed);
    if (!j) return j.error();
    out << boost::json::serialize(*j) << '\n';
    return {};
  }
  auto present = store::present(db);
  if (!present) return present.error();
  if (!*present) {
    out << "no needs\n";
    return {};
  }
  auto needs = store::loadNeeds(db, options.include_closed);
  if (!needs) return needs.error();
  auto series = store::loadSeries(db, false);
  if (!series) return series.error();
  std::map<Key, const store::SeriesRow*> by_key;
  for (const auto& s : *series)
    by_key[Key{s.device_id, s.key}] = &s;
  if (needs->empty()) {
    out << "no needs\n";
    return {};
  }

  out << pad("ID", 5) << pad("STATE", 18) << pad("ITEM", 28) << pad("QTY", 4)
      << pad("NEEDED BY", 11) << " FORECAST\n";
  for (const Need& n : *needs) {
    std::vector<std::string> forecasts;
    for (const auto& s : n.sources) {
      std::string line = s.device_id + "/" + s.key + ": ";
      if (auto it = by_key.find(Key{s.device_id, s.key}); it != by_key.end()) {
        line += forecastShort(*it->second, now);
      } else if (s.kind == discovery::SignalKind::fault ||
                 s.kind == discovery::SignalKind::outage) {
        line += std::string(toString(s.severity)) + ", reported " + std::to_string(s.reports) + "×";
      } else {
        line += std::to_string(s.reports) + " report(s)";
      }
      if (!s.active) line += " (no longer asking)";
      forecasts.push_back(std::move(line));
    }
    std::string state(toString(n.state));
    if (n.held) state += " (held)";
    out << pad(std::to_string(n.id), 5) << pad(state, 18) << pad(n.item_id, 28)
        << pad(std::to_string(n.quantity), 4) << pad(formatDay(n.needed_by), 11) << " "
        << (forecasts.empty() ? std::string("-") : forecasts[0]) << '\n';
    for (std::size_t i = 1; i < forecasts.size(); ++i)
      out << std::string(66, ' ') << forecasts[i] << '\n';
    out << "     why: " << n.reason << '\n';
    if (n.held && !n.hold_reasons.empty()) {
      out << "     held:";
      for (const auto& r : n.hold_reasons)
        out << ' ' << r << ';';
      if (n.retry_after) out << " retry after " << formatUtc(*n.retry_after);
      out << '\n';
    }
    if (n.basket_id || !n.order_id.empty()) {
      out << "     ";
      if (n.basket_id) out << "basket " << *n.basket_id;
      if (!n.order_id.empty()) out << (n.basket_id ? ", " : "") << "order " << n.order_id;
      if (n.approval_required) out << ", needs approval";
      out << '\n';
    }
    if (n.closed_at)
      out << "     closed " << formatUtc(*n.closed_at) << ": " << n.closed_reason << '\n';
  }
  return {};
}

}  // namespace steward::needs
