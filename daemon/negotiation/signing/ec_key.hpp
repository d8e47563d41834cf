// ECDSA keys on P-256 and P-384 (OpenSSL 3 EVP) and the only two signature algorithms Steward
// accepts: ES256 and ES384. Signatures are JOSE's fixed-width r||s, never DER. Every other
// algorithm (none, HS*, RS*, PS*, EdDSA, ES512, ...) is refused by name with a clear error.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace steward::negotiation {

enum class Curve { kP256, kP384 };
enum class SignatureAlgorithm { kEs256, kEs384 };

std::string_view curveName(Curve curve);  // "P-256"
std::size_t coordinateSize(Curve curve);  // 32 or 48 bytes
SignatureAlgorithm algorithmFor(Curve curve);
Curve curveFor(SignatureAlgorithm alg);
std::string_view joseName(SignatureAlgorithm alg);     // "ES256"
std::string_view httpSigName(SignatureAlgorithm alg);  // "ecdsa-p256-sha256" (RFC 9421 §6.2.2)

// "ES256"/"ES384" only; anything else gets "algorithm_unsupported: ... is not accepted".
core::Result<SignatureAlgorithm> algorithmFromJose(std::string_view name);
core::Result<SignatureAlgorithm> algorithmFromHttpSig(std::string_view name);
core::Result<Curve> curveFromName(std::string_view crv);

// JOSE r||s <-> ASN.1 DER ECDSA-Sig-Value. The raw form must be exactly 2 * coordinateSize.
core::Result<std::string> ecdsaRawToDer(std::string_view raw, Curve curve);
core::Result<std::string> ecdsaDerToRaw(std::string_view der, Curve curve);

class EcPublicKey {
 public:
  // Uncompressed coordinates, each exactly coordinateSize(curve) bytes; the point must lie on
  // the curve.
  static core::Result<EcPublicKey> fromCoordinates(Curve curve, std::string_view x,
                                                   std::string_view y);
  // An SPKI "PUBLIC KEY" PEM (used by RFC 9421's test keys).
  static core::Result<EcPublicKey> fromPem(std::string_view pem);

  Curve curve() const { return curve_; }
  SignatureAlgorithm algorithm() const { return algorithmFor(curve_); }
  const std::string& x() const { return x_; }
  const std::string& y() const { return y_; }

  // Verifies a raw r||s signature over `message` with this key's algorithm. The error names the
  // algorithm and says whether the signature was malformed or simply did not match.
  core::Result<void> verify(std::string_view message, std::string_view raw_signature) const;

  EVP_PKEY* evp() const { return key_.get(); }

 private:
  friend class EcPrivateKey;
  static core::Result<EcPublicKey> fromEvp(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  Curve curve_ = Curve::kP256;
  std::string x_, y_;
};

class EcPrivateKey {
 public:
  static core::Result<EcPrivateKey> generate(Curve curve);
  // `d` must be exactly coordinateSize(curve) bytes and match the public point (x, y).
  static core::Result<EcPrivateKey> fromComponents(Curve curve, std::string_view x,
                                                   std::string_view y, std::string_view d);
  // A PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY" PEM.
  static core::Result<EcPrivateKey> fromPem(std::string_view pem);

  const EcPublicKey& publicKey() const { return public_; }
  Curve curve() const { return public_.curve(); }
  SignatureAlgorithm algorithm() const { return public_.algorithm(); }
  // The private scalar, big-endian, coordinateSize(curve) bytes. Handle with care.
  const std::string& d() const { return d_; }

  // Signs `message` (hashed with SHA-256 or SHA-384 per the curve); returns raw r||s.
  core::Result<std::string> sign(std::string_view message) const;

 private:
  static core::Result<EcPrivateKey> fromEvp(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  EcPublicKey public_;
  std::string d_;
};

}  // namespace steward::negotiation
