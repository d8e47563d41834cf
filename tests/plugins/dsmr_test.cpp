// The DSMR plugin: its telegram parser on real telegrams of every version (DSMR 2.2, 3.0, 4.2,
// 5.0, Belgian e-MUCS; sources cited in the data files), refusals, and the real steward-dsmr
// program publishing to a real broker, read by the hub's DeviceHub.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>

#include "discovery/device_hub.hpp"
#include "discovery/settings.hpp"
#include "dsmr.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "mqtt/mosquitto_client.hpp"
#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::dsmr {
namespace {

using namespace std::chrono_literals;

const std::string kSamples = std::string(STEWARD_SAMPLES_DIR) + "/dsmr-telegrams.txt";

std::string sampleFile() {
  std::ifstream in(kSamples, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sampleTelegram() {
  Framer f;
  auto telegrams = f.feed(sampleFile());
  EXPECT_EQ(telegrams.size(), 1u);
  return telegrams.empty() ? std::string() : telegrams.front();
}

TEST(DsmrParser, ReadsTheSampleTelegram) {
  const auto r = parseTelegram(sampleTelegram());
  ASSERT_TRUE(r.telegram) << r.error;
  const Telegram& t = *r.telegram;
  EXPECT_TRUE(t.crc_checked);
  EXPECT_EQ(t.header, "KFM5KAIFA-METER");
  EXPECT_EQ(t.version, "42");
  EXPECT_EQ(t.timestamp, "161113205757W");
  EXPECT_EQ(t.equipment_id, "3960221976967177082151037881335713");
  ASSERT_TRUE(t.importKwh());
  EXPECT_NEAR(*t.importKwh(), 1581.123 + 1435.706, 1e-9);
  EXPECT_EQ(t.import_tariff1->unit, "kWh");
  EXPECT_NEAR(*t.exportKwh(), 0.0, 1e-12);
  EXPECT_NEAR(t.power_delivered->value, 2.027, 1e-9);
  EXPECT_EQ(t.power_failures, 15);
  EXPECT_EQ(t.long_power_failures, 7);
  ASSERT_TRUE(t.gas);
  EXPECT_NEAR(t.gas->value, 981.443, 1e-9);
  EXPECT_EQ(t.gas->unit, "m3");
  EXPECT_EQ(t.gas_timestamp, "161129200000W");
}

// The telegram `name` from tests/plugins/data/dsmr-versions.txt, with CRLF line endings.
std::string versionTelegram(const std::string& name) {
  std::ifstream in(std::string(STEWARD_SOURCE_DIR) + "/tests/plugins/data/dsmr-versions.txt");
  std::string line, out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("### BEGIN " + name + " ", 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("### END", 0) == 0) {
      return out;
    } else if (inside) {
      out += line + "\r\n";
    }
  }
  ADD_FAILURE() << "no telegram " << name;
  return {};
}

TEST(DsmrParser, Dsmr22WithItsGasProfileRecord) {
  const auto r = parseTelegram(versionTelegram("TELEGRAM_V2_2"));
  ASSERT_TRUE(r.telegram) << r.error;
  const Telegram& t = *r.telegram;
  EXPECT_FALSE(t.crc_checked);
  EXPECT_EQ(t.variant(), "DSMR 2.2/3.0");
  EXPECT_EQ(t.header, "ISk5\\2MT382-1004");
  EXPECT_NEAR(*t.importKwh(), 2.002, 1e-9);
  EXPECT_NEAR(*t.exportKwh(), 2.002, 1e-9);
  EXPECT_NEAR(t.power_delivered->value, 1.01, 1e-9);
  ASSERT_TRUE(t.gas);  // 0-1:24.3.0(...)(m3) then "(00001.001)" on its own line
  EXPECT_NEAR(t.gas->value, 1.001, 1e-9);
  EXPECT_EQ(t.gas->unit, "m3");
  EXPECT_EQ(t.gas_timestamp, "161107190000");
  EXPECT_FALSE(t.power_failures);
}

TEST(DsmrParser, Dsmr30) {
  const auto r = parseTelegram(versionTelegram("TELEGRAM_V3"));
  ASSERT_TRUE(r.telegram) << r.error;
  const Telegram& t = *r.telegram;
  EXPECT_FALSE(t.crc_checked);
  EXPECT_EQ(t.equipment_id, "4B384547303034303436333935353037");
  EXPECT_NEAR(*t.importKwh(), 24691.356, 1e-6);
  EXPECT_NEAR(t.power_delivered->value, 1.19, 1e-9);
  ASSERT_TRUE(t.gas);
  EXPECT_NEAR(t.gas->value, 1.001, 1e-9);
  EXPECT_EQ(t.gas_timestamp, "090212160000");
}

TEST(DsmrParser, Dsmr50) {
  const std::string text = versionTelegram("TELEGRAM_V5");
  const auto r = parseTelegram(text);
  ASSERT_TRUE(r.telegram) << r.error;
  const Telegram& t = *r.telegram;
  EXPECT_TRUE(t.crc_checked);  // 6EEE, as published with the telegram
  EXPECT_EQ(t.variant(), "DSMR 5.0");
  EXPECT_NEAR(*t.importKwh(), 6.825, 1e-9);
  EXPECT_NEAR(*t.exportKwh(), 2.444, 1e-9);
  EXPECT_EQ(t.power_failures, 13);
  EXPECT_EQ(t.long_power_failures, 0);
  ASSERT_TRUE(t.gas);
  EXPECT_NEAR(t.gas->value, 0.107, 1e-9);
  EXPECT_FALSE(t.water);
  // One changed digit and the CRC no longer matches.
  std::string corrupt = text;
  corrupt[corrupt.find("000004.426")] = '1';
  EXPECT_FALSE(parseTelegram(corrupt).telegram);
}

TEST(DsmrParser, BelgianEmucsWithGasAndWater) {
  const auto r = parseTelegram(versionTelegram("TELEGRAM_FLUVIUS_V171"));
  ASSERT_TRUE(r.telegram) << r.error;
  const Telegram& t = *r.telegram;
  EXPECT_TRUE(t.crc_checked);
  EXPECT_TRUE(t.belgian);
  EXPECT_EQ(t.version, "50217");
  EXPECT_EQ(t.variant(), "e-MUCS (Belgium), version 50217");
  EXPECT_NEAR(*t.importKwh(), 15.792, 1e-9);
  EXPECT_NEAR(*t.exportKwh(), 0.011, 1e-9);
  ASSERT_TRUE(t.gas);  // 0-1:24.2.3, device type 3
  EXPECT_NEAR(t.gas->value, 112.384, 1e-9);
  ASSERT_TRUE(t.water);  // 0-2:24.2.1, device type 7: water, not a second gas meter
  EXPECT_NEAR(t.water->value, 872.234, 1e-9);
  EXPECT_EQ(t.water_timestamp, "200512134558S");
}

TEST(DsmrParser, RefusesAMalformedGasProfileRecord) {
  std::string t = versionTelegram("TELEGRAM_V2_2");
  std::string bad = t;
  bad.replace(bad.find("(00001.001)\r\n0-1:24.4.0"), 11, "(lots)");
  auto r = parseTelegram(bad);
  EXPECT_FALSE(r.telegram);
  EXPECT_NE(r.error.find("gas value"), std::string::npos) << r.error;
  bad = t;
  bad.replace(bad.find("(0-1:24.2.1)(m3)"), 16, "(m3)");
  r = parseTelegram(bad);
  EXPECT_FALSE(r.telegram);
  EXPECT_NE(r.error.find("24.3.0"), std::string::npos) << r.error;
}

TEST(DsmrParser, Crc16ArcMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc16Arc("123456789"), 0xBB3D);  // the catalogued check value of CRC-16/ARC
}

TEST(DsmrParser, RefusesCorruptedTelegrams) {
  std::string t = sampleTelegram();
  std::string flipped = t;
  flipped[flipped.find("001581.123")] = '9';
  auto r = parseTelegram(flipped);
  EXPECT_FALSE(r.telegram);
  EXPECT_NE(r.error.find("CRC mismatch"), std::string::npos) << r.error;

  EXPECT_FALSE(parseTelegram(t.substr(0, t.find('!'))).telegram);  // no end

  // Without a CRC (DSMR 2.2/3.0 style) the lines must still be well-formed.
  EXPECT_TRUE(
      parseTelegram("/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(00123.456*kWh)\r\n!\r\n").telegram);
  r = parseTelegram("/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(lots*kWh)\r\n!\r\n");
  EXPECT_FALSE(r.telegram);
  EXPECT_NE(r.error.find("line 3: 1-0:1.8.1: not a number"), std::string::npos) << r.error;
  EXPECT_FALSE(parseTelegram("/X\r\n\r\nnonsense\r\n!\r\n").telegram);
  EXPECT_FALSE(parseTelegram("/X\r\n\r\n1-0:1.8.1(-5*kWh)\r\n!\r\n").telegram);
}

TEST(DsmrParser, FramesTelegramsSplitAcrossReads) {
  const std::string t = sampleTelegram();
  const std::string stream = "noise\r\n" + t + t.substr(0, 100);
  Framer f;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < stream.size(); i += 7) {
    for (auto& x : f.feed(std::string_view(stream).substr(i, 7)))
      got.push_back(x);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], t);
  for (auto& x : f.feed(t.substr(100)))
    got.push_back(x);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], t);
}

TEST(DsmrPlugin, PublishesReadingsTheHubUnderstands) {
  test::Broker broker;
  test::TempDir dir;
  core::ManualClock clock{core::fromUnixMillis(1'700'000'000'000)};
  core::Logger log(core::LogLevel::warning);
  auto ledger = ledger::SqliteLedger::open(dir.file("steward.db"), clock);
  ASSERT_TRUE(ledger.ok());
  discovery::Settings config;
  boost::asio::io_context io;
  mqtt::MosquittoOptions options;
  options.broker.port = broker.port();
  mqtt::MosquittoClient client(io.get_executor(), options, log);
  discovery::DeviceHub hub(io.get_executor(), client, **ledger, config, clock, log);
  ASSERT_TRUE(hub.start().ok());
  client.start();

  // The plugin's needs are retained, so it may run before or after the hub subscribes.
  test::Process plugin(
      {std::string(STEWARD_BINARY_DIR) + "/plugins/dsmr/steward-dsmr", "--file", kSamples, "--once",
       "--broker", "127.0.0.1:" + std::to_string(broker.port()), "--id", "p1-test"},
      dir.file("plugin.log"));
  auto status = plugin.wait(30s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << test::readFile(dir.file("plugin.log"));

  const discovery::Device* d = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    io.restart();
    d = hub.registry().find("steward:p1-test");
    if (d && d->levels.contains("gas") && d->levels.contains("electricity-import") &&
        d->availability == discovery::Availability::offline)
      break;
  }
  ASSERT_TRUE(d) << test::readFile(dir.file("plugin.log"));
  EXPECT_EQ(d->kind, "meter");
  EXPECT_EQ(d->model, "KFM5KAIFA-METER (DSMR 4.2)");
  ASSERT_TRUE(d->levels.contains("electricity-import"));
  EXPECT_NEAR(d->levels.at("electricity-import").value, 3016.829, 1e-6);
  EXPECT_EQ(d->levels.at("electricity-import").unit, "kWh");
  ASSERT_TRUE(d->levels.contains("gas"));
  EXPECT_NEAR(d->levels.at("gas").value, 981.443, 1e-6);
  EXPECT_EQ(d->availability, discovery::Availability::offline);  // it said goodbye
  EXPECT_EQ(hub.counters().rejected_total(), 0u);
  EXPECT_NE(std::find(d->identifiers.begin(), d->identifiers.end(),
                      "dsmr:3960221976967177082151037881335713"),
            d->identifiers.end());
}

}  // namespace
}  // namespace steward::dsmr
