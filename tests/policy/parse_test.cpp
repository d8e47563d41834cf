// Parsing the policy: values land where they belong, every error class is reported with its
// exact file:line:col and key path, drop-ins merge like systemd's, and the revision tracks values.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "policy/loader.hpp"
#include "policy/parse.hpp"
#include "policy_fixture.hpp"

namespace steward::policy {
namespace {

using test::formatted;
using test::kHead;
using test::parseText;
using test::parseTexts;

constexpr const char* kKey = "ed25519:I+wM2WWyR795LZzJ4xmfli3Jx2z31g+/1mujPUlvxeU=";

std::string retailer(const std::string& id, const std::string& categories) {
  return "[retailers." + id + "]\nname = \"" + id + "\"\nendpoint = \"https://" + id +
         ".example/api\"\nsigning_key = \"" + kKey + "\"\ncategories = " + categories + "\n";
}

TEST(PolicyParse, ReadsEverySection) {
  const std::string text = kHead + R"(
[purchasing]
mode = "auto"
auto_approve_limit = "30.00 EUR"
approval_timeout = "12h"
cancel_window = "30m"

[offers]
max_counter_rounds = 4
weights = { price = 5, delivery = 3, rating = 2 }

[budgets.consumables]
monthly = "60.00 EUR"
per_order = "40.00 EUR"
per_retailer_monthly = { shop = "20.50 EUR" }

[budgets.repairs]
monthly = "200 EUR"

)" + retailer("shop", "[\"consumables\", \"repairs\"]") +
                           R"(tls_pin = "sha256/B3TY45+nxo3zO8dzYlnbWkR3idDWAFNTRnOo/N4PXtk="
rating = 5

[items.toner-black]
key = "toner-black"
device_kinds = ["printer"]
category = "consumables"
products = ["TN-2420"]
alternatives = ["TN-2410"]
substitution = true
max_unit_price = "45.00 EUR"
max_quantity = 3
lead_time = "3d"
order_ahead = "36h"
retailers = ["shop"]

[items.office-toner]
key = "toner-black"
devices = ["printer-office"]
category = "consumables"
products = "TN-3480"

[service]
providers = ["shop"]
max_call_out_fee = "80.00 EUR"
visit_windows = ["Mon-Fri 08:00-18:00", "Sat 09:00-12:00"]
quiet_hours = "22:00-07:00"

[devices."zigbee2mqtt/0x00aa"]
disabled = true

[devices.kitchen-printer]
category = "repairs"

[[forbid]]
id = "weekend"
when = "Sat-Sun"
kind = ["purchase", "service"]

[[permit]]
id = "meter"
kind = "meter-report"
require_approval = true
)";
  auto load = parseText(text);
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  const Policy& p = *load.policy;
  EXPECT_EQ(p.household.name, "Test home");
  EXPECT_EQ(p.household.currency.view(), "EUR");
  EXPECT_EQ(p.household.time_zone.name(), "Europe/Berlin");
  EXPECT_EQ(p.household.region, "DE");
  EXPECT_EQ(p.purchasing.mode, PurchasingMode::automatic);
  EXPECT_EQ(p.purchasing.auto_approve_limit, test::eur(3000));
  EXPECT_EQ(p.purchasing.approval_timeout, std::chrono::hours(12));
  EXPECT_EQ(p.purchasing.cancel_window, std::chrono::minutes(30));
  EXPECT_EQ(p.offers.max_counter_rounds, 4);
  EXPECT_EQ(p.offers.weights.price, 5);
  EXPECT_EQ(p.offers.weights.delivery, 3);
  EXPECT_EQ(p.offers.weights.rating, 2);
  ASSERT_NE(p.budget("consumables"), nullptr);
  EXPECT_EQ(p.budget("consumables")->monthly, test::eur(6000));
  EXPECT_EQ(*p.budget("consumables")->per_order, test::eur(4000));
  EXPECT_EQ(p.budget("consumables")->per_retailer_monthly.at("shop"), test::eur(2050));
  EXPECT_EQ(p.budget("repairs")->monthly, test::eur(20000));
  EXPECT_FALSE(p.budget("repairs")->per_order);
  const Retailer* shop = p.retailer("shop");
  ASSERT_NE(shop, nullptr);
  EXPECT_EQ(shop->endpoint, "https://shop.example/api");
  EXPECT_EQ(shop->signing_key.size(), 32u);
  EXPECT_EQ(shop->signing_key[0], 0x23);  // 'I+wM' decodes to 0x23 0xEC 0x0C
  EXPECT_EQ(shop->tls_pin.size(), 32u);
  EXPECT_EQ(shop->rating, 5);
  EXPECT_TRUE(shop->serves("repairs"));
  const Item* toner = p.item("toner-black");
  ASSERT_NE(toner, nullptr);
  EXPECT_EQ(toner->products, std::vector<std::string>{"TN-2420"});
  EXPECT_TRUE(toner->substitution);
  EXPECT_EQ(*toner->max_unit_price, test::eur(4500));
  EXPECT_EQ(toner->max_quantity, 3);
  EXPECT_EQ(toner->lead_time, std::chrono::hours(72));
  EXPECT_EQ(toner->order_ahead, std::chrono::hours(36));
  EXPECT_EQ(p.item("office-toner")->products, std::vector<std::string>{"TN-3480"});
  EXPECT_EQ(p.service.category, "repairs");
  EXPECT_EQ(p.service.providers, std::vector<std::string>{"shop"});
  EXPECT_EQ(p.service.visit_windows.size(), 2u);
  EXPECT_EQ(p.service.quiet_hours.size(), 1u);
  EXPECT_TRUE(p.deviceDisabled("zigbee2mqtt/0x00aa"));
  EXPECT_FALSE(p.deviceDisabled("kitchen-printer"));
  ASSERT_EQ(p.forbids.size(), 1u);
  EXPECT_EQ(p.forbids[0].id, "weekend");
  EXPECT_EQ(p.forbids[0].kinds.size(), 2u);
  ASSERT_EQ(p.permits.size(), 1u);
  EXPECT_TRUE(p.permits[0].require_approval);
  EXPECT_EQ(p.revision.size(), 64u);

  // Lookups other modules use.
  EXPECT_EQ(p.findItem("printer-office", "printer", "toner-black"), p.item("office-toner"));
  EXPECT_EQ(p.findItem("printer-hall", "printer", "toner-black"), toner);
  EXPECT_EQ(p.findItem("printer-hall", "scanner", "toner-black"), nullptr);
  EXPECT_EQ(p.findItem("printer-hall", "printer", "toner-cyan"), nullptr);
  EXPECT_EQ(p.categoryFor("kitchen-printer", toner, ""), "repairs");
  EXPECT_EQ(p.categoryFor("printer-hall", toner, ""), "consumables");
  EXPECT_EQ(p.categoryFor("", nullptr, "energy"), "energy");
  ASSERT_EQ(p.retailersFor(*toner).size(), 1u);
  EXPECT_EQ(p.retailersFor(*toner)[0]->id, "shop");
}

TEST(PolicyParse, DefaultsAreSafe) {
  auto load = parseText(kHead);
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  const Policy& p = *load.policy;
  EXPECT_EQ(p.purchasing.mode, PurchasingMode::approveAll);
  EXPECT_EQ(p.purchasing.auto_approve_limit, test::eur(0));
  EXPECT_EQ(p.purchasing.approval_timeout, std::chrono::hours(48));
  EXPECT_TRUE(p.budgets.empty());
  EXPECT_TRUE(p.retailers.empty());
  EXPECT_TRUE(p.service.providers.empty());
}

TEST(PolicyParse, MeterScheduleAndHomeAssistantCommands) {
  auto defaults = parseText(kHead);
  ASSERT_TRUE(defaults.errors.empty());
  EXPECT_EQ(defaults.policy->meter.report_day, 1);
  EXPECT_EQ(defaults.policy->meter.every_months, 1);
  EXPECT_FALSE(defaults.policy->home_assistant.commands);

  auto set = parseText(kHead + std::string("[meter]\nreport_day = 15\nevery_months = 3\n"
                                           "[home_assistant]\ncommands = true\n"));
  ASSERT_TRUE(set.errors.empty()) << formatted(set.errors)[0];
  EXPECT_EQ(set.policy->meter.report_day, 15);
  EXPECT_EQ(set.policy->meter.every_months, 3);
  EXPECT_TRUE(set.policy->home_assistant.commands);

  auto bad = parseText(kHead + std::string("[meter]\nreport_day = 32\n[home_assistant]\n"
                                           "comands = true\n"));
  const auto errors = formatted(bad.errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("policy.toml:7:14: meter.report_day:"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1],
            "policy.toml:9:1: home_assistant.comands: unknown key; did you mean \"commands\"?");
}

struct ErrorCase {
  const char* name;
  std::string text;  // after kHead: line 6 is the first line here
  std::vector<std::string> expected;
};

TEST(PolicyParse, EveryErrorClassWithExactPosition) {
  const std::vector<ErrorCase> cases = {
      {"amount without currency",
       "[budgets.consumables]\nmonthly = \"60\"\n",
       {"policy.toml:7:11: budgets.consumables.monthly: expected an amount like \"60.00 EUR\", "
        "got \"60\""}},
      {"amount as a number",
       "[budgets.consumables]\nmonthly = 60\n",
       {"policy.toml:7:11: budgets.consumables.monthly: expected an amount like \"60.00 EUR\", "
        "got 60"}},
      {"amount in another currency",
       "[budgets.consumables]\nmonthly = \"60.00 USD\"\n",
       {"policy.toml:7:11: budgets.consumables.monthly: expected an amount in EUR (the household "
        "currency), got \"60.00 USD\""}},
      {"unknown currency",
       "[budgets.consumables]\nmonthly = \"60.00 EUX\"\n",
       {"policy.toml:7:11: budgets.consumables.monthly: unknown ISO 4217 currency \"EUX\" in "
        "\"60.00 EUX\""}},
      {"too many decimals",
       "[purchasing]\nauto_approve_limit = \"1.005 EUR\"\n",
       {"policy.toml:7:22: purchasing.auto_approve_limit: EUR has 2 decimal places, got \"1.005 "
        "EUR\""}},
      {"unknown key with suggestion",
       "[budgets.consumables]\nmonthly = \"60.00 EUR\"\nper_ordr = \"5.00 EUR\"\n",
       {"policy.toml:8:1: budgets.consumables.per_ordr: unknown key; did you mean \"per_order\"?"}},
      {"unknown table",
       "[purchasng]\nmode = \"auto\"\n",
       {"policy.toml:6:2: purchasng: unknown key; did you mean \"purchasing\"?"}},
      {"unknown key without suggestion",
       "[purchasing]\ncolour = \"red\"\n",
       {"policy.toml:7:1: purchasing.colour: unknown key"}},
      {"bad mode",
       "[purchasing]\nmode = \"pause\"\n",
       {"policy.toml:7:8: purchasing.mode: expected \"auto\", \"approve-all\" or \"paused\", got "
        "\"pause\"; did you mean \"paused\"?"}},
      {"bad duration",
       "[purchasing]\napproval_timeout = \"2 days\"\n",
       {"policy.toml:7:20: purchasing.approval_timeout: expected a duration like \"30s\", \"15m\", "
        "\"48h\" or \"3d\", got \"2 days\""}},
      {"duration too long",
       "[purchasing]\ncancel_window = \"40d\"\n",
       {"policy.toml:7:17: purchasing.cancel_window: expected at most 30d, got \"40d\""}},
      {"wrong type",
       "[offers]\nmax_counter_rounds = \"3\"\n",
       {"policy.toml:7:22: offers.max_counter_rounds: expected an integer, got \"3\""}},
      {"out of range",
       "[offers]\nmax_counter_rounds = 11\n",
       {"policy.toml:7:22: offers.max_counter_rounds: expected an integer from 0 to 10, got 11"}},
      {"all weights zero",
       "[offers.weights]\nprice = 0\ndelivery = 0\nrating = 0\n",
       {"policy.toml:6:1: offers.weights: at least one weight must be above 0"}},
      {"missing required key",
       "[budgets.consumables]\nper_order = \"5.00 EUR\"\n",
       {"policy.toml:6:1: budgets.consumables.monthly: missing required key \"monthly\""}},
      {"per-order cap above monthly",
       "[budgets.consumables]\nmonthly = \"10.00 EUR\"\nper_order = \"20.00 EUR\"\n",
       {"policy.toml:8:13: budgets.consumables.per_order: is above the monthly cap of 10.00 EUR, "
        "so it can never apply"}},
      {"bad category name",
       "[budgets.\"Consumables\"]\nmonthly = \"10.00 EUR\"\n",
       {"policy.toml:6:10: budgets.Consumables: expected a name of lower-case letters, digits, "
        "'-' and '_' (at most 64), got \"Consumables\""}},
      {"unknown category with suggestion",
       "[budgets.consumables]\nmonthly = \"10.00 EUR\"\n[items.ink]\nkey = \"ink\"\n"
       "category = \"consumable\"\nproducts = [\"X\"]\n",
       {"policy.toml:10:12: items.ink.category: unknown category \"consumable\"; did you mean "
        "\"consumables\"?"}},
      {"unknown category without suggestion",
       "[items.ink]\nkey = \"ink\"\ncategory = \"garden\"\nproducts = [\"X\"]\n",
       {"policy.toml:8:12: items.ink.category: unknown category \"garden\" (there is no "
        "[budgets.garden])"}},
      {"unknown retailer in a list",
       "[service]\ncategory = \"repairs\"\nproviders = [\"fixit\"]\n[budgets.repairs]\n"
       "monthly = \"1.00 EUR\"\n",
       {"policy.toml:8:14: service.providers: unknown retailer \"fixit\" (there is no "
        "[retailers.fixit])"}},
      {"missing retailer fields",
       "[retailers.shop]\nname = \"Shop\"\n",
       {"policy.toml:6:1: retailers.shop.endpoint: missing required key \"endpoint\"",
        "policy.toml:6:1: retailers.shop.signing_key: missing required key \"signing_key\"",
        "policy.toml:6:1: retailers.shop.categories: missing required key \"categories\""}},
      {"bad endpoint, key, pin and rating",
       "[budgets.consumables]\nmonthly = \"1.00 EUR\"\n[retailers.shop]\nname = \"Shop\"\n"
       "endpoint = \"http://shop.example\"\nsigning_key = \"ed25519:abc\"\n"
       "tls_pin = \"sha1/AAAA\"\ncategories = [\"consumables\"]\nrating = 9\n",
       {"policy.toml:10:12: retailers.shop.endpoint: expected an https:// URL like "
        "\"https://shop.example/steward\", got \"http://shop.example\"",
        "policy.toml:11:15: retailers.shop.signing_key: expected an Ed25519 public key like "
        "\"ed25519:<44 base64 characters>\", got \"ed25519:abc\"",
        "policy.toml:12:11: retailers.shop.tls_pin: expected a SPKI pin like \"sha256/<44 base64 "
        "characters>\", got \"sha1/AAAA\"",
        "policy.toml:14:10: retailers.shop.rating: expected an integer from 1 to 5, got 9"}},
      {"retailer that does not sell the item's category",
       "[budgets.a]\nmonthly = \"1.00 EUR\"\n[budgets.b]\nmonthly = \"1.00 EUR\"\n" +
           retailer("shop", "[\"a\"]") +
           "[items.x]\nkey = \"x\"\ncategory = \"b\"\nproducts = [\"X\"]\nretailers = "
           "[\"shop\"]\n",
       {"policy.toml:19:13: items.x.retailers: retailer \"shop\" does not sell in category \"b\" "
        "(see retailers.shop.categories)"}},
      {"devices and device kinds together",
       "[budgets.a]\nmonthly = \"1.00 EUR\"\n[items.x]\nkey = \"x\"\ncategory = \"a\"\n"
       "products = [\"X\"]\ndevices = [\"d1\"]\ndevice_kinds = [\"printer\"]\n",
       {"policy.toml:12:11: items.x.devices: give either devices or device_kinds, not both"}},
      {"two items for the same consumable",
       "[budgets.a]\nmonthly = \"1.00 EUR\"\n[items.x]\nkey = \"ink\"\ncategory = \"a\"\n"
       "products = [\"X\"]\ndevice_kinds = [\"printer\", \"fax\"]\n[items.y]\nkey = \"ink\"\n"
       "category = \"a\"\nproducts = [\"Y\"]\ndevice_kinds = [\"fax\"]\n",
       {"policy.toml:14:7: items.y.key: items \"x\" and \"y\" both apply to key \"ink\" for device "
        "kind \"fax\""}},
      {"bad time window",
       "[service]\nquiet_hours = [\"22-07\"]\n",
       {"policy.toml:6:1: service.category: unknown category \"repairs\" (there is no "
        "[budgets.repairs])",
        "policy.toml:7:16: service.quiet_hours: expected a window like \"Mon-Fri 08:00-18:00\", "
        "\"Sat\" or \"22:00-07:00\", got \"22-07\""}},
      {"rule without id and with an unknown kind",
       "[[forbid]]\nkind = \"purchases\"\n",
       {"policy.toml:6:1: forbid[0].id: missing required key \"id\"",
        "policy.toml:7:8: forbid[0].kind: expected \"purchase\", \"service\" or \"meter-report\", "
        "got \"purchases\"; did you mean \"purchase\"?"}},
      {"duplicate rule id",
       "[[forbid]]\nid = \"night\"\nwhen = \"23:00-06:00\"\n[[permit]]\nid = \"night\"\n",
       {"policy.toml:10:6: permit[0].id: rule id \"night\" is used twice"}},
      {"permit-only key on a forbid rule",
       "[[forbid]]\nid = \"x\"\nrequire_approval = true\n",
       {"policy.toml:8:20: forbid[0].require_approval: only [[permit]] rules can require "
        "approval"}},
      {"rule referring to an unknown item",
       "[[permit]]\nid = \"x\"\nitem = \"tonner\"\n",
       {"policy.toml:8:8: permit[0].item: unknown item \"tonner\" (there is no [items.tonner])"}},
      {"toml syntax error",
       "[budgets\nmonthly = 1\n",
       {"policy.toml:6:9: Error while parsing table header: expected ']', saw '\\n'"}},
  };
  for (const auto& c : cases) {
    auto load = parseText(kHead + c.text);
    EXPECT_EQ(formatted(load.errors), c.expected) << c.name;
    EXPECT_EQ(load.policy, nullptr) << c.name;
  }
}

TEST(PolicyParse, HouseholdErrors) {
  auto load = parseText(R"([household]
name = ""
currency = "EURO"
time_zone = "Europe/Berln"
region = "Germany"
)");
  EXPECT_EQ(
      formatted(load.errors),
      (std::vector<std::string>{
          "policy.toml:2:8: household.name: must not be empty",
          "policy.toml:3:12: household.currency: expected an ISO 4217 currency code like "
          "\"EUR\", got \"EURO\"",
          "policy.toml:4:13: household.time_zone: unknown time zone \"Europe/Berln\"; did you "
          "mean \"Europe/Berlin\"?",
          "policy.toml:5:10: household.region: expected an ISO 3166 country or subdivision "
          "like \"DE\" or \"DE-BE\", got \"Germany\""}));
  EXPECT_EQ(formatted(parseText("forbid = \"everything\"\n" + kHead).errors),
            std::vector<std::string>{"policy.toml:1:10: forbid: expected rules written as "
                                     "[[forbid]] tables, got a string"});
  EXPECT_EQ(formatted(parseText("[purchasing]\nmode = \"auto\"\n").errors),
            std::vector<std::string>{"policy.toml: household: missing required table [household]"});
  EXPECT_EQ(formatted(parseText("[household]\nname = \"x\"\n").errors),
            (std::vector<std::string>{
                "policy.toml:1:1: household.currency: missing required key \"currency\"",
                "policy.toml:1:1: household.time_zone: missing required key \"time_zone\"",
                "policy.toml:1:1: household.region: missing required key \"region\""}));
  EXPECT_EQ(
      formatted(parseText("[household]\nname = \"x\"\ncurrency = \"EUR\"\nregion = \"DE\"\n"
                          "time_zone = \"../../etc/passwd\"\n")
                    .errors),
      std::vector<std::string>{"policy.toml:5:13: household.time_zone: expected an IANA time zone "
                               "like \"Europe/Berlin\", got \"../../etc/passwd\""});
}

TEST(PolicyParse, SeveralErrorsInOneRunInFileOrder) {
  auto load = parseText(kHead + R"([purchasing]
mode = "sometimes"
auto_approve_limit = "10"

[budgets.consumables]
monthly = "60.00 EUR"
montly = "1.00 EUR"
)");
  EXPECT_EQ(formatted(load.errors),
            (std::vector<std::string>{
                "policy.toml:7:8: purchasing.mode: expected \"auto\", \"approve-all\" or "
                "\"paused\", got \"sometimes\"",
                "policy.toml:8:22: purchasing.auto_approve_limit: expected an amount like \"60.00 "
                "EUR\", got \"10\"",
                "policy.toml:12:1: budgets.consumables.montly: unknown key; did you mean "
                "\"monthly\"?"}));
}

TEST(PolicyParse, DropInsMergeLaterWinsAndRulesAccumulate) {
  const std::string main = kHead + R"([purchasing]
mode = "auto"
auto_approve_limit = "30.00 EUR"

[budgets.consumables]
monthly = "60.00 EUR"
per_order = "40.00 EUR"

[[forbid]]
id = "night"
when = "23:00-06:00"

[[forbid]]
id = "weekend"
when = "Sat-Sun"
)";
  const std::string dropin1 = R"([purchasing]
mode = "approve-all"

[budgets.consumables]
monthly = "80.00 EUR"

[[forbid]]
id = "weekend"
when = "Sun"
description = "Saturdays are fine again"
)";
  const std::string dropin2 = R"([budgets.batteries]
monthly = "5.00 EUR"

[[permit]]
id = "meter"
kind = "meter-report"
)";
  auto load = parseTexts(
      {{"policy.toml", main}, {"policy.d/10-a.toml", dropin1}, {"policy.d/20-b.toml", dropin2}});
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  const Policy& p = *load.policy;
  EXPECT_EQ(p.purchasing.mode, PurchasingMode::approveAll);         // replaced
  EXPECT_EQ(p.purchasing.auto_approve_limit, test::eur(3000));      // kept
  EXPECT_EQ(p.budget("consumables")->monthly, test::eur(8000));     // replaced
  EXPECT_EQ(*p.budget("consumables")->per_order, test::eur(4000));  // kept
  EXPECT_EQ(p.budget("batteries")->monthly, test::eur(500));        // added
  ASSERT_EQ(p.forbids.size(), 2u);
  EXPECT_EQ(p.forbids[0].id, "night");
  EXPECT_EQ(p.forbids[1].id, "weekend");
  EXPECT_EQ(p.forbids[1].description, "Saturdays are fine again");
  EXPECT_EQ(p.forbids[1].when.size(), 1u);
  ASSERT_EQ(p.permits.size(), 1u);
  EXPECT_EQ(p.sources,
            (std::vector<std::string>{"policy.toml", "policy.d/10-a.toml", "policy.d/20-b.toml"}));
}

TEST(PolicyParse, ErrorsInADropInNameTheDropIn) {
  auto load =
      parseTexts({{"policy.toml", kHead + "[budgets.consumables]\nmonthly = \"1.00 EUR\"\n"},
                  {"policy.d/50-local.toml",
                   "\n[budgets.consumables]\nper_order = \"2.00 EUR\"\nmonthy = 3\n"}});
  EXPECT_EQ(formatted(load.errors),
            (std::vector<std::string>{
                "policy.d/50-local.toml:3:13: budgets.consumables.per_order: is above the monthly "
                "cap of 1.00 EUR, so it can never apply",
                "policy.d/50-local.toml:4:1: budgets.consumables.monthy: unknown key; did you mean "
                "\"monthly\"?"}));
  // Syntax errors in several files are all reported.
  auto broken = parseTexts({{"policy.toml", kHead + "x = \n"}, {"policy.d/a.toml", "[a\n"}});
  ASSERT_EQ(broken.errors.size(), 2u);
  EXPECT_EQ(broken.errors[0].file, "policy.toml");
  EXPECT_EQ(broken.errors[0].line, 6);
  EXPECT_EQ(broken.errors[1].file, "policy.d/a.toml");
  EXPECT_EQ(broken.errors[1].line, 1);
}

TEST(PolicyParse, RevisionIgnoresLayoutButNotValues) {
  const std::string a =
      kHead + "[budgets.consumables]\nmonthly = \"60.00 EUR\"\nper_order = \"5.00 EUR\"\n";
  const std::string b =
      "# the same values, written differently\n[household]\nregion = \"DE\"\n"
      "time_zone = \"Europe/Berlin\"\ncurrency = \"EUR\"\nname = \"Test home\"\n\n"
      "[budgets]\nconsumables = { per_order = \"5.00 EUR\", monthly = \"60.00 EUR\" }\n";
  const std::string c =
      kHead + "[budgets.consumables]\nmonthly = \"60.01 EUR\"\nper_order = \"5.00 EUR\"\n";
  auto ra = parseText(a), rb = parseText(b), rc = parseText(c);
  ASSERT_TRUE(ra.policy && rb.policy && rc.policy);
  EXPECT_EQ(ra.policy->revision, rb.policy->revision);
  EXPECT_NE(ra.policy->revision, rc.policy->revision);
  // Splitting the same values over a drop-in gives the same revision.
  auto split =
      parseTexts({{"policy.toml", kHead + "[budgets.consumables]\nmonthly = \"60.00 EUR\"\n"},
                  {"policy.d/x.toml", "[budgets.consumables]\nper_order = \"5.00 EUR\"\n"}});
  ASSERT_TRUE(split.policy);
  EXPECT_EQ(split.policy->revision, ra.policy->revision);
  EXPECT_EQ(ra.policy->revision.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(PolicyParse, TimeWindows) {
  auto w = parseTimeWindow("Mon-Fri 08:00-18:00");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->days, 0x1fu);
  EXPECT_EQ(w->start_minute, 480);
  EXPECT_EQ(w->end_minute, 1080);
  auto wrap = parseTimeWindow("Fri-Mon");
  ASSERT_TRUE(wrap.ok());
  EXPECT_EQ(wrap->days, 0b1110001u);
  auto night = parseTimeWindow("Fri 22:00-07:00");
  ASSERT_TRUE(night.ok());
  using namespace std::chrono;
  const auto local = [](int y, unsigned m, unsigned d, int h, int mi) {
    return local_time<milliseconds>{
        (sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{mi}).time_since_epoch()};
  };
  // 2026-11-27 is a Friday.
  EXPECT_TRUE(night->contains(local(2026, 11, 27, 22, 0)));
  EXPECT_TRUE(night->contains(local(2026, 11, 28, 6, 59)));  // Saturday morning, Friday's window
  EXPECT_FALSE(night->contains(local(2026, 11, 28, 7, 0)));
  EXPECT_FALSE(night->contains(local(2026, 11, 28, 22, 30)));  // Saturday evening
  EXPECT_FALSE(night->contains(local(2026, 11, 27, 6, 0)));    // Friday morning: Thursday's
  auto allDay = parseTimeWindow("00:00-24:00");
  ASSERT_TRUE(allDay.ok());
  EXPECT_TRUE(allDay->contains(local(2026, 11, 27, 23, 59)));
  for (const char* bad : {"", "Mon-", "Funday", "08:00", "8:00-9:00", "10:00-10:00", "24:00-01:00",
                          "Mon 08:00-25:00", "Mon  08:00-09:00"}) {
    EXPECT_FALSE(parseTimeWindow(bad).ok()) << bad;
  }
}

TEST(PolicyParse, ShippedPolicyAndExamplesAreValid) {
  const std::vector<std::string> paths = {"policy", "policy/examples/small-flat.toml",
                                          "policy/examples/family-house",
                                          "policy/examples/approve-everything.toml"};
  for (const auto& path : paths) {
    const std::string full = test::sourcePath(path);
    auto load = loadPolicy(std::span(&full, 1));
    EXPECT_TRUE(load.errors.empty())
        << path << ": " << (load.errors.empty() ? "" : load.errors[0].format());
  }
  const std::string family = test::sourcePath("policy/examples/family-house");
  auto load = loadPolicy(std::span(&family, 1));
  ASSERT_TRUE(load.policy);
  EXPECT_EQ(load.policy->sources.size(), 3u);  // policy.toml and two drop-ins
  EXPECT_EQ(load.policy->purchasing.auto_approve_limit, test::eur(0));  // from 10-holidays
  EXPECT_TRUE(load.policy->deviceDisabled("ipp_garage-laserjet"));
}

// Every key the parser accepts is in the JSON Schema and the schema has no key the parser
// rejects, so editors complete exactly what stewardd understands.
TEST(PolicyParse, SchemaMatchesTheParser) {
  std::ifstream in(test::sourcePath("policy/policy.schema.json"));
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const boost::json::value schema = boost::json::parse(text.str());
  const auto objectAt = [&](std::string_view path) -> const boost::json::object* {
    const boost::json::object* node = &schema.as_object();
    std::size_t pos = 0;
    while (pos < path.size()) {
      auto dot = path.find('.', pos);
      std::string part(
          path.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
      pos = dot == std::string_view::npos ? path.size() : dot + 1;
      bool array = part.ends_with("[]");
      if (array) part.resize(part.size() - 2);
      if (part == "*") {
        node = &node->at("additionalProperties").as_object();
      } else {
        node = &node->at("properties").as_object().at(part).as_object();
      }
      if (array) node = &node->at("items").as_object();
    }
    return node;
  };
  for (const KeySet& set : policyKeySets()) {
    const boost::json::object* node = objectAt(set.path);
    ASSERT_NE(node, nullptr) << set.path;
    std::set<std::string> inSchema;
    for (const auto& [k, v] : node->at("properties").as_object())
      inSchema.insert(std::string(k));
    std::set<std::string> inParser(set.keys.begin(), set.keys.end());
    EXPECT_EQ(inSchema, inParser) << "at \"" << set.path << "\"";
    EXPECT_EQ(node->at("additionalProperties"), boost::json::value(false)) << set.path;
  }
}

}  // namespace
}  // namespace steward::policy
