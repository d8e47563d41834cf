// See dbus_service.hpp. sdbus-c++ answers a handler's thrown sdbus::Error with that error, so the
// adaptor turns Failures into sdbus::Error at this one edge; anything else a handler throws is
// caught here too and answered as Failed, never let out into the loop.
#include "bus/dbus_service.hpp"

#include <sdbus-c++/sdbus-c++.h>
#include <cctype>
#include <exception>
#include <tuple>

#include "bus/generated/steward1_adaptor.hpp"

namespace steward::bus {

namespace {

// Caps on what a caller may send, enforced before anything reaches the hub.
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxScenarioBytes = 256 * 1024;

[[noreturn]] void raise(const Failure& failure) {
  throw sdbus::Error(std::string(errorName(failure.code)), failure.message);
}

// Ids, device names and kinds: bounded, printable, no whitespace. Deeper checks (does it exist)
// are the hub's.
void checkToken(std::string_view what, const std::string& value, bool allow_empty) {
  if (value.empty() && !allow_empty) raise(invalidArgument(std::string(what) + " is empty"));
  if (value.size() > kMaxIdBytes)
    raise(invalidArgument(std::string(what) + " is longer than " + std::to_string(kMaxIdBytes) +
                          " bytes"));
  for (unsigned char c : value)
    if (c <= ' ' || c == 0x7f)
      raise(invalidArgument(std::string(what) + " contains a space or control character"));
}

template <class T>
T unwrap(OpResult<T> result) {
  if (!result) raise(result.error());
  return std::move(result).value();
}

}  // namespace

class DbusService::Adaptor final
    : public sdbus::AdaptorInterfaces<org::stewardhub::Steward1_adaptor> {
 public:
  Adaptor(sdbus::IConnection& connection, Operations& operations, core::Logger& log,
          const AdminCheck& admin)
      : AdaptorInterfaces(connection, kObjectPath), ops_(operations), log_(log), admin_(admin) {
    registerAdaptor();
  }
  ~Adaptor() { unregisterAdaptor(); }

  void emitChanged(const char* property) {
    getObject().emitPropertiesChangedSignal(kInterface, {property});
  }

 private:
  // Runs `body` for `member` after the access check; every exception leaves as a named error.
  template <class F>
  auto serve(const char* member, F&& body) -> decltype(body(Caller{})) {
    try {
      Caller caller = identify(member);
      return body(caller);
    } catch (const sdbus::Error&) {
      throw;
    } catch (const std::exception& e) {
      log_.error("dbus.handler_failed", {{"member", member}, {"error", e.what()}});
      raise(failed(std::string(member) + " failed inside the hub"));
    }
  }

  // Who is calling, from the bus daemon's record of the sender's connection; refuses with
  // AccessDenied (logged once, here) when `member` needs admin and the caller is not one.
  Caller identify(const char* member) {
    Caller caller{std::nullopt, "dbus"};
    if (requiredAccess(member) == Access::anyone) return caller;
    const sdbus::Message* message = getObject().getCurrentlyProcessedMessage();
    std::string sender = message ? message->getSender() : std::string();
    try {
      if (message) caller.uid = message->getCredsUid();
    } catch (const sdbus::Error& e) {
      log_.warning("dbus.access_denied", {{"member", member},
                                          {"sender", sender},
                                          {"reason", "credentials unavailable"},
                                          {"error", e.getMessage()}});
      ops_.refused({member, std::nullopt, sender, "dbus", "credentials unavailable"});
      raise(accessDenied("cannot establish who is calling " + std::string(member)));
    }
    if (!caller.uid || !admin_.isAdmin(*caller.uid)) {
      log_.warning("dbus.access_denied", {{"member", member},
                                          {"sender", sender},
                                          {"uid", caller.uid ? std::to_string(*caller.uid) : "?"},
                                          {"group", admin_.group()}});
      ops_.refused({member, caller.uid, sender, "dbus",
                    "not root and not a member of group " + admin_.group()});
      raise(accessDenied(std::string(member) + " needs root or membership of group " +
                         admin_.group()));
    }
    log_.info("dbus.call", {{"member", member}, {"sender", sender}, {"uid", *caller.uid}});
    return caller;
  }

  std::string Status() override {
    return serve("Status", [&](const Caller&) { return unwrap(ops_.status()); });
  }
  std::string Devices() override {
    return serve("Devices", [&](const Caller&) { return unwrap(ops_.devices()); });
  }
  std::string Needs() override {
    return serve("Needs", [&](const Caller&) { return unwrap(ops_.needs()); });
  }
  std::string Log(const int64_t& since_unix_ms, const std::string& device, const std::string& kind,
                  const uint32_t& limit) override {
    return serve("Log", [&](const Caller&) {
      if (since_unix_ms < 0) raise(invalidArgument("since_unix_ms is negative"));
      checkToken("device", device, true);
      checkToken("kind", kind, true);
      LogQuery query;
      if (since_unix_ms > 0) query.since = core::fromUnixMillis(since_unix_ms);
      query.device = device;
      query.kind = kind;
      query.limit = limit;
      return unwrap(ops_.log(query));
    });
  }
  std::tuple<std::string, int64_t> LogPage(const int64_t& since_unix_ms, const std::string& device,
                                           const std::string& kind, const int64_t& after_seq,
                                           const uint32_t& limit) override {
    return serve("LogPage", [&](const Caller&) {
      if (since_unix_ms < 0) raise(invalidArgument("since_unix_ms is negative"));
      if (after_seq < 0) raise(invalidArgument("after_seq is negative"));
      checkToken("device", device, true);
      checkToken("kind", kind, true);
      LogQuery query;
      if (since_unix_ms > 0) query.since = core::fromUnixMillis(since_unix_ms);
      query.device = device;
      query.kind = kind;
      query.limit = limit;
      query.after_seq = after_seq;
      auto page = unwrap(ops_.logPage(query));
      return std::tuple<std::string, int64_t>{std::move(page.text), page.next_cursor};
    });
  }
  std::string Explain(const std::string& decision_id) override {
    return serve("Explain", [&](const Caller&) {
      checkToken("decision id", decision_id, false);
      return unwrap(ops_.explain(decision_id));
    });
  }
  std::tuple<bool, std::string> Verify() override {
    return serve("Verify", [&](const Caller&) {
      auto report = unwrap(ops_.verify());
      return std::tuple<bool, std::string>{report.ok, std::move(report.report_json)};
    });
  }
  std::string Export(const std::string& format) override {
    return serve("Export", [&](const Caller&) {
      const auto parsed = parseExportFormat(format);
      if (!parsed)
        raise(invalidArgument("unknown export format \"" + format.substr(0, 32) +
                              "\"; expected jsonl or csv"));
      return unwrap(ops_.exportLog(*parsed));
    });
  }
  std::tuple<std::string, int64_t> ExportChunk(const std::string& format, const int64_t& after_seq,
                                               const uint32_t& max_rows) override {
    return serve("ExportChunk", [&](const Caller&) {
      const auto parsed = parseExportFormat(format);
      if (!parsed)
        raise(invalidArgument("unknown export format \"" + format.substr(0, 32) +
                              "\"; expected jsonl or csv"));
      if (after_seq < 0) raise(invalidArgument("after_seq is negative"));
      auto page = unwrap(ops_.exportChunk(*parsed, after_seq, max_rows));
      return std::tuple<std::string, int64_t>{std::move(page.text), page.next_cursor};
    });
  }
  std::string Approvals() override {
    return serve("Approvals", [&](const Caller&) { return unwrap(ops_.approvals()); });
  }
  std::string Approve(const std::string& approval_id) override {
    return serve("Approve", [&](const Caller& caller) {
      checkToken("approval id", approval_id, false);
      return unwrap(ops_.approve(approval_id, caller));
    });
  }
  std::string Reject(const std::string& approval_id) override {
    return serve("Reject", [&](const Caller& caller) {
      checkToken("approval id", approval_id, false);
      return unwrap(ops_.reject(approval_id, caller));
    });
  }
  std::string Cancel(const std::string& order_id) override {
    return serve("Cancel", [&](const Caller& caller) {
      checkToken("order id", order_id, false);
      return unwrap(ops_.cancel(order_id, caller));
    });
  }
  std::string Pause(const std::string& device) override {
    return serve("Pause", [&](const Caller& caller) {
      checkToken("device", device, true);
      return unwrap(ops_.pause(device, caller));
    });
  }
  std::string Resume(const std::string& device) override {
    return serve("Resume", [&](const Caller& caller) {
      checkToken("device", device, true);
      return unwrap(ops_.resume(device, caller));
    });
  }
  std::string Reload() override {
    return serve("Reload", [&](const Caller& caller) { return unwrap(ops_.reload(caller)); });
  }
  std::tuple<bool, std::string> PolicyCheck() override {
    return serve("PolicyCheck", [&](const Caller&) {
      auto report = unwrap(ops_.policyCheck());
      return std::tuple<bool, std::string>{report.ok, std::move(report.report_json)};
    });
  }
  std::string Simulate(const std::string& scenario_json) override {
    return serve("Simulate", [&](const Caller&) {
      if (scenario_json.size() > kMaxScenarioBytes)
        raise(invalidArgument("scenario is larger than " + std::to_string(kMaxScenarioBytes) +
                              " bytes"));
      return unwrap(ops_.simulate(scenario_json));
    });
  }

  // Properties are readable by anyone on the bus; the snapshots cannot fail by contract, but a
  // throw must still not escape into sd-bus.
  template <class F>
  auto property(const char* name, F&& body) -> decltype(body()) {
    try {
      return body();
    } catch (const std::exception& e) {
      log_.error("dbus.property_failed", {{"property", name}, {"error", e.what()}});
      raise(failed(std::string("reading ") + name + " failed inside the hub"));
    }
  }
  std::string Mode() override {
    return property("Mode", [&] { return std::string(modeName(ops_.mode())); });
  }
  std::vector<sdbus::Struct<std::string, int64_t, int64_t, std::string>> BudgetUse() override {
    return property("BudgetUse", [&] {
      std::vector<sdbus::Struct<std::string, int64_t, int64_t, std::string>> out;
      for (const auto& use : ops_.budgetUse())
        out.emplace_back(use.category, use.spent.minor, use.limit.minor,
                         std::string(use.limit.currency.view()));
      return out;
    });
  }
  uint32_t PendingApprovals() override {
    return property("PendingApprovals",
                    [&] { return static_cast<uint32_t>(ops_.pendingApprovals().size()); });
  }

  Operations& ops_;
  core::Logger& log_;
  const AdminCheck& admin_;
};

core::Result<std::unique_ptr<sdbus::IConnection>> openConnection(std::string_view address) {
  try {
    if (address.empty() || address == "system") return sdbus::createSystemBusConnection();
    return sdbus::createSessionBusConnectionWithAddress(std::string(address));
  } catch (const sdbus::Error& e) {
    return core::fail("cannot connect to D-Bus " +
                      (address.empty() ? std::string("system") : std::string(address)) +
                      " bus: " + e.getMessage());
  }
}

DbusService::DbusService(boost::asio::any_io_executor executor,
                         std::unique_ptr<sdbus::IConnection> connection, Operations& operations,
                         core::Logger& log, DbusServiceOptions options)
    : options_(std::move(options)),
      log_(log),
      connection_(std::move(connection)),
      admin_(options_.admin_group),
      adaptor_(std::make_unique<Adaptor>(*connection_, operations, log_, admin_)),
      pump_(executor, *connection_, log_, [this] {
        owns_name_ = false;
        if (on_lost_) on_lost_();
      }) {}

DbusService::~DbusService() {
  pump_.stop();
  adaptor_.reset();
  if (owns_name_) {
    try {
      connection_->releaseName(options_.bus_name);
    } catch (const sdbus::Error&) {
      // Going away anyway; the bus daemon drops the name with the connection.
    }
  }
}

core::Result<void> DbusService::start() {
  if (owns_name_) return {};
  try {
    connection_->requestName(options_.bus_name);
    // requestName also succeeds when the request was merely queued behind another owner.
    auto daemon = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::string owner;
    daemon->callMethod("GetNameOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(options_.bus_name)
        .storeResultsTo(owner);
    if (owner != connection_->getUniqueName()) {
      connection_->releaseName(options_.bus_name);
      return core::fail(options_.bus_name + " is already owned by " + owner +
                        " (is another stewardd running?)");
    }
  } catch (const sdbus::Error& e) {
    if (e.getName() == "org.freedesktop.DBus.Error.FileExists")
      return core::fail(options_.bus_name + " is already owned by another connection" +
                        " (is another stewardd running?)");
    return core::fail("cannot own " + options_.bus_name + " on D-Bus: " + e.getName() + ": " +
                      e.getMessage());
  }
  owns_name_ = true;
  pump_.start();
  log_.info("dbus.name_owned",
            {{"name", options_.bus_name}, {"unique_name", connection_->getUniqueName()}});
  return {};
}

void DbusService::emitPropertiesChanged(const char* property) {
  if (!owns_name_) return;
  try {
    adaptor_->emitChanged(property);
    pump_.kick();
  } catch (const sdbus::Error& e) {
    log_.warning("dbus.emit_failed", {{"property", property}, {"error", e.getMessage()}});
  }
}

void DbusService::decisionRecorded(const DecisionNotice& decision) {
  if (!owns_name_) return;
  try {
    adaptor_->emitDecisionRecorded(decision.seq, decision.id, decision.kind, decision.subject,
                                   decision.outcome);
    pump_.kick();
  } catch (const sdbus::Error& e) {
    log_.warning("dbus.emit_failed", {{"signal", "DecisionRecorded"}, {"error", e.getMessage()}});
  }
}

void DbusService::approvalRequested(const ApprovalRequest& request) {
  if (!owns_name_) return;
  try {
    adaptor_->emitApprovalRequested(request.id, request.summary_json);
    pump_.kick();
  } catch (const sdbus::Error& e) {
    log_.warning("dbus.emit_failed", {{"signal", "ApprovalRequested"}, {"error", e.getMessage()}});
  }
  emitPropertiesChanged("PendingApprovals");
}

void DbusService::approvalsChanged() {
  emitPropertiesChanged("PendingApprovals");
}

void DbusService::budgetChanged(const BudgetUse& use) {
  if (!owns_name_) return;
  try {
    adaptor_->emitBudgetChanged(use.category, use.spent.minor, use.limit.minor,
                                std::string(use.limit.currency.view()));
    pump_.kick();
  } catch (const sdbus::Error& e) {
    log_.warning("dbus.emit_failed", {{"signal", "BudgetChanged"}, {"error", e.getMessage()}});
  }
  emitPropertiesChanged("BudgetUse");
}

void DbusService::modeChanged() {
  emitPropertiesChanged("Mode");
}

}  // namespace steward::bus
