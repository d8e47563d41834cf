// The version split as the HTTP client uses it: sign a request and check a response or webhook
// for UCP 2026-04-08 (RFC 9421) and 2026-01-11 (Request-Signature, a detached JWS).
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/jws.hpp"
#include "negotiation/signing/message_signing.hpp"

namespace steward::negotiation {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1767225600;

core::TimePoint at(std::int64_t s) {
  return core::TimePoint{std::chrono::seconds(s)};
}

EcPrivateKey makeKey(Curve curve = Curve::kP256) {
  auto k = EcPrivateKey::generate(curve);
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

HttpMessage createCheckout() {
  HttpMessage m;
  m.method = "POST";
  m.target_uri = "https://shop.example/checkout-sessions";
  m.body = R"({"line_items":[{"item":{"id":"toner-tn247"},"quantity":1}]})";
  m.fields = {{"Content-Type", "application/json"},
              {"UCP-Agent", R"(profile="https://home.example/.well-known/ucp")"},
              {"Idempotency-Key", "7d0f4f7c-6a55-4b8e-9a8e-0b7a1f1c2d3e"}};
  return m;
}

class MessageSigningTest : public ::testing::Test {
 protected:
  MessageSigningTest()
      : hub_key_(makeKey()), merchant_key_(makeKey()), signer_(hub_key_, "hub-1", clock_) {
    EXPECT_TRUE(hub_keys_.add({hub_key_.publicKey(), "hub-1"}).ok());
    EXPECT_TRUE(merchant_keys_.add({merchant_key_.publicKey(), "merchant-2026"}).ok());
  }

  HttpMessage signedResponse(int status, std::string body) {
    HttpMessage r;
    r.status = status;
    r.body = std::move(body);
    r.fields = {{"Content-Type", "application/json"}, {"Content-Digest", contentDigest(r.body)}};
    HttpSignOptions o;
    o.keyid = "merchant-2026";
    o.components = {"@status", "content-digest", "content-type"};
    EXPECT_TRUE(signHttpMessage(r, merchant_key_, o, clock_).ok());
    return r;
  }

  core::ManualClock clock_{at(kNow)};
  EcPrivateKey hub_key_, merchant_key_;
  KeySet hub_keys_, merchant_keys_;
  RequestSigner signer_;
};

TEST_F(MessageSigningTest, VersionNames) {
  EXPECT_EQ(*parseUcpVersion("2026-04-08"), UcpVersion::k2026_04_08);
  EXPECT_EQ(*parseUcpVersion("2026-01-11"), UcpVersion::k2026_01_11);
  auto bad = parseUcpVersion("2025-10-01");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not supported"), std::string::npos);
  EXPECT_EQ(versionName(UcpVersion::k2026_01_11), "2026-01-11");
}

TEST(UcpAgent, ProfileUrlIsParsedStrictly) {
  EXPECT_EQ(ucpAgentField("https://home.example/.well-known/ucp"),
            R"(profile="https://home.example/.well-known/ucp")");
  auto ok = parseUcpAgentProfile(R"(profile="https://home.example/.well-known/ucp", v=1)");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "https://home.example/.well-known/ucp");
  for (const char* bad : {R"(profile="http://home.example/ucp")", R"(profile=https)",
                          R"(other="https://home.example/")", R"(profile="https:///x")",
                          R"(profile="https://home.example/", profile="https://evil.example/")",
                          "profile=\"https://home.example/\x01\""}) {
    auto r = parseUcpAgentProfile(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind("invalid_profile_url: ", 0), 0u) << r.error().message;
  }
}

TEST(UcpErrorCode, ComesFromTheMessage) {
  EXPECT_EQ(ucpErrorCode(core::fail("key_not_found: no key")), "key_not_found");
  EXPECT_EQ(ucpErrorCode(core::fail("digest_mismatch: body")), "digest_mismatch");
  EXPECT_EQ(ucpErrorCode(core::fail("something else")), "signature_invalid");
}

TEST_F(MessageSigningTest, Rfc9421RequestAsAMerchantWouldVerifyIt) {
  HttpMessage m = createCheckout();
  ASSERT_TRUE(signer_.sign(UcpVersion::k2026_04_08, m).ok());
  EXPECT_EQ(*m.field("content-digest"), contentDigest(m.body));
  EXPECT_EQ(
      *m.field("signature-input"),
      R"(sig1=("@method" "@authority" "@path" "ucp-agent" "idempotency-key" "content-digest" "content-type");created=1767225600;keyid="hub-1")");
  EXPECT_FALSE(m.field("request-signature"));
  // The merchant's check, with the components signatures.md requires of a request.
  HttpVerifyOptions o;
  o.required_components = {"@method",         "@authority",     "@path",
                           "idempotency-key", "content-digest", "content-type"};
  auto v = verifyHttpMessage(m, hub_keys_, o, clock_);
  ASSERT_TRUE(v.ok()) << v.error().message;

  // Signing again (a retry) replaces the signature instead of adding one.
  clock_.advance(5s);
  ASSERT_TRUE(signer_.sign(UcpVersion::k2026_04_08, m).ok());
  EXPECT_EQ(m.field("signature-input")->find("sig1=", 1), std::string::npos);
  EXPECT_NE(m.field("signature-input")->find("created=1767225605"), std::string::npos);
}

TEST_F(MessageSigningTest, Rfc9421GetWithQueryAndNoBody) {
  HttpMessage m;
  m.method = "GET";
  m.target_uri = "https://shop.example/checkout-sessions/chk_1?expand=totals";
  ASSERT_TRUE(signer_.sign(UcpVersion::k2026_04_08, m).ok());
  EXPECT_FALSE(m.field("content-digest"));
  EXPECT_EQ(*m.field("signature-input"),
            R"(sig1=("@method" "@authority" "@path" "@query");created=1767225600;keyid="hub-1")");
  EXPECT_TRUE(verifyHttpMessage(m, hub_keys_, {}, clock_).ok());
}

TEST_F(MessageSigningTest, Rfc9421RefusesWhatUcpRequires) {
  HttpMessage no_key = createCheckout();
  no_key.removeField("Idempotency-Key");
  auto r = signer_.sign(UcpVersion::k2026_04_08, no_key);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("needs an Idempotency-Key"), std::string::npos);
  HttpMessage no_type = createCheckout();
  no_type.removeField("Content-Type");
  EXPECT_FALSE(signer_.sign(UcpVersion::k2026_04_08, no_type).ok());
  HttpMessage response;
  response.status = 200;
  EXPECT_FALSE(signer_.sign(UcpVersion::k2026_04_08, response).ok());
}

TEST_F(MessageSigningTest, JwsRequestSignatureFor20260111) {
  HttpMessage m = createCheckout();
  ASSERT_TRUE(signer_.sign(UcpVersion::k2026_01_11, m).ok());
  EXPECT_FALSE(m.field("signature-input"));
  EXPECT_FALSE(m.field("content-digest"));
  const auto header = m.field("request-signature");
  ASSERT_TRUE(header);
  EXPECT_NE(header->find(".."), std::string::npos);  // detached
  JwsVerifyOptions o;
  o.detached_payload = m.body;
  o.require_detached = true;
  auto v = verifyJws(*header, hub_keys_, o);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->b64);
  EXPECT_EQ(v->kid, "hub-1");
  // Another body is refused.
  const std::string other_body = m.body + "\n";
  o.detached_payload = other_body;
  EXPECT_FALSE(verifyJws(*header, hub_keys_, o).ok());
}

TEST_F(MessageSigningTest, ResponsesPerVersion) {
  ResponseVerifier verifier(merchant_keys_, clock_);
  HttpMessage good = signedResponse(201, R"({"id":"chk_1","status":"ready_for_complete"})");
  auto v = verifier.verifyResponse(UcpVersion::k2026_04_08, good);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->is_signed);
  EXPECT_EQ(v->scheme, "rfc9421");
  EXPECT_EQ(v->kid, "merchant-2026");
  EXPECT_EQ(v->thumbprint, jwkThumbprint(merchant_key_.publicKey()));
  EXPECT_NE(v->signed_content.find("\"@status\": 201\n"), std::string::npos);

  HttpMessage changed = good;
  changed.body = R"({"id":"chk_1","status":"completed"})";
  auto bad = verifier.verifyResponse(UcpVersion::k2026_04_08, changed);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("digest_mismatch"), std::string::npos);
  HttpMessage status = good;
  status.status = 200;
  EXPECT_FALSE(verifier.verifyResponse(UcpVersion::k2026_04_08, status).ok());

  // Too old (created 6 minutes ago, default maximum age 5 minutes plus 60 s skew... 7 min).
  clock_.advance(7min);
  EXPECT_FALSE(verifier.verifyResponse(UcpVersion::k2026_04_08, good).ok());
  clock_.set(at(kNow));

  // Unsigned: reported, and refused only when the policy requires signatures.
  HttpMessage plain;
  plain.status = 200;
  plain.body = "{}";
  plain.fields = {{"Content-Type", "application/json"}};
  for (auto version : {UcpVersion::k2026_04_08, UcpVersion::k2026_01_11}) {
    auto u = verifier.verifyResponse(version, plain);
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_FALSE(u->is_signed);
  }
  ResponseVerifier strict(merchant_keys_, clock_, {true, 5min, 60s});
  auto s1 = strict.verifyResponse(UcpVersion::k2026_04_08, plain);
  ASSERT_FALSE(s1.ok());
  EXPECT_NE(s1.error().message.find("signature_missing"), std::string::npos);
  auto s2 = strict.verifyResponse(UcpVersion::k2026_01_11, plain);
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(s2.error().message.find("2026-01-11 does not sign responses"), std::string::npos);

  // A response signed with a key the profile does not list.
  ResponseVerifier wrong_keys(hub_keys_, clock_);
  auto wk = wrong_keys.verifyResponse(UcpVersion::k2026_04_08, good);
  ASSERT_FALSE(wk.ok());
  EXPECT_NE(wk.error().message.find("key_not_found"), std::string::npos);

  // Pinned to another thumbprint: refused.
  KeySet pinned = merchant_keys_;
  pinned.pinThumbprints({jwkThumbprint(hub_key_.publicKey())});
  ResponseVerifier pinned_verifier(pinned, clock_);
  auto p = pinned_verifier.verifyResponse(UcpVersion::k2026_04_08, good);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("pinned"), std::string::npos);

  // A signature that covers only @status while there is a body: refused.
  HttpMessage thin;
  thin.status = 200;
  thin.body = "{}";
  thin.fields = {{"Content-Type", "application/json"}};
  HttpSignOptions o;
  o.keyid = "merchant-2026";
  o.components = {"@status"};
  ASSERT_TRUE(signHttpMessage(thin, merchant_key_, o, clock_).ok());
  EXPECT_FALSE(verifier.verifyResponse(UcpVersion::k2026_04_08, thin).ok());
}

TEST_F(MessageSigningTest, WebhooksPerVersion) {
  ResponseVerifier verifier(merchant_keys_, clock_);
  RequestSigner merchant(merchant_key_, "merchant-2026", clock_);
  HttpMessage hook;
  hook.method = "POST";
  hook.target_uri = "https://home.example/webhooks/ucp/orders";
  hook.body = R"({"id":"ord_1","checkout_id":"chk_1"})";
  hook.fields = {{"Content-Type", "application/json"}, {"Idempotency-Key", "e1"}};

  for (auto version : {UcpVersion::k2026_01_11, UcpVersion::k2026_04_08}) {
    HttpMessage m = hook;
    ASSERT_TRUE(merchant.sign(version, m).ok());
    auto v = verifier.verifyWebhook(version, m);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->scheme, version == UcpVersion::k2026_01_11 ? "jws-detached" : "rfc9421");
    EXPECT_EQ(v->kid, "merchant-2026");
    HttpMessage tampered = m;
    tampered.body[8] = '2';
    EXPECT_FALSE(verifier.verifyWebhook(version, tampered).ok());
    HttpMessage unsigned_hook = hook;
    auto u = verifier.verifyWebhook(version, unsigned_hook);
    ASSERT_FALSE(u.ok());
    EXPECT_NE(u.error().message.find("signature_missing"), std::string::npos);
    // Signed by the hub's key, which the merchant's profile does not list.
    HttpMessage forged = hook;
    ASSERT_TRUE(signer_.sign(version, forged).ok());
    EXPECT_FALSE(verifier.verifyWebhook(version, forged).ok());
  }
  // 2026-01-11 webhook with an attached (not detached) JWS: refused.
  auto attached = signJws(merchant_key_, hook.body, {"merchant-2026", false, true, ""});
  ASSERT_TRUE(attached.ok());
  HttpMessage m = hook;
  m.setField("Request-Signature", *attached);
  EXPECT_FALSE(verifier.verifyWebhook(UcpVersion::k2026_01_11, m).ok());
  // A b64=true detached JWS is accepted too (RFC 7515 Appendix F).
  auto detached_b64 = signJws(merchant_key_, hook.body, {"merchant-2026", true, true, ""});
  ASSERT_TRUE(detached_b64.ok());
  m.setField("Request-Signature", *detached_b64);
  EXPECT_TRUE(verifier.verifyWebhook(UcpVersion::k2026_01_11, m).ok());
}

}  // namespace
}  // namespace steward::negotiation
