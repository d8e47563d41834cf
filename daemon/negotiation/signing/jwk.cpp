// See jwk.hpp.
#include "negotiation/signing/jwk.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "negotiation/signing/base64.hpp"

namespace steward::negotiation {
namespace {

using core::fail;
namespace json = boost::json;

core::Result<std::string> stringMember(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v) return fail("JWK: \"" + std::string(name) + "\" is missing");
  if (!v->is_string()) return fail("JWK: \"" + std::string(name) + "\" must be a string");
  return std::string(v->as_string());
}

core::Result<std::string> coordinate(const json::object& o, std::string_view name, Curve curve) {
  auto text = stringMember(o, name);
  if (!text) return text.error();
  auto bytes = base64UrlDecode(*text);
  if (!bytes) return fail("JWK: \"" + std::string(name) + "\": " + bytes.error().message);
  if (bytes->size() != coordinateSize(curve)) {
    return fail("JWK: \"" + std::string(name) + "\" must be " +
                std::to_string(coordinateSize(curve)) + " bytes for " +
                std::string(curveName(curve)) + ", got " + std::to_string(bytes->size()));
  }
  return bytes;
}

struct Parsed {
  Curve curve;
  std::string x, y, kid;
};

core::Result<Parsed> parseCommon(const json::object& jwk) {
  auto kty = stringMember(jwk, "kty");
  if (!kty) return kty.error();
  if (*kty != "EC") {
    return fail("JWK: key type \"" + kty->substr(0, 16) +
                "\" is not accepted (only EC keys on P-256 and P-384)");
  }
  auto crv = stringMember(jwk, "crv");
  if (!crv) return crv.error();
  auto curve = curveFromName(*crv);
  if (!curve) return fail("JWK: " + curve.error().message);
  Parsed p{*curve, {}, {}, {}};
  if (const auto* kid = jwk.if_contains("kid")) {
    if (!kid->is_string()) return fail("JWK: \"kid\" must be a string");
    if (kid->as_string().size() > 256) return fail("JWK: \"kid\" is longer than 256 characters");
    p.kid = std::string(kid->as_string());
  }
  if (const auto* use = jwk.if_contains("use")) {
    if (!use->is_string() || use->as_string() != "sig") {
      return fail("JWK: \"use\" must be \"sig\" for a signing key");
    }
  }
  if (const auto* alg = jwk.if_contains("alg")) {
    if (!alg->is_string()) return fail("JWK: \"alg\" must be a string");
    auto a = algorithmFromJose(alg->as_string());
    if (!a) return fail("JWK: " + a.error().message);
    if (curveFor(*a) != *curve) {
      return fail("JWK: \"alg\" " + std::string(alg->as_string()) + " does not match curve " +
                  *crv);
    }
  }
  auto x = coordinate(jwk, "x", *curve);
  if (!x) return x.error();
  auto y = coordinate(jwk, "y", *curve);
  if (!y) return y.error();
  p.x = std::move(*x);
  p.y = std::move(*y);
  return p;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

core::Result<PublicJwk> parsePublicJwk(const json::object& jwk) {
  if (jwk.contains("d")) {
    return fail("JWK: a private key (\"d\") was given where only a public key belongs");
  }
  auto p = parseCommon(jwk);
  if (!p) return p.error();
  auto key = EcPublicKey::fromCoordinates(p->curve, p->x, p->y);
  if (!key) return fail("JWK: " + key.error().message);
  return PublicJwk{std::move(*key), std::move(p->kid)};
}

core::Result<PublicJwk> parsePublicJwk(std::string_view json_text) {
  if (json_text.size() > kMaxJwkBytes) return fail("JWK: larger than 4096 bytes");
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec) return fail("JWK: not valid JSON: " + ec.message());
  if (!v.is_object()) return fail("JWK: must be a JSON object");
  return parsePublicJwk(v.as_object());
}

core::Result<EcPrivateKey> parsePrivateJwk(const json::object& jwk) {
  auto p = parseCommon(jwk);
  if (!p) return p.error();
  auto d = coordinate(jwk, "d", p->curve);
  if (!d) return d.error();
  auto key = EcPrivateKey::fromComponents(p->curve, p->x, p->y, *d);
  if (!key) return fail("JWK: " + key.error().message);
  return key;
}

json::object toPublicJwk(const EcPublicKey& key, std::string_view kid) {
  json::object o;
  if (!kid.empty()) o["kid"] = kid;
  o["kty"] = "EC";
  o["crv"] = curveName(key.curve());
  o["x"] = base64UrlEncode(key.x());
  o["y"] = base64UrlEncode(key.y());
  o["use"] = "sig";
  o["alg"] = joseName(key.algorithm());
  return o;
}

json::object toPrivateJwk(const EcPrivateKey& key, std::string_view kid) {
  json::object o = toPublicJwk(key.publicKey(), kid);
  o["d"] = base64UrlEncode(key.d());
  return o;
}

core::Result<std::string> thumbprintOfMembers(
    std::vector<std::pair<std::string, std::string>> members) {
  std::sort(members.begin(), members.end());
  std::string canonical = "{";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i && members[i].first == members[i - 1].first) {
      return fail("JWK thumbprint: member \"" + members[i].first + "\" given twice");
    }
    for (const auto* s : {&members[i].first, &members[i].second}) {
      for (char c : *s) {
        if (std::uint8_t(c) < 0x20 || std::uint8_t(c) > 0x7e || c == '"' || c == '\\') {
          return fail("JWK thumbprint: members must be plain printable ASCII");
        }
      }
    }
    if (i) canonical += ',';
    canonical += '"' + members[i].first + "\":\"" + members[i].second + '"';
  }
  canonical += '}';
  return base64UrlEncode(sha256(canonical));
}

std::string jwkThumbprint(const EcPublicKey& key) {
  auto t = thumbprintOfMembers({{"crv", std::string(curveName(key.curve()))},
                                {"kty", "EC"},
                                {"x", base64UrlEncode(key.x())},
                                {"y", base64UrlEncode(key.y())}});
  return t ? *t : std::string();  // our own members are always plain ASCII
}

core::Result<std::string> jwkThumbprint(const json::object& jwk) {
  auto kty = stringMember(jwk, "kty");
  if (!kty) return kty.error();
  std::vector<std::string> names;
  if (*kty == "EC") {
    names = {"crv", "x", "y"};
  } else if (*kty == "RSA") {
    names = {"e", "n"};
  } else if (*kty == "OKP") {
    names = {"crv", "x"};
  } else if (*kty == "oct") {
    names = {"k"};
  } else {
    return fail("JWK thumbprint: unknown key type \"" + kty->substr(0, 16) + "\"");
  }
  std::vector<std::pair<std::string, std::string>> members{{"kty", *kty}};
  for (const auto& n : names) {
    auto v = stringMember(jwk, n);
    if (!v) return v.error();
    members.emplace_back(n, std::move(*v));
  }
  return thumbprintOfMembers(std::move(members));
}

core::Result<KeySet> KeySet::fromSigningKeys(const json::value& signing_keys,
                                             const Limits& limits) {
  if (!signing_keys.is_array()) return fail("signing_keys must be an array of JWKs");
  const auto& arr = signing_keys.as_array();
  if (arr.size() > limits.max_keys) {
    return fail("signing_keys lists " + std::to_string(arr.size()) + " keys, over the cap of " +
                std::to_string(limits.max_keys));
  }
  KeySet set;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "signing_keys[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) return fail(where + " is not a JSON object");
    const auto& o = arr[i].as_object();
    const auto* kid = o.if_contains("kid");
    if (!kid || !kid->is_string() || kid->as_string().empty()) {
      return fail(where + " has no \"kid\" (UCP requires one on every key)");
    }
    const std::string id(kid->as_string());
    auto clash = [&](const std::string& k) { return k == id; };
    if (std::any_of(set.keys_.begin(), set.keys_.end(),
                    [&](const PublicJwk& k) { return clash(k.kid); }) ||
        std::any_of(set.set_aside_.begin(), set.set_aside_.end(),
                    [&](const auto& p) { return clash(p.first); })) {
      return fail(where + ": kid \"" + id.substr(0, 64) + "\" appears twice");
    }
    auto key = parsePublicJwk(o);
    if (!key) {
      set.set_aside_.emplace_back(id, key.error().message);
      continue;
    }
    set.keys_.push_back(std::move(*key));
  }
  return set;
}

core::Result<void> KeySet::add(PublicJwk key) {
  if (key.kid.empty()) return fail("a key in a key set needs a kid");
  for (const auto& k : keys_) {
    if (k.kid == key.kid) return fail("kid \"" + key.kid + "\" is already in the key set");
  }
  keys_.push_back(std::move(key));
  return {};
}

core::Result<const PublicJwk*> KeySet::find(std::string_view kid) const {
  const std::string shown(kid.substr(0, 64));
  for (const auto& k : keys_) {
    if (k.kid != kid) continue;
    if (!pins_.empty()) {
      const std::string tp = jwkThumbprint(k.key);
      if (std::find(pins_.begin(), pins_.end(), tp) == pins_.end()) {
        return fail("key_not_found: key \"" + shown + "\" (thumbprint " + tp +
                    ") is not one of the thumbprints pinned for this merchant");
      }
    }
    return &k;
  }
  for (const auto& [id, why] : set_aside_) {
    if (id == kid) return fail("key_not_found: key \"" + shown + "\" cannot be used: " + why);
  }
  return fail("key_not_found: no signing key with kid \"" + shown + "\" in the profile");
}

}  // namespace steward::negotiation
