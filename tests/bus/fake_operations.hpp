// A bus::Operations for tests of the adapters (D-Bus, Home Assistant, stewardctl): canned answers
// that tests set, and a record of every call with its arguments and caller, so a test can see
// exactly what crossed the adapter (and that a refused call never did).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bus/operations.hpp"

namespace steward::test {

struct RecordedCall {
  std::string operation;  // "approve", "log", ...
  std::string argument;   // the id/device/format/scenario, or a rendering of the LogQuery
  bus::Caller caller;
};

class FakeOperations final : public bus::Operations {
 public:
  // Answers by operation name; an operation without an answer returns "{}" (or ok/"{}").
  std::map<std::string, bus::OpResult<std::string>> answers;
  bus::OpResult<bus::CheckReport> verify_answer = bus::CheckReport{true, R"({"intact":true})"};
  bus::OpResult<bus::CheckReport> policy_answer = bus::CheckReport{true, R"({"valid":true})"};
  bus::Mode mode_value = bus::Mode::running;
  std::vector<bus::BudgetUse> budget;
  std::vector<bus::ApprovalRequest> pending;
  std::vector<RecordedCall> calls;
  std::vector<bus::Refusal> refusals;

  int count(const std::string& operation) const {
    int n = 0;
    for (const auto& c : calls)
      n += c.operation == operation;
    return n;
  }
  const RecordedCall* last(const std::string& operation) const {
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
      if (it->operation == operation) return &*it;
    return nullptr;
  }

  bus::OpResult<std::string> status() override { return answer("status", ""); }
  bus::OpResult<std::string> devices() override { return answer("devices", ""); }
  bus::OpResult<std::string> needs() override { return answer("needs", ""); }
  bus::OpResult<std::string> log(const bus::LogQuery& q) override {
    std::string arg = "since=" + (q.since ? std::to_string(core::toUnixMillis(*q.since)) : "-") +
                      " device=" + q.device + " kind=" + q.kind +
                      " limit=" + std::to_string(q.limit);
    return answer("log", arg);
  }
  bus::OpResult<std::string> explain(std::string_view id) override {
    return answer("explain", std::string(id));
  }
  bus::OpResult<bus::CheckReport> verify() override {
    calls.push_back({"verify", "", {}});
    return verify_answer;
  }
  bus::OpResult<std::string> exportLog(bus::ExportFormat f) override {
    return answer("export", f == bus::ExportFormat::csv ? "csv" : "jsonl");
  }
  bus::OpResult<bus::Page> logPage(const bus::LogQuery& q) override {
    auto text = answer("log_page", "after=" + std::to_string(q.after_seq.value_or(-1)) +
                                       " limit=" + std::to_string(q.limit));
    if (!text) return text.error();
    return bus::Page{*text, 0};
  }
  bus::OpResult<bus::Page> exportChunk(bus::ExportFormat f, std::int64_t after,
                                       std::uint32_t rows) override {
    auto text = answer("export_chunk", std::string(f == bus::ExportFormat::csv ? "csv" : "jsonl") +
                                           " after=" + std::to_string(after) +
                                           " rows=" + std::to_string(rows));
    if (!text) return text.error();
    return bus::Page{*text, 0};
  }
  bus::OpResult<std::string> approvals() override { return answer("approvals", ""); }
  bus::OpResult<std::string> approve(std::string_view id, const bus::Caller& c) override {
    return answer("approve", std::string(id), c);
  }
  bus::OpResult<std::string> reject(std::string_view id, const bus::Caller& c) override {
    return answer("reject", std::string(id), c);
  }
  bus::OpResult<std::string> cancel(std::string_view id, const bus::Caller& c) override {
    return answer("cancel", std::string(id), c);
  }
  bus::OpResult<std::string> pause(std::string_view device, const bus::Caller& c) override {
    auto r = answer("pause", std::string(device), c);
    if (r && device.empty()) mode_value = bus::Mode::paused;
    return r;
  }
  bus::OpResult<std::string> resume(std::string_view device, const bus::Caller& c) override {
    auto r = answer("resume", std::string(device), c);
    if (r && device.empty()) mode_value = bus::Mode::running;
    return r;
  }
  bus::OpResult<std::string> reload(const bus::Caller& c) override {
    return answer("reload", "", c);
  }
  bus::OpResult<bus::CheckReport> policyCheck() override {
    calls.push_back({"policyCheck", "", {}});
    return policy_answer;
  }
  bus::OpResult<std::string> simulate(std::string_view scenario) override {
    return answer("simulate", std::string(scenario));
  }
  bus::Mode mode() override { return mode_value; }
  std::vector<bus::BudgetUse> budgetUse() override { return budget; }
  std::vector<bus::ApprovalRequest> pendingApprovals() override { return pending; }

 private:
  bus::OpResult<std::string> answer(const std::string& op, std::string arg, bus::Caller c = {}) {
    calls.push_back({op, std::move(arg), std::move(c)});
    if (auto it = answers.find(op); it != answers.end()) return it->second;
    return std::string("{}");
  }
  void refused(const bus::Refusal& r) override { refusals.push_back(r); }
};

}  // namespace steward::test
