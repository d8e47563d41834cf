// The hash chain of decisions: the canonical form a record's SHA-256 is taken over, and a hasher
// that computes it without per-record allocations (the writer and `verify` share it).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace steward::ledger {

// One decision row as stored. The canonical form covers every column except `hash` itself, so
// editing any stored field, or moving a record to another sequence number, changes its hash.
struct DecisionRow {
  std::int64_t seq = 0;
  std::string id;
  std::int64_t at_ms = 0;
  std::string kind, subject, input, outcome, reasons, policy_revision, causes, prev_hash;
};

// The same, borrowed from wherever the bytes live (a SQLite row while verifying).
struct DecisionRowView {
  std::int64_t seq = 0;
  std::string_view id;
  std::int64_t at_ms = 0;
  std::string_view kind, subject, input, outcome, reasons, policy_revision, causes, prev_hash;

  DecisionRowView() = default;
  DecisionRowView(const DecisionRow& r)  // NOLINT: a row is viewable implicitly
      : seq(r.seq),
        id(r.id),
        at_ms(r.at_ms),
        kind(r.kind),
        subject(r.subject),
        input(r.input),
        outcome(r.outcome),
        reasons(r.reasons),
        policy_revision(r.policy_revision),
        causes(r.causes),
        prev_hash(r.prev_hash) {}
};

// "steward-decision-v1\n" then each field as "<byte length>:<bytes>\n" in the order of
// DecisionRow: unambiguous whatever the fields contain. The first record's prev_hash is "".
std::string canonicalForm(const DecisionRowView& row);

// Hex SHA-256 of arbitrary bytes (lower case, 64 characters).
std::string sha256Hex(std::string_view data);

// Computes record hashes with one fetched digest and one reused buffer. Loop thread only.
class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(ChainHasher&&) noexcept;
  ChainHasher& operator=(ChainHasher&&) noexcept;

  // Hex SHA-256 of canonicalForm(row); valid until the next call.
  std::string_view hashHex(const DecisionRowView& row);
  std::string_view hashHex(std::string_view bytes);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace steward::ledger
