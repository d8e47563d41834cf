// The RFCs' own examples, typed in from the documents: RFC 9421 Appendix B (test-key-ecc-p256,
// the ecdsa-p256-sha256 response signature of B.2.4 and the signature bases of §2.5, B.2.1-B.2.4),
// RFC 7515 Appendix A.3 (ES256) and A.4 (ES512, refused), RFC 7797 §4, RFC 7638 §3.1 and
// RFC 9530's sha-256/sha-512 examples. Where a value here was not printed in the RFC it says so.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/parse.hpp>

#include "core/clock.hpp"
#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/http_signature.hpp"
#include "negotiation/signing/jwk.hpp"
#include "negotiation/signing/jws.hpp"

namespace steward::negotiation {
namespace {

// RFC 9421 B.1.3.
constexpr const char* kEccP256Private = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----
)";
constexpr const char* kEccP256Public = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
)";

constexpr const char* kHelloDigest512 =
    "sha-512=:WZDPaVn/"
    "7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

// RFC 9421 B.2: the test request.
HttpMessage testRequest() {
  HttpMessage m;
  m.method = "POST";
  m.target_uri = "https://example.com/foo?param=Value&Pet=dog";
  m.fields = {{"Host", "example.com"},
              {"Date", "Tue, 20 Apr 2021 02:07:55 GMT"},
              {"Content-Type", "application/json"},
              {"Content-Digest", kHelloDigest512},
              {"Content-Length", "18"}};
  m.body = R"({"hello": "world"})";
  return m;
}

// RFC 9421 B.2: the test response.
HttpMessage testResponse() {
  HttpMessage m;
  m.status = 200;
  m.fields = {{"Date", "Tue, 20 Apr 2021 02:07:56 GMT"},
              {"Content-Type", "application/json"},
              {"Content-Digest",
               "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rj"
               "Juahq4l5aGgfLQ==:"},
              {"Content-Length", "23"}};
  m.body = R"({"message": "good dog"})";
  return m;
}

sf::InnerList coveredFromInput(const std::string& signature_input, const std::string& label) {
  auto dict = sf::parseDictionary(signature_input);
  EXPECT_TRUE(dict.ok()) << dict.error().message;
  const auto* m = sf::findMember(*dict, label);
  EXPECT_NE(m, nullptr);
  return std::get<sf::InnerList>(*m);
}

core::TimePoint at(std::int64_t unix_seconds) {
  return core::TimePoint{std::chrono::seconds(unix_seconds)};
}

TEST(Rfc9421, TestKeyEccP256PrivateAndPublicPemAgree) {
  auto priv = EcPrivateKey::fromPem(kEccP256Private);
  ASSERT_TRUE(priv.ok()) << priv.error().message;
  auto pub = EcPublicKey::fromPem(kEccP256Public);
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  EXPECT_EQ(priv->publicKey().x(), pub->x());
  EXPECT_EQ(priv->publicKey().y(), pub->y());
  EXPECT_EQ(pub->curve(), Curve::kP256);
}

TEST(Rfc9421, B24EcdsaResponseSignatureVerifiesWithExactBase) {
  HttpMessage response = testResponse();
  response.fields.emplace_back(
      "Signature-Input",
      R"(sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256")");
  response.fields.emplace_back("Signature",
                               "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgy"
                               "ahnzDnDAUy5eCdlYUEkLIj+32oiasw==:");
  auto pub = EcPublicKey::fromPem(kEccP256Public);
  ASSERT_TRUE(pub.ok());
  KeySet keys;
  ASSERT_TRUE(keys.add({*pub, "test-key-ecc-p256"}).ok());
  core::ManualClock clock(at(1618884473 + 5));
  auto v = verifyHttpMessage(response, keys, HttpVerifyOptions{}, clock);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->label, "sig-b24");
  EXPECT_EQ(v->keyid, "test-key-ecc-p256");
  EXPECT_EQ(v->alg, SignatureAlgorithm::kEs256);
  EXPECT_EQ(v->signature_base,
            "\"@status\": 200\n"
            "\"content-type\": application/json\n"
            "\"content-digest\": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5"
            "oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:\n"
            "\"content-length\": 23\n"
            "\"@signature-params\": (\"@status\" \"content-type\" \"content-digest\" "
            "\"content-length\");created=1618884473;keyid=\"test-key-ecc-p256\"");

  // The same signature with the status changed no longer verifies.
  response.status = 201;
  auto bad = verifyHttpMessage(response, keys, HttpVerifyOptions{}, clock);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("signature_invalid"), std::string::npos)
      << bad.error().message;
}

TEST(Rfc9421, Section25SignatureBase) {
  const auto covered = coveredFromInput(
      R"(sig1=("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss")",
      "sig1");
  auto base = signatureBase(testRequest(), covered);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(*base, std::string("\"@method\": POST\n"
                               "\"@authority\": example.com\n"
                               "\"@path\": /foo\n"
                               "\"content-digest\": ") +
                       kHelloDigest512 +
                       "\n"
                       "\"content-length\": 18\n"
                       "\"content-type\": application/json\n"
                       "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" "
                       "\"content-digest\" \"content-length\" \"content-type\")"
                       ";created=1618884473;keyid=\"test-key-rsa-pss\"");
}

TEST(Rfc9421, B21MinimalSignatureBase) {
  const auto covered = coveredFromInput(
      R"(sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd")",
      "sig-b21");
  auto base = signatureBase(testRequest(), covered);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(*base,
            "\"@signature-params\": ();created=1618884473;keyid=\"test-key-rsa-pss\";nonce="
            "\"b3k2pp5k7z-50gnwp.yemd\"");
}

TEST(Rfc9421, B22SelectiveCoverageWithQueryParam) {
  const auto covered = coveredFromInput(
      R"(sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example")",
      "sig-b22");
  auto base = signatureBase(testRequest(), covered);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(*base, std::string("\"@authority\": example.com\n"
                               "\"content-digest\": ") +
                       kHelloDigest512 +
                       "\n"
                       "\"@query-param\";name=\"Pet\": dog\n"
                       "\"@signature-params\": (\"@authority\" \"content-digest\" "
                       "\"@query-param\";name=\"Pet\");created=1618884473;keyid=\"test-key-rsa-"
                       "pss\";tag=\"header-example\"");
}

TEST(Rfc9421, B23FullCoverageBase) {
  const auto covered = coveredFromInput(
      R"(sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss")",
      "sig-b23");
  auto base = signatureBase(testRequest(), covered);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(*base, std::string("\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
                               "\"@method\": POST\n"
                               "\"@path\": /foo\n"
                               "\"@query\": ?param=Value&Pet=dog\n"
                               "\"@authority\": example.com\n"
                               "\"content-type\": application/json\n"
                               "\"content-digest\": ") +
                       kHelloDigest512 +
                       "\n"
                       "\"content-length\": 18\n"
                       "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" "
                       "\"@authority\" \"content-type\" \"content-digest\" \"content-length\")"
                       ";created=1618884473;keyid=\"test-key-rsa-pss\"");
}

TEST(Rfc9421, OtherAlgorithmsOfTheAppendixAreRefusedByName) {
  HttpMessage request = testRequest();
  request.fields.emplace_back(
      "Signature-Input",
      R"(sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ecc-p256";alg="ed25519")");
  request.fields.emplace_back("Signature", "sig-b26=:" + base64Encode(std::string(64, 'x')) + ":");
  auto pub = EcPublicKey::fromPem(kEccP256Public);
  ASSERT_TRUE(pub.ok());
  KeySet keys;
  ASSERT_TRUE(keys.add({*pub, "test-key-ecc-p256"}).ok());
  core::ManualClock clock(at(1618884473));
  auto v = verifyHttpMessage(request, keys, HttpVerifyOptions{}, clock);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("algorithm_unsupported"), std::string::npos)
      << v.error().message;
  EXPECT_NE(v.error().message.find("ed25519"), std::string::npos) << v.error().message;
}

TEST(Rfc9530, HelloWorldDigests) {
  const std::string body = R"({"hello": "world"})";
  EXPECT_EQ(contentDigest(body, DigestAlgorithm::kSha256),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
  EXPECT_EQ(contentDigest(body, DigestAlgorithm::kSha512), kHelloDigest512);
  auto both = verifyContentDigest(
      "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, " + std::string(kHelloDigest512),
      body);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(*both, DigestAlgorithm::kSha512);
  // sha-256 of no content (not an RFC example; a well-known constant).
  EXPECT_EQ(contentDigest("", DigestAlgorithm::kSha256),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
}

TEST(Rfc9530, MismatchAndInsecureOnlyAreRefused) {
  const std::string body = R"({"hello": "world"})";
  auto changed = verifyContentDigest(kHelloDigest512, R"({"hello": "World"})");
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.error().message.find("digest_mismatch"), std::string::npos);
  auto md5_only = verifyContentDigest("md5=:+6Znh/gKBqdjCQsEwcUw5w==:", body);
  ASSERT_FALSE(md5_only.ok());
  EXPECT_NE(md5_only.error().message.find("neither sha-256 nor sha-512"), std::string::npos);
  // One right and one wrong: refused.
  auto mixed =
      verifyContentDigest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:" +
                              base64Encode(std::string(64, '\0')) + ":",
                          body);
  EXPECT_FALSE(mixed.ok());
}

// RFC 7515 A.3. The example's private "d" is not used here: only the published x, y and the
// signature are needed to verify; signing is cross-checked against jwcrypto instead.
constexpr const char* kA3Jwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
constexpr const char* kA3Jws =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

KeySet a3Keys() {
  auto jwk = parsePublicJwk(std::string_view(kA3Jwk));
  EXPECT_TRUE(jwk.ok()) << jwk.error().message;
  jwk->kid = "rfc7515-a3";
  KeySet keys;
  EXPECT_TRUE(keys.add(std::move(*jwk)).ok());
  return keys;
}

TEST(Rfc7515, A3Es256Verifies) {
  JwsVerifyOptions options;
  options.require_kid = false;
  auto v = verifyJws(kA3Jws, a3Keys(), options);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->alg, SignatureAlgorithm::kEs256);
  EXPECT_EQ(v->payload,
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
}

TEST(Rfc7515, A3EveryChangedCharacterFails) {
  JwsVerifyOptions options;
  options.require_kid = false;
  const KeySet keys = a3Keys();
  const std::string good = kA3Jws;
  for (std::size_t i = 0; i < good.size(); ++i) {
    if (good[i] == '.') continue;
    std::string bad = good;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verifyJws(bad, keys, options).ok()) << "changed character " << i;
  }
}

TEST(Rfc7515, A4Es512IsRefusedClearly) {
  // A.4's header {"alg":"ES512"} and payload "Payload"; the signature part is a placeholder of
  // the right size (132 bytes), since ES512 is refused before any signature is looked at.
  const std::string token =
      "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA." + base64UrlEncode(std::string(132, '\x01'));
  JwsVerifyOptions options;
  options.require_kid = false;
  auto v = verifyJws(token, a3Keys(), options);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("algorithm_unsupported"), std::string::npos);
  EXPECT_NE(v.error().message.find("\"ES512\" is not accepted"), std::string::npos)
      << v.error().message;
  EXPECT_NE(v.error().message.find("P-521"), std::string::npos) << v.error().message;
}

TEST(Rfc7515, NoneHmacRsaAndEdDsaAreRefusedByName) {
  JwsVerifyOptions options;
  options.require_kid = false;
  for (const std::string alg : {"none", "HS256", "RS256", "PS256", "EdDSA", "ES256K"}) {
    const std::string token = base64UrlEncode(R"({"alg":")" + alg + R"("})") + ".UGF5bG9hZA." +
                              base64UrlEncode(std::string(64, '\x01'));
    auto v = verifyJws(token, a3Keys(), options);
    ASSERT_FALSE(v.ok()) << alg;
    EXPECT_NE(v.error().message.find("algorithm_unsupported: JWS algorithm \"" + alg + "\""),
              std::string::npos)
        << v.error().message;
  }
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

TEST(Rfc7797, Section4SigningInputs) {
  // §4.2: {"alg":"HS256","b64":false,"crit":["b64"]} over the payload "$.02".
  const std::string header = R"({"alg":"HS256","b64":false,"crit":["b64"]})";
  const std::string encoded = base64UrlEncode(header);
  EXPECT_EQ(encoded, "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19");
  const std::string unencoded_input = jwsSigningInput(encoded, "$.02", false);
  EXPECT_EQ(unencoded_input, "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19.$.02");
  // §4.1: the same payload, base64url encoded.
  const std::string encoded_input = jwsSigningInput("eyJhbGciOiJIUzI1NiJ9", "$.02", true);
  EXPECT_EQ(encoded_input, "eyJhbGciOiJIUzI1NiJ9.JC4wMg");

  // The RFC signs both with RFC 7515 A.1's HMAC key; the MACs over our signing inputs must be the
  // RFC's signatures, which shows the inputs are byte-exact. (HMAC is used only here; JWS
  // verification refuses HS256.)
  auto key = base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(base64UrlEncode(hmacSha256(*key, unencoded_input)),
            "A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY");
  EXPECT_EQ(base64UrlEncode(hmacSha256(*key, encoded_input)),
            "5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ");
}

TEST(Rfc7638, Section31RsaExampleComputedGenerically) {
  const std::string n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
      "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
      "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu"
      "0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  auto t = thumbprintOfMembers({{"kty", "RSA"}, {"n", n}, {"e", "AQAB"}});
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

  // The same from the full JWK of §3.1, whose optional members are left out of the hash.
  const auto jwk = boost::json::parse(R"({"kty":"RSA","n":")" + n +
                                      R"(","e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  auto t2 = jwkThumbprint(jwk.as_object());
  ASSERT_TRUE(t2.ok()) << t2.error().message;
  EXPECT_EQ(*t2, *t);
}

TEST(Rfc7638, EcThumbprint) {
  // Thumbprint of the RFC 7515 A.3 public key; the expected value was computed with jwcrypto
  // (JWK.thumbprint()), not printed in an RFC.
  const std::string expected = "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U";
  auto jwk = parsePublicJwk(std::string_view(kA3Jwk));
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(jwkThumbprint(jwk->key), expected);
  auto generic = jwkThumbprint(boost::json::parse(kA3Jwk).as_object());
  ASSERT_TRUE(generic.ok());
  EXPECT_EQ(*generic, expected);
}

}  // namespace
}  // namespace steward::negotiation
