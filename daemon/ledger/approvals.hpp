// Purchases waiting for the owner: persisted approval requests and their answers. Every change
// is a decision recorded in the same transaction (approval.requested / granted / rejected /
// timed-out, with the uid of the D-Bus caller who answered).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "ledger/ledger.hpp"

namespace steward::ledger {

enum class ApprovalState { pending, granted, rejected, timed_out };
std::string_view approvalStateName(ApprovalState s);  // "pending", ..., "timed-out"

struct ApprovalRequest {
  std::string subject;               // what is to be bought: "order:<id>" or "need:<id>"
  boost::json::value summary;        // what the owner is shown: item, vendor, total, reasons
  core::Money amount;                // the amount asked for (> 0)
  core::TimePoint expires_at;        // no answer by then = rejected (policy: timeout = reject)
  std::vector<std::int64_t> causes;  // e.g. the policy.evaluated decision that asked for it
  std::string policy_revision;
  std::vector<std::string> reasons;  // why approval is needed (rule ids, budget figures)
};

struct Approval {
  std::string id;  // "A<n>"
  std::string subject;
  std::string summary;  // JSON text
  core::Money amount;
  core::TimePoint requested_at;
  core::TimePoint expires_at;
  ApprovalState state = ApprovalState::pending;
  std::optional<core::TimePoint> decided_at;
  std::optional<std::uint32_t> decided_by_uid;  // absent for a time-out
  std::int64_t request_seq = 0;                 // the approval.requested decision
  std::optional<std::int64_t> decision_seq;     // the decision that answered it
};

boost::json::object toJson(const Approval& a);

class Approvals {
 public:
  // Brings the "approvals" tables up to date. `ledger` and `clock` must outlive this.
  static Result<Approvals> open(Ledger& ledger, const core::Clock& clock);

  // Records the request (approval.requested) and returns it. Fails, changing nothing, on an
  // empty subject, a non-positive amount, an expiry not in the future, or a database error.
  Result<Approval> request(const ApprovalRequest& request);
  // The owner's answer. Fails, changing nothing, for an unknown id, one already answered, or one
  // whose time is up (expire() will record the time-out).
  // `uid` is the D-Bus caller's (none through Home Assistant); `channel` how the answer came
  // ("dbus", "home-assistant", ...); both are recorded.
  Result<Approval> grant(std::string_view id, std::optional<std::uint32_t> uid,
                         std::string_view channel = {});
  Result<Approval> reject(std::string_view id, std::optional<std::uint32_t> uid,
                          std::string_view reason = {}, std::string_view channel = {});
  // Times out every pending approval whose expiry is at or before `now`; returns them.
  Result<std::vector<Approval>> expire(core::TimePoint now);

  Result<std::vector<Approval>> pending();
  Result<std::optional<Approval>> find(std::string_view id);

 private:
  Approvals(Ledger& ledger, const core::Clock& clock) : ledger_(&ledger), clock_(&clock) {}
  Result<Approval> answer(std::string_view id, std::optional<std::uint32_t> uid,
                          ApprovalState state, std::string_view reason, std::string_view channel);

  Ledger* ledger_;
  const core::Clock* clock_;
};

// Reads approvals from any connection (read-only included): pending ones, or all (newest
// first, at most `limit`, 0 = all) when `pending_only` is false. Empty when the table is absent.
Result<std::vector<Approval>> listApprovals(Database& db, bool pending_only, std::size_t limit = 0);

}  // namespace steward::ledger
