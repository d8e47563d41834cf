// Ledger benchmark: hash-chained, durable decision appends against raw SQLite inserts of the very
// same rows into the same schema with the same pragmas (WAL, synchronous=FULL), measured in one
// run and interleaved chunk by chunk so disk and cache noise hit both alike; then verify() over
// the whole ledger against a plain full read of the table. Prints rates and ratios.
//
//   ledger_bench [--decisions N] [--batch B] [--single S] [--dir DIR]
//   defaults: N = 1000000 (batched appends, then verified), B = 1000, S = 500 (single commits)
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "ledger/verify.hpp"

namespace steward::ledger::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::int64_t decisions = 1'000'000;
  std::int64_t batch = 1000;
  std::int64_t single = 500;
  std::string dir;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "ledger_bench: %s\nusage: ledger_bench [--decisions N] [--batch B] [--single S] "
               "[--dir DIR]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    auto number = [&] {
      char* end = nullptr;
      const long long n = std::strtoll(value, &end, 10);
      if (!end || *end || n < 1) usage("expected a positive number");
      return static_cast<std::int64_t>(n);
    };
    if (arg == "--decisions") {
      o.decisions = number();
    } else if (arg == "--batch") {
      o.batch = number();
    } else if (arg == "--single") {
      o.single = number();
    } else if (arg == "--dir") {
      o.dir = value;
    } else {
      usage("unknown option");
    }
  }
  return o;
}

template <class T>
T orDie(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "ledger_bench: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
  return std::move(*r);
}
void orDie(Result<void> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "ledger_bench: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
}

// A plausible stream: purchases of eight decisions each (need opened, policy, request for
// quotes, offers, verdicts, order), ~250 bytes of input, reasons, causes, a policy revision.
// Decisions about one subject arrive together, as they do in the hub.
Decision decisionNumber(std::int64_t i) {
  static constexpr std::string_view kFlow[] = {
      "need.opened",    "policy.evaluated", "rfq.sent",     "offer.received",
      "offer.received", "offer.rejected",   "offer.chosen", "order.confirmed"};
  Decision d;
  d.kind = std::string(kFlow[i % 8]);
  d.subject = (i % 8 == 7 ? "order:o" : "need:n") + std::to_string(i / 8);
  d.input = boost::json::object{{"device_id", "printer-" + std::to_string(i / 64 % 31)},
                                {"key", "toner-black"},
                                {"level", static_cast<std::int64_t>(i % 100)},
                                {"unit", "%"},
                                {"vendor", "acme-supplies"},
                                {"total", "24.90 EUR"},
                                {"note", "replacement cartridge, compatible TN-2420, 3000 pages"}};
  d.outcome = i % 8 == 1 ? "allow" : "recorded";
  d.reasons = {"permit:consumables", "budget consumables 31.20/60.00 EUR"};
  if (i % 8 == 1) d.policy_revision = std::string(64, 'a');
  if (i > 1) d.causes = {i - 1};
  return d;
}

struct RawRow {
  std::int64_t seq, at_ms;
  std::string id, kind, subject, input, outcome, reasons, policy_revision, causes, prev_hash, hash;
};

// Reads rows [from, to] back from the ledger, untimed, so the raw side inserts exactly them.
std::vector<RawRow> readBack(Database& db, std::int64_t from, std::int64_t to) {
  auto q = orDie(db.prepare("SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, "
                            "policy_revision, causes, prev_hash, hash FROM decisions "
                            "WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq"),
                 "prepare read-back");
  q.bind(1, from).bind(2, to);
  std::vector<RawRow> rows;
  while (orDie(q.step(), "read back")) {
    rows.push_back(RawRow{q.int64(0), q.int64(2), q.text(1), q.text(3), q.text(4), q.text(5),
                          q.text(6), q.text(7), q.text(8), q.text(9), q.text(10), q.text(11)});
  }
  return rows;
}

class RawTable {
 public:
  explicit RawTable(Database& db) {
    insert_ = orDie(db.prepare("INSERT INTO decisions(seq, id, at_ms, kind, subject, input, "
                               "outcome, reasons, policy_revision, causes, prev_hash, hash) "
                               "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
                    "prepare raw insert");
  }
  void insert(const RawRow& r) {
    insert_.bind(1, r.seq)
        .bind(2, r.id)
        .bind(3, r.at_ms)
        .bind(4, r.kind)
        .bind(5, r.subject)
        .bind(6, r.input)
        .bind(7, r.outcome)
        .bind(8, r.reasons)
        .bind(9, r.policy_revision)
        .bind(10, r.causes)
        .bind(11, r.prev_hash)
        .bind(12, r.hash);
    orDie(insert_.run(), "raw insert");
  }

 private:
  Statement insert_;
};

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A plain full read: every row, every column touched.
double plainRead(Database& db) {
  const auto start = Clock::now();
  auto q = orDie(db.prepare("SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, "
                            "policy_revision, causes, prev_hash, hash FROM decisions ORDER BY seq"),
                 "prepare read");
  std::size_t bytes = 0;
  while (orDie(q.step(), "read")) {
    bytes += static_cast<std::size_t>(q.int64(0) + q.int64(2));
    for (int c : {1, 3, 4, 5, 6, 7, 8, 9, 10, 11})
      bytes += q.textView(c).size();
  }
  const double s = seconds(Clock::now() - start);
  if (bytes == 0) std::fprintf(stderr, "(empty table)\n");
  return s;
}

void printRates(const char* label, std::int64_t n, double chained_s, double raw_s) {
  const double chained = static_cast<double>(n) / chained_s;
  const double raw = static_cast<double>(n) / raw_s;
  std::printf("%-28s chained %10.0f/s   raw %10.0f/s   ratio %.2f\n", label, chained, raw,
              chained / raw);
}

int run(const Options& o) {
  std::string dir = o.dir;
  bool remove_dir = false;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ledger-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) usage("cannot create a temp dir");
    dir = tmpl;
    remove_dir = true;
  }
  core::SystemClock clock;
  std::printf(
      "ledger_bench: %lld batched decisions (%lld per commit), %lld single commits, "
      "WAL + synchronous=FULL, in %s\n",
      static_cast<long long>(o.decisions), static_cast<long long>(o.batch),
      static_cast<long long>(o.single), dir.c_str());

  // --- single durable commits -------------------------------------------------------------
  {
    auto ledger = orDie(SqliteLedger::open(dir + "/single-chained.db", clock), "open ledger");
    auto raw_ledger = orDie(SqliteLedger::open(dir + "/single-raw.db", clock), "open raw");
    RawTable raw(raw_ledger->database());
    Clock::duration chained{}, plain{};
    for (std::int64_t i = 1; i <= o.single; ++i) {
      const Decision d = decisionNumber(i);
      auto t0 = Clock::now();
      orDie(ledger->record(d), "record");
      chained += Clock::now() - t0;
      const auto rows = readBack(ledger->database(), i, i);
      t0 = Clock::now();
      raw.insert(rows.at(0));  // autocommit: one transaction, one fsync
      plain += Clock::now() - t0;
    }
    printRates("single durable commits:", o.single, seconds(chained), seconds(plain));
  }

  // --- batched -----------------------------------------------------------------------------
  const std::string path = dir + "/batched-chained.db";
  {
    auto ledger = orDie(SqliteLedger::open(path, clock), "open ledger");
    auto raw_ledger = orDie(SqliteLedger::open(dir + "/batched-raw.db", clock), "open raw");
    Database& raw_db = raw_ledger->database();
    RawTable raw(raw_db);
    Clock::duration chained{}, plain{};
    std::vector<Decision> chunk;
    for (std::int64_t first = 1; first <= o.decisions; first += o.batch) {
      const std::int64_t last = std::min(o.decisions, first + o.batch - 1);
      chunk.clear();
      for (std::int64_t i = first; i <= last; ++i)
        chunk.push_back(decisionNumber(i));

      auto t0 = Clock::now();
      RecordBatch batch(*ledger);
      for (const auto& d : chunk)
        orDie(batch.record(d), "batched record");
      orDie(batch.commit(), "batch commit");
      chained += Clock::now() - t0;

      const auto rows = readBack(ledger->database(), first, last);
      t0 = Clock::now();
      {
        Transaction tx(raw_db);
        for (const auto& r : rows)
          raw.insert(r);
        orDie(tx.commit(), "raw commit");
      }
      plain += Clock::now() - t0;
    }
    char label[64];
    std::snprintf(label, sizeof label, "batched (%lld/commit):", static_cast<long long>(o.batch));
    printRates(label, o.decisions, seconds(chained), seconds(plain));
    const double rate = static_cast<double>(o.decisions) / seconds(chained);
    const double ratio = seconds(plain) / seconds(chained);
    std::printf("  target ratio >= 0.50 and >= 20000/s: %s\n",
                ratio >= 0.5 && rate >= 20000 ? "met" : "MISSED");
  }

  // --- verify vs plain read ----------------------------------------------------------------
  {
    auto db = orDie(Database::open(path, OpenMode::readOnly), "open read-only");
    double best_read = 1e30, best_verify = 1e30;
    // Best of five, alternating, so a moment of contention on a shared machine does not decide.
    for (int round = 0; round < 5; ++round) {
      best_read = std::min(best_read, plainRead(db));
      const auto t0 = Clock::now();
      auto report = orDie(verify(db), "verify");
      best_verify = std::min(best_verify, seconds(Clock::now() - t0));
      if (!report.intact() || report.records != o.decisions) {
        std::fprintf(stderr, "ledger_bench: verify found %zu problem(s) in %lld records\n",
                     report.findings.size(), static_cast<long long>(report.records));
        return 1;
      }
    }
    std::printf("%-28s verify %.3f s   plain read %.3f s   ratio %.2f (target <= 2: %s)\n",
                ("verify " + std::to_string(o.decisions) + ":").c_str(), best_verify, best_read,
                best_verify / best_read, best_verify / best_read <= 2.0 ? "met" : "MISSED");
  }

  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace steward::ledger::bench

int main(int argc, char** argv) {
  return steward::ledger::bench::run(steward::ledger::bench::parse(argc, argv));
}
