// The owner's views of the ledger's queries: log filters, explain's causal chain and offers side by
// side, exports that can be verified independently, approvals and status (with and without the
// other modules' tables), and colour only when asked for.
#include "stewardctl/views.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "ledger/approvals.hpp"
#include "ledger/budget_store.hpp"
#include "ledger/chain.hpp"
#include "ledger/checkpoint.hpp"
#include "ledger/controls.hpp"
#include "ledger/ledger_fixture.hpp"
#include "stewardctl/fit.hpp"

namespace steward::ledger::test {
namespace {

namespace json = boost::json;
using stewardctl::budgetBar;
using stewardctl::printApprovals;
using stewardctl::printExplanation;
using stewardctl::printLog;
using stewardctl::printStatus;
using stewardctl::renderStatus;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

// A purchase from signal to confirmed order, with unrelated traffic interleaved.
class ReviewTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    admitted_ = record(makeDecision("device.admitted", "device:printer-1", {{"kind", "printer"}},
                                    "admitted"))
                    .seq;
    record(makeDecision("device.admitted", "device:meter-1", {{"kind", "meter"}}, "admitted"));
    need_ = record(makeDecision("need.opened", "need:n1",
                                {{"device_id", "printer-1"}, {"key", "toner-black"}, {"level", 8}},
                                "opened", {admitted_}, {"toner-black at 8% (low mark 10%)"}))
                .seq;
    policy_ =
        record(makeDecision("policy.evaluated", "need:n1", {{"device_id", "printer-1"}}, "allow",
                            {need_}, {"permit:consumables", "budget consumables 31.20/60.00 EUR"}));
    rfq_ = record(makeDecision("rfq.sent", "need:n1", {{"rfq", "q1"}}, "sent", {policy_.seq})).seq;
    offer_a_ = offer("acme", "24.90 EUR", "2d");
    offer_b_ = offer("bolt", "27.00 EUR", "1d");
    record(makeDecision("need.opened", "need:n2", {{"device_id", "meter-1"}}, "opened", {2}));
    offer_c_ = offer("cheapo", "19.00 EUR", "9d");
    const auto counter =
        record(makeDecision("counter.sent", "need:n1", {{"vendor", "bolt"}}, "sent", {offer_b_}));
    counter_answer_ = record(makeDecision("counter.received", "need:n1",
                                          {{"vendor", "bolt"},
                                           {"offer_id", "b-2"},
                                           {"total", "25.00 EUR"},
                                           {"delivery", "1d"}},
                                          "received", {counter.seq}))
                          .seq;
    record(makeDecision("offer.rejected", "need:n1", {{"offer_id", "acme-1"}, {"score", 0.71}},
                        "rejected", {offer_a_}, {"lower score than b-2"}));
    record(makeDecision("offer.rejected", "need:n1", {{"score", 0.20}}, "rejected", {offer_c_},
                        {"delivery 9d exceeds lead time 5d"}));
    chosen_ = record(makeDecision("offer.chosen", "need:n1", {{"score", 0.84}}, "chosen",
                                  {counter_answer_}, {"best score"}))
                  .seq;
    const auto accepted = record(makeDecision("order.accepted", "order:o1",
                                              {{"total", "25.00 EUR"}}, "accepted", {chosen_}));
    confirmed_ =
        record(makeDecision("order.confirmed", "order:o1", {}, "confirmed", {accepted.seq})).seq;
  }

  std::int64_t offer(const std::string& vendor, const std::string& total,
                     const std::string& delivery) {
    return record(makeDecision("offer.received", "need:n1",
                               {{"vendor", vendor},
                                {"offer_id", vendor + "-1"},
                                {"total", total},
                                {"delivery", delivery},
                                {"raw", std::string(300, 's')}},
                               "received", {rfq_}))
        .seq;
  }

  std::int64_t admitted_ = 0, need_ = 0, rfq_ = 0, offer_a_ = 0, offer_b_ = 0, offer_c_ = 0,
               counter_answer_ = 0, chosen_ = 0, confirmed_ = 0;
  RecordedDecision policy_;
};

TEST_F(ReviewTest, LogFiltersByKindDeviceTimeAndLimit) {
  auto& db = ledger_->database();
  auto all = queryLog(db, LogQuery{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(confirmed_));

  auto offers = queryLog(db, LogQuery{{}, {}, "offer", 0, {}});
  ASSERT_EQ(offers->size(), 6u) << "\"offer\" matches offer.* but not other kinds";
  auto exact = queryLog(db, LogQuery{{}, {}, "offer.rejected", 0, {}});
  EXPECT_EQ(exact->size(), 2u);
  EXPECT_TRUE(queryLog(db, LogQuery{{}, {}, "offe", 0, {}})->empty()) << "no partial words";

  auto meter = queryLog(db, LogQuery{{}, "meter-1", {}, 0, {}});
  ASSERT_EQ(meter->size(), 2u) << "subject device:meter-1 and input.device_id meter-1";
  EXPECT_EQ(meter->at(1).at("subject").as_string(), "need:n2");

  auto since =
      queryLog(db, LogQuery{startTime() + std::chrono::seconds(confirmed_ - 2), {}, {}, 0, {}});
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ(since->at(1).at("seq").as_int64(), confirmed_);

  auto newest = queryLog(db, LogQuery{{}, {}, {}, 3, {}});
  ASSERT_EQ(newest->size(), 3u);
  EXPECT_EQ(newest->at(0).at("seq").as_int64(), confirmed_ - 2) << "the newest, oldest first";
  EXPECT_EQ(newest->at(2).at("seq").as_int64(), confirmed_);

  auto bad = queryLog(db, LogQuery{{}, {}, "offer%", 0, {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("kind filter"), std::string::npos);
}

TEST_F(ReviewTest, LogTableIsAlignedAndColouredOnlyWhenAsked) {
  std::ostringstream plain, coloured, asjson;
  ASSERT_TRUE(printLog(ledger_->database(), LogQuery{}, OutputStyle{}, plain).ok());
  ASSERT_TRUE(printLog(ledger_->database(), LogQuery{}, OutputStyle{false, true}, coloured).ok());
  ASSERT_TRUE(printLog(ledger_->database(), LogQuery{}, OutputStyle{true, false}, asjson).ok());
  std::vector<std::string> rows;  // the table's lines, without the reasons under them
  for (auto& l : lines(plain.str()))
    if (l.substr(0, 4) != "    ") rows.push_back(std::move(l));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(confirmed_) + 1);
  const auto kind_col = rows[0].find("KIND");
  const auto outcome_col = rows[0].find("OUTCOME");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_NE(rows[i].substr(kind_col, 3), "   ") << rows[i];
    EXPECT_EQ(rows[i][kind_col - 1], ' ');
    EXPECT_NE(rows[i][outcome_col], ' ') << "outcome column starts at the header: " << rows[i];
  }
  EXPECT_NE(rows.back().find("D" + std::to_string(confirmed_ - 1)), std::string::npos)
      << "causes are listed by id";
  EXPECT_EQ(plain.str().find('\033'), std::string::npos);
  EXPECT_NE(coloured.str().find("\033[32mconfirmed\033[0m"), std::string::npos);
  auto parsed = json::parse(asjson.str());
  EXPECT_EQ(parsed.as_array().size(), static_cast<std::size_t>(confirmed_));
}

TEST(LogView, ReasonsAreShownOnceAndWholeWrappedToTheTerminal) {
  const std::string budget =
      "budgets.household: 212.40 EUR of 250.00 EUR used in 2026-12, this basket of 45.90 EUR "
      "would take it to 258.30 EUR, above the monthly cap";
  const std::string brand = "rules.brand: Brother toner has not been bought before";
  const auto decisions = json::parse(R"([{"id": "D7", "seq": 7, "at_ms": 1700000000000,
      "kind": "needs.grouped", "subject": "basket:3", "outcome": "needs-approval",
      "reasons": [")" + budget + R"(", "toner:TN-2420: )" +
                                     budget + R"(", "toner:TN-2420: )" + brand + R"("],
      "causes": [5, 6]}])")
                             .as_array();
  std::ostringstream out;
  stewardctl::renderLog(decisions, OutputStyle{}, out, 60);
  const std::string text = out.str();
  for (const auto& l : lines(text))  // the reasons' lines, under the decision's row
    if (l.substr(0, 4) == "    ") {
      EXPECT_LE(ledger::displayWidth(l), 60u) << l;
    }
  EXPECT_EQ(text.find("…"), std::string::npos) << text;
  // Joined back, the wrapped lines hold each reason exactly once.
  std::string flat;
  for (const auto& l : lines(text))
    if (l.substr(0, 4) == "    ") flat += l.substr(l.find_first_not_of(" -")) + ' ';
  auto occurrences = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = flat.find(what); at != std::string::npos; at = flat.find(what, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(occurrences(budget), 1u) << text;
  EXPECT_EQ(occurrences("toner:TN-2420: " + brand), 1u) << text;
  EXPECT_EQ(occurrences("toner:TN-2420: budgets"), 0u) << text;
}

TEST(LogView, WrapTextBreaksAtSpacesAndSplitsOverlongWords) {
  EXPECT_EQ(stewardctl::wrapText("one two three", 7),
            (std::vector<std::string>{"one two", "three"}));
  EXPECT_EQ(stewardctl::wrapText("abcdefghij", 4),
            (std::vector<std::string>{"abcd", "efgh", "ij"}));
  EXPECT_EQ(stewardctl::wrapText("one two", 0), (std::vector<std::string>{"one two"}));
  EXPECT_EQ(stewardctl::wrapText("", 10), (std::vector<std::string>{""}));
}

TEST_F(ReviewTest, ExplainWalksBackToTheSignal) {
  auto e = explainDecision(ledger_->database(), "D" + std::to_string(confirmed_));
  ASSERT_TRUE(e.ok()) << e.error().message;
  std::vector<std::int64_t> chain;
  for (const auto& d : e->at("chain").as_array())
    chain.push_back(d.at("seq").as_int64());
  const std::vector<std::int64_t> expected{admitted_,       need_,
                                           policy_.seq,     rfq_,
                                           offer_b_,        offer_b_ + 2 /* counter.sent */,
                                           counter_answer_, chosen_,
                                           confirmed_ - 1,  confirmed_};
  ASSERT_EQ(chain.size(), expected.size());
  EXPECT_EQ(chain.front(), admitted_);
  EXPECT_EQ(chain.back(), confirmed_);
  EXPECT_EQ(std::count(chain.begin(), chain.end(), 2), 0) << "the meter is not a cause";

  const auto& rules = e->at("rules").as_array();
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].at("rules").as_array().at(0).as_string(), "permit:consumables");

  const auto& groups = e->at("offers").as_array();
  ASSERT_EQ(groups.size(), 1u);
  const auto& offers = groups[0].at("offers").as_array();
  ASSERT_EQ(offers.size(), 4u) << json::serialize(offers);
  auto find = [&](const char* vendor, int round) -> const json::object& {
    for (const auto& o : offers) {
      if (o.at("vendor").as_string() == vendor && o.at("round").as_int64() == round)
        return o.as_object();
    }
    ADD_FAILURE() << "no offer from " << vendor << " round " << round;
    static json::object none;
    return none;
  };
  EXPECT_EQ(find("acme", 1).at("verdict").as_string(), "rejected");
  EXPECT_DOUBLE_EQ(find("acme", 1).at("score").as_double(), 0.71);
  EXPECT_TRUE(find("bolt", 1).at("verdict").is_null()) << "answered by a counter, no verdict";
  EXPECT_EQ(find("bolt", 2).at("verdict").as_string(), "chosen");
  EXPECT_EQ(find("bolt", 2).at("total").as_string(), "25.00 EUR");
  EXPECT_EQ(find("cheapo", 1).at("reasons").as_array().at(0).as_string(),
            "delivery 9d exceeds lead time 5d");
}

TEST_F(ReviewTest, ExplainPrintsTheOffersSideBySide) {
  std::ostringstream out;
  ASSERT_TRUE(printExplanation(ledger_->database(), "order:o1", OutputStyle{}, out).ok());
  const std::string text = out.str();
  EXPECT_NE(text.find("D" + std::to_string(confirmed_) + "  order.confirmed"), std::string::npos)
      << text;
  EXPECT_NE(text.find("toner-black at 8% (low mark 10%)"), std::string::npos);
  EXPECT_NE(text.find("<signed message, 300 bytes>"), std::string::npos) << "evidence summarised";
  EXPECT_NE(text.find("permit:consumables"), std::string::npos);
  // One table line per offer, columns aligned under the header.
  auto rows = lines(text);
  auto header = std::find_if(rows.begin(), rows.end(), [](const std::string& l) {
    return l.find("VENDOR") != std::string::npos;
  });
  ASSERT_NE(header, rows.end()) << text;
  const auto total_end = header->find("TOTAL") + 5;  // right-aligned column
  int offers = 0;
  for (auto it = header + 1; it != rows.end() && it->starts_with("  D"); ++it, ++offers) {
    EXPECT_NE((*it)[total_end - 1], ' ') << *it;
    EXPECT_NE(it->find(" EUR"), std::string::npos);
  }
  EXPECT_EQ(offers, 4) << text;
}

TEST_F(ReviewTest, ExplainResolvesIdsAndSaysWhatIsMissing) {
  auto& db = ledger_->database();
  EXPECT_EQ(explainDecision(db, std::to_string(need_))->at("decision").at("seq").as_int64(), need_);
  EXPECT_EQ(explainDecision(db, "need:n1")->at("decision").at("kind").as_string(), "offer.chosen");
  for (const char* missing : {"D999", "order:nope", "A5", "hello"}) {
    auto r = explainDecision(db, missing);
    ASSERT_FALSE(r.ok()) << missing;
    EXPECT_NE(r.error().message.find("no "), std::string::npos) << r.error().message;
  }
}

TEST_F(ReviewTest, ExportedCsvCanBeVerifiedWithoutTheDatabase) {
  // A subject with every character CSV must quote.
  record(makeDecision("device.rejected", "device:odd,\"name\"", {{"why", "a\nb"}}, "rejected"));
  std::ostringstream csv;
  ASSERT_TRUE(exportDecisions(ledger_->database(), ExportFormat::csv, csv).ok());

  // Minimal RFC 4180 reader.
  std::vector<std::vector<std::string>> records{{}};
  std::string field;
  bool quoted = false;
  const std::string text = csv.str();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      records.back().push_back(std::move(field));
      field.clear();
      records.emplace_back();
      ++i;
    } else {
      field += c;
    }
  }
  records.pop_back();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(confirmed_) + 2);
  EXPECT_EQ(records[0][0], "seq");
  std::string prev;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& f = records[i];
    ASSERT_EQ(f.size(), 13u);
    DecisionRow row{
        std::stoll(f[0]), f[1], std::stoll(f[3]), f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]};
    EXPECT_EQ(row.prev_hash, prev);
    EXPECT_EQ(sha256Hex(canonicalForm(row)), f[12]) << "row " << f[0];
    prev = f[12];
  }
  EXPECT_EQ(records.back()[5], "device:odd,\"name\"");
}

TEST_F(ReviewTest, JsonlExportHasEveryRecord) {
  std::ostringstream out;
  ASSERT_TRUE(exportDecisions(ledger_->database(), ExportFormat::jsonl, out).ok());
  auto rows = lines(out.str());
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(confirmed_));
  auto first = json::parse(rows[0]).as_object();
  EXPECT_EQ(first.at("id").as_string(), "D1");
  EXPECT_EQ(first.at("input").at("kind").as_string(), "printer");
  EXPECT_EQ(first.at("at").as_string(), "2026-05-01T08:00:00.000Z");
  EXPECT_FALSE(parseExportFormat("xml").ok());
}

TEST_F(ReviewTest, ApprovalsListing) {
  auto approvals = Approvals::open(*ledger_, clock_);
  ApprovalRequest req;
  req.subject = "order:o2";
  req.summary = {{"item", "salt"}};
  req.amount = *core::parseMoney("35.00 EUR");
  req.expires_at = clock_.now() + std::chrono::hours(48);
  ASSERT_TRUE(approvals->request(req).ok());
  std::ostringstream table, asjson;
  ASSERT_TRUE(printApprovals(ledger_->database(), true, OutputStyle{}, table).ok());
  ASSERT_TRUE(printApprovals(ledger_->database(), true, OutputStyle{true, false}, asjson).ok());
  auto rows = lines(table.str());
  ASSERT_EQ(rows.size(), 2u) << table.str();
  EXPECT_NE(rows[1].find("A1"), std::string::npos);
  EXPECT_NE(rows[1].find("35.00 EUR"), std::string::npos);
  EXPECT_NE(rows[1].find("pending"), std::string::npos);
  EXPECT_EQ(json::parse(asjson.str()).as_array().at(0).at("amount_minor").as_int64(), 3500);
  EXPECT_EQ(explainDecision(ledger_->database(), "A1")->at("decision").at("kind").as_string(),
            "approval.requested");
}

TEST(ReviewEmpty, StatusOfALedgerWithoutOtherModulesTables) {
  steward::test::TempDir dir;
  core::ManualClock clock(startTime());
  { auto l = SqliteLedger::open(dir.file("s.db"), clock); }
  auto db = Database::open(dir.file("s.db"), OpenMode::readOnly);
  ASSERT_TRUE(db.ok());
  std::ostringstream out;
  auto r = printStatus(*db, OutputStyle{}, out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(out.str().find("empty"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("active"), std::string::npos);
  EXPECT_NE(out.str().find("no spending this month and no caps known"), std::string::npos);
  std::ostringstream approvals;
  ASSERT_TRUE(printApprovals(*db, true, OutputStyle{}, approvals).ok());
  EXPECT_EQ(approvals.str(), "no approvals waiting\n");
}

TEST_F(ReviewTest, StatusShowsPausesApprovalsCheckpointAndBudgetBars) {
  auto controls = Controls::open(*ledger_, clock_);
  ASSERT_TRUE(controls->pause("", 1000, "holiday").ok());
  auto cp = Checkpointer::open(ledger_->database(), dir_.file("k.pem"), clock_);
  ASSERT_TRUE(cp->checkpoint().ok());
  // The policy module's reservations, stored through its own BudgetStore.
  auto store = BudgetStore::open(ledger_->database());
  ASSERT_TRUE(store.ok()) << store.error().message;
  const BudgetEntry entries[] = {
      {"r1", "consumables", "", "2026-05", 3120, "EUR", "committed", clock_.now()},
      {"r2", "consumables", "", "2026-05", 1000, "EUR", "reserved", clock_.now()},
      {"r3", "consumables", "", "2026-05", 500, "EUR", "released", clock_.now()},
      {"r4", "consumables", "", "2026-04", 9999, "EUR", "committed", clock_.now()},
      {"r5", "batteries", "", "2026-05", 800, "EUR", "committed", clock_.now()},
  };
  for (const auto& e : entries)
    ASSERT_TRUE(store->save(e).ok());
  auto budgets = readBudgetUse(ledger_->database());
  ASSERT_TRUE(budgets.ok()) << budgets.error().message;
  ASSERT_EQ(budgets->size(), 2u);
  EXPECT_EQ(budgets->at(1).category, "consumables");
  EXPECT_EQ(budgets->at(1).spent_minor, 3120);
  EXPECT_EQ(budgets->at(1).reserved_minor, 1000);
  (*budgets)[1].limit_minor = 6000;  // the caps come from the policy

  auto status = queryStatus(ledger_->database(), *budgets);
  ASSERT_TRUE(status.ok()) << status.error().message;
  std::ostringstream out;
  renderStatus(*status, OutputStyle{}, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("PAUSED"), std::string::npos) << text;
  EXPECT_NE(text.find("by uid 1000 (holiday)"), std::string::npos) << text;
  EXPECT_NE(text.find("signed"), std::string::npos);
  EXPECT_NE(text.find("[##########+++-------]  31.20 EUR  10.00 EUR  60.00 EUR  68 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no cap"), std::string::npos);
  EXPECT_EQ(status->at("purchasing").at("paused").as_bool(), true);
}

TEST(BudgetBar, ShowsSpentReservedAndClampsAtTheCap) {
  EXPECT_EQ(budgetBar(3000, 1000, 6000, 20), "[##########+++-------]");
  EXPECT_EQ(budgetBar(0, 0, 6000, 10), "[----------]");
  EXPECT_EQ(budgetBar(9000, 0, 6000, 10), "[##########]");
  EXPECT_EQ(budgetBar(5000, 5000, 6000, 10), "[########++]");
  EXPECT_EQ(budgetBar(100, 0, std::nullopt, 4), "[    ]");
  // A cap of 0 is a cap: anything spent or reserved fills it.
  EXPECT_EQ(budgetBar(100, 0, 0, 4), "[####]");
  EXPECT_EQ(budgetBar(0, 0, 0, 4), "[----]");
}

TEST(StatusView, AZeroCapIsShownAsACapNotAsNoCap) {
  json::object status{{"ledger", json::object{{"head_seq", 0}}},
                      {"budgets", json::array{json::object{{"category", "treats"},
                                                           {"spent_minor", 0},
                                                           {"reserved_minor", 250},
                                                           {"limit_minor", 0},
                                                           {"currency", "EUR"}},
                                              json::object{{"category", "toner"},
                                                           {"spent_minor", 100},
                                                           {"reserved_minor", 0},
                                                           {"limit_minor", nullptr},
                                                           {"currency", "EUR"}}}}};
  std::ostringstream out;
  renderStatus(status, OutputStyle{}, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("treats    [####################]  0.00 EUR  2.50 EUR  0.00 EUR  100 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("toner"), std::string::npos) << text;
  EXPECT_NE(text.find("no cap"), std::string::npos) << text;
}

TEST(Since, AcceptsTimesAndDurations) {
  const auto now = startTime();
  EXPECT_EQ(*parseSince("48h", now), now - std::chrono::hours(48));
  EXPECT_EQ(*parseSince("2026-04-30", now), now - std::chrono::hours(32));
  EXPECT_EQ(*parseSince("2026-05-01T07:30:00Z", now), now - std::chrono::minutes(30));
  EXPECT_FALSE(parseSince("yesterday", now).ok());
  EXPECT_FALSE(parseSince("2026-02-30", now).ok());
}

namespace views {

using stewardctl::Layout;
using stewardctl::renderDevices;
using stewardctl::renderNeeds;

const char* kDevices =
    R"([{"id":"zigbee2mqtt:0x00158d0001a2b3c4","name":"Kitchen smoke alarm","kind":"sensor",)"
    R"("manufacturer":"Aqara","model":"JTYJ-GD-01LM/BW","sources":["zigbee2mqtt","homeassistant"],)"
    R"("availability":"online","last_seen":"2026-05-12T07:00:00Z","levels":{"battery":)"
    R"({"value":9.3E1,"unit":"%"}},"needs":[]},)"
    R"({"id":"ipp:office-printer","name":"","kind":"printer","model":"HL-L3270CDW",)"
    R"("sources":["dnssd"],"availability":"online","last_seen":"2026-05-12T09:30:00Z",)"
    R"("levels":{"toner-black":{"value":1.2E1,"unit":"%"},"toner-cyan":{"value":4.4E1,"unit":"%"},)"
    R"("toner-magenta":{"value":5.1E1,"unit":"%"},"toner-yellow":{"value":6.6E1,"unit":"%"}},)"
    R"("needs":[{"key":"toner-black"}]}])";

const char* kNeeds =
    R"([{"id":7,"item":"brother-tn-247bk","state":"open","quantity":1,)"
    R"("needed_by":"2026-05-14T12:00:00Z","estimate":"45.00 EUR","reason":)"
    R"("toner black at 12 % and falling 3.1 % a day; runs out in 3 days, delivery takes 2",)"
    R"("sources":[{"device":"ipp:office-printer","key":"toner-black","forecast":)"
    R"({"level":1.2E1,"unit":"%","runout":"2026-05-15T10:00:00Z"}}]}])";

std::vector<std::string> rendered(void (*view)(const json::value&, const Layout&, std::ostream&),
                                  const char* document, std::size_t width) {
  Layout layout{OutputStyle{}, width, *parseUtc("2026-05-12T10:00:00Z")};
  std::ostringstream out;
  view(json::parse(document), layout, out);
  return lines(out.str());
}

std::size_t widest(const std::vector<std::string>& ls) {
  std::size_t w = 0;
  for (const auto& l : ls)
    w = std::max(w, displayWidth(l));
  return w;
}

TEST(DevicesView, FitsEightyColumnsByDroppingTheLeastImportantColumnsFirst) {
  const auto narrow = rendered(renderDevices, kDevices, 80);
  ASSERT_EQ(narrow.size(), 3u);
  EXPECT_LE(widest(narrow), 80u) << narrow[0] << '\n' << narrow[1] << '\n' << narrow[2];
  EXPECT_EQ(narrow[0].find("SOURCES"), std::string::npos) << narrow[0];  // dropped first
  EXPECT_NE(narrow[0].find("NAME"), std::string::npos);
  EXPECT_NE(narrow[0].find("LEVELS"), std::string::npos);
  EXPECT_NE(narrow[1].find("Kitchen smoke alarm"), std::string::npos) << narrow[1];
  EXPECT_NE(narrow[1].find("battery 93 %"), std::string::npos) << narrow[1];

  const auto wide = rendered(renderDevices, kDevices, 200);
  EXPECT_LE(widest(wide), 200u);
  EXPECT_NE(wide[0].find("STATE"), std::string::npos) << wide[0];
  EXPECT_GT(widest(wide), widest(narrow));
  // A device without a name is shown by its id rather than an empty cell.
  EXPECT_EQ(wide[2].rfind("ipp:office-printer", 0), 0u) << wide[2];
  EXPECT_NE(wide[2].find("toner black 12 %, toner cyan 44 %"), std::string::npos) << wide[2];

  // --wide: nothing dropped or cut, whatever the width.
  const auto unlimited = rendered(renderDevices, kDevices, 0);
  EXPECT_NE(unlimited[0].find("SOURCES"), std::string::npos);
  EXPECT_EQ(unlimited[2].find("…"), std::string::npos) << unlimited[2];
  EXPECT_NE(unlimited[2].find("2026-05-12 09:30:00 UTC (30 min ago)"), std::string::npos)
      << unlimited[2];
}

TEST(NeedsView, SaysWhatAndWhenInWordsAtEitherWidth) {
  const auto narrow = rendered(renderNeeds, kNeeds, 80);
  ASSERT_EQ(narrow.size(), 2u);
  EXPECT_LE(widest(narrow), 80u) << narrow[0] << '\n' << narrow[1];
  EXPECT_NE(narrow[1].find("brother-tn-247bk"), std::string::npos) << narrow[1];

  const auto wide = rendered(renderNeeds, kNeeds, 200);
  EXPECT_NE(wide[1].find("ipp:office-printer toner black 12 %, runs out in 3 days"),
            std::string::npos)
      << wide[1];
  EXPECT_NE(wide[1].find("45.00 EUR"), std::string::npos) << wide[1];
  EXPECT_NE(wide[1].find("in 2 days"), std::string::npos) << wide[1];
  EXPECT_NE(wide[1].find("delivery takes 2"), std::string::npos) << wide[1];
}

TEST(PlainJson, NumbersAreWrittenAsPeopleWriteThem) {
  std::ostringstream out;
  stewardctl::writePlainJson(json::parse(R"({"a":9.3E1,"b":1.2E0,"c":-2.5E-1,"d":7,"e":"x"})"),
                             out);
  EXPECT_EQ(out.str(), R"({"a":93,"b":1.2,"c":-0.25,"d":7,"e":"x"})");
}

}  // namespace views

}  // namespace
}  // namespace steward::ledger::test
