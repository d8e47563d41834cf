// Cross-checks against implementations that share nothing with ours: JWS and JWK thumbprints
// with Debian's python3-jwcrypto, RFC 9421 with a small verifier/signer written from the RFC on
// python3-cryptography (http_signature_crosscheck.py). Each direction is tested, and each
// checker is shown to reject a tampered message, so a checker that always says yes is caught.
// Without the Python packages the tests say they are skipped; under CI=true that is a failure.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <fstream>

#include "core/clock.hpp"
#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/jwk.hpp"
#include "negotiation/signing/jws.hpp"
#include "negotiation/signing/message_signing.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace steward::negotiation {
namespace {

namespace json = boost::json;

constexpr const char* kPython = "/usr/bin/python3";

class CrossCheck : public ::testing::Test {
 protected:
  // Runs `script` MODE with `input`; nullopt (and the test skipped or failed) when the Python side
  // is unavailable.
  std::optional<json::object> run(const std::string& script, const std::string& mode,
                                  const json::object& input) {
    const std::string in = dir_.write("in.json", json::serialize(input));
    const std::string out = dir_.file("out.json");
    std::remove(out.c_str());
    test::Process p(
        {kPython, std::string(STEWARD_NEGOTIATION_TEST_DIR) + "/" + script, mode, in, out},
        dir_.file("python.log"));
    const auto status = p.wait(std::chrono::seconds(60));
    if (!status) {
      ADD_FAILURE() << script << " " << mode << " did not finish within 60 s";
      return std::nullopt;
    }
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 2) {
      unavailable(script);
      return std::nullopt;
    }
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      ADD_FAILURE() << script << " " << mode
                    << " failed: " << test::readFile(dir_.file("python.log"));
      return std::nullopt;
    }
    return json::parse(test::readFile(out)).as_object();
  }

  void unavailable(const std::string& script) {
    const char* ci = std::getenv("CI");
    const std::string why = script +
                            " needs python3-jwcrypto and python3-cryptography "
                            "(scripts/deps installs them)";
    if (ci && std::string(ci) == "true") {
      FAIL() << why;
    }
    skipped_ = why;
  }

  void SetUp() override {
    if (::access(kPython, X_OK) != 0) unavailable("/usr/bin/python3");
  }

  test::TempDir dir_;
  std::string skipped_;
};

#define SKIP_IF_UNAVAILABLE()                        \
  do {                                               \
    if (HasFailure()) return;                        \
    if (!skipped_.empty()) GTEST_SKIP() << skipped_; \
  } while (0)

#define RUN_OR_RETURN(var, expr) \
  auto var = (expr);             \
  SKIP_IF_UNAVAILABLE();         \
  ASSERT_TRUE(var)

const std::string kBody = R"({"checkout":{"line_items":[{"id":"toner-tn247","quantity":1}]}})";

TEST_F(CrossCheck, OurJwsVerifiesInJwcrypto) {
  SKIP_IF_UNAVAILABLE();
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    auto key = EcPrivateKey::generate(curve);
    ASSERT_TRUE(key.ok());
    for (bool detached : {false, true}) {
      for (bool b64 : {true, false}) {
        auto token = signJws(*key, kBody, {"hub-1", detached, b64, ""});
        ASSERT_TRUE(token.ok());
        json::object in{{"jwk", toPublicJwk(key->publicKey(), "hub-1")}, {"token", *token}};
        in["detached_b64u"] = detached ? json::value(base64UrlEncode(kBody)) : json::value();
        RUN_OR_RETURN(out, run("jose_crosscheck.py", "verify", in));
        EXPECT_TRUE(out->at("ok").as_bool())
            << "detached=" << detached << " b64=" << b64 << ": " << out->at("error");
        EXPECT_EQ(std::string(out->at("payload_b64u").as_string()), base64UrlEncode(kBody));

        // jwcrypto rejects the same token over another body.
        std::string other = kBody;
        other[5] = 'X';
        if (detached) {
          in["detached_b64u"] = base64UrlEncode(other);
        } else {
          std::string t = *token;
          const auto dot = t.find('.');
          t = t.substr(0, dot + 1) + (b64 ? base64UrlEncode(other) : other) +
              t.substr(t.rfind('.'));
          in["token"] = t;
        }
        RUN_OR_RETURN(bad, run("jose_crosscheck.py", "verify", in));
        EXPECT_FALSE(bad->at("ok").as_bool()) << "detached=" << detached << " b64=" << b64;
      }
    }
  }
}

TEST_F(CrossCheck, JwcryptoJwsVerifiesHereAndThumbprintsAgree) {
  SKIP_IF_UNAVAILABLE();
  for (const char* crv : {"P-256", "P-384"}) {
    RUN_OR_RETURN(generated, run("jose_crosscheck.py", "generate", {{"crv", crv}}));
    const auto& jwk = generated->at("jwk").as_object();
    auto priv = parsePrivateJwk(jwk);
    ASSERT_TRUE(priv.ok()) << priv.error().message;
    // jwcrypto's kid is its own RFC 7638 thumbprint; ours must be the same.
    EXPECT_EQ(jwkThumbprint(priv->publicKey()), std::string(jwk.at("kid").as_string()));
    RUN_OR_RETURN(
        tp, run("jose_crosscheck.py", "thumbprint", {{"jwk", toPublicJwk(priv->publicKey())}}));
    EXPECT_EQ(std::string(tp->at("thumbprint").as_string()), jwkThumbprint(priv->publicKey()));

    KeySet keys;
    ASSERT_TRUE(keys.add({priv->publicKey(), "merchant-1"}).ok());
    for (bool detached : {false, true}) {
      for (bool b64 : {true, false}) {
        json::object in{{"jwk", jwk},
                        {"kid", "merchant-1"},
                        {"payload_b64u", base64UrlEncode(kBody)},
                        {"b64", b64},
                        {"detached", detached}};
        RUN_OR_RETURN(signed_out, run("jose_crosscheck.py", "sign", in));
        const std::string token(signed_out->at("token").as_string());
        JwsVerifyOptions options;
        if (detached) options.detached_payload = kBody;
        auto v = verifyJws(token, keys, options);
        ASSERT_TRUE(v.ok()) << crv << " detached=" << detached << " b64=" << b64 << ": "
                            << v.error().message;
        EXPECT_EQ(v->payload, kBody);
        EXPECT_EQ(v->b64, b64);
      }
    }
  }
}

json::object messageJson(const HttpMessage& m) {
  json::array fields;
  for (const auto& [n, v] : m.fields)
    fields.push_back(json::array{n, v});
  return {{"method", m.method},
          {"target_uri", m.target_uri},
          {"status", m.status},
          {"fields", fields},
          {"body_b64", base64Encode(m.body)}};
}

TEST_F(CrossCheck, OurRfc9421SignaturesVerifyInPython) {
  SKIP_IF_UNAVAILABLE();
  core::ManualClock clock(core::TimePoint{std::chrono::seconds(1767225600)});
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    auto key = EcPrivateKey::generate(curve);
    ASSERT_TRUE(key.ok());
    RequestSigner signer(*key, "hub-1", clock);
    HttpMessage request;
    request.method = "POST";
    request.target_uri = "https://Shop.Example:8443/checkout-sessions/chk_1/complete?v=2";
    request.body = kBody;
    request.fields = {{"Content-Type", "application/json"},
                      {"UCP-Agent", R"(profile="https://home.example/.well-known/ucp")"},
                      {"Idempotency-Key", "0b7a1f1c-2d3e-4b8e-9a8e-7d0f4f7c6a55"}};
    ASSERT_TRUE(signer.sign(UcpVersion::k2026_04_08, request).ok());
    const json::object jwk = toPublicJwk(key->publicKey(), "hub-1");
    RUN_OR_RETURN(out, run("http_signature_crosscheck.py", "verify",
                           {{"message", messageJson(request)}, {"jwk", jwk}, {"label", "sig1"}}));
    ASSERT_TRUE(out->at("ok").as_bool()) << out->at("error");
    KeySet keys;
    ASSERT_TRUE(keys.add({key->publicKey(), "hub-1"}).ok());
    auto ours = verifyHttpMessage(request, keys, {}, clock);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(std::string(out->at("base").as_string()), ours->signature_base);

    HttpMessage tampered = request;
    tampered.target_uri = "https://shop.example:8443/checkout-sessions/chk_2/complete?v=2";
    RUN_OR_RETURN(bad, run("http_signature_crosscheck.py", "verify",
                           {{"message", messageJson(tampered)}, {"jwk", jwk}, {"label", "sig1"}}));
    EXPECT_FALSE(bad->at("ok").as_bool());
  }
}

TEST_F(CrossCheck, PythonRfc9421SignaturesVerifyHere) {
  SKIP_IF_UNAVAILABLE();
  core::ManualClock clock(core::TimePoint{std::chrono::seconds(1767225600)});
  auto key = EcPrivateKey::generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  KeySet keys;
  ASSERT_TRUE(keys.add({key->publicKey(), "merchant-2026"}).ok());
  ResponseVerifier verifier(keys, clock);

  HttpMessage response;
  response.status = 201;
  response.body = R"({"id":"chk_1","status":"ready_for_complete","totals":[]})";
  response.fields = {{"Content-Type", "application/json"}};
  RUN_OR_RETURN(out, run("http_signature_crosscheck.py", "sign",
                         {{"message", messageJson(response)},
                          {"jwk", toPrivateJwk(*key, "merchant-2026")},
                          {"kid", "merchant-2026"},
                          {"label", "sig1"},
                          {"components", json::array{"@status", "content-digest", "content-type"}},
                          {"created", 1767225590}}));
  for (const auto& f : out->at("fields").as_array()) {
    response.fields.emplace_back(std::string(f.as_array()[0].as_string()),
                                 std::string(f.as_array()[1].as_string()));
  }
  auto v = verifier.verifyResponse(UcpVersion::k2026_04_08, response);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->is_signed);
  EXPECT_EQ(v->signed_content, std::string(out->at("base").as_string()));

  HttpMessage webhook;
  webhook.method = "POST";
  webhook.target_uri = "https://home.example/webhooks/ucp/orders?shop=1";
  webhook.body = R"({"id":"ord_1"})";
  webhook.fields = {{"Content-Type", "application/json"}};
  RUN_OR_RETURN(hook, run("http_signature_crosscheck.py", "sign",
                          {{"message", messageJson(webhook)},
                           {"jwk", toPrivateJwk(*key, "merchant-2026")},
                           {"kid", "merchant-2026"},
                           {"label", "sig1"},
                           {"components", json::array{"@method", "@authority", "@path", "@query",
                                                      "content-digest", "content-type"}},
                           {"created", 1767225600}}));
  for (const auto& f : hook->at("fields").as_array()) {
    webhook.fields.emplace_back(std::string(f.as_array()[0].as_string()),
                                std::string(f.as_array()[1].as_string()));
  }
  auto w = verifier.verifyWebhook(UcpVersion::k2026_04_08, webhook);
  ASSERT_TRUE(w.ok()) << w.error().message;
  webhook.body = R"({"id":"ord_2"})";
  EXPECT_FALSE(verifier.verifyWebhook(UcpVersion::k2026_04_08, webhook).ok());
}

}  // namespace
}  // namespace steward::negotiation
