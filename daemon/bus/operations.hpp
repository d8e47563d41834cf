// What the owner's tools may ask of the hub, in one interface the Hub implements: D-Bus
// (DbusService) and Home Assistant (HomeAssistantEntities) only translate to and from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace steward::bus {

// Operations answer with core::Result: its ErrorCode picks the named D-Bus error (errorName()),
// so a module's own code (not found, conflict, denied, retry later) reaches the caller unchanged.
template <class T>
using OpResult = core::Result<T>;
using Failure = core::Error;
using FailureKind = core::ErrorCode;

inline Failure invalidArgument(std::string m) {
  return core::invalidInput(std::move(m));
}
inline Failure notFound(std::string m) {
  return core::notFound(std::move(m));
}
inline Failure conflict(std::string m) {
  return core::conflict(std::move(m));
}
inline Failure unavailable(std::string m) {
  return core::unavailable(std::move(m));
}
inline Failure accessDenied(std::string m) {
  return core::denied(std::move(m));
}
inline Failure failed(std::string m) {
  return core::fail(std::move(m));
}

// "org.stewardhub.Steward1.Error.NotFound", ...
std::string_view errorName(core::ErrorCode code);
// The inverse, for clients; nullopt for names outside the org.stewardhub.Steward1.Error space.
std::optional<core::ErrorCode> errorCodeFromName(std::string_view name);

// Who asked. Decisions caused by an owner's command record this.
struct Caller {
  std::optional<std::uint32_t> uid;  // D-Bus: the uid the bus daemon vouches for
  std::string channel;               // "dbus" or "home-assistant"
};

struct Refusal {
  std::string member;                // "Approve"
  std::optional<std::uint32_t> uid;  // absent when the bus could not say who called
  std::string sender;                // the caller's unique bus name
  std::string channel = "dbus";
  std::string reason;
};

struct LogQuery {
  std::optional<core::TimePoint> since;  // only decisions at or after this time
  std::string device;                    // only decisions about this device ("" any)
  std::string kind;                      // only decisions of this kind ("" any)
  std::uint32_t limit = 0;               // at most this many, newest last (0: kMaxLogPage)
  // Set: a page, the first `limit` matches after this seq, oldest first.
  std::optional<std::int64_t> after_seq;
};

// No answer over the bus holds more than one page: the daemon's memory and the time its loop is
// busy stay bounded however long the ledger grows. Larger requests are capped to these.
inline constexpr std::uint32_t kMaxLogPage = 500;       // decisions per Log / LogPage answer
inline constexpr std::uint32_t kMaxExportChunk = 2000;  // decisions per ExportChunk answer

// One page of a listing and where the next one starts (0: this was the last page).
struct Page {
  std::string text;
  std::int64_t next_cursor = 0;
};

enum class ExportFormat { jsonl, csv };
std::optional<ExportFormat> parseExportFormat(std::string_view name);

// A yes/no answer with the JSON report behind it (verify, policy check).
struct CheckReport {
  bool ok = false;
  std::string report_json;
};

enum class Mode { running, paused };
std::string_view modeName(Mode mode);

struct BudgetUse {
  std::string category;
  core::Money spent;  // this month, same currency as limit
  core::Money limit;
};

struct ApprovalRequest {
  std::string id;
  std::string summary;  // one line for a person: "printer-office: toner TN-2420, 38.90 EUR"
  std::string summary_json;
};

struct DecisionNotice {
  std::int64_t seq = 0;
  std::string id, kind, subject, outcome;
  core::TimePoint at;
};

// Every listing returns the JSON document stewardctl prints with --json. Operations that change
// things take the Caller so the decision they record names who asked; they must validate their
// arguments (they come from outside the process) and change nothing when they fail.
class Operations {
 public:
  virtual ~Operations() = default;

  virtual OpResult<std::string> status() = 0;
  virtual OpResult<std::string> devices() = 0;
  virtual OpResult<std::string> needs() = 0;
  virtual OpResult<std::string> log(const LogQuery& query) = 0;
  virtual OpResult<std::string> explain(std::string_view decision_id) = 0;
  virtual OpResult<CheckReport> verify() = 0;
  virtual OpResult<std::string> exportLog(ExportFormat format) = 0;
  // Paged forms of log and exportLog; `query.after_seq` is always set for logPage.
  virtual OpResult<Page> logPage(const LogQuery& query) = 0;
  virtual OpResult<Page> exportChunk(ExportFormat format, std::int64_t after_seq,
                                     std::uint32_t max_rows) = 0;
  virtual OpResult<std::string> approvals() = 0;

  virtual OpResult<std::string> approve(std::string_view approval_id, const Caller& caller) = 0;
  virtual OpResult<std::string> reject(std::string_view approval_id, const Caller& caller) = 0;
  virtual OpResult<std::string> cancel(std::string_view order_id, const Caller& caller) = 0;
  // device "" means all purchasing.
  virtual OpResult<std::string> pause(std::string_view device, const Caller& caller) = 0;
  virtual OpResult<std::string> resume(std::string_view device, const Caller& caller) = 0;
  virtual OpResult<std::string> reload(const Caller& caller) = 0;

  virtual OpResult<CheckReport> policyCheck() = 0;
  virtual OpResult<std::string> simulate(std::string_view scenario_json) = 0;

  // Cheap snapshots for properties and Home Assistant state; must not fail.
  virtual Mode mode() = 0;
  virtual std::vector<BudgetUse> budgetUse() = 0;
  virtual std::vector<ApprovalRequest> pendingApprovals() = 0;  // oldest first

  // A call the adapter refused before it reached an operation (the caller is not an admin, or
  // cannot be identified). Security refusals belong on the record; the implementation keeps a
  // flood from filling the disk. Must not fail.
  virtual void refused(const Refusal& refusal) { (void)refusal; }
};

// What the hub announces as it happens; DbusService and HomeAssistantEntities both listen, so the
// Hub calls each listener it owns.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void decisionRecorded(const DecisionNotice& decision) = 0;
  virtual void approvalRequested(const ApprovalRequest& request) = 0;
  // Approvals were decided, cancelled or expired: the pending list changed.
  virtual void approvalsChanged() = 0;
  virtual void budgetChanged(const BudgetUse& use) = 0;
  virtual void modeChanged() = 0;
};

}  // namespace steward::bus
