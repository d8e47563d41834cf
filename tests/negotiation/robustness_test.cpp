// Mutated signatures and headers, as an attacker or a broken merchant would send them: the
// verifiers never crash, stay within their caps, and accept a mutation only when it leaves the
// signed content exactly as it was (a structured field may be re-spaced without changing its
// meaning; a JWS has one spelling only).
#include <gtest/gtest.h>

#include <random>

#include "core/clock.hpp"
#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/http_signature.hpp"
#include "negotiation/signing/jws.hpp"

namespace steward::negotiation {
namespace {

std::string mutate(std::string text, std::mt19937& rng) {
  static const std::string alphabet = "\"():;=,? */-.@_abcAZ019+\\\t\x01\x7f\xff";
  const int edits = 1 + int(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = rng() % (text.size() + 1);
    const char c = alphabet[rng() % alphabet.size()];
    switch (rng() % 3) {
      case 0:
        text.insert(pos, 1, c);
        break;
      case 1:
        if (pos < text.size()) text.erase(pos, 1);
        break;
      default:
        if (pos < text.size()) text[pos] = c;
    }
  }
  return text;
}

TEST(Robustness, MutatedJwsNeverVerifies) {
  auto key = EcPrivateKey::generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  KeySet keys;
  ASSERT_TRUE(keys.add({key->publicKey(), "k1"}).ok());
  const std::string body = R"({"id":"chk_1","total":{"amount":1999,"currency":"EUR"}})";
  std::mt19937 rng(7515);
  for (bool detached : {false, true}) {
    auto token = signJws(*key, body, {"k1", detached, !detached, ""});
    ASSERT_TRUE(token.ok());
    JwsVerifyOptions options;
    if (detached) options.detached_payload = body;
    ASSERT_TRUE(verifyJws(*token, keys, options).ok());
    for (int i = 0; i < 5000; ++i) {
      const std::string bad = mutate(*token, rng);
      if (bad == *token) continue;
      EXPECT_FALSE(verifyJws(bad, keys, options).ok()) << bad;
    }
  }
}

TEST(Robustness, MutatedHttpSignatureFieldsVerifyOnlyWhenMeaningIsUnchanged) {
  auto key = EcPrivateKey::generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  KeySet keys;
  ASSERT_TRUE(keys.add({key->publicKey(), "k1"}).ok());
  core::ManualClock clock(core::TimePoint{std::chrono::seconds(1767225600)});
  HttpMessage m;
  m.method = "POST";
  m.target_uri = "https://shop.example/checkout-sessions?x=1";
  m.body = R"({"a":1})";
  m.fields = {{"Content-Type", "application/json"},
              {"Idempotency-Key", "k"},
              {"Content-Digest", contentDigest(m.body)}};
  HttpSignOptions o;
  o.keyid = "k1";
  o.components = {"@method",         "@authority",     "@path",       "@query",
                  "idempotency-key", "content-digest", "content-type"};
  ASSERT_TRUE(signHttpMessage(m, *key, o, clock).ok());
  auto good = verifyHttpMessage(m, keys, {}, clock);
  ASSERT_TRUE(good.ok());
  std::mt19937 rng(9421);
  int accepted = 0;
  for (const char* name : {"Signature-Input", "Signature", "Content-Digest"}) {
    const std::string original = *m.field(name);
    for (int i = 0; i < 3000; ++i) {
      HttpMessage bad = m;
      const std::string mutated = mutate(original, rng);
      if (mutated == original) continue;
      bad.setField(name, mutated);
      auto v = verifyHttpMessage(bad, keys, {}, clock);
      if (v.ok()) {
        ++accepted;
        EXPECT_EQ(v->signature_base, good->signature_base) << name << ": " << mutated;
      }
    }
  }
  EXPECT_LT(accepted, 300);  // whitespace-only changes, a small share of the mutations
}

}  // namespace
}  // namespace steward::negotiation
