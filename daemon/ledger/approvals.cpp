// See approvals.hpp.
#include "ledger/approvals.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstring>

#include "ledger/kinds.hpp"
#include "ledger/text.hpp"

namespace steward::ledger {
namespace {

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE approvals (
  n              INTEGER PRIMARY KEY,
  subject        TEXT NOT NULL,
  summary        TEXT NOT NULL,
  amount_minor   INTEGER NOT NULL,
  currency       TEXT NOT NULL,
  requested_at_ms INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('pending', 'granted', 'rejected', 'timed-out')),
  decided_at_ms  INTEGER,
  decided_by_uid INTEGER,
  request_seq    INTEGER NOT NULL,
  decision_seq   INTEGER
);
CREATE INDEX approvals_pending ON approvals(state, expires_at_ms);
)sql",
};

constexpr std::string_view kColumns =
    "n, subject, summary, amount_minor, currency, requested_at_ms, expires_at_ms, state, "
    "decided_at_ms, decided_by_uid, request_seq, decision_seq";

std::string approvalId(std::int64_t n) {
  // Appending rather than operator+: GCC 12's -Wrestrict misfires on "A" + std::to_string().
  std::string id = "A";
  id += std::to_string(n);
  return id;
}

std::optional<std::int64_t> numberOfId(std::string_view id) {
  if (id.size() < 2 || id.front() != 'A') return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size() || n < 1) return std::nullopt;
  return n;
}

std::optional<ApprovalState> stateFromName(std::string_view s) {
  if (s == "pending") return ApprovalState::pending;
  if (s == "granted") return ApprovalState::granted;
  if (s == "rejected") return ApprovalState::rejected;
  if (s == "timed-out") return ApprovalState::timed_out;
  return std::nullopt;
}

core::Currency currencyOf(std::string_view code) {
  if (auto c = core::currencyFromCode(code)) return *c;
  core::Currency c;  // a code this build does not know: keep it for display
  std::memcpy(c.code, code.data(), std::min<std::size_t>(code.size(), 3));
  return c;
}

Approval readRow(const Statement& q) {
  Approval a;
  a.id = approvalId(q.int64(0));
  a.subject = q.text(1);
  a.summary = q.text(2);
  a.amount = core::Money{q.int64(3), currencyOf(q.textView(4))};
  a.requested_at = core::fromUnixMillis(q.int64(5));
  a.expires_at = core::fromUnixMillis(q.int64(6));
  a.state = stateFromName(q.textView(7)).value_or(ApprovalState::pending);
  if (!q.isNull(8)) a.decided_at = core::fromUnixMillis(q.int64(8));
  if (!q.isNull(9)) a.decided_by_uid = static_cast<std::uint32_t>(q.int64(9));
  a.request_seq = q.int64(10);
  if (!q.isNull(11)) a.decision_seq = q.int64(11);
  return a;
}

Result<std::optional<Approval>> findIn(Database& db, std::string_view id) {
  auto n = numberOfId(id);
  if (!n) return std::optional<Approval>();
  auto q = db.prepare("SELECT " + std::string(kColumns) + " FROM approvals WHERE n = ?1");
  if (!q) return q.error();
  q->bind(1, *n);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Approval>();
  return std::optional<Approval>(readRow(*q));
}

std::string describeAnswer(const Approval& a) {
  std::string s = "approval " + a.id + " was already " + std::string(approvalStateName(a.state));
  if (a.decided_by_uid) s += " by uid " + std::to_string(*a.decided_by_uid);
  if (a.decided_at) s += " at " + formatUtc(*a.decided_at);
  return s;
}

}  // namespace

std::string_view approvalStateName(ApprovalState s) {
  switch (s) {
    case ApprovalState::pending:
      return "pending";
    case ApprovalState::granted:
      return "granted";
    case ApprovalState::rejected:
      return "rejected";
    case ApprovalState::timed_out:
      return "timed-out";
  }
  return "pending";
}

boost::json::object toJson(const Approval& a) {
  boost::json::object o;
  o["id"] = a.id;
  o["subject"] = a.subject;
  boost::system::error_code ec;
  boost::json::value summary = boost::json::parse(a.summary, ec);
  if (ec) {
    o["summary"] = a.summary;
  } else {
    o["summary"] = std::move(summary);
  }
  o["amount"] = core::formatMoney(a.amount);
  o["amount_minor"] = a.amount.minor;
  o["currency"] = a.amount.currency.view();
  o["requested_at"] = formatUtc(a.requested_at);
  o["expires_at"] = formatUtc(a.expires_at);
  o["state"] = approvalStateName(a.state);
  o["decided_at"] = a.decided_at ? boost::json::value(formatUtc(*a.decided_at)) : nullptr;
  o["decided_by_uid"] = a.decided_by_uid ? boost::json::value(*a.decided_by_uid) : nullptr;
  o["request_seq"] = a.request_seq;
  o["decision_seq"] = a.decision_seq ? boost::json::value(*a.decision_seq) : nullptr;
  return o;
}

Result<Approvals> Approvals::open(Ledger& ledger, const core::Clock& clock) {
  if (auto r = ledger.database().migrate("approvals", kSchema); !r) return r.error();
  return Approvals(ledger, clock);
}

Result<Approval> Approvals::request(const ApprovalRequest& req) {
  const core::TimePoint now = clock_->now();
  if (req.subject.empty()) return core::fail("an approval request needs a subject");
  if (req.amount.minor <= 0) {
    return core::fail("approval for " + req.subject + ": amount must be positive, got " +
                      core::formatMoney(req.amount));
  }
  if (req.expires_at <= now) {
    return core::fail("approval for " + req.subject + ": expiry " + formatUtc(req.expires_at) +
                      " is not in the future");
  }
  Database& db = ledger_->database();
  Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto next = db.prepare("SELECT COALESCE(MAX(n), 0) + 1 FROM approvals");
  if (!next) return next.error();
  auto nrow = next->step();
  if (!nrow) return nrow.error();
  const std::int64_t n = next->int64(0);
  next->reset();

  Approval a;
  a.id = approvalId(n);
  a.subject = req.subject;
  a.summary = boost::json::serialize(req.summary);
  a.amount = req.amount;
  a.requested_at = now;
  a.expires_at = req.expires_at;

  Decision decision;
  decision.kind = kind::approvalRequested;
  decision.subject = req.subject;
  decision.input = boost::json::object{{"approval", a.id},
                                       {"summary", req.summary},
                                       {"amount", core::formatMoney(req.amount)},
                                       {"expires_at", formatUtc(req.expires_at)}};
  decision.outcome = "pending";
  decision.reasons = req.reasons;
  decision.policy_revision = req.policy_revision;
  decision.causes = req.causes;
  auto recorded = ledger_->record(decision);
  if (!recorded) return recorded.error();
  a.request_seq = recorded->seq;

  auto insert = db.prepare(
      "INSERT INTO approvals(n, subject, summary, amount_minor, currency, requested_at_ms, "
      "expires_at_ms, state, request_seq) VALUES(?1,?2,?3,?4,?5,?6,?7,'pending',?8)");
  if (!insert) return insert.error();
  insert->bind(1, n)
      .bind(2, a.subject)
      .bind(3, a.summary)
      .bind(4, a.amount.minor)
      .bind(5, a.amount.currency.view())
      .bind(6, core::toUnixMillis(now))
      .bind(7, core::toUnixMillis(a.expires_at))
      .bind(8, a.request_seq);
  if (auto r = insert->run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return a;
}

Result<Approval> Approvals::grant(std::string_view id, std::optional<std::uint32_t> uid,
                                  std::string_view channel) {
  return answer(id, uid, ApprovalState::granted, {}, channel);
}

Result<Approval> Approvals::reject(std::string_view id, std::optional<std::uint32_t> uid,
                                   std::string_view reason, std::string_view channel) {
  return answer(id, uid, ApprovalState::rejected, reason, channel);
}

Result<Approval> Approvals::answer(std::string_view id, std::optional<std::uint32_t> uid,
                                   ApprovalState state, std::string_view reason,
                                   std::string_view channel) {
  Database& db = ledger_->database();
  const core::TimePoint now = clock_->now();
  Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto found = findIn(db, id);
  if (!found) return found.error();
  if (!*found) return core::fail("no approval " + std::string(id));
  Approval a = std::move(**found);
  if (a.state != ApprovalState::pending) return core::fail(describeAnswer(a));
  if (state != ApprovalState::timed_out && now >= a.expires_at) {
    return core::fail("approval " + a.id + " expired at " + formatUtc(a.expires_at) +
                      "; it counts as rejected");
  }

  Decision decision;
  decision.subject = a.subject;
  boost::json::object input{{"approval", a.id}, {"amount", core::formatMoney(a.amount)}};
  // Who answered: the uid the bus vouches for, and the channel it came through (Home Assistant
  // acts without a uid, and must not look like root).
  std::string who = uid ? "uid " + std::to_string(*uid) : std::string("the owner");
  if (!channel.empty()) {
    input["channel"] = channel;
    who += " via " + std::string(channel);
  }
  switch (state) {
    case ApprovalState::granted:
      decision.kind = kind::approvalGranted;
      decision.outcome = "granted";
      decision.reasons.push_back("granted by " + who);
      break;
    case ApprovalState::rejected:
      decision.kind = kind::approvalRejected;
      decision.outcome = "rejected";
      decision.reasons.push_back("rejected by " + who);
      if (!reason.empty()) decision.reasons.emplace_back(reason);
      break;
    case ApprovalState::timed_out:
    case ApprovalState::pending:
      decision.kind = kind::approvalTimedOut;
      decision.outcome = "timed-out";
      decision.reasons.push_back("no answer by " + formatUtc(a.expires_at) + "; a timeout rejects");
      input["expires_at"] = formatUtc(a.expires_at);
      break;
  }
  if (uid) input["uid"] = *uid;
  decision.input = std::move(input);
  decision.causes = {a.request_seq};
  auto recorded = ledger_->record(decision);
  if (!recorded) return recorded.error();

  a.state = state == ApprovalState::pending ? ApprovalState::timed_out : state;
  a.decided_at = now;
  a.decided_by_uid = uid;
  a.decision_seq = recorded->seq;
  auto update = db.prepare(
      "UPDATE approvals SET state = ?2, decided_at_ms = ?3, decided_by_uid = ?4, "
      "decision_seq = ?5 WHERE n = ?1 AND state = 'pending'");
  if (!update) return update.error();
  update->bind(1, *numberOfId(a.id))
      .bind(2, approvalStateName(a.state))
      .bind(3, core::toUnixMillis(now));
  if (uid) {
    update->bind(4, static_cast<std::int64_t>(*uid));
  } else {
    update->bindNull(4);
  }
  update->bind(5, a.decision_seq);
  if (auto r = update->run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return a;
}

Result<std::vector<Approval>> Approvals::expire(core::TimePoint now) {
  Database& db = ledger_->database();
  Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto q = db.prepare(
      "SELECT n FROM approvals WHERE state = 'pending' AND expires_at_ms <= ?1 "
      "ORDER BY expires_at_ms, n");
  if (!q) return q.error();
  q->bind(1, core::toUnixMillis(now));
  std::vector<std::string> due;
  if (auto done = q->forEach([&](auto&) { due.push_back(approvalId(q->int64(0))); }); !done)
    return done.error();
  std::vector<Approval> out;
  for (const auto& id : due) {
    auto a = answer(id, std::nullopt, ApprovalState::timed_out, {}, {});
    if (!a) return a.error();
    out.push_back(std::move(*a));
  }
  if (auto r = tx.commit(); !r) return r.error();
  return out;
}

Result<std::vector<Approval>> Approvals::pending() {
  return listApprovals(ledger_->database(), true);
}

Result<std::optional<Approval>> Approvals::find(std::string_view id) {
  return findIn(ledger_->database(), id);
}

Result<std::vector<Approval>> listApprovals(Database& db, bool pending_only, std::size_t limit) {
  std::vector<Approval> out;
  auto has = db.hasTable("approvals");
  if (!has) return has.error();
  if (!*has) return out;
  std::string sql = "SELECT " + std::string(kColumns) + " FROM approvals ";
  sql += pending_only ? "WHERE state = 'pending' ORDER BY expires_at_ms, n" : "ORDER BY n DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  auto q = db.prepare(sql);
  if (!q) return q.error();
  if (auto done = q->forEach([&](auto&) { out.push_back(readRow(*q)); }); !done)
    return done.error();
  return out;
}

}  // namespace steward::ledger
