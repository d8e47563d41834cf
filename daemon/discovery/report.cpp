// See report.hpp.
#include "discovery/report.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <iomanip>
#include <map>
#include <sstream>
#include <vector>

#include "core/clock.hpp"
#include "discovery/registry.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

std::string isoUtc(long long unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string formatNumber(double v) {
  std::ostringstream s;
  s << std::setprecision(10) << v;
  return s.str();
}

bj::array parseArray(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_array()) return {};
  return std::move(v.get_array());
}

struct Row {
  std::string id, name, kind, manufacturer, model, availability;
  bj::array sources, identifiers, endpoints;
  long long first_seen = 0, last_seen = 0;
  std::map<std::string, Level> levels;
  std::vector<NeedSignal> needs;
};

std::string joined(const bj::array& a) {
  std::string out;
  for (const auto& v : a) {
    if (!out.empty()) out += ",";
    if (v.is_string()) out += v.get_string();
  }
  return out;
}

}  // namespace

core::Result<void> printDevices(ledger::Database& db, std::ostream& out, ReportFormat format) {
  auto exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='devices'");
  if (!exists) return exists.error();
  auto has = exists->step();
  if (!has) return has.error();
  std::vector<Row> rows;
  if (*has) {
    auto q = db.prepare(
        "SELECT id, name, kind, manufacturer, model, sources, identifiers, endpoints, "
        "first_seen_ms, last_seen_ms, availability, levels FROM devices ORDER BY id");
    if (!q) return q.error();
    for (;;) {
      auto step = q->step();
      if (!step) return step.error();
      if (!*step) break;
      Row r;
      r.id = q->text(0);
      r.name = q->text(1);
      r.kind = q->text(2);
      r.manufacturer = q->text(3);
      r.model = q->text(4);
      r.sources = parseArray(q->textView(5));
      r.identifiers = parseArray(q->textView(6));
      r.endpoints = parseArray(q->textView(7));
      r.first_seen = q->int64(8);
      r.last_seen = q->int64(9);
      r.availability = q->text(10);
      r.levels = levelsFromJson(q->textView(11));
      rows.push_back(std::move(r));
    }
    auto n = db.prepare("SELECT device_id, signal FROM device_needs ORDER BY device_id, need_key");
    if (!n) return n.error();
    for (;;) {
      auto step = n->step();
      if (!step) return step.error();
      if (!*step) break;
      const std::string id = n->text(0);
      auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.id == id; });
      auto s = signalFromJson(n->textView(1));
      if (it != rows.end() && s) it->needs.push_back(std::move(*s));
    }
  }

  if (format == ReportFormat::json) {
    bj::array devices;
    for (const auto& r : rows) {
      bj::object levels;
      for (const auto& [k, l] : r.levels)
        levels[k] = bj::object{{"value", l.value}, {"unit", l.unit}};
      bj::array needs;
      for (const auto& s : r.needs) {
        boost::system::error_code ec;
        needs.push_back(bj::parse(signalToJson(s), ec));
      }
      devices.push_back(bj::object{{"id", r.id},
                                   {"name", r.name},
                                   {"kind", r.kind},
                                   {"manufacturer", r.manufacturer},
                                   {"model", r.model},
                                   {"sources", r.sources},
                                   {"identifiers", r.identifiers},
                                   {"endpoints", r.endpoints},
                                   {"first_seen", isoUtc(r.first_seen)},
                                   {"last_seen", isoUtc(r.last_seen)},
                                   {"availability", r.availability},
                                   {"levels", std::move(levels)},
                                   {"needs", std::move(needs)}});
    }
    out << bj::serialize(devices) << "\n";
    return {};
  }

  const std::vector<std::string> header = {"ID",    "NAME",      "KIND",   "SOURCES",
                                           "AVAIL", "LAST SEEN", "LEVELS", "NEEDS"};
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    std::string levels;
    for (const auto& [k, l] : r.levels) {
      if (!levels.empty()) levels += " ";
      levels += k + "=" + formatNumber(l.value) + l.unit;
    }
    std::string needs;
    for (const auto& s : r.needs) {
      if (!needs.empty()) needs += " ";
      needs += std::string(toString(s.kind)) + ":" + s.key;
    }
    table.push_back({r.id, r.name, r.kind, joined(r.sources), r.availability, isoUtc(r.last_seen),
                     levels.empty() ? "-" : levels, needs.empty() ? "-" : needs});
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : table)
      width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      l += cells[c];
      if (c + 1 < cells.size()) l += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    out << l << "\n";
  };
  line(header);
  for (const auto& row : table)
    line(row);
  if (rows.empty()) out << "(no devices)\n";
  return {};
}

}  // namespace steward::discovery
