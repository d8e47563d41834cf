// The ledger: the one SQLite database of the hub, and the hash-chained record of every decision
// any module makes. A decision is recorded in the same transaction as the state change it causes
// (open a ledger::Transaction on database(), change state, record(), commit), and before anything
// is sent because of it. README.md explains the chain, checkpoints, durability and threat model;
// kinds.hpp lists the decision kinds.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/database.hpp"

namespace steward::ledger {

// Caps on what one decision may carry; a decision over them is refused, not truncated.
inline constexpr std::size_t kMaxInputBytes = 1 << 20;  // room for a signed offer as evidence
inline constexpr std::size_t kMaxReasons = 64;
inline constexpr std::size_t kMaxCauses = 64;
inline constexpr std::size_t kMaxTextBytes = 1024;  // kind, subject, outcome, each reason

// Whether `text` holds a control character (below 0x20, or DEL): refused in the text fields.
inline bool hasControl(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

struct Decision {
  std::string kind;                  // "device.admitted", "need.opened", "policy.evaluated", ...
  std::string subject;               // "device:<id>", "need:<id>", "order:<id>", "" for the hub
  boost::json::value input;          // the evidence the decision was made on
  std::string outcome;               // "admitted", "allow", "needs-approval", "deny", "merged", ...
  std::vector<std::string> reasons;  // rule ids, budget figures, validation errors
  std::string policy_revision;       // SHA-256 of the canonical policy in force ("" if none)
  std::vector<std::int64_t> causes;  // sequence numbers of the decisions that led here
};

struct RecordedDecision {
  std::int64_t seq = 0;
  std::string id;
  core::TimePoint at;
  std::string hash;  // hex SHA-256 of the record's canonical form, chained to the previous one
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Appends a decision. Inside an open Transaction it joins it (and is undone with it);
  // otherwise it commits on its own. Fails only on a database error.
  virtual Result<RecordedDecision> record(const Decision& decision) = 0;

  // The connection every module uses for its own tables (see Database::migrate).
  virtual Database& database() = 0;
};

}  // namespace steward::ledger
