// JWK validation and RFC 7638 thumbprints, ECDSA r||s <-> DER, and JWS sign/verify (attached,
// detached, b64=false) with every header check and tampering case.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/jwk.hpp"
#include "negotiation/signing/jws.hpp"

namespace steward::negotiation {
namespace {

namespace json = boost::json;

EcPrivateKey makeKey(Curve curve) {
  auto k = EcPrivateKey::generate(curve);
  EXPECT_TRUE(k.ok()) << k.error().message;
  return std::move(*k);
}

KeySet keySetOf(const EcPrivateKey& key, const std::string& kid) {
  KeySet keys;
  EXPECT_TRUE(keys.add({key.publicKey(), kid}).ok());
  return keys;
}

std::string errorOf(const core::Result<VerifiedJws>& r) {
  return r.ok() ? std::string("(verified)") : r.error().message;
}

TEST(Jwk, RoundTripsPublicAndPrivateOnBothCurves) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    const auto key = makeKey(curve);
    const auto pub = toPublicJwk(key.publicKey(), "k1");
    EXPECT_FALSE(pub.contains("d"));
    EXPECT_EQ(pub.at("alg"), curve == Curve::kP256 ? "ES256" : "ES384");
    auto parsed = parsePublicJwk(pub);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->kid, "k1");
    EXPECT_EQ(parsed->key.x(), key.publicKey().x());
    auto priv = parsePrivateJwk(toPrivateJwk(key, "k1"));
    ASSERT_TRUE(priv.ok()) << priv.error().message;
    EXPECT_EQ(priv->d(), key.d());
    EXPECT_EQ(jwkThumbprint(parsed->key), jwkThumbprint(key.publicKey()));
    auto generic = jwkThumbprint(pub);
    ASSERT_TRUE(generic.ok());
    EXPECT_EQ(*generic, jwkThumbprint(key.publicKey()));
  }
}

TEST(Jwk, InvalidKeysAreRefusedWithTheReason) {
  const auto key = makeKey(Curve::kP256);
  const auto good = toPublicJwk(key.publicKey(), "k");
  auto with = [&](const char* member, json::value v) {
    json::object o = good;
    if (v.is_null()) {
      o.erase(member);
    } else {
      o[member] = v;
    }
    return o;
  };
  auto str = [](const std::string& t) { return json::value(json::string_view(t)); };
  std::string off_curve_y = key.publicKey().y();
  off_curve_y[31] = char(off_curve_y[31] ^ 1);
  const std::vector<std::pair<json::object, std::string>> cases = {
      {with("kty", "RSA"), "key type \"RSA\" is not accepted"},
      {with("kty", "OKP"), "key type \"OKP\" is not accepted"},
      {with("crv", "P-521"), "curve \"P-521\" is not accepted"},
      {with("crv", "secp256k1"), "not accepted"},
      {with("x", nullptr), "\"x\" is missing"},
      {with("x", 5), "\"x\" must be a string"},
      {with("x", str(base64UrlEncode(std::string(31, 'a')))), "must be 32 bytes"},
      {with("y", str(base64UrlEncode(off_curve_y))), "not a point on P-256"},
      {with("y", "not*base64"), "unexpected character"},
      {with("alg", "ES384"), "does not match curve"},
      {with("alg", "RS256"), "algorithm_unsupported"},
      {with("use", "enc"), "\"use\" must be \"sig\""},
      {with("d", str(base64UrlEncode(key.d()))), "private key (\"d\")"},
  };
  for (const auto& [jwk, reason] : cases) {
    auto r = parsePublicJwk(jwk);
    ASSERT_FALSE(r.ok()) << json::serialize(jwk);
    EXPECT_NE(r.error().message.find(reason), std::string::npos)
        << json::serialize(jwk) << " -> " << r.error().message;
  }
  // A P-384 length on a P-256 key.
  auto long_x = with("x", str(base64UrlEncode(std::string(48, 'a'))));
  EXPECT_FALSE(parsePublicJwk(long_x).ok());
  // A private key whose d belongs to another key.
  const auto other = makeKey(Curve::kP256);
  json::object mismatched = toPrivateJwk(key, "k");
  mismatched["d"] = base64UrlEncode(other.d());
  auto r = parsePrivateJwk(mismatched);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parsePublicJwk(std::string_view("{not json")).ok());
  EXPECT_FALSE(parsePublicJwk(std::string_view(std::string(5000, ' '))).ok());
}

TEST(Jwk, KeySetFromAProfileSetsAsideWhatItCannotUse) {
  const auto a = makeKey(Curve::kP256);
  const auto b = makeKey(Curve::kP384);
  json::array keys{toPublicJwk(a.publicKey(), "a"), toPublicJwk(b.publicKey(), "b"),
                   json::object{{"kid", "rsa"}, {"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}};
  auto set = KeySet::fromSigningKeys(keys);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 2u);
  ASSERT_TRUE(set->find("b").ok());
  auto rsa = set->find("rsa");
  ASSERT_FALSE(rsa.ok());
  EXPECT_NE(rsa.error().message.find("key_not_found: key \"rsa\" cannot be used: JWK: key type"),
            std::string::npos)
      << rsa.error().message;
  auto missing = set->find("zzz");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no signing key with kid \"zzz\""), std::string::npos);

  // Pinning: only listed thumbprints verify.
  set->pinThumbprints({jwkThumbprint(a.publicKey())});
  EXPECT_TRUE(set->find("a").ok());
  auto unpinned = set->find("b");
  ASSERT_FALSE(unpinned.ok());
  EXPECT_NE(unpinned.error().message.find("not one of the thumbprints pinned"), std::string::npos);

  json::array dup{toPublicJwk(a.publicKey(), "a"), toPublicJwk(b.publicKey(), "a")};
  EXPECT_FALSE(KeySet::fromSigningKeys(dup).ok());
  json::array no_kid{toPublicJwk(a.publicKey())};
  EXPECT_FALSE(KeySet::fromSigningKeys(no_kid).ok());
  json::array too_many;
  for (int i = 0; i < 33; ++i)
    too_many.push_back(toPublicJwk(a.publicKey(), std::to_string(i)));
  EXPECT_FALSE(KeySet::fromSigningKeys(too_many).ok());
  EXPECT_FALSE(KeySet::fromSigningKeys(json::value("x")).ok());
}

TEST(Ecdsa, RawAndDerConvertBothWaysAndSizesAreExact) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    const auto key = makeKey(curve);
    auto raw = key.sign("message");
    ASSERT_TRUE(raw.ok()) << raw.error().message;
    EXPECT_EQ(raw->size(), 2 * coordinateSize(curve));
    auto der = ecdsaRawToDer(*raw, curve);
    ASSERT_TRUE(der.ok());
    auto back = ecdsaDerToRaw(*der, curve);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, *raw);
    EXPECT_TRUE(key.publicKey().verify("message", *raw).ok());
    EXPECT_FALSE(key.publicKey().verify("messagf", *raw).ok());
    auto short_sig = key.publicKey().verify("message", raw->substr(1));
    ASSERT_FALSE(short_sig.ok());
    EXPECT_NE(short_sig.error().message.find("r||s"), std::string::npos);
    // A DER signature where raw is expected is refused (its length is never 64 or 96).
    EXPECT_FALSE(key.publicKey().verify("message", *der).ok());
    EXPECT_FALSE(ecdsaDerToRaw(*der + "x", curve).ok());
    // r = 0 and s = 0 never verify.
    EXPECT_FALSE(key.publicKey().verify("message", std::string(raw->size(), '\0')).ok());
  }
}

TEST(Jws, SignAndVerifyEveryForm) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    const auto key = makeKey(curve);
    const KeySet keys = keySetOf(key, "k1");
    const std::string body = R"({"checkout":{"id":"chk_1","total":1999}})";
    for (bool detached : {false, true}) {
      for (bool b64 : {true, false}) {
        JwsSignOptions options{"k1", detached, b64, ""};
        auto token = signJws(key, body, options);
        ASSERT_TRUE(token.ok()) << token.error().message;
        JwsVerifyOptions verify;
        if (detached) verify.detached_payload = body;
        auto v = verifyJws(*token, keys, verify);
        ASSERT_TRUE(v.ok()) << v.error().message;
        EXPECT_EQ(v->payload, body);
        EXPECT_EQ(v->b64, b64);
        EXPECT_EQ(v->detached, detached);
        EXPECT_EQ(v->alg, algorithmFor(curve));
        EXPECT_EQ(v->thumbprint, jwkThumbprint(key.publicKey()));
        if (detached) {
          EXPECT_NE(token->find(".."), std::string::npos);
          JwsVerifyOptions changed;
          const std::string other_body = body + " ";
          changed.detached_payload = other_body;
          auto bad = verifyJws(*token, keys, changed);
          ASSERT_FALSE(bad.ok());
          EXPECT_NE(bad.error().message.find("signature_invalid"), std::string::npos);
        }
      }
    }
    // Attached unencoded payload without '.'.
    auto attached = signJws(key, "no dots here", {"k1", false, false, ""});
    ASSERT_TRUE(attached.ok());
    auto v = verifyJws(*attached, keys, {});
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->payload, "no dots here");
    EXPECT_FALSE(signJws(key, "a.b", {"k1", false, false, ""}).ok());
  }
}

// Builds a token with an arbitrary protected header, signed by `key`.
std::string tokenWithHeader(const EcPrivateKey& key, const std::string& header,
                            const std::string& payload, bool b64 = true) {
  const std::string h = base64UrlEncode(header);
  const std::string input = jwsSigningInput(h, payload, b64);
  auto sig = key.sign(input);
  EXPECT_TRUE(sig.ok());
  return h + "." + (b64 ? base64UrlEncode(payload) : payload) + "." + base64UrlEncode(*sig);
}

TEST(Jws, ProtectedHeaderChecks) {
  const auto key = makeKey(Curve::kP256);
  const KeySet keys = keySetOf(key, "k1");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"alg":"ES256"})", "has no \"kid\""},
      {R"({"alg":"ES256","kid":"other"})", "key_not_found: no signing key with kid \"other\""},
      {R"({"alg":"ES384","kid":"k1"})", "does not match key \"k1\" on P-256"},
      {R"({"kid":"k1"})", "has no \"alg\""},
      {R"({"alg":"ES256","kid":"k1","crit":["exp"],"exp":1})", "\"exp\" is not understood"},
      {R"({"alg":"ES256","kid":"k1","crit":["b64"]})", "the header lacks it"},
      {R"({"alg":"ES256","kid":"k1","crit":[]})", "non-empty array"},
      {R"({"alg":"ES256","kid":"k1","crit":["b64","b64"],"b64":true})", "twice"},
      {R"({"alg":"ES256","kid":"k1","b64":false})", "must be listed in \"crit\""},
      {R"({"alg":"ES256","kid":"k1","b64":"no","crit":["b64"]})", "must be true or false"},
      {R"({"alg":"ES256","kid":7})", "\"kid\" must be a string"},
      {R"(["alg","ES256"])", "not a JSON object"},
      {R"({"alg":"ES256","kid":"k1")", "not a JSON object"},
  };
  for (const auto& [header, reason] : cases) {
    auto r = verifyJws(tokenWithHeader(key, header, "payload"), keys, {});
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_NE(r.error().message.find(reason), std::string::npos)
        << header << " -> " << r.error().message;
  }
  // A key embedded in the header is never used: the set's key must verify.
  const auto attacker = makeKey(Curve::kP256);
  const std::string embedded = R"({"alg":"ES256","kid":"k1","jwk":)" +
                               json::serialize(toPublicJwk(attacker.publicKey())) + "}";
  EXPECT_FALSE(verifyJws(tokenWithHeader(attacker, embedded, "payload"), keys, {}).ok());
  EXPECT_TRUE(verifyJws(tokenWithHeader(key, embedded, "payload"), keys, {}).ok());
}

TEST(Jws, ShapeAndSizeChecks) {
  const auto key = makeKey(Curve::kP256);
  const KeySet keys = keySetOf(key, "k1");
  auto token = signJws(key, "payload", {"k1", false, true, ""});
  ASSERT_TRUE(token.ok());
  EXPECT_NE(errorOf(verifyJws("a.b", keys, {})).find("compact form"), std::string::npos);
  EXPECT_NE(errorOf(verifyJws(*token + ".x", keys, {})).find("compact form"), std::string::npos);
  EXPECT_NE(errorOf(verifyJws(std::string(20000, 'a'), keys, {})).find("over the cap"),
            std::string::npos);
  JwsVerifyOptions detached_expected;
  detached_expected.require_detached = true;
  EXPECT_NE(errorOf(verifyJws(*token, keys, detached_expected)).find("inline"), std::string::npos);
  auto detached = signJws(key, "payload", {"k1", true, true, ""});
  ASSERT_TRUE(detached.ok());
  EXPECT_NE(errorOf(verifyJws(*detached, keys, {})).find("none was supplied"), std::string::npos);
}

TEST(Jws, EveryChangedCharacterFails) {
  const auto key = makeKey(Curve::kP256);
  const KeySet keys = keySetOf(key, "k1");
  const std::string body = R"({"id":"chk_1"})";
  for (bool b64 : {true, false}) {
    auto token = signJws(key, body, {"k1", true, b64, ""});
    ASSERT_TRUE(token.ok());
    JwsVerifyOptions options;
    options.detached_payload = body;
    ASSERT_TRUE(verifyJws(*token, keys, options).ok());
    for (std::size_t i = 0; i < token->size(); ++i) {
      if ((*token)[i] == '.') continue;
      std::string bad = *token;
      bad[i] = bad[i] == 'A' ? 'B' : 'A';
      EXPECT_FALSE(verifyJws(bad, keys, options).ok()) << "b64=" << b64 << " character " << i;
    }
    for (std::size_t i = 0; i < body.size(); ++i) {
      std::string changed = body;
      changed[i] = char(changed[i] ^ 0x20);
      JwsVerifyOptions o;
      o.detached_payload = changed;
      EXPECT_FALSE(verifyJws(*token, keys, o).ok()) << "body byte " << i;
    }
  }
}

}  // namespace
}  // namespace steward::negotiation
