// The HTTPS client against the real marketplace server on loopback (a CA made at its start):
// trust by CA file or key pin, refusal of an unknown CA and of a wrong pin, connection reuse,
// caps on answers, deadlines, and retries only where a repeat is safe.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "negotiation/https_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::negotiation {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::string kMarketplace = STEWARD_BINARY_DIR "/tests/marketplace/steward-marketplace";

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("vendors.json", R"({"vendors": [
      {"name": "tonerhaus", "version": "2026-04-08", "currency": "EUR",
       "catalogue": [{"id": "tn-2420", "title": "Brother TN-2420 toner", "price": 5490, "stock": 20}]}
    ]})");
    market_ = test::Process({kMarketplace, "--config", dir_.file("vendors.json"), "--ports-file",
                             dir_.file("ports.json"), "--state-dir", dir_.file("market")},
                            dir_.file("market.log"), {});
    ASSERT_TRUE(test::waitFor([&] { return std::ifstream(dir_.file("ports.json")).good(); }, 20s))
        << test::readFile(dir_.file("market.log"));
    const auto ports = boost::json::parse(test::readFile(dir_.file("ports.json"))).as_object();
    ca_file_ = std::string(ports.at("ca_file").as_string());
    pin_ = std::string(ports.at("tls_spki_sha256").as_string());
    const auto& vendor = ports.at("vendors").as_array().at(0).as_object();
    port_ = static_cast<std::uint16_t>(vendor.at("port").as_int64());
    origin_ = "https://127.0.0.1:" + std::to_string(port_);
  }

  void TearDown() override { market_.stop(); }

  // Runs one request on a fresh loop.
  core::Result<HttpResponse> fetch(HttpsClient& client, const std::string& url, TrustSettings trust,
                                   HttpRequest request = {}) {
    auto parsed = parseHttpsUrl(url);
    EXPECT_TRUE(parsed) << parsed.error().message;
    std::optional<core::Result<HttpResponse>> out;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          out = co_await client.request(*parsed, std::move(request), std::move(trust));
        },
        asio::detached);
    io_.restart();
    io_.run_for(30s);
    if (!out) return core::fail("no answer from the loop");
    return *out;
  }

  void misbehave(const std::string& json) {
    HttpsClient admin(io_.get_executor());
    HttpRequest r;
    r.method = "POST";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json;
    auto a = fetch(admin, origin_ + "/_admin/misbehaviour", {ca_file_, ""}, r);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->status / 100, 2) << a->body;
  }

  test::TempDir dir_;
  test::Process market_;
  asio::io_context io_;
  std::string ca_file_, pin_, origin_;
  std::uint16_t port_ = 0;
};

TEST(HttpsUrl, AcceptsOnlyHttpsAndSplitsItsParts) {
  auto u = parseHttpsUrl("https://shop.example:8443/ucp/checkout-sessions?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "shop.example");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/ucp/checkout-sessions?x=1");
  auto v6 = parseHttpsUrl("https://[::1]/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->origin(), "https://[::1]");
  for (const char* bad : {"http://shop.example/", "https://user@shop.example/", "https:///x",
                          "https://shop.example:0/", "https://shop.example:99999/",
                          "https://sh op.example/", "ftp://x", "https://shop.example/a b"}) {
    auto r = parseHttpsUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::ErrorCode::invalidInput) << bad;
  }
}

TEST_F(HttpsClientTest, TrustsTheRetailersCaAndKeepsTheConnection) {
  HttpsClient client(io_.get_executor());
  auto r = fetch(client, origin_ + "/.well-known/ucp", {ca_file_, ""});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"ucp\""), std::string::npos);
  EXPECT_NE(r->header("content-digest"), "") << "2026-04-08 answers carry a Content-Digest";
  EXPECT_EQ(client.idleConnections(), 1u);
  auto again = fetch(client, origin_ + "/.well-known/ucp", {ca_file_, ""});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(client.idleConnections(), 1u);
  // By name too: the certificate names localhost.
  auto by_name = fetch(client, "https://localhost:" + std::to_string(port_) + "/.well-known/ucp",
                       {ca_file_, ""});
  ASSERT_TRUE(by_name) << by_name.error().message;
}

TEST_F(HttpsClientTest, RefusesAnUnknownCaAndAWrongPin) {
  HttpsClient client(io_.get_executor());
  auto system_store = fetch(client, origin_ + "/.well-known/ucp", {});
  ASSERT_FALSE(system_store);
  EXPECT_EQ(system_store.error().code, core::ErrorCode::denied) << system_store.error().message;
  auto pinned = fetch(client, origin_ + "/.well-known/ucp", {ca_file_, pin_});
  ASSERT_TRUE(pinned) << pinned.error().message;
  auto wrong = fetch(client, origin_ + "/.well-known/ucp",
                     {ca_file_, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, core::ErrorCode::denied);
}

TEST_F(HttpsClientTest, CapsTheAnswerAndKeepsItsDeadline) {
  HttpsOptions small;
  small.max_body_bytes = 64;
  HttpsClient capped(io_.get_executor(), small);
  auto big = fetch(capped, origin_ + "/.well-known/ucp", {ca_file_, ""});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, core::ErrorCode::invalidInput) << big.error().message;

  misbehave(R"({"operations": ["profile"], "delay_ms": 3000})");
  HttpsOptions quick;
  quick.request_timeout = 300ms;
  HttpsClient impatient(io_.get_executor(), quick);
  const auto started = std::chrono::steady_clock::now();
  auto slow = fetch(impatient, origin_ + "/.well-known/ucp", {ca_file_, ""});
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, core::ErrorCode::timeout) << slow.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);
}

TEST_F(HttpsClientTest, RetriesOnlyWhatIsSafeToRepeat) {
  HttpsClient client(io_.get_executor());
  auto url = parseHttpsUrl(origin_ + "/.well-known/ucp");
  ASSERT_TRUE(url);
  misbehave(R"({"operations": ["profile"], "status": 503, "times": 2})");
  std::optional<core::Result<HttpResponse>> got, refused;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        // Named arguments: GCC 12 mishandles braced temporaries inside co_await expressions.
        const TrustSettings trust{ca_file_, ""};
        HttpRequest get;
        got = co_await client.requestWithRetry(*url, get, trust, 4, 20ms);
        HttpRequest post;
        post.method = "POST";
        refused = co_await client.requestWithRetry(*url, post, trust, 4, 20ms);
      },
      asio::detached);
  io_.restart();
  io_.run_for(30s);
  ASSERT_TRUE(got && *got) << (got ? got->error().message : "no answer");
  EXPECT_EQ((*got)->status, 200) << "two 503s, then the answer";
  ASSERT_TRUE(refused.has_value());
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().code, core::ErrorCode::invalidInput);
}

}  // namespace
}  // namespace steward::negotiation
