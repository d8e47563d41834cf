// See store.hpp.
#include "orders/store.hpp"

#include <array>
#include <boost/json.hpp>
#include <string>

namespace steward::orders::store {
namespace {

using ledger::Statement;

constexpr std::string_view kSchemaV1 = R"(
CREATE TABLE purchases (
  id                INTEGER PRIMARY KEY,
  basket_id         INTEGER NOT NULL UNIQUE,
  retailer          TEXT NOT NULL,
  state             TEXT NOT NULL,
  approval_id       TEXT NOT NULL,
  estimate_minor    INTEGER,
  estimate_currency TEXT,
  created_at_ms     INTEGER NOT NULL,
  updated_at_ms     INTEGER NOT NULL,
  opened_seq        INTEGER NOT NULL,
  policy_revision   TEXT NOT NULL,
  reason            TEXT NOT NULL
);
CREATE INDEX purchases_by_approval ON purchases(approval_id) WHERE approval_id != '';
CREATE INDEX purchases_by_state ON purchases(state);

CREATE TABLE purchase_needs (
  purchase_id INTEGER NOT NULL REFERENCES purchases(id),
  position    INTEGER NOT NULL,
  need_id     INTEGER NOT NULL,
  PRIMARY KEY (purchase_id, position)
);

CREATE TABLE purchase_holds (
  purchase_id    INTEGER NOT NULL REFERENCES purchases(id),
  reservation_id TEXT NOT NULL PRIMARY KEY,
  category       TEXT NOT NULL,
  amount_minor   INTEGER NOT NULL,
  currency       TEXT NOT NULL
);
)";

constexpr std::string_view kColumns =
    "SELECT id, basket_id, retailer, state, approval_id, estimate_minor, estimate_currency, "
    "created_at_ms, updated_at_ms, opened_seq, policy_revision, reason FROM purchases";

core::Result<void> loadChildren(ledger::Database& db, Purchase& p) {
  auto needs =
      db.prepare("SELECT need_id FROM purchase_needs WHERE purchase_id = ?1 ORDER BY position");
  if (!needs) return needs.error();
  needs->bind(1, p.id);
  for (;;) {
    auto row = needs->step();
    if (!row) return row.error();
    if (!*row) break;
    p.needs.push_back(needs->int64(0));
  }
  auto holds = db.prepare(
      "SELECT reservation_id, category, amount_minor, currency FROM purchase_holds "
      "WHERE purchase_id = ?1 ORDER BY reservation_id");
  if (!holds) return holds.error();
  holds->bind(1, p.id);
  for (;;) {
    auto row = holds->step();
    if (!row) return row.error();
    if (!*row) break;
    auto currency = core::currencyFromCode(holds->textView(3));
    if (!currency) return core::fail(p.name() + ": unknown currency in a budget hold");
    p.holds.push_back(Hold{holds->text(0), holds->text(1), {holds->int64(2), *currency}});
  }
  return {};
}

core::Result<std::vector<Purchase>> query(ledger::Database& db, const std::string& where,
                                          const std::function<void(Statement&)>& bind) {
  auto s = db.prepare(std::string(kColumns) + where);
  if (!s) return s.error();
  bind(*s);
  std::vector<Purchase> out;
  for (;;) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) break;
    Purchase p;
    p.id = s->int64(0);
    p.basket = s->int64(1);
    p.retailer = s->text(2);
    auto state = purchaseStateFromString(s->textView(3));
    if (!state) return core::fail(p.name() + ": unknown state in the database");
    p.state = *state;
    p.approval_id = s->text(4);
    if (!s->isNull(5) && !s->isNull(6)) {
      auto currency = core::currencyFromCode(s->textView(6));
      if (!currency) return core::fail(p.name() + ": unknown currency in the database");
      p.estimate = core::Money{s->int64(5), *currency};
    }
    p.created_at = core::fromUnixMillis(s->int64(7));
    p.updated_at = core::fromUnixMillis(s->int64(8));
    p.opened_seq = s->int64(9);
    p.policy_revision = s->text(10);
    p.reason = s->text(11);
    out.push_back(std::move(p));
  }
  for (auto& p : out)
    if (auto r = loadChildren(db, p); !r) return r.error();
  return out;
}

core::Result<std::optional<Purchase>> one(core::Result<std::vector<Purchase>> r) {
  if (!r) return r.error();
  if (r->empty()) return std::optional<Purchase>{};
  return std::optional<Purchase>{std::move(r->front())};
}

}  // namespace

core::Result<void> migrate(ledger::Database& db) {
  static constexpr std::array<std::string_view, 1> kSteps{kSchemaV1};
  return db.migrate("orders", kSteps);
}

core::Result<std::int64_t> save(ledger::Database& db, const Purchase& p) {
  auto s = db.prepare(
      p.id == 0
          ? "INSERT INTO purchases(basket_id, retailer, state, approval_id, estimate_minor, "
            "estimate_currency, created_at_ms, updated_at_ms, opened_seq, policy_revision, reason) "
            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
          : "UPDATE purchases SET basket_id = ?1, retailer = ?2, state = ?3, approval_id = ?4, "
            "estimate_minor = ?5, estimate_currency = ?6, created_at_ms = ?7, updated_at_ms = ?8, "
            "opened_seq = ?9, policy_revision = ?10, reason = ?11 WHERE id = ?12");
  if (!s) return s.error();
  s->bind(1, p.basket)
      .bind(2, p.retailer)
      .bind(3, toString(p.state))
      .bind(4, p.approval_id)
      .bind(7, core::toUnixMillis(p.created_at))
      .bind(8, core::toUnixMillis(p.updated_at))
      .bind(9, p.opened_seq)
      .bind(10, p.policy_revision)
      .bind(11, p.reason);
  if (p.estimate) {
    s->bind(5, p.estimate->minor).bind(6, p.estimate->currency.view());
  } else {
    s->bindNull(5).bindNull(6);
  }
  if (p.id != 0) s->bind(12, p.id);
  if (auto r = s->run(); !r) return r.error();
  const std::int64_t id = p.id != 0 ? p.id : db.lastInsertRowId();

  // Children are rewritten whole: a purchase holds a handful of needs and categories.
  for (const char* sql : {"DELETE FROM purchase_needs WHERE purchase_id = ?1",
                          "DELETE FROM purchase_holds WHERE purchase_id = ?1"}) {
    auto d = db.prepare(sql);
    if (!d) return d.error();
    d->bind(1, id);
    if (auto r = d->run(); !r) return r.error();
  }
  for (std::size_t i = 0; i < p.needs.size(); ++i) {
    auto n =
        db.prepare("INSERT INTO purchase_needs(purchase_id, position, need_id) VALUES(?1,?2,?3)");
    if (!n) return n.error();
    n->bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, p.needs[i]);
    if (auto r = n->run(); !r) return r.error();
  }
  for (const auto& h : p.holds) {
    auto n = db.prepare(
        "INSERT INTO purchase_holds(purchase_id, reservation_id, category, amount_minor, currency) "
        "VALUES(?1,?2,?3,?4,?5)");
    if (!n) return n.error();
    n->bind(1, id)
        .bind(2, h.reservation_id)
        .bind(3, h.category)
        .bind(4, h.amount.minor)
        .bind(5, h.amount.currency.view());
    if (auto r = n->run(); !r) return r.error();
  }
  return id;
}

core::Result<std::optional<Purchase>> byId(ledger::Database& db, std::int64_t id) {
  return one(query(db, " WHERE id = ?1", [&](Statement& s) { s.bind(1, id); }));
}

core::Result<std::optional<Purchase>> byBasket(ledger::Database& db, std::int64_t basket) {
  return one(query(db, " WHERE basket_id = ?1", [&](Statement& s) { s.bind(1, basket); }));
}

core::Result<std::optional<Purchase>> byApproval(ledger::Database& db, std::string_view approval) {
  return one(query(db, " WHERE approval_id = ?1", [&](Statement& s) { s.bind(1, approval); }));
}

core::Result<std::vector<Purchase>> list(ledger::Database& db, bool live_only) {
  return query(
      db,
      live_only ? " WHERE state IN ('awaiting-approval', 'sourcing') ORDER BY id" : " ORDER BY id",
      [](Statement&) {});
}

}  // namespace steward::orders::store
