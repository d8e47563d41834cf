// See owner_api.hpp.
#include "app/owner_api.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/hub.hpp"
#include "discovery/device_hub.hpp"
#include "discovery/report.hpp"
#include "ledger/background_verify.hpp"
#include "ledger/checkpoint.hpp"
#include "ledger/controls.hpp"
#include "ledger/kinds.hpp"
#include "ledger/review.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "ledger/verify.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "needs/engine.hpp"
#include "needs/report.hpp"
#include "orders/purchasing.hpp"
#include "policy/budget.hpp"
#include "policy/cli.hpp"
#include "policy/keeper.hpp"

namespace steward::app {

using core::Duration;
using core::formatMoney;
using core::Logger;
using core::Money;
using core::Result;
using core::TimePoint;
namespace {

template <class T>
bus::OpResult<std::string> jsonText(Result<T> r) {
  if (!r) return bus::failed(r.error().message);
  return boost::json::serialize(*r);
}

// The uid an owner's command is recorded under; Home Assistant commands carry none and are
// recorded as the hub's own (uid 0 is root; HA acts through the hub).
std::uint32_t uidOf(const bus::Caller& caller) {
  return caller.uid.value_or(0);
}

orders::Actor actorOf(const bus::Caller& caller) {
  return orders::Actor{caller.uid, caller.channel.empty() ? "dbus" : caller.channel};
}

bool plausibleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c <= ' ' || c == 0x7f) return false;
  return true;
}

}  // namespace

bus::OpResult<std::string> OwnerApi::status() {
  std::vector<ledger::BudgetUse> use;
  for (const auto& b : budgetUse()) {
    use.push_back(ledger::BudgetUse{b.category, b.spent.minor, 0, b.limit.minor,
                                    std::string(b.limit.currency.view())});
  }
  auto s = ledger::queryStatus(hub_.ledger_->database(), use);
  if (!s) return bus::failed(s.error().message);
  const auto p = hub_.policy_->current();
  (*s)["policy"] = {{"revision", p->revision},
                    {"mode", policy::toString(p->purchasing.mode)},
                    {"household", p->household.name}};
  (*s)["mqtt"] = {{"connected", hub_.mqtt_->connected()},
                  {"messages", hub_.mqtt_->messagesReceived()},
                  {"reconnects", hub_.mqtt_->reconnects()}};
  (*s)["discovery"] = hub_.devices_->status();
  return boost::json::serialize(*s);
}

bus::OpResult<std::string> OwnerApi::devices() {
  std::ostringstream out;
  if (auto r =
          discovery::printDevices(hub_.ledger_->database(), out, discovery::ReportFormat::json);
      !r)
    return bus::failed(r.error().message);
  return out.str();
}

bus::OpResult<std::string> OwnerApi::needs() {
  return jsonText(needs::needsJson(hub_.ledger_->database(), hub_.clock_.now(), false));
}

bus::OpResult<std::string> OwnerApi::log(const bus::LogQuery& q) {
  ledger::LogQuery query;
  query.since = q.since;
  query.device = q.device;
  query.kind = q.kind;
  query.limit = q.limit == 0 ? bus::kMaxLogPage : std::min(q.limit, bus::kMaxLogPage);
  query.after_seq = q.after_seq;
  auto r = ledger::queryLog(hub_.ledger_->database(), query);
  if (!r) return bus::invalidArgument(r.error().message);
  return boost::json::serialize(*r);
}

bus::OpResult<bus::Page> OwnerApi::logPage(const bus::LogQuery& q) {
  ledger::LogQuery query;
  query.since = q.since;
  query.device = q.device;
  query.kind = q.kind;
  query.limit = q.limit == 0 ? bus::kMaxLogPage : std::min(q.limit, bus::kMaxLogPage);
  query.after_seq = q.after_seq.value_or(0);
  auto r = ledger::queryLog(hub_.ledger_->database(), query);
  if (!r) return bus::invalidArgument(r.error().message);
  bus::Page page;
  if (r->size() == query.limit) {
    if (const auto* last = r->back().if_object())
      if (const auto* seq = last->if_contains("seq"); seq && seq->is_int64())
        page.next_cursor = seq->as_int64();
  }
  page.text = boost::json::serialize(*r);
  return page;
}

bus::OpResult<std::string> OwnerApi::explain(std::string_view id) {
  if (!plausibleId(id))
    return bus::invalidArgument("not a decision id: \"" + std::string(id) + "\"");
  auto r = ledger::explainDecision(hub_.ledger_->database(), id);
  if (!r) return bus::notFound(r.error().message);
  return boost::json::serialize(*r);
}

bus::OpResult<bus::CheckReport> OwnerApi::verify() {
  // Its own read-only connection with a small cache, closed afterwards: no 64 MiB cache stays
  // resident after a verify. (Still on the loop here; ledger::BackgroundVerifier runs it on a
  // worker thread once the D-Bus method answers asynchronously.)
  auto r = ledger::verifyFile(hub_.config_.state_directory + "/steward.db");
  if (!r) return bus::failed(r.error().message);
  return bus::CheckReport{r->intact(), boost::json::serialize(ledger::toJson(*r))};
}

bus::OpResult<std::string> OwnerApi::exportLog(bus::ExportFormat format) {
  // The unpaged form answers the first chunk only; ExportChunk reads the rest.
  auto chunk = exportChunk(format, 0, bus::kMaxExportChunk);
  if (!chunk) return chunk.error();
  return std::move(chunk->text);
}

bus::OpResult<bus::Page> OwnerApi::exportChunk(bus::ExportFormat format, std::int64_t after_seq,
                                               std::uint32_t max_rows) {
  const std::uint32_t rows =
      max_rows == 0 ? bus::kMaxExportChunk : std::min(max_rows, bus::kMaxExportChunk);
  std::ostringstream out;
  const auto f =
      format == bus::ExportFormat::csv ? ledger::ExportFormat::csv : ledger::ExportFormat::jsonl;
  auto last = ledger::exportChunk(hub_.ledger_->database(), f, after_seq, rows, out);
  if (!last) return bus::failed(last.error().message);
  // The cursor is the last seq written; an empty chunk (cursor 0) is the end.
  bus::Page page;
  page.text = std::move(out).str();
  page.next_cursor = *last;
  return page;
}

bus::OpResult<std::string> OwnerApi::approvals() {
  return jsonText(ledger::queryApprovals(hub_.ledger_->database(), true));
}

bus::OpResult<std::string> OwnerApi::answer(std::string_view id, const bus::Caller& caller,
                                            bool grant) {
  if (!plausibleId(id))
    return bus::invalidArgument("not an approval id: \"" + std::string(id) + "\"");
  auto existing = hub_.approvals_->find(id);
  if (!existing) return existing.error();
  if (!*existing) return bus::notFound("no approval " + std::string(id));
  auto p = hub_.purchasing_->answer(id, grant, actorOf(caller));
  if (!p) return p.error();
  auto approval = hub_.approvals_->find(id);
  boost::json::object out{{"purchase", orders::toJson(*p)},
                          {"next", grant ? "the purchase goes on to find offers from " + p->retailer
                                         : "nothing will be bought; the needs are cancelled"}};
  if (approval && *approval) out["approval"] = ledger::toJson(**approval);
  return boost::json::serialize(out);
}

bus::OpResult<std::string> OwnerApi::approve(std::string_view id, const bus::Caller& caller) {
  return answer(id, caller, true);
}

bus::OpResult<std::string> OwnerApi::reject(std::string_view id, const bus::Caller& caller) {
  return answer(id, caller, false);
}

bus::OpResult<std::string> OwnerApi::cancel(std::string_view order_id, const bus::Caller& caller) {
  auto p = hub_.purchasing_->cancel(order_id, actorOf(caller));
  if (!p) return p.error();
  return boost::json::serialize(boost::json::object{{"purchase", orders::toJson(*p)}});
}

bus::OpResult<std::string> OwnerApi::pause(std::string_view device, const bus::Caller& caller) {
  if (!device.empty() && !plausibleId(device))
    return bus::invalidArgument("not a device id: \"" + std::string(device) + "\"");
  auto r = hub_.controls_->pause(device, uidOf(caller), {}, caller.channel);
  if (!r) return bus::conflict(r.error().message);
  return boost::json::serialize(ledger::toJson(*r));
}

bus::OpResult<std::string> OwnerApi::resume(std::string_view device, const bus::Caller& caller) {
  if (!device.empty() && !plausibleId(device))
    return bus::invalidArgument("not a device id: \"" + std::string(device) + "\"");
  auto r = hub_.controls_->resume(device, uidOf(caller), caller.channel);
  if (!r) return bus::conflict(r.error().message);
  // Needs held back by the pause are looked at again now, not at the next tick.
  hub_.tick();
  return boost::json::serialize(
      boost::json::object{{"resumed", device.empty() ? "all" : device}, {"decision", r->id}});
}

bus::OpResult<std::string> OwnerApi::reload(const bus::Caller& caller) {
  const auto problems = hub_.reload(caller.uid);
  boost::json::array errors;
  for (const auto& p : problems)
    errors.emplace_back(p);
  const auto p = hub_.policy_->current();
  boost::json::object out{{"revision", p->revision}, {"errors", errors}};
  if (!problems.empty()) {
    std::string message =
        "the new policy is invalid and was not applied; the last good policy stays in force:\n";
    for (const auto& e : problems)
      message += "  " + e + "\n";
    return core::invalidInput(std::move(message));
  }
  return boost::json::serialize(out);
}

bus::OpResult<bus::CheckReport> OwnerApi::policyCheck() {
  std::ostringstream out, err;
  const std::vector<std::string> args{"check", "--json", hub_.config_.policy_directory};
  const int rc = policy::runPolicyCommand(args, out, err);
  if (rc == 2) return bus::failed(err.str());
  return bus::CheckReport{rc == 0, out.str()};
}

bus::OpResult<std::string> OwnerApi::simulate(std::string_view scenario_json) {
  if (scenario_json.size() > 64 * 1024) return bus::invalidArgument("scenario over 64 KiB");
  boost::system::error_code ec;
  auto parsed = boost::json::parse(scenario_json, ec);
  if (ec || !parsed.is_object()) return bus::invalidArgument("the scenario must be a JSON object");
  // The policy in force and the live budgets, as the hub would decide now.
  const auto current = hub_.policy_->current();
  if (!current) return core::unavailable("no policy is loaded");
  return policy::simulateScenario(parsed.as_object(), *current, *hub_.budgets_, hub_.clock_.now());
}

bus::Mode OwnerApi::mode() {
  auto paused = hub_.controls_->globallyPaused();
  const auto p = hub_.policy_->current();
  if (!paused || *paused || p->purchasing.mode == policy::PurchasingMode::paused)
    return bus::Mode::paused;
  return bus::Mode::running;
}

std::vector<bus::BudgetUse> OwnerApi::budgetUse() {
  std::vector<bus::BudgetUse> out;
  const auto p = hub_.policy_->current();
  const auto month = p->household.time_zone.monthOf(hub_.clock_.now());
  for (const auto& [category, budget] : p->budgets) {
    const auto t = hub_.budgets_->totals(category, month);
    out.push_back(bus::BudgetUse{category, Money{t.spent + t.reserved, p->household.currency},
                                 budget.monthly});
  }
  return out;
}

std::vector<bus::ApprovalRequest> OwnerApi::pendingApprovals() {
  std::vector<bus::ApprovalRequest> out;
  auto pending = hub_.approvals_->pending();
  if (!pending) return out;
  for (const auto& a : *pending)
    out.push_back({a.id, approvalSummary(a), a.summary});
  return out;
}

std::string OwnerApi::approvalSummary(const ledger::Approval& a) const {
  auto p = hub_.purchasing_->findByApproval(a.id);
  if (p && *p) return hub_.purchasing_->summary(**p);
  return a.subject + ", about " + formatMoney(a.amount);
}

void OwnerApi::refused(const bus::Refusal& r) {
  const TimePoint now = hub_.clock_.now();
  const std::string key = (r.uid ? std::to_string(*r.uid) : std::string("?")) + "/" + r.member;
  auto it = refusals_.find(key);
  if (it != refusals_.end() && now - it->second.recorded_at < std::chrono::minutes(1)) {
    ++it->second.suppressed;
    return;
  }
  if (it == refusals_.end() && refusals_.size() >= kMaxRefusalKeys) {
    // Forget the caller recorded longest ago: it will be recorded again if it comes back.
    auto oldest = refusals_.begin();
    for (auto i = refusals_.begin(); i != refusals_.end(); ++i)
      if (i->second.recorded_at < oldest->second.recorded_at) oldest = i;
    refusals_.erase(oldest);
  }
  const std::uint64_t suppressed = it == refusals_.end() ? 0 : it->second.suppressed;
  boost::json::object input{{"method", r.member},
                            {"channel", r.channel},
                            {"sender", r.sender},
                            {"refused_since_last_record", suppressed}};
  if (r.uid) input["uid"] = *r.uid;
  auto recorded = hub_.ledger_->record(ledger::Decision{
      std::string(ledger::kind::securityRefused),
      r.uid ? "caller:uid:" + std::to_string(*r.uid) : std::string("caller:unknown"),
      std::move(input),
      "refused",
      {r.reason},
      hub_.policy_->current() ? hub_.policy_->current()->revision : std::string(),
      {}});
  if (!recorded) {
    hub_.log_.error("security.refusal_unrecorded",
                    {{"method", std::string_view(r.member)}, {"error", recorded.error().message}});
    return;
  }
  refusals_[key] = RefusalWindow{now, 0};
}

}  // namespace steward::app
