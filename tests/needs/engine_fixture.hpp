// A needs engine over a real SQLite ledger in a temp dir, a manual clock, an in-memory catalog and
// a steerable gate; helpers to send signals and to read the database back.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "needs/engine.hpp"
#include "needs/fakes.hpp"
#include "support/temp_dir.hpp"

namespace steward::needs::test {

using namespace std::chrono_literals;
using discovery::NeedSignal;
using discovery::Severity;
using discovery::SignalKind;

inline core::TimePoint day(int y, unsigned m, unsigned d, int hour = 0) {
  using namespace std::chrono;
  return time_point_cast<milliseconds>(sys_days{year{y} / month{m} / d} + hours{hour});
}

// Fails record() on request, to show that a failed decision leaves everything as it was.
class FlakyLedger final : public ledger::Ledger {
 public:
  explicit FlakyLedger(ledger::Ledger& inner) : inner_(inner) {}
  Result<ledger::RecordedDecision> record(const ledger::Decision& d) override {
    if (!fail_kind.empty() && d.kind == fail_kind) return core::fail("injected failure");
    return inner_.record(d);
  }
  ledger::Database& database() override { return inner_.database(); }
  std::string fail_kind;

 private:
  ledger::Ledger& inner_;
};

class NeedsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    CatalogItem toner;
    toner.item_id = "toner:TN-2420";
    toner.category = "toner";
    toner.description = "TN-2420 black toner";
    toner.retailers = {"paper-shop", "office-direct"};
    toner.lead_time = 72h;
    toner.safety = std::chrono::days{14};
    toner.estimated_price = eur(4590);
    toner.policy_revision = "rev-1";
    catalog.add("*", SignalKind::consumable, "toner-black", toner);

    CatalogItem ink = toner;
    ink.item_id = "ink:LC-cyan";
    ink.category = "ink";
    ink.description = "LC cyan ink";
    ink.retailers = {"paper-shop"};
    ink.estimated_price = eur(1200);
    catalog.add("*", SignalKind::consumable, "ink-cyan", ink);

    CatalogItem other_toner = toner;
    other_toner.item_id = "toner:TN-3480";
    other_toner.description = "TN-3480 black toner";
    catalog.add("*", SignalKind::consumable, "toner-hl", other_toner);

    CatalogItem battery;
    battery.item_id = "battery:CR2032";
    battery.category = "battery";
    battery.description = "CR2032 coin cell";
    battery.retailers = {"hardware-store"};
    battery.lead_time = 48h;
    battery.safety = std::chrono::days{7};
    battery.estimated_price = eur(350);
    catalog.add("*", SignalKind::battery, "battery", battery);

    CatalogItem repair;
    repair.item_id = "repair:washer-1";
    repair.category = "repair";
    repair.description = "washing machine repair";
    repair.retailers = {"washer-service"};
    repair.lead_time = 48h;
    repair.visit_windows = {"Sat 09:00-12:00", "Mon 17:00-19:00"};
    catalog.add("washer-1", SignalKind::fault, "E24", repair);
    catalog.add("washer-1", SignalKind::fault, "E31", repair);

    CatalogItem meter;
    meter.item_id = "meter-report:electricity";
    meter.category = "meter-report";
    meter.description = "electricity meter reading";
    meter.retailers = {"grid-energy"};
    meter.report_schedule = ReportSchedule{1, 1};
    catalog.add("*", SignalKind::meter, "electricity", meter);

    CatalogItem outage;
    outage.item_id = "outage:power";
    outage.category = "outage";
    outage.description = "power outage";
    outage.retailers = {"grid-energy"};
    outage.lead_time = 4h;
    catalog.add("*", SignalKind::outage, "power", outage);

    auto l = ledger::SqliteLedger::open(dir.file("steward.db"), clock);
    ASSERT_TRUE(l) << l.error().message;
    sqlite = std::move(*l);
    flaky = std::make_unique<FlakyLedger>(*sqlite);
    openEngine();
  }

  void openEngine() {
    auto e = NeedsEngine::open(*flaky, catalog, gate, clock, log, config);
    ASSERT_TRUE(e) << e.error().message;
    engine = std::move(*e);
    engine->onBasketReady([this](const Basket& b) { ready.push_back(b); });
    engine->onNeedClosed([this](const Need& n) { closed.push_back(n); });
  }

  // Closes everything and opens it again from the database file, as after a restart.
  void restart() {
    engine.reset();
    flaky.reset();
    sqlite.reset();
    auto l = ledger::SqliteLedger::open(dir.file("steward.db"), clock);
    ASSERT_TRUE(l) << l.error().message;
    sqlite = std::move(*l);
    flaky = std::make_unique<FlakyLedger>(*sqlite);
    openEngine();
  }

  NeedSignal level(const std::string& device, const std::string& key, double value,
                   SignalKind kind = SignalKind::consumable) {
    NeedSignal s;
    s.device_id = device;
    s.kind = kind;
    s.key = key;
    s.level = value;
    s.unit = "%";
    s.observed_at = clock.now();
    return s;
  }

  NeedSignal flag(const std::string& device, const std::string& key, SignalKind kind,
                  Severity severity = Severity::warning, std::string description = {}) {
    NeedSignal s;
    s.device_id = device;
    s.kind = kind;
    s.key = key;
    s.low = kind == SignalKind::consumable || kind == SignalKind::battery;
    s.severity = severity;
    s.description = std::move(description);
    s.observed_at = clock.now();
    return s;
  }

  SignalOutcome send(const NeedSignal& s) {
    auto r = engine->onSignal(s);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : SignalOutcome{};
  }

  // Readings every `every` from `from`% falling `per_day` %/day for `span`, ending at the clock's
  // time plus span; returns the last level sent.
  double feed(const std::string& device, const std::string& key, double from, double per_day,
              core::Duration span, core::Duration every = 6h) {
    double value = from;
    for (core::Duration t{0}; t <= span; t += every) {
      value = std::max(0.0, from - per_day * static_cast<double>(t.count()) / 86'400'000.0);
      send(level(device, key, value));
      if (t + every <= span) clock.advance(every);
    }
    return value;
  }

  std::int64_t count(const std::string& sql) {
    auto s = sqlite->database().prepare(sql);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) return -1;
    auto row = s->step();
    EXPECT_TRUE(row && *row);
    return s->int64(0);
  }
  std::int64_t decisions(const std::string& kind, const std::string& outcome = {}) {
    std::string sql = "SELECT COUNT(*) FROM decisions WHERE kind = '" + kind + "'";
    if (!outcome.empty()) sql += " AND outcome = '" + outcome + "'";
    return count(sql);
  }

  // Every row of the needs tables and the decision count, to show that a refusal changed nothing.
  std::string snapshot() {
    std::string out;
    for (const char* table : {"needs", "need_sources", "need_baskets", "need_series",
                              "need_observations", "need_meters", "need_quiet"}) {
      const std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY 1, 2";
      char* err = nullptr;
      sqlite3_exec(
          sqlite->database().handle(), sql.c_str(),
          [](void* p, int n, char** values, char**) {
            auto* s = static_cast<std::string*>(p);
            for (int i = 0; i < n; ++i)
              *s += (values[i] ? values[i] : "NULL") + std::string("|");
            *s += "\n";
            return 0;
          },
          &out, &err);
      if (err) {
        ADD_FAILURE() << err;
        sqlite3_free(err);
      }
    }
    out += "decisions=" + std::to_string(count("SELECT COUNT(*) FROM decisions"));
    return out;
  }

  std::optional<Need> liveFor(const std::string& item) {
    for (const auto& n : engine->liveNeeds())
      if (n.item_id == item) return n;
    return std::nullopt;
  }

  steward::test::TempDir dir;
  core::ManualClock clock{day(2025, 1, 6)};
  core::Logger log{core::LogLevel::error};
  MemoryCatalog catalog;
  FakeGate gate;
  NeedsConfig config;
  std::unique_ptr<ledger::SqliteLedger> sqlite;
  std::unique_ptr<FlakyLedger> flaky;
  std::unique_ptr<NeedsEngine> engine;
  std::vector<Basket> ready;
  std::vector<Need> closed;
};

}  // namespace steward::needs::test
