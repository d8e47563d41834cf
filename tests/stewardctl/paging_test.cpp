// A long history read over D-Bus from the real stewardd: `stewardctl log` and `stewardctl export`
// page through 200 000 decisions, every one comes out once and in order, the daemon keeps
// answering `stewardctl status` during the export, and its resident memory stays bounded.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "support/dbus_daemon.hpp"
#include "support/notify_socket.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::string kStewardd = STEWARD_BINARY_DIR "/daemon/stewardd";
const std::string kStewardctl = STEWARD_BINARY_DIR "/daemon/stewardctl/stewardctl";
constexpr std::int64_t kDecisions = 200'000;
// Growth of the daemon's VmRSS over its idle size while serving the whole history: the ledger
// connection's SQLite page cache fills up to its 64 MiB (cache_size=-65536) as the pages are
// read, plus 64 MB for the answers themselves. Unpaged, one answer held every decision as JSON.
constexpr long kMaxGrowthKb = (64 + 64) * 1024;
// AddressSanitizer keeps up to 256 MB of freed blocks in quarantine, which would count as
// resident; the daemon runs with a small one so VmRSS measures what it really holds.
const std::string kDaemonAsan = "ASAN_OPTIONS=quarantine_size_mb=1:malloc_context_size=5";

DbusDaemonOptions shippedBusPolicy() {
  DbusDaemonOptions o;
  o.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
  return o;
}

long vmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// The daemon's peak VmRSS, sampled every 10 ms while alive.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid)
      : thread_([this, pid] {
          while (!stop_) {
            const long kb = vmRssKb(pid);
            if (kb > peak_) peak_ = kb;
            std::this_thread::sleep_for(10ms);
          }
        }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  long peak() const { return peak_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> peak_{0};
  std::thread thread_;
};

class StewardctlPagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.file("state"));
    core::ManualClock clock(core::fromUnixMillis(1'780'000'000'000));
    auto ledger = ledger::SqliteLedger::open(dir_.file("state") + "/steward.db", clock);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (std::int64_t first = 1; first <= kDecisions; first += 1000) {
      ledger::RecordBatch batch(**ledger);
      for (std::int64_t i = first; i < first + 1000 && i <= kDecisions; ++i) {
        ledger::Decision d;
        d.kind = "need.opened";
        d.subject = "need:n-" + std::to_string(i);
        d.input = json::object{{"device_id", "softener-" + std::to_string(i % 7)}, {"n", i}};
        d.outcome = "opened";
        d.reasons = {"salt below 20 %"};
        ASSERT_TRUE(batch.record(d));
        clock.advance(1s);
      }
      ASSERT_TRUE(batch.commit());
    }
  }

  std::string writeConfig() {
    dir_.write("etc/policy.toml", readFile(STEWARD_SOURCE_DIR "/policy/policy.toml"));
    return dir_.write(
        "stewardd.toml",
        "[daemon]\nstate_directory = \"" + dir_.file("state") + "\"\npolicy_directory = \"" +
            dir_.file("etc") + "\"\nbus_address = \"" + bus_.address() +
            "\"\n[broker]\nurl = \"mqtt://127.0.0.1:" + std::to_string(freeTcpPort()) +
            "\"\nreconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n"
            "[discovery]\navahi = false\n");
  }

  Process ctl(std::vector<std::string> args, const std::string& out) {
    std::vector<std::string> argv{kStewardctl, "--bus", bus_.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process(argv, out, {"NO_COLOR=1"});
  }

  static int exitCode(Process& p, std::chrono::milliseconds timeout) {
    auto st = p.wait(timeout);
    return st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  }

  TempDir dir_;
  NotifySocket notify_{dir_.file("notify.sock")};
  DbusDaemon bus_{shippedBusPolicy()};
};

TEST_F(StewardctlPagingTest, TheWholeHistoryComesOutOnceInOrderWithBoundedMemory) {
  Process daemon({kStewardd, "--config", writeConfig()}, dir_.file("stewardd.log"),
                 {notify_.env(), kDaemonAsan});
  ASSERT_TRUE(notify_.waitForLine("READY=1", 30s)) << readFile(dir_.file("stewardd.log"));
  std::this_thread::sleep_for(1s);  // let start-up work settle before taking the idle size
  const long idle_kb = vmRssKb(daemon.pid());
  ASSERT_GT(idle_kb, 0);
  RssSampler sampler(daemon.pid());

  // The log, as a script reads it: one JSON array of every decision, oldest first.
  const std::string log_out = dir_.file("log.json");
  std::int64_t logged = 0;
  Process log_run = ctl({"--json", "log"}, log_out);
  ASSERT_EQ(exitCode(log_run, 300s), 0) << readFile(log_out).substr(0, 2000);
  {
    boost::system::error_code ec;
    const json::value log = json::parse(readFile(log_out), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(log.is_array());
    // Ours, and the few the daemon records itself on start.
    ASSERT_GE(log.as_array().size(), static_cast<std::size_t>(kDecisions));
    ASSERT_LT(log.as_array().size(), static_cast<std::size_t>(kDecisions) + 10);
    std::int64_t expected = 1;
    for (const auto& d : log.as_array()) {
      ASSERT_EQ(d.at("seq").as_int64(), expected) << "log out of order or repeated";
      if (expected <= kDecisions) {
        ASSERT_EQ(d.at("subject").as_string(), "need:n-" + std::to_string(expected));
      }
      ++expected;
    }
    logged = expected - 1;
  }

  // The export, with the owner asking for the status meanwhile: the daemon must answer.
  const std::string export_out = dir_.file("export.jsonl");
  Process export_run = ctl({"export", "--format", "jsonl"}, export_out);
  int status_answers = 0;
  while (export_run.running()) {
    Process status =
        ctl({"status"}, dir_.file("status-" + std::to_string(status_answers) + ".txt"));
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(exitCode(status, 10s), 0)
        << readFile(dir_.file("status-" + std::to_string(status_answers) + ".txt"));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, 5s) << "status took "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms during the export";
    if (export_run.running()) ++status_answers;  // answered while the export was still running
  }
  ASSERT_EQ(exitCode(export_run, 0ms), 0) << readFile(export_out).substr(0, 2000);
  EXPECT_GE(status_answers, 1) << "the export ended before any status could be asked";
  {
    std::ifstream in(export_out);
    std::string line;
    std::int64_t expected = 1;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      const json::value d = json::parse(line, ec);
      ASSERT_FALSE(ec) << "line " << expected << ": " << line.substr(0, 200);
      ASSERT_EQ(d.at("seq").as_int64(), expected) << "export out of order or repeated";
      ++expected;
    }
    EXPECT_EQ(expected - 1, logged) << "the export and the log disagree";
  }

  const long peak_kb = sampler.peak();
  std::cout << "stewardd VmRSS: idle " << idle_kb / 1024 << " MB, peak " << peak_kb / 1024
            << " MB while serving " << kDecisions << " decisions (log and export); "
            << status_answers << " status answers during the export\n";
  EXPECT_LT(peak_kb - idle_kb, kMaxGrowthKb)
      << "idle " << idle_kb << " kB, peak " << peak_kb << " kB";
  ASSERT_TRUE(daemon.running()) << readFile(dir_.file("stewardd.log"));
  daemon.stop();
}

}  // namespace
}  // namespace steward::test
