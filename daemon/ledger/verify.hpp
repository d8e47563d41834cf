// Checks the decision chain and its signed checkpoints: finds the first record that was edited,
// deleted, inserted or reordered, and whether the ledger still extends a checkpoint (a copy kept
// outside the database catches truncation). Works on a read-only connection. What it cannot
// detect is listed in README.md ("Threat model").
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/checkpoint.hpp"
#include "ledger/database.hpp"
#include "ledger/text.hpp"

namespace steward::ledger {

enum class Problem {
  edited,         // the record's content no longer matches its hash
  deleted,        // a sequence number is missing (or the records after it were renumbered)
  inserted,       // a record that is not part of the chain sits in it
  reordered,      // a genuine record sits at another record's position
  rewritten,      // hashes were recomputed: a record does not follow the one before it
  truncated,      // the ledger ends before a checkpoint's sequence number
  diverged,       // the record a checkpoint covers has another hash than the one signed
  bad_signature,  // a checkpoint's signature does not verify
  unknown_key,    // a checkpoint was signed by a key the ledger does not hold (key replaced)
};
std::string_view problemName(Problem p);

struct Finding {
  // The first sequence number that cannot be trusted; 0 when the finding is about the external
  // checkpoint file, not about a record.
  std::int64_t seq = 0;
  Problem problem = Problem::edited;
  std::string detail;
};

struct VerifyReport {
  std::int64_t records = 0;
  std::int64_t head_seq = 0;
  std::string head_hash;
  std::size_t checkpoints_checked = 0;  // stored ones plus the external one, if given
  // Set when an external checkpoint was given: the ledger holds its record with the signed hash
  // and the signature is valid.
  std::optional<bool> extends_checkpoint;
  // The newest checkpoint (stored or external) that matches the chain: records after it are
  // attested by nothing but the chain itself (see README.md, "Threat model").
  std::optional<std::int64_t> covered_seq;
  std::optional<core::TimePoint> covered_at;
  std::vector<Finding> findings;  // by ascending seq; at most kMaxFindings
  std::size_t findings_omitted = 0;

  bool intact() const { return findings.empty(); }
  std::int64_t uncovered() const { return head_seq - covered_seq.value_or(0); }
  // The lowest record that can no longer be trusted (findings about the file excluded).
  std::optional<std::int64_t> firstBadSeq() const;
};

inline constexpr std::size_t kMaxFindings = 100;

// Walks the whole chain once. `external` is a checkpoint kept outside the database (from the
// broker or a file); stored checkpoints are always checked. Fails only when the database cannot
// be read or is not a Steward ledger; tampering is a finding, not an error.
Result<VerifyReport> verify(Database& db, const std::optional<Checkpoint>& external = std::nullopt);

// {"intact", "records", "head": {"seq", "hash"}, "checkpoints_checked", "extends_checkpoint",
//  "covered": {"seq", "at"} | null, "uncovered": <records after it>, "first_bad_seq",
//  "findings": [{"seq" (0: the checkpoint file), "problem", "detail"}], "findings_omitted"}
boost::json::object toJson(const VerifyReport& report);
// Human form of that document: a verdict line, warnings, then the findings as a table whose
// details wrap (never cut) to fit `width` columns.
void renderVerify(const boost::json::object& report, const OutputStyle& style, std::ostream& out,
                  std::size_t width = 100);

}  // namespace steward::ledger
