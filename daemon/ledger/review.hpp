// The owner's view of the ledger, behind `stewardctl log | explain | export | approvals | status`:
// each listing is a query answering a JSON document (also what D-Bus returns); stewardctl's
// views draw them (daemon/stewardctl/views.hpp), so a listing looks the same from either source.
// All of them work on a read-only connection and tolerate tables of modules never opened.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "ledger/database.hpp"
#include "ledger/text.hpp"

namespace steward::ledger {

// One decision as JSON: {"seq","id","at","at_ms","kind","subject","input","outcome","reasons",
// "policy_revision","causes","prev_hash","hash"}; input/reasons/causes parsed (kept as text if
// they are not valid JSON, e.g. after tampering).
boost::json::object decisionJson(const Statement& row);  // row of kDecisionColumns
inline constexpr std::string_view kDecisionColumns =
    "seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, prev_hash, "
    "hash";

// --- log -----------------------------------------------------------------------------------
struct LogQuery {
  std::optional<core::TimePoint> since;  // at or after
  std::string device;     // "" = any; else subject "device:<id>" or input.device_id/device = id
  std::string kind;       // "" = any; "approval" matches "approval" and "approval.*"
  std::size_t limit = 0;  // the newest `limit` (shown oldest first); 0 = all
  // Set: a page instead, the first `limit` matches with seq > after_seq, oldest first (each
  // call does one page of work; the caller passes the last seq it got as the next after_seq).
  std::optional<std::int64_t> after_seq;
};
// "--since" as people type it: a UTC time (see parseUtc) or a duration back from `now` ("48h").
Result<core::TimePoint> parseSince(std::string_view text, core::TimePoint now);

// Fails on a malformed kind filter or a database error.
Result<boost::json::array> queryLog(Database& db, const LogQuery& query);

// --- explain -------------------------------------------------------------------------------
// `id`: "D42" or "42" (a decision), "A3" (an approval: its latest decision), or a subject such as
// "order:o-17" (the latest decision about it). Walks `causes` back to the first signal; lists
// offers side by side (per request for quotes in the chain) and the policy rules that decided.
// {"decision", "chain": [...oldest first], "offers": [{"rfq", "offers": [...]}],
//  "rules": [{"seq","outcome","rules","policy_revision"}], "chain_truncated"}
// Fails with "no decision ..." when nothing matches.
Result<boost::json::object> explainDecision(Database& db, std::string_view id);
inline constexpr std::size_t kMaxChain = 500;  // records shown by explain

// --- export --------------------------------------------------------------------------------
enum class ExportFormat { jsonl, csv };
Result<ExportFormat> parseExportFormat(std::string_view name);  // "jsonl" | "csv"
// Every decision in order, every column (the CSV keeps input/reasons/causes as the exact stored
// text the hashes cover, so an export can be verified independently). Streams; constant memory.
Result<void> exportDecisions(Database& db, ExportFormat format, std::ostream& out);
// One chunk of that export: at most `max_rows` decisions with seq > after_seq (the CSV header
// only when after_seq is 0). Answers the last seq written, 0 when there was none.
Result<std::int64_t> exportChunk(Database& db, ExportFormat format, std::int64_t after_seq,
                                 std::size_t max_rows, std::ostream& out);

// --- approvals -----------------------------------------------------------------------------
Result<boost::json::array> queryApprovals(Database& db, bool pending_only);

// --- status --------------------------------------------------------------------------------
struct BudgetUse {
  std::string category;
  std::int64_t spent_minor = 0;
  std::int64_t reserved_minor = 0;
  std::optional<std::int64_t> limit_minor;  // none: no cap (0 is a cap that allows nothing)
  std::string currency;                     // ISO 4217
};
// A month's use ('YYYY-MM' in the household's zone; "" = the latest month present) from the
// policy module's `budget_reservations` table (committed = spent, reserved = reserved; caps are
// in the policy, so limit_minor is empty and the caller may fill it in), or else from a table or
// view `budget_use` / `budgets` with columns category, spent_minor (or spent) and optionally
// limit_minor (cap_minor, monthly_cap_minor), reserved_minor, currency, month. Empty when there
// is no such table.
Result<std::vector<BudgetUse>> readBudgetUse(Database& db, std::string_view month = {});

// {"ledger": {"head_seq","head_hash","last_at"}, "checkpoint": {...}|null,
//  "purchasing": {"paused", "pauses": [...]}, "approvals": {"pending"},
//  "budgets": [{"category","spent_minor","reserved_minor","limit_minor" (null: no cap),
//  "currency"}]}
// `budgets` given by the caller (the daemon's live book) or read with readBudgetUse().
Result<boost::json::object> queryStatus(Database& db,
                                        std::optional<std::vector<BudgetUse>> budgets = {});

}  // namespace steward::ledger
