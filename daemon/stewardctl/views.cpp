// See views.hpp. Renderers read only the query documents, so a --db read and a D-Bus answer look
// the same.
#include "stewardctl/views.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "core/money.hpp"
#include "ledger/json_fields.hpp"
#include "stewardctl/fit.hpp"

namespace steward::stewardctl {

namespace json = boost::json;
using ledger::arrayOf;
using ledger::Colour;
using ledger::Database;
using ledger::displayWidth;
using ledger::formatUtcShort;
using ledger::integer;
using ledger::intOf;
using ledger::kMaxChain;
using ledger::objectOf;
using ledger::OutputStyle;
using ledger::paint;
using ledger::parseUtc;
using ledger::printable;
using ledger::str;
using ledger::TextTable;
using ledger::truncateDisplay;
template <class T>
using Result = core::Result<T>;

namespace {

std::string joined(const json::array& items, std::string_view sep, std::string_view prefix = {}) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += prefix;
    out += item.is_string() ? printable(item.as_string()) : json::serialize(item);
  }
  return out;
}

// A decision's reasons, each once: an exact repeat goes, and so does "<item>: <reason>" when the
// same reason stands on its own for the whole (records written before baskets said it once).
std::vector<std::string> distinctReasons(const json::array& reasons) {
  std::vector<std::string> all;
  for (const auto& r : reasons)
    all.push_back(r.is_string() ? printable(r.as_string()) : json::serialize(r));
  std::vector<std::string> out;
  for (const auto& r : all) {
    if (std::find(out.begin(), out.end(), r) != out.end()) continue;
    bool restated = false;
    for (std::size_t colon = r.find(": "); colon != std::string::npos && !restated;
         colon = r.find(": ", colon + 2))
      restated = std::find(all.begin(), all.end(), r.substr(colon + 2)) != all.end();
    if (!restated) out.push_back(r);
  }
  return out;
}

std::string did(std::int64_t seq) {
  return "D" + std::to_string(seq);
}

std::string shortTime(const json::object& d) {
  return formatUtcShort(core::fromUnixMillis(intOf(d, "at_ms")));
}

Colour outcomeColour(std::string_view outcome) {
  for (std::string_view bad : {"deny", "denied", "rejected", "timed-out", "cancelled", "failed"}) {
    if (outcome == bad) return Colour::red;
  }
  for (std::string_view wait : {"needs-approval", "pending", "paused", "disputed"}) {
    if (outcome == wait) return Colour::yellow;
  }
  for (std::string_view good :
       {"allow", "allowed", "granted", "admitted", "chosen", "confirmed", "accepted", "resumed"}) {
    if (outcome == good) return Colour::green;
  }
  return Colour::none;
}

std::string formatMinor(std::int64_t minor, std::string_view code) {
  core::Money m;
  m.minor = minor;
  if (auto c = core::currencyFromCode(code)) {
    m.currency = *c;
    return core::formatMoney(m);
  }
  return std::to_string(minor) + " " + std::string(code);  // unknown currency: minor units
}

std::string scoreText(const json::value* v) {
  if (!v || v->is_null()) return "-";
  if (v->is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v->as_double());
    return buf;
  }
  return json::serialize(*v);
}

// Compact input for a human: long "raw" evidence is summarised, the rest cut to `width`.
std::string inputText(const json::value& input, std::size_t width) {
  if (const auto* o = input.if_object()) {
    json::object copy = *o;
    if (auto* raw = copy.if_contains("raw");
        raw && raw->is_string() && raw->as_string().size() > 40) {
      *raw = "<signed message, " + std::to_string(raw->as_string().size()) + " bytes>";
    }
    return truncateDisplay(json::serialize(copy), width);
  }
  return truncateDisplay(input.is_string() ? printable(input.as_string()) : json::serialize(input),
                         width);
}

}  // namespace

void renderLog(const json::array& decisions, const OutputStyle& style, std::ostream& out,
               std::size_t width) {
  if (decisions.empty()) {
    out << "no decisions match\n";
    return;
  }
  // Reasons are sentences: each goes whole on lines of its own under its decision, wrapped to
  // the terminal, rather than cut to a column.
  TextTable table({{"SEQ", true},
                   {"TIME (UTC)"},
                   {"KIND"},
                   {"SUBJECT", false, 36},
                   {"OUTCOME"},
                   {"CAUSES", false, 24}});
  std::vector<std::vector<std::string>> reasons_of;
  for (const auto& v : decisions) {
    const auto* d = v.if_object();
    if (!d) continue;
    const std::string outcome = str(*d, "outcome");
    const auto* causes = d->if_contains("causes");
    table.add(
        {str(*d, "id"), shortTime(*d), str(*d, "kind"), str(*d, "subject"), outcome,
         causes && causes->is_array() ? joined(causes->as_array(), ",", "D") : str(*d, "causes")},
        {Colour::none, Colour::dim, Colour::none, Colour::none, outcomeColour(outcome)});
    const auto* reasons = d->if_contains("reasons");
    reasons_of.push_back(reasons && reasons->is_array() ? distinctReasons(reasons->as_array())
                         : str(*d, "reasons").empty()
                             ? std::vector<std::string>{}
                             : std::vector<std::string>{printable(str(*d, "reasons"))});
  }
  std::ostringstream printed;
  table.print(printed, style);
  std::istringstream lines(printed.str());
  std::string line;
  std::getline(lines, line);
  out << line << '\n';  // the header
  constexpr std::string_view kFirst = "    - ", kMore = "      ";
  const std::size_t text_width = width == 0 ? 0 : std::max<std::size_t>(width, 40) - kFirst.size();
  for (const auto& reasons : reasons_of) {
    if (!std::getline(lines, line)) break;
    out << line << '\n';
    for (const auto& r : reasons) {
      std::string_view lead = kFirst;
      for (const auto& part : wrapText(r, text_width)) {
        out << lead << part << '\n';
        lead = kMore;
      }
    }
  }
}

Result<void> printLog(Database& db, const ledger::LogQuery& query, const OutputStyle& style,
                      std::ostream& out, std::size_t width) {
  auto rows = ledger::queryLog(db, query);
  if (!rows) return rows.error();
  if (style.json) {
    out << json::serialize(*rows) << '\n';
  } else {
    renderLog(*rows, style, out, width);
  }
  return {};
}

void renderExplanation(const json::object& e, const OutputStyle& style, std::ostream& out) {
  const auto& target = objectOf(e, "decision");
  out << paint(str(target, "id"), Colour::bold, style) << "  " << str(target, "kind") << "  "
      << str(target, "subject") << "  "
      << paint(str(target, "outcome"), outcomeColour(str(target, "outcome")), style) << "  ("
      << shortTime(target) << " UTC)\n\n";

  out << paint("How it came about", Colour::bold, style) << " (oldest first):\n";
  std::size_t id_width = 0;
  for (const auto& v : arrayOf(e, "chain")) {
    if (const auto* d = v.if_object()) id_width = std::max(id_width, displayWidth(str(*d, "id")));
  }
  for (const auto& v : arrayOf(e, "chain")) {
    const auto* d = v.if_object();
    if (!d) continue;
    const std::string outcome = str(*d, "outcome");
    const std::string id = str(*d, "id");
    out << "  " << paint(id, Colour::bold, style) << std::string(id_width - displayWidth(id), ' ')
        << "  " << shortTime(*d) << "  " << str(*d, "kind") << "  "
        << (str(*d, "subject").empty() ? "-" : str(*d, "subject")) << "  → "
        << paint(outcome, outcomeColour(outcome), style) << '\n';
    if (const auto& causes = arrayOf(*d, "causes"); !causes.empty()) {
      out << "      caused by  " << joined(causes, ", ", "D") << '\n';
    }
    if (const auto* in = d->if_contains("input");
        in && !(in->is_object() && in->as_object().empty())) {
      out << "      input      " << inputText(*in, 160) << '\n';
    }
    if (const auto& reasons = arrayOf(*d, "reasons"); !reasons.empty()) {
      std::string text;
      for (const auto& r : distinctReasons(reasons))
        text += (text.empty() ? "" : "; ") + r;
      out << "      reasons    " << truncateDisplay(text, 160) << '\n';
    }
    if (auto rev = str(*d, "policy_revision"); !rev.empty()) {
      out << "      policy     " << rev.substr(0, 12) << '\n';
    }
  }
  if (const auto* t = e.if_contains("chain_truncated"); t && t->is_bool() && t->as_bool()) {
    out << "  … (chain cut at " << kMaxChain << " records)\n";
  }

  for (const auto& group : arrayOf(e, "offers")) {
    const auto* g = group.if_object();
    if (!g) continue;
    out << '\n'
        << paint("Offers", Colour::bold, style) << " answering " << str(*g, "rfq_id") << " ("
        << str(*g, "subject") << "):\n";
    const auto& offers = arrayOf(*g, "offers");
    if (offers.empty()) {
      out << "  none received\n";
      continue;
    }
    TextTable table({{"OFFER"},
                     {"ROUND", true},
                     {"VENDOR", false, 24},
                     {"TOTAL", true},
                     {"DELIVERY"},
                     {"SCORE", true},
                     {"VERDICT"},
                     {"WHY", false, 60}});
    for (const auto& ov : offers) {
      const auto* o = ov.if_object();
      if (!o) continue;
      const std::string verdict = str(*o, "verdict");
      auto dash = [](std::string s) { return s.empty() ? std::string("-") : s; };
      table.add(
          {str(*o, "id"), std::to_string(intOf(*o, "round")), dash(str(*o, "vendor")),
           dash(str(*o, "total")), dash(str(*o, "delivery")), scoreText(o->if_contains("score")),
           dash(verdict), joined(arrayOf(*o, "reasons"), "; ")},
          {Colour::none, Colour::none, Colour::none, Colour::none, Colour::none, Colour::none,
           verdict == "chosen" ? Colour::green : (verdict.empty() ? Colour::none : Colour::red)});
    }
    table.print(out, style, "  ");
  }

  if (const auto& rules = arrayOf(e, "rules"); !rules.empty()) {
    out << '\n' << paint("Rules that decided", Colour::bold, style) << ":\n";
    for (const auto& rv : rules) {
      const auto* r = rv.if_object();
      if (!r) continue;
      const std::string outcome = str(*r, "outcome");
      out << "  " << str(*r, "id") << "  " << paint(outcome, outcomeColour(outcome), style) << "  "
          << (arrayOf(*r, "rules").empty() ? "(no rule named)"
                                           : joined(arrayOf(*r, "rules"), "; "));
      if (auto rev = str(*r, "policy_revision"); !rev.empty())
        out << "  (policy " << rev.substr(0, 12) << ")";
      out << '\n';
    }
  }
}

Result<void> printExplanation(Database& db, std::string_view id, const OutputStyle& style,
                              std::ostream& out) {
  auto e = ledger::explainDecision(db, id);
  if (!e) return e.error();
  if (style.json) {
    out << json::serialize(*e) << '\n';
  } else {
    renderExplanation(*e, style, out);
  }
  return {};
}

void renderApprovals(const json::array& approvals, const OutputStyle& style, std::ostream& out) {
  if (approvals.empty()) {
    out << "no approvals waiting\n";
    return;
  }
  TextTable table({{"ID"},
                   {"SUBJECT", false, 32},
                   {"AMOUNT", true},
                   {"STATE"},
                   {"REQUESTED (UTC)"},
                   {"EXPIRES (UTC)"},
                   {"SUMMARY", false, 60}});
  for (const auto& v : approvals) {
    const auto* a = v.if_object();
    if (!a) continue;
    auto when = [&](std::string_view key) {
      auto t = parseUtc(str(*a, key));
      return t ? formatUtcShort(*t) : str(*a, key);
    };
    const std::string state = str(*a, "state");
    const auto* summary = a->if_contains("summary");
    table.add({str(*a, "id"), str(*a, "subject"), str(*a, "amount"), state, when("requested_at"),
               when("expires_at"), summary ? inputText(*summary, 60) : ""},
              {Colour::bold, Colour::none, Colour::none, outcomeColour(state)});
  }
  table.print(out, style);
}

Result<void> printApprovals(Database& db, bool pending_only, const OutputStyle& style,
                            std::ostream& out) {
  auto rows = ledger::queryApprovals(db, pending_only);
  if (!rows) return rows.error();
  if (style.json) {
    out << json::serialize(*rows) << '\n';
  } else {
    renderApprovals(*rows, style, out);
  }
  return {};
}

std::string budgetBar(std::int64_t spent, std::int64_t reserved, std::optional<std::int64_t> cap,
                      std::size_t width) {
  if (!cap) return "[" + std::string(width, ' ') + "]";
  if (*cap <= 0) {
    const bool used = spent > 0 || reserved > 0;
    return "[" + std::string(width, used ? '#' : '-') + "]";
  }
  const std::int64_t limit = *cap;
  auto cells = [&](std::int64_t amount) {
    const long double share = static_cast<long double>(std::max<std::int64_t>(amount, 0)) /
                              static_cast<long double>(limit);
    return static_cast<std::size_t>(std::min<long double>(std::floor(share * width), width));
  };
  const std::size_t s = cells(spent);
  const std::size_t total = cells(spent + std::max<std::int64_t>(reserved, 0));
  const std::size_t r = std::min(width - s, total > s ? total - s : 0);
  return "[" + std::string(s, '#') + std::string(r, '+') + std::string(width - s - r, '-') + "]";
}

void renderStatus(const json::object& status, const OutputStyle& style, std::ostream& out) {
  const auto& ledger = objectOf(status, "ledger");
  out << paint("Ledger", Colour::bold, style) << "      ";
  if (intOf(ledger, "head_seq") == 0) {
    out << "empty\n";
  } else {
    auto at = parseUtc(str(ledger, "last_at"));
    out << intOf(ledger, "head_seq") << " decisions, last " << did(intOf(ledger, "head_seq"))
        << " at " << (at ? formatUtcShort(*at) : str(ledger, "last_at")) << " UTC\n";
  }
  out << paint("Checkpoint", Colour::bold, style) << "  ";
  if (const auto* cp = status.if_contains("checkpoint"); cp && cp->is_object()) {
    const auto& c = cp->as_object();
    auto at = parseUtc(str(c, "at"));
    out << did(intOf(c, "seq")) << " signed " << (at ? formatUtcShort(*at) : str(c, "at"))
        << " UTC by key " << str(c, "key_id") << '\n';
  } else {
    out << paint("none yet", Colour::yellow, style) << '\n';
  }

  const auto& purchasing = objectOf(status, "purchasing");
  out << paint("Purchasing", Colour::bold, style) << "  ";
  const auto* paused = purchasing.if_contains("paused");
  const auto& pauses = arrayOf(purchasing, "pauses");
  bool first_line = true;
  if (!(paused && paused->is_bool() && paused->as_bool())) {
    out << paint("active", Colour::green, style) << '\n';
    first_line = false;
  }
  for (const auto& pv : pauses) {
    const auto* p = pv.if_object();
    if (!p) continue;
    if (!first_line) out << "            ";
    first_line = false;
    const std::string device = str(*p, "device");
    auto since = parseUtc(str(*p, "since"));
    out << paint(device.empty() ? "PAUSED" : "paused for device " + device, Colour::yellow, style)
        << " since " << (since ? formatUtcShort(*since) : str(*p, "since")) << " UTC by uid "
        << intOf(*p, "uid");
    if (auto reason = str(*p, "reason"); !reason.empty())
      out << " (" << truncateDisplay(reason, 60) << ")";
    out << '\n';
  }

  const auto pending = intOf(objectOf(status, "approvals"), "pending");
  out << paint("Approvals", Colour::bold, style) << "   "
      << paint(std::to_string(pending) + " pending", pending > 0 ? Colour::yellow : Colour::none,
               style)
      << '\n';

  const auto& budgets = arrayOf(status, "budgets");
  out << paint("Budgets", Colour::bold, style) << "     ";
  if (budgets.empty()) {
    out << "no spending this month and no caps known\n";
    return;
  }
  out << "this month\n";
  TextTable table(
      {{"CATEGORY"}, {"USE"}, {"SPENT", true}, {"RESERVED", true}, {"CAP", true}, {"", true}});
  for (const auto& bv : budgets) {
    const auto* b = bv.if_object();
    if (!b) continue;
    const std::int64_t spent = intOf(*b, "spent_minor"), reserved = intOf(*b, "reserved_minor");
    // null (or absent): no cap; 0 is a cap that allows nothing.
    const std::optional<std::int64_t> limit = integer(b->if_contains("limit_minor"));
    const std::string currency = str(*b, "currency");
    const std::int64_t used = spent + reserved;
    const std::int64_t pct = !limit ? 0 : *limit > 0 ? used * 100 / *limit : used > 0 ? 100 : 0;
    const Colour c = !limit       ? Colour::none
                     : pct >= 100 ? Colour::red
                     : pct >= 80  ? Colour::yellow
                                  : Colour::green;
    table.add({str(*b, "category"), budgetBar(spent, reserved, limit), formatMinor(spent, currency),
               formatMinor(reserved, currency), limit ? formatMinor(*limit, currency) : "no cap",
               limit ? std::to_string(pct) + " %" : ""},
              {Colour::none, c, Colour::none, Colour::none, Colour::none, c});
  }
  table.print(out, style, "  ");
}

Result<void> printStatus(Database& db, const OutputStyle& style, std::ostream& out) {
  auto s = ledger::queryStatus(db);
  if (!s) return s.error();
  if (style.json) {
    out << json::serialize(*s) << '\n';
  } else {
    renderStatus(*s, style, out);
  }
  return {};
}

std::string relative(core::TimePoint t, core::TimePoint now) {
  using namespace std::chrono;
  const auto diff = duration_cast<seconds>(t - now).count();
  const std::int64_t a = diff < 0 ? -diff : diff;
  if (a < 60) return "just now";
  std::string amount;
  if (a < 3600) {
    amount = std::to_string(a / 60) + " min";
  } else if (a < 2 * 86400) {
    amount = std::to_string(a / 3600) + " h";
  } else {
    amount = std::to_string(a / 86400) + " days";
  }
  return diff < 0 ? amount + " ago" : "in " + amount;
}

std::string whenText(std::string_view utc, core::TimePoint now) {
  auto t = parseUtc(utc);
  if (!t) return utc.empty() ? "-" : printable(utc);
  return formatUtcShort(*t) + " UTC (" + relative(*t, now) + ")";
}

namespace {

// "toner-black" -> "toner black"
std::string words(std::string key) {
  std::replace(key.begin(), key.end(), '-', ' ');
  std::replace(key.begin(), key.end(), '_', ' ');
  return key;
}

std::string numberText(const json::value& v) {
  if (v.is_double()) return plainNumber(std::round(v.get_double() * 10.0) / 10.0);
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return v.is_string() ? printable(v.get_string()) : "-";
}

std::string measure(const json::value* value, std::string_view unit) {
  if (!value || value->is_null()) return "-";
  std::string text = numberText(*value);
  if (!unit.empty()) text += " " + printable(unit);
  return text;
}

}  // namespace

void renderDevices(const json::value& devices, const Layout& layout, std::ostream& out) {
  const json::array* list = devices.if_array();
  if (!list || list->empty()) {
    out << "no devices found yet\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& dv : *list) {
    const auto* d = dv.if_object();
    if (!d) continue;
    std::string levels;
    for (const auto& [k, l] : objectOf(*d, "levels")) {
      if (!l.is_object()) continue;
      if (!levels.empty()) levels += ", ";
      levels += words(std::string(k)) + " " +
                measure(l.get_object().if_contains("value"), str(l.get_object(), "unit"));
    }
    std::string needs;
    for (const auto& nv : arrayOf(*d, "needs")) {
      if (!nv.is_object()) continue;
      if (!needs.empty()) needs += ", ";
      needs += words(str(nv.get_object(), "key"));
    }
    const std::string id = str(*d, "id");
    std::string name = str(*d, "name");
    if (name.empty()) name = id;
    std::string kind = str(*d, "kind");
    const std::string model = str(*d, "model");
    if (!model.empty()) kind += " (" + model + ")";
    rows.push_back({name, id, kind, levels.empty() ? "-" : levels, str(*d, "availability"),
                    whenText(str(*d, "last_seen"), layout.now), needs.empty() ? "-" : needs,
                    joined(arrayOf(*d, "sources"), ", ")});
  }
  printFitted({{"NAME", false, 0, true},
               {"ID", false, 4, true},
               {"KIND", false, 5, true},
               {"LEVELS", false, 0, true},
               {"STATE", false, 3},
               {"LAST SEEN", false, 2},
               {"WANTS", false, 6, true},
               {"SOURCES", false, 1, true}},
              rows, layout.width, layout.style, out);
}

void renderNeeds(const json::value& needs, const Layout& layout, std::ostream& out) {
  const json::array* list = needs.if_array();
  if (!list || list->empty()) {
    out << "nothing needed at the moment\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& nv : *list) {
    const auto* n = nv.if_object();
    if (!n) continue;
    std::string forecast;
    for (const auto& sv : arrayOf(*n, "sources")) {
      if (!sv.is_object()) continue;
      const auto& s = sv.get_object();
      if (!forecast.empty()) forecast += "; ";
      forecast += str(s, "device") + " " + words(str(s, "key"));
      const auto& f = objectOf(s, "forecast");
      if (!f.empty()) {
        forecast += " " + measure(f.if_contains("level"), str(f, "unit"));
        if (auto runout = parseUtc(str(f, "runout")))
          forecast += ", runs out " + relative(*runout, layout.now);
      }
    }
    std::string state = str(*n, "state");
    if (const auto* held = n->if_contains("held"); held && held->is_object()) state += " (held)";
    auto by = parseUtc(str(*n, "needed_by"));
    const std::string estimate = str(*n, "estimate");
    rows.push_back({str(*n, "id"), str(*n, "item"), state, std::to_string(intOf(*n, "quantity")),
                    by ? relative(*by, layout.now) : str(*n, "needed_by"),
                    estimate.empty() ? "-" : estimate, forecast.empty() ? "-" : forecast,
                    str(*n, "reason")});
  }
  printFitted({{"ID", true},
               {"ITEM", false, 0, true},
               {"STATE"},
               {"QTY", true, 3},
               {"NEEDED", false, 4},
               {"ESTIMATE", true, 2},
               {"FORECAST", false, 5, true},
               {"WHY", false, 1, true}},
              rows, layout.width, layout.style, out);
}
}  // namespace steward::stewardctl
