// JSON Web Keys (RFC 7517) for the EC keys Steward accepts, RFC 7638 thumbprints, and the set of
// keys a UCP profile publishes in `signing_keys`, looked up by `kid` and optionally pinned by
// thumbprint (the household policy may name the thumbprints it trusts for a merchant).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "negotiation/signing/ec_key.hpp"

namespace steward::negotiation {

inline constexpr std::size_t kMaxJwkBytes = 4096;

// An EC public key with the JWK members that travel with it.
struct PublicJwk {
  EcPublicKey key;
  std::string kid;  // may be empty for a bare key
};

// Validates kty ("EC"), crv (P-256 / P-384), x and y (base64url, exact length, point on the
// curve), and the optional use ("sig") and alg (must match the curve). A `d` member is refused
// here: a public key set must never carry a private key.
core::Result<PublicJwk> parsePublicJwk(const boost::json::object& jwk);
core::Result<PublicJwk> parsePublicJwk(std::string_view json_text);
// The same checks plus `d` (exact length, matching x and y).
core::Result<EcPrivateKey> parsePrivateJwk(const boost::json::object& jwk);

// {"kty":"EC","crv":...,"x":...,"y":...} plus kid/use/alg when given.
boost::json::object toPublicJwk(const EcPublicKey& key, std::string_view kid = {});
boost::json::object toPrivateJwk(const EcPrivateKey& key, std::string_view kid = {});

// RFC 7638: SHA-256 over the required members, in lexicographic order, with no whitespace, then
// base64url. Generic over the members so that any key type's thumbprint can be computed (the
// RFC's own example is RSA: {"e","kty","n"}). Member values must be plain ASCII strings.
core::Result<std::string> thumbprintOfMembers(
    std::vector<std::pair<std::string, std::string>> members);
std::string jwkThumbprint(const EcPublicKey& key);
// The required members of any JWK object (EC: crv kty x y; RSA: e kty n; OKP: crv kty x; oct: k
// kty).
core::Result<std::string> jwkThumbprint(const boost::json::object& jwk);

class KeySet {
 public:
  struct Limits {
    std::size_t max_keys = 32;
  };

  // Reads a profile's `signing_keys` array. Keys Steward cannot use (another key type or curve,
  // a bad point) are set aside with the reason, so that a lookup of their kid explains itself;
  // a malformed array, a key without kid, a duplicate kid or too many keys fail the whole set.
  static core::Result<KeySet> fromSigningKeys(const boost::json::value& signing_keys,
                                              const Limits& limits);
  static core::Result<KeySet> fromSigningKeys(const boost::json::value& signing_keys) {
    return fromSigningKeys(signing_keys, Limits{});
  }

  core::Result<void> add(PublicJwk key);

  // With pins, only keys whose RFC 7638 thumbprint is listed may verify anything.
  void pinThumbprints(std::vector<std::string> thumbprints) { pins_ = std::move(thumbprints); }

  // "key_not_found: ..." when the kid is unknown, unusable or not pinned.
  core::Result<const PublicJwk*> find(std::string_view kid) const;

  std::size_t size() const { return keys_.size(); }
  const std::vector<PublicJwk>& keys() const { return keys_; }
  const std::vector<std::pair<std::string, std::string>>& setAside() const { return set_aside_; }

 private:
  std::vector<PublicJwk> keys_;
  std::vector<std::pair<std::string, std::string>> set_aside_;  // kid, reason
  std::vector<std::string> pins_;
};

}  // namespace steward::negotiation
