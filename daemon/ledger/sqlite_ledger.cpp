// See sqlite_ledger.hpp. Records are append-only; each carries the SHA-256 of its canonical form,
// which includes the previous record's hash, so editing, deleting, reordering or inserting a
// record breaks the chain at that point (see verify.hpp for how that is found).
#include "ledger/sqlite_ledger.hpp"

#include <boost/json/serialize.hpp>

namespace steward::ledger {
namespace {

// Append-only: never edit a step that has shipped.
constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE decisions (
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  at_ms           INTEGER NOT NULL,
  kind            TEXT NOT NULL,
  subject         TEXT NOT NULL,
  input           TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  reasons         TEXT NOT NULL,
  policy_revision TEXT NOT NULL,
  causes          TEXT NOT NULL,
  prev_hash       TEXT NOT NULL,
  hash            TEXT NOT NULL
);
CREATE INDEX decisions_subject ON decisions(subject, seq);
CREATE INDEX decisions_kind ON decisions(kind, seq);
)sql",
    // Checkpoints: the head signed with the hub's Ed25519 key (see checkpoint.hpp). The
    // triggers stop a buggy module from rewriting the record; they do not stop someone with the
    // file and the sqlite3 tool, which is what the chain and the checkpoints are for.
    R"sql(
CREATE TABLE checkpoint_keys (
  key_id        TEXT PRIMARY KEY,
  public_key    TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE checkpoints (
  id        INTEGER PRIMARY KEY,
  seq       INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  at_ms     INTEGER NOT NULL,
  key_id    TEXT NOT NULL REFERENCES checkpoint_keys(key_id),
  signature TEXT NOT NULL
);
CREATE INDEX checkpoints_seq ON checkpoints(seq);
CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
)sql",
};

bool validKind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64) return false;
  for (char c : kind) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return kind.front() != '.' && kind.back() != '.';
}

Result<void> validate(const Decision& d, std::int64_t head_seq) {
  if (!validKind(d.kind)) {
    return core::fail("decision kind \"" + d.kind +
                      "\" is not a lower-case dotted name like \"need.opened\"");
  }
  if (d.subject.size() > kMaxTextBytes || hasControl(d.subject)) {
    return core::fail(d.kind + ": subject is longer than " + std::to_string(kMaxTextBytes) +
                      " bytes or has control characters");
  }
  if (d.outcome.size() > kMaxTextBytes || hasControl(d.outcome)) {
    return core::fail(d.kind + ": outcome is longer than " + std::to_string(kMaxTextBytes) +
                      " bytes or has control characters");
  }
  if (d.policy_revision.size() > kMaxTextBytes)
    return core::fail(d.kind + ": policy revision too long");
  if (d.reasons.size() > kMaxReasons) {
    return core::fail(d.kind + ": more than " + std::to_string(kMaxReasons) + " reasons");
  }
  for (const auto& r : d.reasons) {
    if (r.size() > kMaxTextBytes) {
      return core::fail(d.kind + ": a reason is longer than " + std::to_string(kMaxTextBytes) +
                        " bytes");
    }
  }
  if (d.causes.size() > kMaxCauses) {
    return core::fail(d.kind + ": more than " + std::to_string(kMaxCauses) + " causes");
  }
  for (auto c : d.causes) {
    if (c < 1 || c > head_seq) {
      return core::fail(d.kind + ": cause D" + std::to_string(c) +
                        " is not an earlier decision (the last is D" + std::to_string(head_seq) +
                        ")");
    }
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<SqliteLedger>> SqliteLedger::open(const std::string& path,
                                                         const core::Clock& clock) {
  auto db = Database::open(path);
  if (!db) return db.error();
  if (auto r = db->migrate("ledger", kSchema); !r) return r.error();
  std::unique_ptr<SqliteLedger> ledger(new SqliteLedger(std::move(*db), clock));
  auto insert = ledger->db_.prepare(
      "INSERT INTO decisions(seq, id, at_ms, kind, subject, input, outcome, reasons, "
      "policy_revision, causes, prev_hash, hash) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
  if (!insert) return insert.error();
  ledger->insert_ = std::move(*insert);
  auto head = ledger->db_.prepare("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1");
  if (!head) return head.error();
  ledger->head_query_ = std::move(*head);
  return ledger;
}

Result<SqliteLedger::Head> SqliteLedger::head() {
  if (cached_head_ && cached_at_rollbacks_ == db_.rollbackCount()) return *cached_head_;
  auto row = head_query_.step();
  if (!row) {
    head_query_.reset();
    return row.error();
  }
  Head h;
  if (*row) {
    h.seq = head_query_.int64(0);
    h.hash = head_query_.text(1);
  }
  head_query_.reset();
  cached_head_ = h;
  cached_at_rollbacks_ = db_.rollbackCount();
  return h;
}

Result<RecordedDecision> SqliteLedger::record(const Decision& decision) {
  if (db_.inTransaction()) {
    // Joining the caller's transaction: a failed INSERT is undone by SQLite's statement
    // journal, so no savepoint of our own is needed.
    return append(decision);
  }
  Transaction tx(db_);
  if (!tx.begun()) return tx.error();
  auto recorded = append(decision);
  if (!recorded) return recorded;
  if (auto r = tx.commit(); !r) return r.error();
  return recorded;
}

Result<RecordedDecision> SqliteLedger::append(const Decision& decision) {
  auto h = head();
  if (!h) return h.error();
  if (auto v = validate(decision, h->seq); !v) return v.error();

  DecisionRow row;
  row.seq = h->seq + 1;
  // The id is derived from the chain position, so it is unique and stable across exports.
  row.id = "D" + std::to_string(row.seq);
  row.at_ms = core::toUnixMillis(clock_.now());
  row.kind = decision.kind;
  row.subject = decision.subject;
  row.input = boost::json::serialize(decision.input);
  if (row.input.size() > kMaxInputBytes) {
    return core::fail(decision.kind + ": input is " + std::to_string(row.input.size()) +
                      " bytes, more than " + std::to_string(kMaxInputBytes));
  }
  row.outcome = decision.outcome;
  boost::json::array reasons;
  for (const auto& r : decision.reasons)
    reasons.emplace_back(r);
  row.reasons = boost::json::serialize(reasons);
  row.policy_revision = decision.policy_revision;
  boost::json::array causes;
  for (auto c : decision.causes)
    causes.emplace_back(c);
  row.causes = boost::json::serialize(causes);
  row.prev_hash = std::move(h->hash);
  std::string hash(hasher_.hashHex(row));

  insert_.bind(1, row.seq)
      .bind(2, row.id)
      .bind(3, row.at_ms)
      .bind(4, row.kind)
      .bind(5, row.subject)
      .bind(6, row.input)
      .bind(7, row.outcome)
      .bind(8, row.reasons)
      .bind(9, row.policy_revision)
      .bind(10, row.causes)
      .bind(11, row.prev_hash)
      .bind(12, hash);
  if (auto r = insert_.run(); !r) {
    cached_head_.reset();
    return r.error();
  }
  cached_head_ = Head{row.seq, hash};
  cached_at_rollbacks_ = db_.rollbackCount();

  RecordedDecision recorded{row.seq, row.id, core::fromUnixMillis(row.at_ms), std::move(hash)};
  if (on_recorded_) {
    db_.afterCommit([this, decision, recorded] { on_recorded_(decision, recorded); });
  }
  return recorded;
}

Result<RecordedDecision> RecordBatch::record(const Decision& decision) {
  if (!tx_) {
    tx_.emplace(ledger_.database());
    if (!tx_->begun()) {
      core::Error e = tx_->error();
      tx_.reset();
      return e;
    }
  }
  auto r = ledger_.record(decision);
  if (r) ++size_;
  return r;
}

Result<void> RecordBatch::commit() {
  if (!tx_) return {};
  auto r = tx_->commit();
  tx_.reset();  // on failure this rolls the batch back
  size_ = 0;
  return r;
}

}  // namespace steward::ledger
