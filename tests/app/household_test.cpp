// The needs module's view of the household policy: what the catalog answers for each kind of
// signal, and what the gate decides for items and baskets, over a real policy file, a real
// ledger (for the owner's pause) and the real policy engine.
#include "app/household.hpp"

#include <gtest/gtest.h>

#include "ledger/sqlite_ledger.hpp"
#include "support/temp_dir.hpp"

namespace steward::app {
namespace {

using namespace std::chrono_literals;
using namespace core;

constexpr const char* kPolicy = R"(
[household]
name = "Test"
currency = "EUR"
time_zone = "Europe/Berlin"
region = "DE"

[purchasing]
mode = "auto"
auto_approve_limit = "40.00 EUR"

[budgets.consumables]
monthly = "80.00 EUR"
per_order = "50.00 EUR"
[budgets.batteries]
monthly = "15.00 EUR"
[budgets.energy]
monthly = "0.00 EUR"
[budgets.repairs]
monthly = "200.00 EUR"

[retailers.papershop]
name = "Paper Shop"
endpoint = "https://papershop.example/api"
signing_key = "ed25519:I+wM2WWyR795LZzJ4xmfli3Jx2z31g+/1mujPUlvxeU="
categories = ["consumables", "batteries"]
[retailers.fixit]
name = "FixIt"
endpoint = "https://fixit.example/api"
signing_key = "ed25519:MK7dOjbTU7CRm/lTvIuIHCkMinfN06o/kJNY9+qyM1Y="
categories = ["repairs"]
[retailers.grid]
name = "Grid"
endpoint = "https://grid.example/api"
signing_key = "ed25519:r/sWrKY2h9je+8Ggu8StHxR7Iq1GlmJVfuLQLisi/Pg="
categories = ["energy"]

[items.toner-black]
key = "toner-black"
category = "consumables"
products = ["TN-2420"]
max_unit_price = "45.00 EUR"
lead_time = "3d"
order_ahead = "2d"

[items.coin-cell]
key = "battery"
category = "batteries"
products = ["CR2032"]
max_unit_price = "3.00 EUR"
lead_time = "2d"

[service]
providers = ["fixit"]
max_call_out_fee = "79.00 EUR"
visit_windows = ["Mon-Fri 08:00-18:00"]

[meter]
report_day = 5
every_months = 3

[devices.garage-printer]
disabled = true
)";

class HouseholdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("etc/policy.toml", kPolicy);
    keeper_ = std::make_unique<policy::PolicyKeeper>(
        policy::PolicyKeeper::fromPaths({dir_.file("etc")}), log_);
    const auto errors = keeper_->start();
    ASSERT_TRUE(errors.empty()) << errors[0].format();
    auto l = ledger::SqliteLedger::open(dir_.file("steward.db"), clock_);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
    auto c = ledger::Controls::open(*ledger_, clock_);
    ASSERT_TRUE(c.ok());
    controls_ = std::make_unique<ledger::Controls>(std::move(*c));
    registry_ =
        std::make_unique<discovery::Registry>(*ledger_, clock_, discovery::Registry::Options{});
    auto loaded = registry_->load();
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    catalog_ = std::make_unique<PolicyCatalog>(*keeper_, *registry_, *controls_);
    gate_ = std::make_unique<PolicyGate>(*keeper_, book_, *controls_);
  }

  needs::CatalogQuery query(std::string device, discovery::SignalKind kind, std::string key) {
    needs::CatalogQuery q;
    q.device_id = std::move(device);
    q.kind = kind;
    q.key = std::move(key);
    return q;
  }

  needs::ItemCheck item(const std::string& device, discovery::SignalKind kind,
                        const std::string& key, const std::string& retailer) {
    const auto c = catalog_->lookup(query(device, kind, key));
    EXPECT_TRUE(c.has_value()) << key;
    needs::ItemCheck i;
    i.item_id = c->item_id;
    i.category = c->category;
    i.unit_price = c->estimated_price;
    i.estimate = c->estimated_price;
    i.devices = {device};
    i.retailer = retailer;
    i.at = clock_.now();
    i.needed_by = clock_.now() + 72h;
    return i;
  }

  Money eur(std::int64_t minor) { return Money{minor, *currencyFromCode("EUR")}; }

  test::TempDir dir_;
  Logger log_{LogLevel::error};
  // A Tuesday, 10:00 in Berlin: inside the visit windows.
  ManualClock clock_{TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + 9h}};
  std::unique_ptr<policy::PolicyKeeper> keeper_;
  std::unique_ptr<ledger::SqliteLedger> ledger_;
  std::unique_ptr<ledger::Controls> controls_;
  std::unique_ptr<discovery::Registry> registry_;
  policy::BudgetBook book_;
  std::unique_ptr<PolicyCatalog> catalog_;
  std::unique_ptr<PolicyGate> gate_;
};

TEST_F(HouseholdTest, CatalogMapsEachKindOfSignal) {
  auto toner =
      catalog_->lookup(query("printer-1", discovery::SignalKind::consumable, "toner-black"));
  ASSERT_TRUE(toner);
  EXPECT_EQ(toner->item_id, "toner-black");
  EXPECT_EQ(toner->category, "consumables");
  EXPECT_EQ(toner->lead_time, 72h);
  EXPECT_EQ(toner->safety, 48h);
  EXPECT_EQ(toner->retailers, std::vector<std::string>{"papershop"});
  EXPECT_EQ(toner->estimated_price, eur(4500));

  auto fault = catalog_->lookup(query("washer", discovery::SignalKind::fault, "E24"));
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->item_id, "repair:washer");
  EXPECT_EQ(fault->category, "repairs");
  EXPECT_EQ(fault->retailers, std::vector<std::string>{"fixit"});
  EXPECT_EQ(fault->visit_windows, std::vector<std::string>{"Mon-Fri 08:00-18:00"});

  auto meter = catalog_->lookup(query("p1", discovery::SignalKind::meter, "electricity-import"));
  ASSERT_TRUE(meter);
  EXPECT_EQ(meter->retailers, std::vector<std::string>{"grid"});
  ASSERT_TRUE(meter->report_schedule);
  EXPECT_EQ(meter->report_schedule->day_of_month, 5);
  EXPECT_EQ(meter->report_schedule->every_months, 3);

  // Not tracked: no item for the key, a device the owner disabled, a device the owner paused.
  EXPECT_FALSE(catalog_->lookup(query("printer-1", discovery::SignalKind::consumable, "ink")));
  EXPECT_FALSE(
      catalog_->lookup(query("garage-printer", discovery::SignalKind::consumable, "toner-black")));
  ASSERT_TRUE(controls_->pause("printer-1", 0).ok());
  EXPECT_FALSE(
      catalog_->lookup(query("printer-1", discovery::SignalKind::consumable, "toner-black")));
}

TEST_F(HouseholdTest, GateDecidesItemsUnderThePolicy) {
  auto toner = item("printer-1", discovery::SignalKind::consumable, "toner-black", "papershop");
  auto r = gate_->evaluateItem(toner);
  EXPECT_EQ(r.verdict, needs::Verdict::needsApproval) << "45.00 EUR is above the 40.00 limit";
  EXPECT_EQ(r.policy_revision, keeper_->current()->revision);

  auto cell = item("sensor", discovery::SignalKind::battery, "battery", "papershop");
  EXPECT_EQ(gate_->evaluateItem(cell).verdict, needs::Verdict::allow);
  cell.retailer = "fixit";  // not approved for batteries
  EXPECT_EQ(gate_->evaluateItem(cell).verdict, needs::Verdict::deny);

  auto visit = item("washer", discovery::SignalKind::fault, "E24", "fixit");
  // A slot inside the visit windows is proposed, so the request can be evaluated; its 79.00 EUR
  // call-out fee is above the auto-approve limit.
  const auto v = gate_->evaluateItem(visit);
  EXPECT_EQ(v.verdict, needs::Verdict::needsApproval);
  bool limit = false;
  for (const auto& reason : v.reasons)
    limit = limit || reason.starts_with("purchasing.auto_approve_limit");
  EXPECT_TRUE(limit);
}

TEST_F(HouseholdTest, MoneyInFlightCountsOnlyAgainstItsOwnCategory) {
  needs::BasketCheck basket;
  basket.retailer = "papershop";
  basket.items = {item("sensor", discovery::SignalKind::battery, "battery", "papershop")};
  basket.at = clock_.now();
  // 45.00 EUR of toner is held by a purchase in flight: that is the consumables budget's
  // business, not batteries'.
  const auto policy = keeper_->current();
  ASSERT_TRUE(
      book_.reserve(*policy, "P1:consumables", "consumables", "papershop", eur(4500), clock_.now())
          .ok());
  EXPECT_EQ(gate_->evaluateBasket(basket).verdict, needs::Verdict::allow);

  // A purchase holding 13.00 EUR of batteries leaves no room for 3.00 more under 15.00.
  ASSERT_TRUE(
      book_.reserve(*policy, "P2:batteries", "batteries", "papershop", eur(1300), clock_.now())
          .ok());
  const auto r = gate_->evaluateBasket(basket);
  EXPECT_EQ(r.verdict, needs::Verdict::deny);
  EXPECT_TRUE(r.retry_after.has_value()) << "a full budget has room again later";
}

TEST_F(HouseholdTest, PerOrderCapAppliesToTheBasketsCategorySubtotal) {
  needs::BasketCheck basket;
  basket.retailer = "papershop";
  auto toner = item("printer-1", discovery::SignalKind::consumable, "toner-black", "papershop");
  auto second = item("printer-2", discovery::SignalKind::consumable, "toner-black", "papershop");
  basket.items = {toner, second};  // 90.00 EUR of consumables > 50.00 per order
  basket.at = clock_.now();
  const auto r = gate_->evaluateBasket(basket);
  EXPECT_EQ(r.verdict, needs::Verdict::deny);
  bool named = false;
  for (const auto& reason : r.reasons)
    named = named || reason.starts_with("budgets.consumables.per_order");
  EXPECT_TRUE(named);
}

TEST_F(HouseholdTest, OwnersPauseDeniesEverythingAndChangesTheRevision) {
  const auto before = gate_->revision();
  ASSERT_TRUE(controls_->pause("", 0).ok());
  const auto r =
      gate_->evaluateItem(item("sensor", discovery::SignalKind::battery, "battery", "papershop"));
  EXPECT_EQ(r.verdict, needs::Verdict::deny);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_TRUE(r.reasons[0].starts_with("owner.pause"));
  EXPECT_NE(gate_->revision(), before) << "resuming must make held needs be asked about again";
  ASSERT_TRUE(controls_->resume("", 0).ok());
  EXPECT_EQ(gate_->revision(), before);
}

}  // namespace
}  // namespace steward::app
