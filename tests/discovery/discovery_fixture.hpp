// Shared pieces of the discovery tests: an in-process mqtt::Client that delivers what a test
// injects (for unit tests; integration tests use the real broker), the samples file, and a
// fixture that owns a real SQLite ledger in a temp dir, a manual clock and a captured log.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "discovery/device_hub.hpp"
#include "discovery/settings.hpp"
#include "ledger/sqlite_ledger.hpp"
#include "mqtt/client.hpp"
#include "support/temp_dir.hpp"

namespace steward::discovery::testing {

class FakeClient final : public mqtt::Client {
 public:
  struct Published {
    std::string topic, payload;
    bool retain;
  };

  void subscribe(std::string filter, int, MessageHandler handler) override {
    subs_.push_back({std::move(filter), std::move(handler)});
  }
  core::Result<void> publish(std::string_view topic, std::string_view payload, int,
                             bool retain) override {
    if (!connected_) return core::fail("not connected");
    published.push_back({std::string(topic), std::string(payload), retain});
    return {};
  }
  void onConnectionChange(ConnectionHandler handler) override {
    connection_.push_back(std::move(handler));
  }
  bool connected() const override { return connected_; }
  void setConnected(bool c) {
    connected_ = c;
    for (auto& h : connection_)
      h(c);
  }

  // Delivers one message to every matching subscription, as the real client does.
  void inject(std::string_view topic, std::string_view payload, bool retain = false) {
    const mqtt::Message m{topic, payload, 0, retain};
    const auto subs = subs_;  // handlers may subscribe (watch) while we deliver
    for (const auto& s : subs)
      if (mqtt::topicMatches(s.filter, topic)) s.handler(m);
  }
  bool subscribedTo(std::string_view filter) const {
    for (const auto& s : subs_)
      if (s.filter == filter) return true;
    return false;
  }

  std::vector<Published> published;

 private:
  struct Sub {
    std::string filter;
    MessageHandler handler;
  };
  std::vector<Sub> subs_;
  std::vector<ConnectionHandler> connection_;
  bool connected_ = true;
};

struct Sample {
  std::string origin, kind, topic, payload;
  bool retain = false;
};

inline std::vector<Sample> loadSamples() {
  std::vector<Sample> out;
  std::ifstream in(std::string(STEWARD_SAMPLES_DIR) + "/mqtt-devices.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto v = boost::json::parse(line).as_object();
    Sample s;
    s.origin = v.at("origin").as_string();
    s.kind = v.at("kind").as_string();
    s.topic = v.at("topic").as_string();
    s.retain = v.at("retain").as_bool();
    const auto& p = v.at("payload");
    s.payload = p.is_string() ? std::string(p.as_string()) : boost::json::serialize(p);
    out.push_back(std::move(s));
  }
  return out;
}

// A log that tests can read back.
class CapturedLog {
 public:
  CapturedLog() : file_(open_memstream(&buf_, &size_)), log_(core::LogLevel::debug, file_) {}
  ~CapturedLog() {
    fclose(file_);
    free(buf_);
  }
  core::Logger& logger() { return log_; }
  std::string text() {
    fflush(file_);
    return std::string(buf_, size_);
  }
  std::size_t count(std::string_view needle) {
    const std::string t = text();
    std::size_t n = 0;
    for (auto p = t.find(needle); p != std::string::npos; p = t.find(needle, p + 1))
      ++n;
    return n;
  }

 private:
  char* buf_ = nullptr;
  std::size_t size_ = 0;
  FILE* file_;
  core::Logger log_;
};

class DiscoveryTest : public ::testing::Test {
 protected:
  DiscoveryTest() { openLedger(); }

  void openLedger() {
    auto l = ledger::SqliteLedger::open(dir_.file("steward.db"), clock_);
    if (!l) throw std::runtime_error(l.error().message);
    ledger_ = std::move(*l);
  }

  // Builds and starts a DeviceHub on the fake client.
  DeviceHub& startHub(DeviceHubOptions options = {}) {
    hub_ = std::make_unique<DeviceHub>(io_.get_executor(), *client_, *ledger_, config_, clock_,
                                       log_.logger(), options);
    hub_->onNeedSignal([this](const NeedSignal& s) { signals_.push_back(s); });
    hub_->onDeviceEvent([this](const DeviceEvent& e) {
      events_.push_back(std::string(e.type == DeviceEventType::appeared ? "appeared"
                                    : e.type == DeviceEventType::gone   ? "gone"
                                                                        : "changed") +
                        " " + e.device.id);
    });
    auto r = hub_->start();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *hub_;
  }

  void send(std::string_view topic, std::string_view payload, bool retain = false) {
    io_.poll();
    io_.restart();
    client_->inject(topic, payload, retain);
    io_.poll();
    io_.restart();
  }

  long long count(const std::string& sql) {
    auto q = ledger_->database().prepare(sql);
    EXPECT_TRUE(q.ok());
    auto row = q->step();
    EXPECT_TRUE(row.ok() && *row);
    return q->int64(0);
  }
  long long decisions(const std::string& kind) {
    return count("SELECT count(*) FROM decisions WHERE kind = '" + kind + "'");
  }

  // Like a daemon restart: a new hub on a new connection, over the same database file.
  void restartHub(DeviceHubOptions options = {}) {
    hub_->stop();
    hub_.reset();
    client_ = std::make_unique<FakeClient>();
    ledger_.reset();
    openLedger();
    startHub(options);
  }

  const Device* device(std::string_view id) { return hub_->registry().find(id); }

  test::TempDir dir_;
  core::ManualClock clock_{core::fromUnixMillis(1'700'000'000'000)};
  Settings config_;
  CapturedLog log_;
  boost::asio::io_context io_;
  std::unique_ptr<FakeClient> client_ = std::make_unique<FakeClient>();
  std::unique_ptr<ledger::SqliteLedger> ledger_;
  std::unique_ptr<DeviceHub> hub_;
  std::vector<NeedSignal> signals_;
  std::vector<std::string> events_;
};

}  // namespace steward::discovery::testing
