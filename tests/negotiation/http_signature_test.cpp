// RFC 9421 signing and verification beyond the RFC's examples: round trips on both curves,
// tampering with every covered component and parameter, time limits from an injected clock,
// several signatures and label/tag selection, and the parts of the RFC Steward refuses.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/http_signature.hpp"

namespace steward::negotiation {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

core::TimePoint at(std::int64_t s) {
  return core::TimePoint{std::chrono::seconds(s)};
}

EcPrivateKey makeKey(Curve curve = Curve::kP256) {
  auto k = EcPrivateKey::generate(curve);
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

HttpMessage checkoutRequest() {
  HttpMessage m;
  m.method = "POST";
  m.target_uri = "https://Shop.Example:443/checkout-sessions?lang=en&x=1";
  m.body = R"({"line_items":[{"item":{"id":"toner-tn247"},"quantity":1}]})";
  m.fields = {{"Content-Type", "application/json"},
              {"UCP-Agent", R"(profile="https://home.example/.well-known/ucp")"},
              {"Idempotency-Key", "7d0f4f7c-6a55-4b8e-9a8e-0b7a1f1c2d3e"},
              {"Content-Digest", contentDigest(m.body)}};
  return m;
}

HttpSignOptions requestOptions() {
  HttpSignOptions o;
  o.keyid = "platform-1";
  o.components = {"@method",   "@authority",      "@path",          "@query",
                  "ucp-agent", "idempotency-key", "content-digest", "content-type"};
  return o;
}

class HttpSignatureTest : public ::testing::Test {
 protected:
  HttpSignatureTest() : key_(makeKey()) {
    EXPECT_TRUE(keys_.add({key_.publicKey(), "platform-1"}).ok());
  }
  HttpMessage signedRequest() {
    HttpMessage m = checkoutRequest();
    auto s = signHttpMessage(m, key_, requestOptions(), clock_);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return m;
  }
  core::Result<VerifiedHttpSignature> verify(const HttpMessage& m,
                                             const HttpVerifyOptions& o = {}) {
    return verifyHttpMessage(m, keys_, o, clock_);
  }

  core::ManualClock clock_{at(kNow)};
  EcPrivateKey key_;
  KeySet keys_;
};

TEST_F(HttpSignatureTest, RoundTripWithTheExpectedBase) {
  const HttpMessage m = signedRequest();
  EXPECT_EQ(
      *m.field("signature-input"),
      R"(sig1=("@method" "@authority" "@path" "@query" "ucp-agent" "idempotency-key" "content-digest" "content-type");created=1767225600;keyid="platform-1")");
  auto v = verify(m);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->label, "sig1");
  EXPECT_EQ(v->created, kNow);
  EXPECT_EQ(v->signature_base,
            "\"@method\": POST\n"
            "\"@authority\": shop.example\n"
            "\"@path\": /checkout-sessions\n"
            "\"@query\": ?lang=en&x=1\n"
            "\"ucp-agent\": profile=\"https://home.example/.well-known/ucp\"\n"
            "\"idempotency-key\": 7d0f4f7c-6a55-4b8e-9a8e-0b7a1f1c2d3e\n"
            "\"content-digest\": " +
                contentDigest(m.body) +
                "\n"
                "\"content-type\": application/json\n"
                "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" "
                "\"ucp-agent\" \"idempotency-key\" \"content-digest\" \"content-type\")"
                ";created=1767225600;keyid=\"platform-1\"");
}

TEST_F(HttpSignatureTest, P384WithAlgParameter) {
  const auto key = makeKey(Curve::kP384);
  KeySet keys;
  ASSERT_TRUE(keys.add({key.publicKey(), "p384"}).ok());
  HttpMessage m = checkoutRequest();
  auto o = requestOptions();
  o.keyid = "p384";
  o.include_alg = true;
  ASSERT_TRUE(signHttpMessage(m, key, o, clock_).ok());
  EXPECT_NE(m.field("signature-input")->find(R"(alg="ecdsa-p384-sha384")"), std::string::npos);
  auto v = verifyHttpMessage(m, keys, {}, clock_);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->alg, SignatureAlgorithm::kEs384);
}

TEST_F(HttpSignatureTest, EveryCoveredComponentIsBound) {
  struct Change {
    const char* what;
    std::function<void(HttpMessage&)> apply;
    const char* reason;
  };
  const std::vector<Change> changes = {
      {"method", [](HttpMessage& m) { m.method = "PUT"; }, "signature_invalid"},
      {"authority",
       [](HttpMessage& m) { m.target_uri = "https://evil.example/checkout-sessions?lang=en&x=1"; },
       "signature_invalid"},
      {"port",
       [](HttpMessage& m) {
         m.target_uri = "https://shop.example:8443/checkout-sessions?lang=en&x=1";
       },
       "signature_invalid"},
      {"path",
       [](HttpMessage& m) {
         m.target_uri = "https://shop.example/checkout-sessions/x?lang=en&x=1";
       },
       "signature_invalid"},
      {"query",
       [](HttpMessage& m) { m.target_uri = "https://shop.example/checkout-sessions?lang=en&x=2"; },
       "signature_invalid"},
      {"ucp-agent",
       [](HttpMessage& m) { m.setField("UCP-Agent", R"(profile="https://evil.example/")"); },
       "signature_invalid"},
      {"idempotency-key", [](HttpMessage& m) { m.setField("Idempotency-Key", "other"); },
       "signature_invalid"},
      {"content-type", [](HttpMessage& m) { m.setField("Content-Type", "text/plain"); },
       "signature_invalid"},
      {"body", [](HttpMessage& m) { m.body[10] = 'X'; }, "digest_mismatch"},
      {"body and digest",
       [](HttpMessage& m) {
         m.body += " ";
         m.setField("Content-Digest", contentDigest(m.body));
       },
       "signature_invalid"},
      {"missing field", [](HttpMessage& m) { m.removeField("Idempotency-Key"); },
       "is not in the message"},
      {"created",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         s.replace(s.find("created=") + 8, 10, "1767225601");
         m.setField("Signature-Input", s);
       },
       "signature_invalid"},
      {"keyid",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         s.replace(s.find("platform-1"), 10, "platform-2");
         m.setField("Signature-Input", s);
       },
       "key_not_found"},
      {"component dropped",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         s.erase(s.find(" \"@query\""), 9);
         m.setField("Signature-Input", s);
       },
       "signature_invalid"},
      {"no Signature", [](HttpMessage& m) { m.removeField("Signature"); }, "signature_missing"},
      {"label mismatch",
       [](HttpMessage& m) {
         auto s = *m.field("signature");
         s[3] = '2';
         m.setField("Signature", s);
       },
       "signature_missing"},
      {"alg added",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         m.setField("Signature-Input", s + ";alg=\"rsa-pss-sha512\"");
       },
       "algorithm_unsupported"},
      {"hmac alg",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         m.setField("Signature-Input", s + ";alg=\"hmac-sha256\"");
       },
       "algorithm_unsupported"},
      {"alg for other curve",
       [](HttpMessage& m) {
         auto s = *m.field("signature-input");
         m.setField("Signature-Input", s + ";alg=\"ecdsa-p384-sha384\"");
       },
       "does not match key"},
  };
  for (const auto& c : changes) {
    HttpMessage m = signedRequest();
    ASSERT_TRUE(verify(m).ok());
    c.apply(m);
    auto v = verify(m);
    ASSERT_FALSE(v.ok()) << c.what;
    EXPECT_NE(v.error().message.find(c.reason), std::string::npos)
        << c.what << " -> " << v.error().message;
  }
}

TEST_F(HttpSignatureTest, EveryChangedSignatureCharacterFails) {
  const HttpMessage good = signedRequest();
  const std::string sig = *good.field("signature");
  for (std::size_t i = 6; i + 1 < sig.size(); ++i) {  // inside sig1=:...:
    HttpMessage m = good;
    std::string bad = sig;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    m.setField("Signature", bad);
    EXPECT_FALSE(verify(m).ok()) << "character " << i;
  }
}

TEST_F(HttpSignatureTest, TimeLimitsFromTheInjectedClock) {
  HttpMessage m = checkoutRequest();
  auto o = requestOptions();
  o.expires_after = 10min;
  ASSERT_TRUE(signHttpMessage(m, key_, o, clock_).ok());
  HttpVerifyOptions v;
  v.max_age = 5min;
  v.clock_skew = 30s;
  ASSERT_TRUE(verify(m, v).ok());

  clock_.set(at(kNow + 330));  // 5 min + skew: still fine
  EXPECT_TRUE(verify(m, v).ok());
  clock_.set(at(kNow + 331));
  auto old = verify(m, v);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message.find("older than the maximum age of 300 s"), std::string::npos)
      << old.error().message;

  v.max_age.reset();
  clock_.set(at(kNow + 631));  // past expires + skew
  auto expired = verify(m, v);
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message.find("expired 31 s ago"), std::string::npos)
      << expired.error().message;

  clock_.set(at(kNow - 31));  // created 31 s in the future, skew 30 s
  auto future = verify(m, v);
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().message.find("in the future"), std::string::npos);

  HttpMessage no_created = checkoutRequest();
  auto o2 = requestOptions();
  o2.created = false;
  ASSERT_TRUE(signHttpMessage(no_created, key_, o2, clock_).ok());
  EXPECT_TRUE(verify(no_created).ok());
  HttpVerifyOptions need_created;
  need_created.require_created = true;
  EXPECT_FALSE(verify(no_created, need_created).ok());
}

TEST_F(HttpSignatureTest, SeveralSignaturesLabelsAndTags) {
  HttpMessage m = checkoutRequest();
  const auto other = makeKey(Curve::kP384);
  auto first = requestOptions();
  first.label = "merchant";
  first.keyid = "unknown-key";
  first.tag = "outer";
  ASSERT_TRUE(signHttpMessage(m, other, first, clock_).ok());
  auto second = requestOptions();
  second.tag = "ucp";
  ASSERT_TRUE(signHttpMessage(m, key_, second, clock_).ok());
  EXPECT_FALSE(signHttpMessage(m, key_, second, clock_).ok());  // label sig1 taken

  auto any = verify(m);
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(any->label, "sig1");

  HttpVerifyOptions by_label;
  by_label.label = "merchant";
  auto merchant = verify(m, by_label);
  ASSERT_FALSE(merchant.ok());
  EXPECT_NE(merchant.error().message.find("key_not_found: merchant: no signing key"),
            std::string::npos)
      << merchant.error().message;

  HttpVerifyOptions by_tag;
  by_tag.tag = "ucp";
  EXPECT_TRUE(verify(m, by_tag).ok());
  by_tag.tag = "nope";
  EXPECT_FALSE(verify(m, by_tag).ok());
  HttpVerifyOptions absent;
  absent.label = "sig9";
  auto none = verify(m, absent);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("signature_missing"), std::string::npos);

  HttpVerifyOptions capped;
  capped.max_signatures = 1;
  EXPECT_FALSE(verify(m, capped).ok());
}

TEST_F(HttpSignatureTest, RequiredComponentsAndBodyCoverage) {
  HttpMessage m = checkoutRequest();
  auto o = requestOptions();
  o.components = {"@method", "@authority", "@path"};
  ASSERT_TRUE(signHttpMessage(m, key_, o, clock_).ok());
  auto v = verify(m);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("content-digest is not covered"), std::string::npos);
  HttpVerifyOptions lax;
  lax.require_digest_for_body = false;
  EXPECT_TRUE(verify(m, lax).ok());
  lax.required_components = {"idempotency-key"};
  auto r = verify(m, lax);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not cover \"idempotency-key\""), std::string::npos);
}

TEST_F(HttpSignatureTest, ResponsesAndRequestBoundComponents) {
  HttpMessage request = signedRequest();
  HttpMessage response;
  response.status = 201;
  response.body = R"({"id":"chk_1","status":"ready_for_complete"})";
  response.fields = {{"Content-Type", "application/json"},
                     {"Content-Digest", contentDigest(response.body)}};
  HttpSignOptions o;
  o.keyid = "platform-1";
  o.components = {"@status", "content-digest", "content-type",
                  ComponentId("@method", {{"req", true}}),
                  ComponentId("idempotency-key", {{"req", true}})};
  ASSERT_TRUE(signHttpMessage(response, key_, o, clock_, &request).ok());
  auto v = verifyHttpMessage(response, keys_, {}, clock_, &request);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_NE(v->signature_base.find("\"@method\";req: POST\n"), std::string::npos);
  // Against another request (a different idempotency key) the response does not verify.
  HttpMessage other = request;
  other.setField("Idempotency-Key", "another");
  EXPECT_FALSE(verifyHttpMessage(response, keys_, {}, clock_, &other).ok());
  EXPECT_FALSE(verifyHttpMessage(response, keys_, {}, clock_).ok());
  // @method without req on a response, @status on a request: refused.
  HttpSignOptions wrong;
  wrong.keyid = "platform-1";
  wrong.components = {"@method"};
  HttpMessage r2 = response;
  r2.removeField("Signature");
  r2.removeField("Signature-Input");
  EXPECT_FALSE(signHttpMessage(r2, key_, wrong, clock_).ok());
  HttpMessage q = checkoutRequest();
  wrong.components = {"@status"};
  EXPECT_FALSE(signHttpMessage(q, key_, wrong, clock_).ok());
}

TEST(HttpSignatureBase, DerivedComponentsAndFieldRules) {
  HttpMessage m;
  m.method = "GET";
  m.target_uri = "HTTPS://WWW.Example.com:8443/a%20b/?q=a+b&q=c%2Fd&empty=";
  m.fields = {{"X-Multi", " one "}, {"x-multi", "two\t"}, {"Signature-Input", "a=(), b=();x=1"}};
  auto base = [&](const std::string& input) {
    auto d = sf::parseDictionary("s=" + input);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return signatureBase(m, std::get<sf::InnerList>((*d)[0].second));
  };
  auto b = base(
      R"(("@scheme" "@authority" "@path" "@query" "@request-target" "@target-uri" "x-multi"))");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(*b,
            "\"@scheme\": https\n"
            "\"@authority\": www.example.com:8443\n"
            "\"@path\": /a%20b/\n"
            "\"@query\": ?q=a+b&q=c%2Fd&empty=\n"
            "\"@request-target\": /a%20b/?q=a+b&q=c%2Fd&empty=\n"
            "\"@target-uri\": HTTPS://WWW.Example.com:8443/a%20b/?q=a+b&q=c%2Fd&empty=\n"
            "\"x-multi\": one, two\n"
            "\"@signature-params\": (\"@scheme\" \"@authority\" \"@path\" \"@query\" "
            "\"@request-target\" \"@target-uri\" \"x-multi\")");
  auto qp = base(R"(("@query-param";name="q" "@query-param";name="empty"))");
  ASSERT_TRUE(qp.ok()) << qp.error().message;
  EXPECT_EQ(*qp,
            "\"@query-param\";name=\"q\": a%20b\n"
            "\"@query-param\";name=\"q\": c%2Fd\n"
            "\"@query-param\";name=\"empty\": \n"
            "\"@signature-params\": (\"@query-param\";name=\"q\" \"@query-param\";name=\"empty\")");
  auto key = base(R"(("signature-input";key="b" "signature-input";sf))");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_NE(key->find("\"signature-input\";key=\"b\": ();x=1\n"), std::string::npos);

  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"(("@status"))", "only defined for a response"},
      {R"(("@Method"))", "lower-case"},
      {R"(("@signature-params"))", "cannot be covered"},
      {R"(("@method" "@method"))", "covered twice"},
      {R"(("x-multi";bs))", "\"bs\" is not supported"},
      {R"(("x-multi";tr))", "\"tr\" is not supported"},
      {R"(("x-multi";sf))", "not a known structured dictionary field"},
      {R"(("x-absent"))", "is not in the message"},
      {R"(("@query-param";name="zz"))", "not in the query"},
      {R"(("@query-param"))", "needs a \"name\""},
      {R"(("@unknown"))", "is not supported"},
      {R"(("@method";req))", "needs the request"},
      {R"((tok))", "must be a string"},
  };
  for (const auto& [input, reason] : refused) {
    auto r = base(input);
    ASSERT_FALSE(r.ok()) << input;
    EXPECT_NE(r.error().message.find(reason), std::string::npos)
        << input << " -> " << r.error().message;
  }
  m.fields.emplace_back("x-break", "a\r\nb");
  EXPECT_FALSE(base(R"(("x-break"))").ok());
  m.target_uri = "https://user@host/";
  EXPECT_FALSE(base(R"(("@authority"))").ok());
  m.target_uri = "/relative";
  EXPECT_FALSE(base(R"(("@path"))").ok());
}

}  // namespace
}  // namespace steward::negotiation
