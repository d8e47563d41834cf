// Crash consistency of the purchase hand-off, on the real stewardd: the daemon is killed with
// SIGKILL at many points while devices' needs become baskets, purchases and approvals, and
// restarted each time. Afterwards nothing is stuck (every basket in sourcing has its purchase,
// every purchase's needs and approval agree with it), nothing was taken twice, the money held
// matches the live purchases, and the record verifies.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <random>
#include <thread>

#include "support/broker.hpp"
#include "support/dbus_daemon.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::test {
namespace {

using namespace std::chrono_literals;

const std::string kStewardd = STEWARD_BINARY_DIR "/daemon/stewardd";
const std::string kStewardctl = STEWARD_BINARY_DIR "/daemon/stewardctl/stewardctl";

DbusDaemonOptions shippedBusPolicy() {
  DbusDaemonOptions o;
  o.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
  return o;
}

std::int64_t scalar(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    return -1;
  }
  std::int64_t v = -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The family house with its holiday drop-in: consumables wait for the owner's approval.
    for (const char* f :
         {"policy.toml", "policy.d/10-holidays.toml", "policy.d/20-garage-printer.toml"})
      dir_.write(std::string("etc/") + f,
                 readFile(std::string(STEWARD_SOURCE_DIR "/policy/examples/family-house/") + f));
    config_ =
        dir_.write("stewardd.toml", "[daemon]\nstate_directory = \"" + dir_.file("state") +
                                        "\"\npolicy_directory = \"" + dir_.file("etc") +
                                        "\"\nbus_address = \"" + bus_.address() +
                                        "\"\n[broker]\nurl = \"" + broker_.url() +
                                        "\"\nreconnect_min = \"50ms\"\nreconnect_max = \"200ms\"\n"
                                        "[needs]\nsettle = \"1s\"\ntick_interval = \"1s\"\n"
                                        "[discovery]\navahi = false\n");
  }

  Process start() {
    return Process({kStewardd, "--config", config_}, dir_.file("stewardd.log"), {});
  }

  void publish(const std::string& topic, const std::string& payload) {
    const std::string cmd = "mosquitto_pub -p " + std::to_string(broker_.port()) + " -q 1 -r -t '" +
                            topic + "' -m '" + payload + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  // A plugin printer whose toner is low, and a Zigbee sensor's coin cell (other categories, so
  // several baskets are formed at different times).
  void devicesAsk(int n) {
    const std::string id = "printer-" + std::to_string(n);
    publish("steward/device/" + id + "/hello", R"({"protocol":1,"id":")" + id +
                                                   R"(","kind":"printer","name":"Printer )" +
                                                   std::to_string(n) + R"("})");
    publish("steward/device/" + id + "/availability", "online");
    publish(
        "steward/device/" + id + "/need/toner-black",
        R"({"id":")" + id +
            R"(","kind":"consumable","level":5,"unit":"%","low_threshold":15,"description":"Black toner"})");
  }

  TempDir dir_;
  DbusDaemon bus_{shippedBusPolicy()};
  Broker broker_;
  std::string config_;
};

TEST_F(CrashTest, KilledAtRandomPointsOfTheHandOffLeavesNothingStuckAndNothingTwice) {
  std::mt19937 rng(7);
  devicesAsk(1);
  int kills = 0;
  for (int round = 0; round < 14; ++round) {
    if (round == 5) devicesAsk(2);
    Process daemon = start();
    // Anywhere from start-up to well after the basket has formed.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 2600));
    ASSERT_TRUE(daemon.running()) << readFile(dir_.file("stewardd.log"));
    daemon.signal(SIGKILL);
    ASSERT_TRUE(daemon.wait(5s).has_value());
    ++kills;
  }
  // One last, undisturbed run picks up whatever was left half-way.
  {
    Process daemon = start();
    std::this_thread::sleep_for(5s);
    ASSERT_TRUE(daemon.running()) << readFile(dir_.file("stewardd.log"));
    EXPECT_EQ(daemon.stop(), 0);
  }
  EXPECT_EQ(kills, 14);

  sqlite3* db = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(dir_.file("state/steward.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  // Both printers' toner needs went all the way to the owner's approval.
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM purchases WHERE state = 'awaiting-approval'"), 1)
      << "one basket for the toner of both printers, or one purchase per basket";
  EXPECT_GE(scalar(db, "SELECT COUNT(*) FROM needs WHERE state = 'awaiting-approval'"), 1);
  // Nothing stuck: no basket in sourcing without its purchase ...
  EXPECT_EQ(scalar(db,
                   "SELECT COUNT(*) FROM need_baskets b WHERE b.state = 'sourcing' AND NOT "
                   "EXISTS (SELECT 1 FROM purchases p WHERE p.basket_id = b.id)"),
            0);
  // ... no need waiting for approval without a pending approval of its purchase ...
  EXPECT_EQ(scalar(db,
                   "SELECT COUNT(*) FROM needs n WHERE n.state = 'awaiting-approval' AND NOT "
                   "EXISTS (SELECT 1 FROM purchases p JOIN purchase_needs pn ON pn.purchase_id "
                   "= p.id JOIN approvals a ON 'A' || a.n = p.approval_id WHERE pn.need_id = n.id "
                   "AND p.state = 'awaiting-approval' AND a.state = 'pending')"),
            0);
  // ... one live need per item, one approval per purchase.
  EXPECT_EQ(scalar(db,
                   "SELECT COUNT(*) FROM (SELECT item_id FROM needs WHERE state IN ('open', "
                   "'sourcing', 'awaiting-approval', 'ordered') GROUP BY item_id HAVING "
                   "COUNT(*) > 1)"),
            0);
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM approvals WHERE state = 'pending'"),
            scalar(db, "SELECT COUNT(*) FROM purchases WHERE state = 'awaiting-approval'"));
  // The money held is exactly what the live purchases hold.
  EXPECT_EQ(scalar(db,
                   "SELECT COALESCE(SUM(amount_minor), 0) FROM budget_reservations WHERE "
                   "state = 'reserved'"),
            scalar(db,
                   "SELECT COALESCE(SUM(h.amount_minor), 0) FROM purchase_holds h JOIN "
                   "purchases p ON p.id = h.purchase_id WHERE p.state IN "
                   "('awaiting-approval', 'sourcing')"));
  sqlite3_close(db);

  Process verify({kStewardctl, "--db", dir_.file("state/steward.db"), "verify"},
                 dir_.file("verify.log"), {});
  const auto rc = verify.wait(60s);
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << readFile(dir_.file("verify.log"));
}

}  // namespace
}  // namespace steward::test
