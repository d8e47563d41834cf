// See controls.hpp.
#include "ledger/controls.hpp"

#include "ledger/kinds.hpp"
#include "ledger/text.hpp"

namespace steward::ledger {
namespace {

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE purchasing_pauses (
  device       TEXT PRIMARY KEY,
  uid          INTEGER NOT NULL,
  since_ms     INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  decision_seq INTEGER NOT NULL
);
)sql",
};

constexpr std::size_t kMaxDeviceIdBytes = 128;
constexpr std::size_t kMaxReasonBytes = 512;

Result<void> validDevice(std::string_view device) {
  if (device.size() > kMaxDeviceIdBytes) {
    return core::fail("device id is longer than " + std::to_string(kMaxDeviceIdBytes) + " bytes");
  }
  for (unsigned char c : device) {
    if (c < 0x21 || c == 0x7f) return core::fail("device id has spaces or control characters");
  }
  return {};
}

std::string scopeName(std::string_view device) {
  return device.empty() ? std::string("all purchasing") : "device " + std::string(device);
}

Pause readRow(const Statement& q) {
  Pause p;
  p.device = q.text(0);
  p.uid = static_cast<std::uint32_t>(q.int64(1));
  p.since = core::fromUnixMillis(q.int64(2));
  p.reason = q.text(3);
  p.decision_seq = q.int64(4);
  return p;
}

Result<std::optional<Pause>> findPause(Database& db, std::string_view device) {
  auto q = db.prepare(
      "SELECT device, uid, since_ms, reason, decision_seq FROM purchasing_pauses WHERE device = "
      "?1");
  if (!q) return q.error();
  q->bind(1, device);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Pause>();
  return std::optional<Pause>(readRow(*q));
}

}  // namespace

boost::json::object toJson(const Pause& p) {
  return boost::json::object{
      {"device", p.device.empty() ? boost::json::value(nullptr) : boost::json::value(p.device)},
      {"uid", p.uid},
      {"since", formatUtc(p.since)},
      {"reason", p.reason},
      {"decision_seq", p.decision_seq}};
}

Result<Controls> Controls::open(Ledger& ledger, const core::Clock& clock) {
  if (auto r = ledger.database().migrate("controls", kSchema); !r) return r.error();
  return Controls(ledger, clock);
}

Result<Pause> Controls::pause(std::string_view device, std::uint32_t uid, std::string_view reason,
                              std::string_view channel) {
  if (auto v = validDevice(device); !v) return v.error();
  if (reason.size() > kMaxReasonBytes) {
    return core::fail("reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }
  Database& db = ledger_->database();
  Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto existing = findPause(db, device);
  if (!existing) return existing.error();
  if (*existing) {
    return core::fail(scopeName(device) + " is already paused (since " +
                      formatUtc((*existing)->since) + ", by uid " +
                      std::to_string((*existing)->uid) + ")");
  }
  Pause p;
  p.device = std::string(device);
  p.uid = uid;
  p.since = clock_->now();
  p.reason = std::string(reason);

  Decision decision;
  decision.kind = kind::purchasingPaused;
  decision.subject = device.empty() ? std::string() : "device:" + std::string(device);
  decision.input = boost::json::object{
      {"device", device.empty() ? boost::json::value(nullptr) : boost::json::value(device)},
      {"uid", uid},
      {"channel", channel.empty() ? "dbus" : channel},
      {"reason", reason}};
  decision.outcome = "paused";
  decision.reasons.push_back("paused by uid " + std::to_string(uid) + " via " +
                             std::string(channel.empty() ? "dbus" : channel));
  if (!reason.empty()) decision.reasons.emplace_back(reason);
  auto recorded = ledger_->record(decision);
  if (!recorded) return recorded.error();
  p.decision_seq = recorded->seq;

  auto insert = db.prepare(
      "INSERT INTO purchasing_pauses(device, uid, since_ms, reason, decision_seq) "
      "VALUES(?1,?2,?3,?4,?5)");
  if (!insert) return insert.error();
  insert->bind(1, p.device)
      .bind(2, static_cast<std::int64_t>(uid))
      .bind(3, core::toUnixMillis(p.since))
      .bind(4, p.reason)
      .bind(5, p.decision_seq);
  if (auto r = insert->run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return p;
}

Result<RecordedDecision> Controls::resume(std::string_view device, std::uint32_t uid,
                                          std::string_view channel) {
  if (auto v = validDevice(device); !v) return v.error();
  Database& db = ledger_->database();
  Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto existing = findPause(db, device);
  if (!existing) return existing.error();
  if (!*existing) return core::fail(scopeName(device) + " is not paused");

  Decision decision;
  decision.kind = kind::purchasingResumed;
  decision.subject = device.empty() ? std::string() : "device:" + std::string(device);
  decision.input = boost::json::object{
      {"device", device.empty() ? boost::json::value(nullptr) : boost::json::value(device)},
      {"uid", uid},
      {"channel", channel.empty() ? "dbus" : channel},
      {"paused_since", formatUtc((*existing)->since)}};
  decision.outcome = "resumed";
  decision.reasons.push_back("resumed by uid " + std::to_string(uid) + " via " +
                             std::string(channel.empty() ? "dbus" : channel));
  decision.causes = {(*existing)->decision_seq};
  auto recorded = ledger_->record(decision);
  if (!recorded) return recorded.error();

  auto del = db.prepare("DELETE FROM purchasing_pauses WHERE device = ?1");
  if (!del) return del.error();
  del->bind(1, device);
  if (auto r = del->run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return recorded;
}

Result<std::optional<Pause>> Controls::pausedFor(std::string_view device) {
  Database& db = ledger_->database();
  auto global = findPause(db, "");
  if (!global) return global.error();
  if (*global || device.empty()) return global;
  return findPause(db, device);
}

Result<bool> Controls::globallyPaused() {
  auto global = findPause(ledger_->database(), "");
  if (!global) return global.error();
  return global->has_value();
}

Result<std::vector<Pause>> listPauses(Database& db) {
  std::vector<Pause> out;
  auto has = db.hasTable("purchasing_pauses");
  if (!has) return has.error();
  if (!*has) return out;
  auto q = db.prepare(
      "SELECT device, uid, since_ms, reason, decision_seq FROM purchasing_pauses ORDER BY device");
  if (!q) return q.error();
  if (auto done = q->forEach([&](auto&) { out.push_back(readRow(*q)); }); !done)
    return done.error();
  return out;
}

}  // namespace steward::ledger
