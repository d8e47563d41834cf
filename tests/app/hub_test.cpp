// The Hub and the owner's API in-process: a real broker and a private D-Bus bus, a manual clock
// handed in, and the test driving the Hub's one io_context. A device's low toner becomes a need, a
// basket, a purchase that holds money and waits for the owner, and the owner's answer moves it on.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include "app/hub.hpp"
#include "app/owner_api.hpp"
#include "bus/connection.hpp"
#include "support/broker.hpp"
#include "support/dbus_daemon.hpp"
#include "support/temp_dir.hpp"

namespace steward::app {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

test::DbusDaemonOptions shippedBusPolicy() {
  test::DbusDaemonOptions o;
  o.policy_file = STEWARD_SOURCE_DIR "/systemd/org.stewardhub.Steward1.conf";
  return o;
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The family house with its holiday drop-in: consumables wait for the owner's approval.
    for (const char* f :
         {"policy.toml", "policy.d/10-holidays.toml", "policy.d/20-garage-printer.toml"})
      dir_.write(
          std::string("etc/") + f,
          test::readFile(std::string(STEWARD_SOURCE_DIR "/policy/examples/family-house/") + f));
    config_.state_directory = dir_.file("state");
    config_.policy_directory = dir_.file("etc");
    config_.bus_address = bus_.address();
    config_.broker.port = broker_.port();
    config_.broker.reconnect_min = 50ms;
    config_.broker.reconnect_max = 200ms;
    config_.devices.discovery.avahi = false;
    config_.needs.tick_interval = 1s;
    auto connection = bus::openConnection(bus_.address());
    ASSERT_TRUE(connection) << connection.error().message;
    hub_ = std::make_unique<Hub>(config_, "", log_, clock_, std::move(*connection));
    ASSERT_TRUE(hub_->start());
  }

  void TearDown() override {
    if (!hub_) return;
    hub_->stop();
    hub_->io().run_for(3s);
  }

  // Runs the loop until `done` or `limit` passes.
  bool pump(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      hub_->io().run_for(50ms);
    }
    return true;
  }

  void publish(const std::string& topic, const std::string& payload) {
    const std::string cmd = "mosquitto_pub -p " + std::to_string(broker_.port()) + " -q 1 -r -t '" +
                            topic + "' -m '" + payload + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  json::value call(const bus::OpResult<std::string>& r) {
    EXPECT_TRUE(r) << r.error().message;
    return r ? json::parse(*r) : json::value{};
  }

  test::TempDir dir_;
  test::DbusDaemon bus_{shippedBusPolicy()};
  test::Broker broker_;
  core::Logger log_{core::LogLevel::error};
  core::ManualClock clock_{core::fromUnixMillis(1'796'000'000'000)};  // 2026-12-01
  DaemonConfig config_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubTest, ALowTonerBecomesAPurchaseThatWaitsForTheOwnerAndGoesOnWhenApproved) {
  ASSERT_TRUE(pump([&] { return hub_->ready(); })) << "ready without any device";
  // Its own signing key for vendors was made on first start, private to the hub.
  struct stat key {};
  ASSERT_EQ(::stat(dir_.file("state/signing-key.jwk").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600);
  publish("steward/device/printer-office/hello",
          R"({"protocol":1,"id":"printer-office","kind":"printer","name":"Office printer"})");
  publish("steward/device/printer-office/availability", "online");
  publish("steward/device/printer-office/need/toner-black",
          R"({"id":"printer-office","kind":"consumable","level":5,"unit":"%","low_threshold":15})");

  OwnerApi& api = hub_->ownerApi();
  ASSERT_TRUE(pump([&] { return call(api.needs()).as_array().size() == 1; }));
  // The need settles for the policy's 15 minutes (on the injected clock), then the basket forms
  // at the next tick and the purchase asks the owner.
  clock_.advance(20min);
  ASSERT_TRUE(pump([&] { return api.pendingApprovals().size() == 1; }));
  const auto pending = api.pendingApprovals().front();
  EXPECT_NE(pending.summary.find("P1 at"), std::string::npos) << pending.summary;
  std::int64_t held = 0;
  for (const auto& use : api.budgetUse())
    held += use.spent.minor;
  EXPECT_GT(held, 0) << "the purchase holds its estimate in the budget";

  // Typed errors reach the caller as codes.
  const bus::Caller owner{1000, "dbus"};
  auto unknown = api.approve("A999", owner);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::ErrorCode::notFound);
  auto garbage = api.approve("A 1; rm", owner);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, core::ErrorCode::invalidInput);
  auto no_order = api.cancel("P999", owner);
  ASSERT_FALSE(no_order);
  EXPECT_EQ(no_order.error().code, core::ErrorCode::notFound);

  const auto approved = call(api.approve(pending.id, owner));
  EXPECT_EQ(approved.at("purchase").at("state"), "sourcing");
  EXPECT_TRUE(api.pendingApprovals().empty());
  auto again = api.approve(pending.id, owner);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::conflict);

  // The owner changes their mind before any order: the money is released.
  const auto cancelled = call(api.cancel("P1", owner));
  EXPECT_EQ(cancelled.at("purchase").at("state"), "cancelled");
  held = 0;
  for (const auto& use : api.budgetUse())
    held += use.spent.minor;
  EXPECT_EQ(held, 0);
}

TEST_F(HubTest, RefusedCallersGoOnTheRecordOncePerMinuteWithACount) {
  ASSERT_TRUE(pump([&] { return hub_->ready(); }));
  OwnerApi& api = hub_->ownerApi();
  const bus::Refusal refusal{"Approve", 65534, ":1.42", "dbus", "not an admin"};
  for (int i = 0; i < 50; ++i)
    api.refused(refusal);
  bus::LogQuery q;
  q.kind = "security.refused";
  auto first = call(api.log(q));
  ASSERT_EQ(first.as_array().size(), 1u) << "a flood is one record a minute";
  clock_.advance(61s);
  api.refused(refusal);
  auto second = call(api.log(q));
  ASSERT_EQ(second.as_array().size(), 2u);
  const auto text = json::serialize(second.as_array().back());
  EXPECT_NE(text.find("\"refused_since_last_record\":49"), std::string::npos) << text;
  EXPECT_NE(text.find("\"uid\":65534"), std::string::npos) << text;
}

}  // namespace
}  // namespace steward::app
