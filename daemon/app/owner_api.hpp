// What the owner's tools may ask of the hub (bus::Operations), answered from the modules the Hub
// owns. D-Bus and Home Assistant only translate to and from this; the rules live in the modules.
#pragma once

#include <map>
#include <string>

#include "bus/operations.hpp"
#include "ledger/approvals.hpp"

namespace steward::app {

class Hub;

class OwnerApi final : public bus::Operations {
 public:
  explicit OwnerApi(Hub& hub) : hub_(hub) {}

  bus::OpResult<std::string> status() override;
  bus::OpResult<std::string> devices() override;
  bus::OpResult<std::string> needs() override;
  bus::OpResult<std::string> log(const bus::LogQuery& query) override;
  bus::OpResult<std::string> explain(std::string_view decision_id) override;
  bus::OpResult<bus::CheckReport> verify() override;
  bus::OpResult<std::string> exportLog(bus::ExportFormat format) override;
  bus::OpResult<bus::Page> logPage(const bus::LogQuery& query) override;
  bus::OpResult<bus::Page> exportChunk(bus::ExportFormat format, std::int64_t after_seq,
                                       std::uint32_t max_rows) override;
  bus::OpResult<std::string> approvals() override;

  bus::OpResult<std::string> approve(std::string_view approval_id,
                                     const bus::Caller& caller) override;
  bus::OpResult<std::string> reject(std::string_view approval_id,
                                    const bus::Caller& caller) override;
  bus::OpResult<std::string> cancel(std::string_view order_id, const bus::Caller& caller) override;
  bus::OpResult<std::string> pause(std::string_view device, const bus::Caller& caller) override;
  bus::OpResult<std::string> resume(std::string_view device, const bus::Caller& caller) override;
  bus::OpResult<std::string> reload(const bus::Caller& caller) override;

  bus::OpResult<bus::CheckReport> policyCheck() override;
  bus::OpResult<std::string> simulate(std::string_view scenario_json) override;

  bus::Mode mode() override;
  std::vector<bus::BudgetUse> budgetUse() override;
  std::vector<bus::ApprovalRequest> pendingApprovals() override;
  // Records security.refused once per (uid, method) and minute; the refusals in between are
  // counted and carried by the next record. At most kMaxRefusalKeys callers are tracked.
  void refused(const bus::Refusal& refusal) override;

  // One line for a person: "P3 at shop-a: 2 items, about 38.90 EUR".
  std::string approvalSummary(const ledger::Approval& approval) const;

 private:
  bus::OpResult<std::string> answer(std::string_view approval_id, const bus::Caller& caller,
                                    bool grant);

  struct RefusalWindow {
    core::TimePoint recorded_at;
    std::uint64_t suppressed = 0;  // refused since the last record
  };
  static constexpr std::size_t kMaxRefusalKeys = 1024;

  Hub& hub_;
  std::map<std::string, RefusalWindow> refusals_;  // by "uid/member"
};

}  // namespace steward::app
