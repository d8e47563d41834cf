// See review.hpp. Queries build JSON documents; renderers only read those documents, so the
// same renderer serves a --db read and a D-Bus answer.
#include "ledger/review.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <set>

#include "core/duration.hpp"
#include "core/money.hpp"
#include "ledger/approvals.hpp"
#include "ledger/checkpoint.hpp"
#include "ledger/controls.hpp"
#include "ledger/json_fields.hpp"
#include "ledger/kinds.hpp"

namespace steward::ledger {
namespace json = boost::json;
namespace {

json::value parsedOrText(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
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

bool validKindFilter(std::string_view kind) {
  for (char c : kind) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return kind.size() <= 64;
}

Result<std::optional<json::object>> fetchDecision(Statement& q, std::int64_t seq) {
  q.bind(1, seq);
  auto row = q.step();
  std::optional<json::object> out;
  if (row && *row) out = decisionJson(q);
  q.reset();
  if (!row) return row.error();
  return out;
}

Result<json::array> collect(Statement& q) {
  json::array out;
  if (auto done = q.forEach([&](auto&) { out.push_back(decisionJson(q)); }); !done)
    return done.error();
  return out;
}

std::vector<std::int64_t> causesOf(const json::object& d) {
  std::vector<std::int64_t> out;
  for (const auto& c : arrayOf(d, "causes")) {
    if (auto n = integer(&c)) out.push_back(*n);
  }
  return out;
}

// Where does `id` point? See explainDecision().
Result<std::int64_t> resolve(Database& db, std::string_view id) {
  const std::string shown(id);
  auto number = [](std::string_view digits) -> std::optional<std::int64_t> {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 1) {
      return std::nullopt;
    }
    return n;
  };
  if (auto n = number(id)) return *n;
  if (id.size() > 1 && id.front() == 'D') {
    if (auto n = number(id.substr(1))) return *n;
  }
  if (id.size() > 1 && id.front() == 'A' && number(id.substr(1))) {
    auto approvals = listApprovals(db, false);
    if (!approvals) return approvals.error();
    for (const auto& a : *approvals) {
      if (a.id == id) return a.decision_seq.value_or(a.request_seq);
    }
    return core::fail("no approval " + shown);
  }
  if (id.find(':') != std::string_view::npos) {
    auto q = db.prepare("SELECT seq FROM decisions WHERE subject = ?1 ORDER BY seq DESC LIMIT 1");
    if (!q) return q.error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.error();
    if (*row) return q->int64(0);
    return core::fail("no decision about " + shown);
  }
  return core::fail("no decision " + shown +
                    ": expected D<n>, A<n> (an approval) or a subject like order:<id>");
}

// --- offers --------------------------------------------------------------------------------

std::string offerVendor(const json::object& input) {
  for (auto key : {"vendor", "retailer", "vendor_id", "provider"}) {
    if (auto s = str(input, key); !s.empty()) return s;
  }
  return {};
}

std::string offerTotal(const json::object& input) {
  for (auto key : {"total", "price", "amount"}) {
    if (const auto* v = input.if_contains(key); v && v->is_string())
      return std::string(v->as_string());
  }
  if (auto minor = integer(input.if_contains("total_minor"))) {
    return formatMinor(*minor, str(input, "currency"));
  }
  return {};
}

std::string offerDelivery(const json::object& input) {
  if (auto s = str(input, "delivery"); !s.empty()) return s;
  if (auto days = integer(input.if_contains("delivery_days"))) return std::to_string(*days) + "d";
  return str(input, "eta");
}

json::value offerScore(const json::object& input) {
  if (const auto* v = input.if_contains("score"); v && (v->is_number())) return *v;
  return nullptr;
}

Result<json::array> offersFor(Database& db, std::int64_t rfq) {
  // Records whose causes name `cause`, of the given kinds, after it; kinds use decisions_kind.
  auto followUps = [&db](std::int64_t cause, std::string_view kinds) -> Result<json::array> {
    auto q = db.prepare("SELECT " + std::string(kDecisionColumns) +
                        " FROM decisions WHERE kind IN (" + std::string(kinds) +
                        ") AND seq > ?1 AND EXISTS (SELECT 1 FROM json_each(CASE WHEN "
                        "json_valid(causes) THEN causes ELSE '[]' END) WHERE value = ?1) "
                        "ORDER BY seq LIMIT 50");
    if (!q) return q.error();
    q->bind(1, cause);
    return collect(*q);
  };
  struct Pending {
    json::object offer;
    int round;
  };
  auto first = followUps(rfq, "'offer.received'");
  if (!first) return first.error();
  std::deque<Pending> work;
  for (auto& o : *first)
    work.push_back({std::move(o.as_object()), 1});

  json::array rows;
  constexpr std::size_t kMaxOffers = 100;
  while (!work.empty() && rows.size() < kMaxOffers) {
    Pending p = std::move(work.front());
    work.pop_front();
    const auto& input = objectOf(p.offer, "input");
    json::object row;
    row["seq"] = intOf(p.offer, "seq");
    row["id"] = str(p.offer, "id");
    row["kind"] = str(p.offer, "kind");
    row["round"] = p.round;
    row["vendor"] = offerVendor(input);
    row["offer_id"] = str(input, "offer_id");
    row["total"] = offerTotal(input);
    row["delivery"] = offerDelivery(input);
    row["score"] = offerScore(input);
    row["verdict"] = nullptr;
    row["verdict_id"] = nullptr;
    row["reasons"] = json::array();

    auto next = followUps(intOf(p.offer, "seq"), "'offer.chosen','offer.rejected','counter.sent'");
    if (!next) return next.error();
    for (auto& f : *next) {
      auto& fo = f.as_object();
      const std::string kind = str(fo, "kind");
      if (kind == kind::counterSent) {
        auto answers = followUps(intOf(fo, "seq"), "'counter.received'");
        if (!answers) return answers.error();
        for (auto& a : *answers)
          work.push_back({std::move(a.as_object()), p.round + 1});
        continue;
      }
      // The last verdict on an offer stands.
      row["verdict"] = kind == kind::offerChosen ? "chosen" : "rejected";
      row["verdict_id"] = str(fo, "id");
      row["reasons"] = arrayOf(fo, "reasons");
      if (json::value s = offerScore(objectOf(fo, "input")); !s.is_null()) row["score"] = s;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void csvField(std::ostream& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << text;
    return;
  }
  out << '"';
  for (char c : text) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

}  // namespace

json::object decisionJson(const Statement& q) {
  json::object o;
  o["seq"] = q.int64(0);
  o["id"] = q.textView(1);
  o["at"] = formatUtc(core::fromUnixMillis(q.int64(2)));
  o["at_ms"] = q.int64(2);
  o["kind"] = q.textView(3);
  o["subject"] = q.textView(4);
  o["input"] = parsedOrText(q.textView(5));
  o["outcome"] = q.textView(6);
  o["reasons"] = parsedOrText(q.textView(7));
  o["policy_revision"] = q.textView(8);
  o["causes"] = parsedOrText(q.textView(9));
  o["prev_hash"] = q.textView(10);
  o["hash"] = q.textView(11);
  return o;
}

// --- log -----------------------------------------------------------------------------------

Result<core::TimePoint> parseSince(std::string_view text, core::TimePoint now) {
  if (auto t = parseUtc(text)) return *t;
  if (auto d = core::parseDuration(text)) return now - *d;
  return core::fail(
      "--since: expected a UTC time like \"2026-05-01T10:00Z\" or a duration like "
      "\"48h\", got \"" +
      std::string(text) + "\"");
}

Result<json::array> queryLog(Database& db, const LogQuery& query) {
  if (!validKindFilter(query.kind)) {
    return core::fail("kind filter \"" + query.kind +
                      "\" is not a decision kind like \"need.opened\" or an area like \"need\"");
  }
  auto q = db.prepare(
      "SELECT " + std::string(kDecisionColumns) +
      " FROM decisions WHERE (?1 IS NULL OR at_ms >= ?1)"
      " AND (?2 IS NULL OR subject = 'device:' || ?2"
      "      OR CASE WHEN json_valid(input) THEN json_extract(input, '$.device_id') END = ?2"
      "      OR CASE WHEN json_valid(input) THEN json_extract(input, '$.device') END = ?2)"
      " AND (?3 IS NULL OR kind = ?3 OR substr(kind, 1, length(?3) + 1) = ?3 || '.')"
      " AND (?5 IS NULL OR seq > ?5)" +
      std::string(query.after_seq ? " ORDER BY seq LIMIT ?4" : " ORDER BY seq DESC LIMIT ?4"));
  if (!q) return q.error();
  if (query.since) {
    q->bind(1, static_cast<std::int64_t>(core::toUnixMillis(*query.since)));
  } else {
    q->bindNull(1);
  }
  if (query.device.empty()) {
    q->bindNull(2);
  } else {
    q->bind(2, query.device);
  }
  if (query.kind.empty()) {
    q->bindNull(3);
  } else {
    q->bind(3, query.kind);
  }
  q->bind(4, query.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(query.limit));
  if (query.after_seq) {
    q->bind(5, *query.after_seq);
  } else {
    q->bindNull(5);
  }
  auto rows = collect(*q);
  if (!rows) return rows.error();
  if (!query.after_seq) std::reverse(rows->begin(), rows->end());
  return rows;
}

// --- explain -------------------------------------------------------------------------------

Result<json::object> explainDecision(Database& db, std::string_view id) {
  auto has = db.hasTable("decisions");
  if (!has) return has.error();
  if (!*has) return core::fail("not a Steward ledger: it has no decisions table");
  auto target = resolve(db, id);
  if (!target) return target.error();
  auto q = db.prepare("SELECT " + std::string(kDecisionColumns) + " FROM decisions WHERE seq = ?1");
  if (!q) return q.error();
  auto first = fetchDecision(*q, *target);
  if (!first) return first.error();
  if (!*first) return core::fail("no decision D" + std::to_string(*target));

  // Breadth-first over causes; every ancestor once, capped.
  std::set<std::int64_t> seen{*target};
  std::deque<std::int64_t> work;
  std::vector<json::object> chain{**first};
  for (auto c : causesOf(**first))
    work.push_back(c);
  bool truncated = false;
  while (!work.empty()) {
    const std::int64_t seq = work.front();
    work.pop_front();
    if (!seen.insert(seq).second) continue;
    if (chain.size() >= kMaxChain) {
      truncated = true;
      break;
    }
    auto d = fetchDecision(*q, seq);
    if (!d) return d.error();
    if (!*d) continue;  // a dangling cause; verify reports what happened to it
    for (auto c : causesOf(**d))
      work.push_back(c);
    chain.push_back(std::move(**d));
  }
  std::sort(chain.begin(), chain.end(), [](const json::object& a, const json::object& b) {
    return intOf(a, "seq") < intOf(b, "seq");
  });

  json::object result;
  result["decision"] = **first;
  json::array offers, rules, chain_json;
  for (auto& d : chain) {
    const std::string kind = str(d, "kind");
    if (kind == kind::rfqSent) {
      auto rows = offersFor(db, intOf(d, "seq"));
      if (!rows) return rows.error();
      offers.push_back(json::object{{"rfq", intOf(d, "seq")},
                                    {"rfq_id", str(d, "id")},
                                    {"subject", str(d, "subject")},
                                    {"offers", std::move(*rows)}});
    } else if (kind == kind::policyEvaluated) {
      rules.push_back(json::object{{"seq", intOf(d, "seq")},
                                   {"id", str(d, "id")},
                                   {"subject", str(d, "subject")},
                                   {"outcome", str(d, "outcome")},
                                   {"rules", arrayOf(d, "reasons")},
                                   {"policy_revision", str(d, "policy_revision")}});
    }
    chain_json.push_back(std::move(d));
  }
  result["chain"] = std::move(chain_json);
  result["offers"] = std::move(offers);
  result["rules"] = std::move(rules);
  result["chain_truncated"] = truncated;
  return result;
}

// --- export --------------------------------------------------------------------------------

Result<ExportFormat> parseExportFormat(std::string_view name) {
  if (name == "jsonl") return ExportFormat::jsonl;
  if (name == "csv") return ExportFormat::csv;
  return core::fail("export format must be jsonl or csv, got \"" + std::string(name) + "\"");
}

Result<std::int64_t> exportChunk(Database& db, ExportFormat format, std::int64_t after_seq,
                                 std::size_t max_rows, std::ostream& out) {
  auto has = db.hasTable("decisions");
  if (!has) return has.error();
  if (!*has) return core::fail("not a Steward ledger: it has no decisions table");
  auto q = db.prepare("SELECT " + std::string(kDecisionColumns) +
                      " FROM decisions WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!q) return q.error();
  q->bind(1, after_seq);
  q->bind(2, max_rows == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(max_rows));
  if (format == ExportFormat::csv && after_seq == 0) {
    out << "seq,id,at,at_ms,kind,subject,input,outcome,reasons,policy_revision,causes,prev_hash,"
           "hash\r\n";
  }
  std::int64_t last = 0;
  if (auto done = q->forEach([&](auto&) {
        last = q->int64(0);
        if (format == ExportFormat::jsonl) {
          out << json::serialize(decisionJson(*q)) << '\n';
          return;
        }
        out << q->int64(0) << ',';
        csvField(out, q->textView(1));
        out << ',' << formatUtc(core::fromUnixMillis(q->int64(2))) << ',' << q->int64(2);
        for (int col = 3; col <= 11; ++col) {
          out << ',';
          csvField(out, q->textView(col));
        }
        out << "\r\n";
      });
      !done)
    return done.error();
  if (!out) return core::fail("export: writing the output failed");
  return last;
}

Result<void> exportDecisions(Database& db, ExportFormat format, std::ostream& out) {
  auto last = exportChunk(db, format, 0, 0, out);
  if (!last) return last.error();
  return {};
}

// --- approvals -----------------------------------------------------------------------------

Result<json::array> queryApprovals(Database& db, bool pending_only) {
  auto list = listApprovals(db, pending_only, pending_only ? 0 : 200);
  if (!list) return list.error();
  json::array out;
  for (const auto& a : *list)
    out.push_back(toJson(a));
  return out;
}

// --- status --------------------------------------------------------------------------------

Result<std::vector<BudgetUse>> readBudgetUse(Database& db, std::string_view month) {
  std::vector<BudgetUse> out;
  // The policy module's reservations (ledger/budget_store.hpp): spent = committed, reserved =
  // reserved; the caps live in the policy, so the caller adds them.
  auto reservations = db.hasTable("budget_reservations");
  if (!reservations) return reservations.error();
  if (*reservations) {
    auto q = db.prepare(
        "SELECT category, "
        "  SUM(CASE WHEN state = 'committed' THEN amount_minor ELSE 0 END), "
        "  SUM(CASE WHEN state = 'reserved' THEN amount_minor ELSE 0 END), currency "
        "FROM budget_reservations "
        "WHERE month = COALESCE(?1, (SELECT MAX(month) FROM budget_reservations)) "
        "GROUP BY category, currency ORDER BY category");
    if (!q) return q.error();
    if (month.empty()) {
      q->bindNull(1);
    } else {
      q->bind(1, month);
    }
    if (auto done = q->forEach([&](auto&) {
          out.push_back(BudgetUse{q->text(0), q->int64(1), q->int64(2), std::nullopt, q->text(3)});
        });
        !done)
      return done.error();
    return out;
  }
  for (std::string_view table : {"budget_use", "budgets"}) {
    auto has = db.hasTable(table);
    if (!has) return has.error();
    if (!*has) continue;
    auto info = db.prepare("SELECT name FROM pragma_table_info(?1)");
    if (!info) return info.error();
    info->bind(1, table);
    std::set<std::string> columns;
    if (auto done = info->forEach([&](auto&) { columns.insert(info->text(0)); }); !done)
      return done.error();
    auto pick = [&](std::initializer_list<std::string_view> names) -> std::string {
      for (auto n : names) {
        if (columns.count(std::string(n))) return std::string(n);
      }
      return {};
    };
    const std::string spent = pick({"spent_minor", "spent"});
    const std::string limit =
        pick({"limit_minor", "cap_minor", "monthly_cap_minor", "monthly_limit_minor"});
    const std::string reserved = pick({"reserved_minor", "reserved"});
    const std::string currency = pick({"currency"});
    const std::string month_col = pick({"month"});
    if (!columns.count("category") || spent.empty()) continue;  // not a shape we know
    // Column names come from the fixed lists above, never from the file.
    std::string sql = "SELECT category, " + spent + ", " + (reserved.empty() ? "0" : reserved) +
                      ", " + (limit.empty() ? "NULL" : limit) + ", " +
                      (currency.empty() ? "''" : currency) + " FROM " + std::string(table);
    if (!month_col.empty()) {
      sql += month.empty() ? " WHERE month = (SELECT MAX(month) FROM " + std::string(table) + ")"
                           : " WHERE month = ?1";
    }
    sql += " ORDER BY category";
    auto q = db.prepare(sql);
    if (!q) return q.error();
    if (!month_col.empty() && !month.empty()) q->bind(1, month);
    if (auto done = q->forEach([&](auto&) {
          std::optional<std::int64_t> cap;
          if (!limit.empty() && !q->isNull(3)) cap = q->int64(3);
          out.push_back(BudgetUse{q->text(0), q->int64(1), q->int64(2), cap, q->text(4)});
        });
        !done)
      return done.error();
    return out;
  }
  return out;
}

Result<json::object> queryStatus(Database& db, std::optional<std::vector<BudgetUse>> budgets) {
  json::object status;
  json::object ledger{{"head_seq", 0}, {"head_hash", ""}, {"last_at", nullptr}};
  auto has = db.hasTable("decisions");
  if (!has) return has.error();
  if (!*has) return core::fail("not a Steward ledger: it has no decisions table");
  auto head = db.prepare("SELECT seq, hash, at_ms FROM decisions ORDER BY seq DESC LIMIT 1");
  if (!head) return head.error();
  auto row = head->step();
  if (!row) return row.error();
  if (*row) {
    ledger["head_seq"] = head->int64(0);
    ledger["head_hash"] = head->textView(1);
    ledger["last_at"] = formatUtc(core::fromUnixMillis(head->int64(2)));
  }
  status["ledger"] = std::move(ledger);

  auto cp = Checkpointer::latest(db);
  if (!cp) return cp.error();
  status["checkpoint"] = *cp ? json::value(toJson(**cp)) : json::value(nullptr);

  auto pauses = listPauses(db);
  if (!pauses) return pauses.error();
  json::array pause_list;
  bool paused = false;
  for (const auto& p : *pauses) {
    if (p.device.empty()) paused = true;
    pause_list.push_back(toJson(p));
  }
  status["purchasing"] = json::object{{"paused", paused}, {"pauses", std::move(pause_list)}};

  auto pending = listApprovals(db, true);
  if (!pending) return pending.error();
  status["approvals"] = json::object{{"pending", pending->size()}};

  if (!budgets) {
    auto read = readBudgetUse(db);
    if (!read) return read.error();
    budgets = std::move(*read);
  }
  json::array budget_list;
  for (const auto& b : *budgets) {
    budget_list.push_back(json::object{
        {"category", b.category},
        {"spent_minor", b.spent_minor},
        {"reserved_minor", b.reserved_minor},
        {"limit_minor", b.limit_minor ? json::value(*b.limit_minor) : json::value(nullptr)},
        {"currency", b.currency}});
  }
  status["budgets"] = std::move(budget_list);
  return status;
}

}  // namespace steward::ledger
