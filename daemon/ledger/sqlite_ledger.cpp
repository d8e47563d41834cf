// See sqlite_ledger.hpp. Records are append-only; each carries the SHA-256 of its canonical form,
// which includes the previous record's hash, so editing, deleting, reordering or inserting a
// record breaks the chain at that point.
#include "ledger/sqlite_ledger.hpp"

#include <openssl/evp.h>

#include <array>
#include <boost/json/serialize.hpp>

namespace steward::ledger {
namespace {

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
};

void appendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string canonicalForm(const DecisionRow& row) {
  // Length-prefixed fields in a fixed order: unambiguous whatever the fields contain.
  std::string out = "steward-decision-v1\n";
  appendField(out, std::to_string(row.seq));
  appendField(out, row.id);
  appendField(out, std::to_string(row.at_ms));
  appendField(out, row.kind);
  appendField(out, row.subject);
  appendField(out, row.input);
  appendField(out, row.outcome);
  appendField(out, row.reasons);
  appendField(out, row.policy_revision);
  appendField(out, row.causes);
  appendField(out, row.prev_hash);
  return out;
}

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
  ledger->head_ = std::move(*head);
  return ledger;
}

Result<SqliteLedger::Head> SqliteLedger::head() {
  auto row = head_.step();
  if (!row) {
    head_.reset();
    return row.error();
  }
  Head h;
  if (*row) {
    h.seq = head_.int64(0);
    h.hash = head_.text(1);
  }
  head_.reset();
  return h;
}

Result<RecordedDecision> SqliteLedger::record(const Decision& decision) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.error();
  auto h = head();
  if (!h) return h.error();

  DecisionRow row;
  row.seq = h->seq + 1;
  row.at_ms = core::toUnixMillis(clock_.now());
  row.kind = decision.kind;
  row.subject = decision.subject;
  row.input = boost::json::serialize(decision.input);
  row.outcome = decision.outcome;
  boost::json::array reasons;
  for (const auto& r : decision.reasons) reasons.emplace_back(r);
  row.reasons = boost::json::serialize(reasons);
  row.policy_revision = decision.policy_revision;
  boost::json::array causes;
  for (auto c : decision.causes) causes.emplace_back(c);
  row.causes = boost::json::serialize(causes);
  row.prev_hash = h->hash;
  // The id is derived from the chain position, so it is unique and stable across exports.
  row.id = "D" + std::to_string(row.seq);
  const std::string hash = sha256Hex(canonicalForm(row));

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
  if (auto r = insert_.run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return RecordedDecision{row.seq, row.id, core::fromUnixMillis(row.at_ms), hash};
}

}  // namespace steward::ledger
