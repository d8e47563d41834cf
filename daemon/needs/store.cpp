// See store.hpp. Times are Unix milliseconds, money is minor units plus an ISO 4217 code, lists
// and details are JSON text.
#include "needs/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace steward::needs::store {
namespace {

using core::fromUnixMillis;
using core::toUnixMillis;
using ledger::Statement;

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE needs (
  id                INTEGER PRIMARY KEY,
  item_id           TEXT NOT NULL,
  category          TEXT NOT NULL,
  description       TEXT NOT NULL,
  signal_kind       TEXT NOT NULL,
  state             TEXT NOT NULL,
  quantity          INTEGER NOT NULL,
  opened_at_ms      INTEGER NOT NULL,
  updated_at_ms     INTEGER NOT NULL,
  order_from_ms     INTEGER NOT NULL,
  order_by_ms       INTEGER NOT NULL,
  needed_by_ms      INTEGER NOT NULL,
  last_signal_at_ms INTEGER NOT NULL,
  expire_after_ms   INTEGER NOT NULL,
  reason            TEXT NOT NULL,
  detail            TEXT NOT NULL,
  retailers         TEXT NOT NULL,
  price_minor       INTEGER,
  price_currency    TEXT,
  basket_id         INTEGER,
  order_id          TEXT NOT NULL,
  approval_required INTEGER NOT NULL,
  held              INTEGER NOT NULL,
  hold_reasons      TEXT NOT NULL,
  hold_revision     TEXT NOT NULL,
  retry_after_ms    INTEGER,
  closed_reason     TEXT NOT NULL,
  closed_at_ms      INTEGER,
  opened_seq        INTEGER NOT NULL
);
-- One live need per item, whatever asks for it; the engine keeps to this, the index guarantees it.
CREATE UNIQUE INDEX needs_one_live_per_item ON needs(item_id)
  WHERE state IN ('open', 'sourcing', 'awaiting-approval', 'ordered');
CREATE INDEX needs_by_state ON needs(state, id);

CREATE TABLE need_sources (
  need_id     INTEGER NOT NULL REFERENCES needs(id),
  device_id   TEXT NOT NULL,
  signal_key  TEXT NOT NULL,
  signal_kind TEXT NOT NULL,
  severity    TEXT NOT NULL,
  first_at_ms INTEGER NOT NULL,
  last_at_ms  INTEGER NOT NULL,
  reports     INTEGER NOT NULL,
  active      INTEGER NOT NULL,
  PRIMARY KEY (need_id, device_id, signal_key)
);
CREATE INDEX need_sources_by_device ON need_sources(device_id, signal_key);

CREATE TABLE need_baskets (
  id              INTEGER PRIMARY KEY,
  retailer        TEXT NOT NULL,
  state           TEXT NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  order_by_ms     INTEGER NOT NULL,
  needed_by_ms    INTEGER NOT NULL,
  needs           TEXT NOT NULL,
  estimate_minor  INTEGER,
  estimate_currency TEXT,
  approval_required INTEGER NOT NULL,
  verdict         TEXT NOT NULL,
  reasons         TEXT NOT NULL,
  policy_revision TEXT NOT NULL
);

CREATE TABLE need_series (
  device_id         TEXT NOT NULL,
  signal_key        TEXT NOT NULL,
  item_id           TEXT NOT NULL,
  signal_kind       TEXT NOT NULL,
  unit              TEXT NOT NULL,
  refills           INTEGER NOT NULL,
  last_refill_at_ms INTEGER,
  fc_status         TEXT NOT NULL,
  fc_level          REAL NOT NULL,
  fc_rate_per_day   REAL NOT NULL,
  fc_runout_ms      INTEGER,
  fc_points         INTEGER NOT NULL,
  fc_first_ms       INTEGER NOT NULL,
  fc_last_ms        INTEGER NOT NULL,
  fc_interval_ms    INTEGER NOT NULL,
  fc_stale_after_ms INTEGER NOT NULL,
  due_ms            INTEGER,
  PRIMARY KEY (device_id, signal_key)
);

CREATE TABLE need_observations (
  device_id  TEXT NOT NULL,
  signal_key TEXT NOT NULL,
  at_ms      INTEGER NOT NULL,
  level      REAL NOT NULL,
  pending    INTEGER NOT NULL,
  PRIMARY KEY (device_id, signal_key, at_ms),
  FOREIGN KEY (device_id, signal_key) REFERENCES need_series(device_id, signal_key)
    ON DELETE CASCADE
);

-- Sources whose need was closed stay quiet (open no new need) until the device clears the
-- signal, the level rises, or `until_ms` passes: a cancelled toner is not re-ordered by the next
-- reading, a delivered one not before it is installed.
CREATE TABLE need_quiet (
  device_id  TEXT NOT NULL,
  signal_key TEXT NOT NULL,
  until_ms   INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  PRIMARY KEY (device_id, signal_key)
);

CREATE TABLE need_meters (
  device_id           TEXT NOT NULL,
  signal_key          TEXT NOT NULL,
  item_id             TEXT NOT NULL,
  unit                TEXT NOT NULL,
  value               REAL NOT NULL,
  read_at_ms          INTEGER NOT NULL,
  next_due_ms         INTEGER,
  reported_read_at_ms INTEGER,
  PRIMARY KEY (device_id, signal_key)
);
)sql",
    // How much earlier than fc_runout the run-out may plausibly come (Forecast::uncertainty).
    R"sql(
ALTER TABLE need_series ADD COLUMN fc_uncertainty_ms INTEGER NOT NULL DEFAULT 0;
)sql",
};

std::string toJson(const std::vector<std::string>& list) {
  boost::json::array a;
  for (const auto& s : list)
    a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> stringList(std::string_view text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array())
    if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}

boost::json::object jsonObject(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::optional<std::int64_t> millis(const std::optional<core::TimePoint>& t) {
  if (!t) return std::nullopt;
  return static_cast<std::int64_t>(toUnixMillis(*t));
}

std::optional<core::TimePoint> optionalTime(const Statement& s, int column) {
  if (s.isNull(column)) return std::nullopt;
  return fromUnixMillis(s.int64(column));
}

std::optional<core::Money> optionalMoney(const Statement& s, int minor, int currency) {
  if (s.isNull(minor) || s.isNull(currency)) return std::nullopt;
  auto c = core::currencyFromCode(s.textView(currency));
  if (!c) return std::nullopt;
  return core::Money{s.int64(minor), *c};
}

void bindMoney(Statement& s, int minor, int currency, const std::optional<core::Money>& m) {
  if (m) {
    s.bind(minor, static_cast<std::int64_t>(m->minor)).bind(currency, m->currency.view());
  } else {
    s.bindNull(minor).bindNull(currency);
  }
}

// Columns 1..28 of a need row, shared by insert and update (29 is the id for update).
void bindNeed(Statement& s, const Need& n) {
  s.bind(1, n.item_id)
      .bind(2, n.category)
      .bind(3, n.description)
      .bind(4, toString(n.kind))
      .bind(5, toString(n.state))
      .bind(6, n.quantity)
      .bind(7, static_cast<std::int64_t>(toUnixMillis(n.opened_at)))
      .bind(8, static_cast<std::int64_t>(toUnixMillis(n.updated_at)))
      .bind(9, static_cast<std::int64_t>(toUnixMillis(n.order_from)))
      .bind(10, static_cast<std::int64_t>(toUnixMillis(n.order_by)))
      .bind(11, static_cast<std::int64_t>(toUnixMillis(n.needed_by)))
      .bind(12, static_cast<std::int64_t>(toUnixMillis(n.last_signal_at)))
      .bind(13, static_cast<std::int64_t>(n.expire_after.count()))
      .bind(14, n.reason)
      .bind(15, boost::json::serialize(n.detail))
      .bind(16, toJson(n.retailers));
  bindMoney(s, 17, 18, n.unit_price);
  if (n.basket_id) {
    s.bind(19, static_cast<std::int64_t>(*n.basket_id));
  } else {
    s.bindNull(19);
  }
  s.bind(20, n.order_id)
      .bind(21, n.approval_required ? 1 : 0)
      .bind(22, n.held ? 1 : 0)
      .bind(23, toJson(n.hold_reasons))
      .bind(24, n.hold_revision);
  if (auto ms = millis(n.retry_after)) {
    s.bind(25, static_cast<std::int64_t>(*ms));
  } else {
    s.bindNull(25);
  }
  s.bind(26, n.closed_reason);
  if (auto ms = millis(n.closed_at)) {
    s.bind(27, static_cast<std::int64_t>(*ms));
  } else {
    s.bindNull(27);
  }
  s.bind(28, static_cast<std::int64_t>(n.opened_seq));
}

Result<void> upsertSources(ledger::Database& db, const Need& n) {
  auto s = db.prepare(
      "INSERT INTO need_sources(need_id, device_id, signal_key, signal_kind, severity, "
      "first_at_ms, last_at_ms, reports, active) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) "
      "ON CONFLICT(need_id, device_id, signal_key) DO UPDATE SET signal_kind = "
      "excluded.signal_kind, "
      "severity = excluded.severity, last_at_ms = excluded.last_at_ms, reports = excluded.reports, "
      "active = excluded.active");
  if (!s) return s.error();
  for (const auto& src : n.sources) {
    s->bind(1, static_cast<std::int64_t>(n.id))
        .bind(2, src.device_id)
        .bind(3, src.key)
        .bind(4, toString(src.kind))
        .bind(5, toString(src.severity))
        .bind(6, static_cast<std::int64_t>(toUnixMillis(src.first_at)))
        .bind(7, static_cast<std::int64_t>(toUnixMillis(src.last_at)))
        .bind(8, static_cast<std::int64_t>(src.reports))
        .bind(9, src.active ? 1 : 0);
    if (auto r = s->run(); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> migrate(ledger::Database& db) {
  return db.migrate("needs", kSchema);
}

Result<bool> present(ledger::Database& db) {
  auto s = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'needs'");
  if (!s) return s.error();
  auto row = s->step();
  if (!row) return row.error();
  return *row;
}

Result<NeedId> insertNeed(ledger::Database& db, const Need& need) {
  auto s = db.prepare(
      "INSERT INTO needs(item_id, category, description, signal_kind, state, quantity, "
      "opened_at_ms, updated_at_ms, order_from_ms, order_by_ms, needed_by_ms, last_signal_at_ms, "
      "expire_after_ms, reason, detail, retailers, price_minor, price_currency, basket_id, "
      "order_id, approval_required, held, hold_reasons, hold_revision, retry_after_ms, "
      "closed_reason, closed_at_ms, opened_seq) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
      "?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28)");
  if (!s) return s.error();
  bindNeed(*s, need);
  if (auto r = s->run(); !r) return r.error();
  Need stored = need;
  stored.id = db.lastInsertRowId();
  if (auto r = upsertSources(db, stored); !r) return r.error();
  return stored.id;
}

Result<void> updateNeed(ledger::Database& db, const Need& need) {
  auto s = db.prepare(
      "UPDATE needs SET item_id=?1, category=?2, description=?3, signal_kind=?4, state=?5, "
      "quantity=?6, opened_at_ms=?7, updated_at_ms=?8, order_from_ms=?9, order_by_ms=?10, "
      "needed_by_ms=?11, last_signal_at_ms=?12, expire_after_ms=?13, reason=?14, detail=?15, "
      "retailers=?16, price_minor=?17, price_currency=?18, basket_id=?19, order_id=?20, "
      "approval_required=?21, held=?22, hold_reasons=?23, hold_revision=?24, retry_after_ms=?25, "
      "closed_reason=?26, closed_at_ms=?27, opened_seq=?28 WHERE id=?29");
  if (!s) return s.error();
  bindNeed(*s, need);
  s->bind(29, static_cast<std::int64_t>(need.id));
  if (auto r = s->run(); !r) return r;
  if (db.changes() != 1) return core::fail("need " + std::to_string(need.id) + " is not stored");
  return upsertSources(db, need);
}

Result<std::vector<Need>> loadNeeds(ledger::Database& db, bool include_closed) {
  std::string sql =
      "SELECT id, item_id, category, description, signal_kind, state, quantity, opened_at_ms, "
      "updated_at_ms, order_from_ms, order_by_ms, needed_by_ms, last_signal_at_ms, "
      "expire_after_ms, reason, detail, retailers, price_minor, price_currency, basket_id, "
      "order_id, approval_required, held, hold_reasons, hold_revision, retry_after_ms, "
      "closed_reason, closed_at_ms, opened_seq FROM needs";
  if (!include_closed)
    sql += " WHERE state IN ('open', 'sourcing', 'awaiting-approval', 'ordered')";
  sql += " ORDER BY id";
  auto s = db.prepare(sql);
  if (!s) return s.error();
  std::vector<Need> out;
  if (auto done = s->forEach([&](auto&) -> core::Result<void> {
        Need n;
        n.id = s->int64(0);
        n.item_id = s->text(1);
        n.category = s->text(2);
        n.description = s->text(3);
        auto kind = discovery::parseSignalKind(s->textView(4));
        auto state = parseNeedState(s->textView(5));
        if (!kind || !state)
          return core::fail("need " + std::to_string(n.id) +
                            ": unknown kind or state in the database");
        n.kind = *kind;
        n.state = *state;
        n.quantity = static_cast<int>(s->int64(6));
        n.opened_at = fromUnixMillis(s->int64(7));
        n.updated_at = fromUnixMillis(s->int64(8));
        n.order_from = fromUnixMillis(s->int64(9));
        n.order_by = fromUnixMillis(s->int64(10));
        n.needed_by = fromUnixMillis(s->int64(11));
        n.last_signal_at = fromUnixMillis(s->int64(12));
        n.expire_after = core::Duration{s->int64(13)};
        n.reason = s->text(14);
        n.detail = jsonObject(s->textView(15));
        n.retailers = stringList(s->textView(16));
        n.unit_price = optionalMoney(*s, 17, 18);
        if (!s->isNull(19)) n.basket_id = s->int64(19);
        n.order_id = s->text(20);
        n.approval_required = s->int64(21) != 0;
        n.held = s->int64(22) != 0;
        n.hold_reasons = stringList(s->textView(23));
        n.hold_revision = s->text(24);
        n.retry_after = optionalTime(*s, 25);
        n.closed_reason = s->text(26);
        n.closed_at = optionalTime(*s, 27);
        n.opened_seq = s->int64(28);
        out.push_back(std::move(n));
        return {};
      });
      !done)
    return done.error();
  auto src = db.prepare(
      "SELECT device_id, signal_key, signal_kind, severity, first_at_ms, last_at_ms, reports, "
      "active FROM need_sources WHERE need_id = ?1 ORDER BY first_at_ms, device_id, signal_key");
  if (!src) return src.error();
  for (auto& n : out) {
    src->bind(1, static_cast<std::int64_t>(n.id));
    if (auto done = src->forEach([&](auto&) {
          NeedSource ns;
          ns.device_id = src->text(0);
          ns.key = src->text(1);
          ns.kind = discovery::parseSignalKind(src->textView(2))
                        .value_or(discovery::SignalKind::consumable);
          ns.severity =
              discovery::parseSeverity(src->textView(3)).value_or(discovery::Severity::info);
          ns.first_at = fromUnixMillis(src->int64(4));
          ns.last_at = fromUnixMillis(src->int64(5));
          ns.reports = src->int64(6);
          ns.active = src->int64(7) != 0;
          n.sources.push_back(std::move(ns));
        });
        !done)
      return done.error();
  }
  return out;
}

Result<BasketId> insertBasket(ledger::Database& db, const Basket& b, std::string_view state) {
  auto s = db.prepare(
      "INSERT INTO need_baskets(retailer, state, created_at_ms, order_by_ms, needed_by_ms, needs, "
      "estimate_minor, estimate_currency, approval_required, verdict, reasons, policy_revision) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!s) return s.error();
  boost::json::array ids;
  for (auto id : b.needs)
    ids.emplace_back(id);
  s->bind(1, b.retailer)
      .bind(2, state)
      .bind(3, static_cast<std::int64_t>(toUnixMillis(b.created_at)))
      .bind(4, static_cast<std::int64_t>(toUnixMillis(b.order_by)))
      .bind(5, static_cast<std::int64_t>(toUnixMillis(b.needed_by)))
      .bind(6, boost::json::serialize(ids));
  bindMoney(*s, 7, 8, b.estimate);
  s->bind(9, b.approval_required ? 1 : 0)
      .bind(10, b.verdict)
      .bind(11, toJson(b.reasons))
      .bind(12, b.policy_revision);
  if (auto r = s->run(); !r) return r.error();
  return db.lastInsertRowId();
}

Result<std::vector<Basket>> basketsInState(ledger::Database& db, std::string_view state) {
  auto s = db.prepare(
      "SELECT id, retailer, created_at_ms, order_by_ms, needed_by_ms, needs, estimate_minor, "
      "estimate_currency, approval_required, verdict, reasons, policy_revision FROM need_baskets "
      "WHERE state = ?1 ORDER BY id");
  if (!s) return s.error();
  s->bind(1, state);
  std::vector<Basket> out;
  for (;;) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    Basket b;
    b.id = s->int64(0);
    b.retailer = s->text(1);
    b.created_at = fromUnixMillis(s->int64(2));
    b.order_by = fromUnixMillis(s->int64(3));
    b.needed_by = fromUnixMillis(s->int64(4));
    boost::system::error_code ec;
    const auto ids = boost::json::parse(s->textView(5), ec);
    if (ec || !ids.is_array())
      return core::fail("basket " + std::to_string(b.id) + ": unreadable need list");
    for (const auto& id : ids.as_array()) {
      if (!id.is_int64()) return core::fail("basket " + std::to_string(b.id) + ": bad need id");
      b.needs.push_back(id.as_int64());
    }
    b.estimate = optionalMoney(*s, 6, 7);
    b.approval_required = s->int64(8) != 0;
    b.verdict = s->text(9);
    b.reasons = stringList(s->textView(10));
    b.policy_revision = s->text(11);
    out.push_back(std::move(b));
  }
  return out;
}

Result<void> setBasketState(ledger::Database& db, BasketId id, std::string_view state) {
  auto s = db.prepare("UPDATE need_baskets SET state = ?1 WHERE id = ?2");
  if (!s) return s.error();
  s->bind(1, state).bind(2, static_cast<std::int64_t>(id));
  return s->run();
}

Result<void> saveSeries(ledger::Database& db, const SeriesRow& r) {
  auto s = db.prepare(
      "INSERT INTO need_series(device_id, signal_key, item_id, signal_kind, unit, refills, "
      "last_refill_at_ms, fc_status, fc_level, fc_rate_per_day, fc_runout_ms, fc_points, "
      "fc_first_ms, fc_last_ms, fc_interval_ms, fc_stale_after_ms, due_ms, fc_uncertainty_ms) "
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18) "
      "ON CONFLICT(device_id, signal_key) DO UPDATE SET item_id=excluded.item_id, "
      "signal_kind=excluded.signal_kind, unit=excluded.unit, refills=excluded.refills, "
      "last_refill_at_ms=excluded.last_refill_at_ms, fc_status=excluded.fc_status, "
      "fc_level=excluded.fc_level, fc_rate_per_day=excluded.fc_rate_per_day, "
      "fc_runout_ms=excluded.fc_runout_ms, fc_points=excluded.fc_points, "
      "fc_first_ms=excluded.fc_first_ms, fc_last_ms=excluded.fc_last_ms, "
      "fc_interval_ms=excluded.fc_interval_ms, fc_stale_after_ms=excluded.fc_stale_after_ms, "
      "due_ms=excluded.due_ms, fc_uncertainty_ms=excluded.fc_uncertainty_ms");
  if (!s) return s.error();
  const Forecast& f = r.forecast;
  const char* status = f.status == ForecastStatus::depleting ? "depleting"
                       : f.status == ForecastStatus::idle    ? "idle"
                                                             : "insufficient";
  s->bind(1, r.device_id)
      .bind(2, r.key)
      .bind(3, r.item_id)
      .bind(4, toString(r.kind))
      .bind(5, r.unit)
      .bind(6, r.refills)
      .bind(7, millis(r.last_refill_at))
      .bind(8, status)
      .bind(9, f.level)
      .bind(10, f.rate_per_day)
      .bind(11, millis(f.runout))
      .bind(12, static_cast<std::int64_t>(f.points))
      .bind(13, static_cast<std::int64_t>(toUnixMillis(f.first_at)))
      .bind(14, static_cast<std::int64_t>(toUnixMillis(f.last_at)))
      .bind(15, static_cast<std::int64_t>(f.typical_interval.count()))
      .bind(16, static_cast<std::int64_t>(f.stale_after.count()))
      .bind(17, millis(r.due))
      .bind(18, static_cast<std::int64_t>(f.uncertainty.count()));
  return s->run();
}

Result<void> syncObservations(ledger::Database& db, const std::string& device_id,
                              const std::string& key, const std::deque<Observation>& segment,
                              const std::deque<Observation>& pending) {
  auto ins = db.prepare(
      "INSERT INTO need_observations(device_id, signal_key, at_ms, level, pending) "
      "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(device_id, signal_key, at_ms) DO UPDATE SET "
      "level = excluded.level, pending = excluded.pending");
  if (!ins) return ins.error();
  // The newest reading is the only new one; a confirmed refill also turns pending rows into the
  // new cycle's, so rewrite the (few) pending-or-newer rows and delete what fell out.
  auto put = [&](const Observation& o, bool is_pending) -> Result<void> {
    ins->bind(1, device_id)
        .bind(2, key)
        .bind(3, static_cast<std::int64_t>(toUnixMillis(o.at)))
        .bind(4, o.level)
        .bind(5, is_pending ? 1 : 0);
    return ins->run();
  };
  if (!segment.empty()) {
    auto marked = db.prepare(
        "SELECT at_ms FROM need_observations WHERE device_id = ?1 AND signal_key = ?2 AND "
        "pending = 1");
    if (!marked) return marked.error();
    marked->bind(1, device_id).bind(2, key);
    bool had_pending = false;
    if (auto done = marked->forEach([&](auto&) { had_pending = true; }); !done) return done.error();
    if (had_pending) {
      for (const auto& o : segment)
        if (auto r = put(o, false); !r) return r;
    } else {
      if (auto r = put(segment.back(), false); !r) return r;
    }
  }
  for (const auto& o : pending)
    if (auto r = put(o, true); !r) return r;

  auto del = db.prepare(
      "DELETE FROM need_observations WHERE device_id = ?1 AND signal_key = ?2 AND "
      "(at_ms < ?3 OR (pending = 1 AND ?4 = 0))");
  if (!del) return del.error();
  const std::int64_t oldest =
      segment.empty() ? INT64_MAX : static_cast<std::int64_t>(toUnixMillis(segment.front().at));
  del->bind(1, device_id).bind(2, key).bind(3, oldest).bind(4, pending.empty() ? 0 : 1);
  return del->run();
}

Result<std::vector<SeriesRow>> loadSeries(ledger::Database& db, bool with_observations) {
  auto s = db.prepare(
      "SELECT device_id, signal_key, item_id, signal_kind, unit, refills, last_refill_at_ms, "
      "fc_status, fc_level, fc_rate_per_day, fc_runout_ms, fc_points, fc_first_ms, fc_last_ms, "
      "fc_interval_ms, fc_stale_after_ms, due_ms, fc_uncertainty_ms FROM need_series ORDER BY "
      "device_id, signal_key");
  if (!s) return s.error();
  std::vector<SeriesRow> out;
  if (auto done = s->forEach([&](auto&) {
        SeriesRow r;
        r.device_id = s->text(0);
        r.key = s->text(1);
        r.item_id = s->text(2);
        r.kind =
            discovery::parseSignalKind(s->textView(3)).value_or(discovery::SignalKind::consumable);
        r.unit = s->text(4);
        r.refills = static_cast<int>(s->int64(5));
        r.last_refill_at = optionalTime(*s, 6);
        const std::string_view status = s->textView(7);
        r.forecast.status = status == "depleting" ? ForecastStatus::depleting
                            : status == "idle"    ? ForecastStatus::idle
                                                  : ForecastStatus::insufficient;
        r.forecast.level = s->real(8);
        r.forecast.rate_per_day = s->real(9);
        r.forecast.runout = optionalTime(*s, 10);
        r.forecast.points = static_cast<std::size_t>(s->int64(11));
        r.forecast.first_at = fromUnixMillis(s->int64(12));
        r.forecast.last_at = fromUnixMillis(s->int64(13));
        r.forecast.typical_interval = core::Duration{s->int64(14)};
        r.forecast.stale_after = core::Duration{s->int64(15)};
        r.due = optionalTime(*s, 16);
        r.forecast.uncertainty = core::Duration{s->int64(17)};
        out.push_back(std::move(r));
      });
      !done)
    return done.error();
  if (!with_observations) return out;
  auto obs = db.prepare(
      "SELECT at_ms, level, pending FROM need_observations WHERE device_id = ?1 AND "
      "signal_key = ?2 ORDER BY at_ms");
  if (!obs) return obs.error();
  for (auto& r : out) {
    obs->bind(1, r.device_id).bind(2, r.key);
    if (auto done = obs->forEach([&](auto&) {
          Observation o{fromUnixMillis(obs->int64(0)), obs->real(1)};
          (obs->int64(2) ? r.pending : r.segment).push_back(o);
        });
        !done)
      return done.error();
  }
  return out;
}

Result<void> deleteSeries(ledger::Database& db, const std::string& device_id,
                          const std::string& key) {
  auto s = db.prepare("DELETE FROM need_series WHERE device_id = ?1 AND signal_key = ?2");
  if (!s) return s.error();
  s->bind(1, device_id).bind(2, key);
  return s->run();
}

Result<void> setQuiet(ledger::Database& db, const QuietRow& q) {
  auto s = db.prepare(
      "INSERT INTO need_quiet(device_id, signal_key, until_ms, reason) VALUES(?1,?2,?3,?4) "
      "ON CONFLICT(device_id, signal_key) DO UPDATE SET until_ms = excluded.until_ms, "
      "reason = excluded.reason");
  if (!s) return s.error();
  s->bind(1, q.device_id)
      .bind(2, q.key)
      .bind(3, static_cast<std::int64_t>(toUnixMillis(q.until)))
      .bind(4, q.reason);
  return s->run();
}

Result<void> clearQuiet(ledger::Database& db, const std::string& device_id,
                        const std::string& key) {
  auto s = db.prepare("DELETE FROM need_quiet WHERE device_id = ?1 AND signal_key = ?2");
  if (!s) return s.error();
  s->bind(1, device_id).bind(2, key);
  return s->run();
}

Result<std::vector<QuietRow>> loadQuiet(ledger::Database& db) {
  auto s = db.prepare(
      "SELECT device_id, signal_key, until_ms, reason FROM need_quiet ORDER BY device_id, "
      "signal_key");
  if (!s) return s.error();
  std::vector<QuietRow> out;
  if (auto done = s->forEach([&](auto&) {
        out.push_back(QuietRow{s->text(0), s->text(1), fromUnixMillis(s->int64(2)), s->text(3)});
      });
      !done)
    return done.error();
  return out;
}

Result<void> saveMeter(ledger::Database& db, const MeterRow& m) {
  auto s = db.prepare(
      "INSERT INTO need_meters(device_id, signal_key, item_id, unit, value, read_at_ms, "
      "next_due_ms, reported_read_at_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8) "
      "ON CONFLICT(device_id, signal_key) DO UPDATE SET item_id=excluded.item_id, "
      "unit=excluded.unit, value=excluded.value, read_at_ms=excluded.read_at_ms, "
      "next_due_ms=excluded.next_due_ms, reported_read_at_ms=excluded.reported_read_at_ms");
  if (!s) return s.error();
  s->bind(1, m.device_id)
      .bind(2, m.key)
      .bind(3, m.item_id)
      .bind(4, m.unit)
      .bind(5, m.value)
      .bind(6, static_cast<std::int64_t>(toUnixMillis(m.read_at)))
      .bind(7, millis(m.next_due))
      .bind(8, millis(m.reported_read_at));
  return s->run();
}

Result<std::vector<MeterRow>> loadMeters(ledger::Database& db) {
  auto s = db.prepare(
      "SELECT device_id, signal_key, item_id, unit, value, read_at_ms, next_due_ms, "
      "reported_read_at_ms FROM need_meters ORDER BY device_id, signal_key");
  if (!s) return s.error();
  std::vector<MeterRow> out;
  if (auto done = s->forEach([&](auto&) {
        MeterRow m;
        m.device_id = s->text(0);
        m.key = s->text(1);
        m.item_id = s->text(2);
        m.unit = s->text(3);
        m.value = s->real(4);
        m.read_at = fromUnixMillis(s->int64(5));
        m.next_due = optionalTime(*s, 6);
        m.reported_read_at = optionalTime(*s, 7);
        out.push_back(std::move(m));
      });
      !done)
    return done.error();
  return out;
}

Result<void> deleteMeter(ledger::Database& db, const std::string& device_id,
                         const std::string& key) {
  auto s = db.prepare("DELETE FROM need_meters WHERE device_id = ?1 AND signal_key = ?2");
  if (!s) return s.error();
  s->bind(1, device_id).bind(2, key);
  return s->run();
}

}  // namespace steward::needs::store
