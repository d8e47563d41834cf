// The marketplace's own small crypto kit: base64, SHA-256, P-256 keys as JWK, ES256 signatures
// (raw r||s as JOSE and RFC 9421 want them) and a test PKI made at run time. Written apart from
// the daemon's code on purpose, so a shared mistake cannot pass unseen.
#pragma once

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace marketplace {

std::string base64(std::string_view bytes);
std::string base64url(std::string_view bytes);                  // no padding
std::optional<std::string> unbase64(std::string_view text);     // standard alphabet, padded
std::optional<std::string> unbase64url(std::string_view text);  // URL alphabet, padding optional
std::string sha256(std::string_view bytes);                     // raw 32 bytes

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// A P-256 signing key made at start-up.
class SigningKey {
 public:
  explicit SigningKey(std::string kid);
  const std::string& kid() const { return kid_; }
  // ES256 over `data`: 64 bytes r||s.
  std::string sign(std::string_view data) const;
  // The public half as a JWK (kid, kty, crv, x, y, use, alg).
  boost::json::object jwk() const;

 private:
  std::string kid_;
  Pkey key_;
};

// Verifies an ES256 (P-256) or ES384 (P-384) raw r||s signature with a public JWK. False on any
// malformed key or signature.
bool verifyJwk(const boost::json::object& jwk, std::string_view data, std::string_view signature);

struct TestPki {
  std::string ca_file;      // PEM, for clients to trust
  std::string cert_file;    // server chain (leaf), PEM
  std::string key_file;     // server key, PEM
  std::string spki_sha256;  // base64 SHA-256 of the server key's SubjectPublicKeyInfo (a pin)
};

// RFC 7638 thumbprint of an EC public JWK: base64url(SHA-256({"crv","kty","x","y"})).
std::string jwkThumbprint(const boost::json::object& jwk);

// Makes a throw-away CA and one server certificate for localhost / 127.0.0.1 / ::1 in `dir`.
// Throws std::runtime_error on failure (start-up only).
TestPki makeTestPki(const std::string& dir);

}  // namespace marketplace
