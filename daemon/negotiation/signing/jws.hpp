// JWS compact serialisation (RFC 7515) with ES256/ES384 only, including a detached payload
// (RFC 7515 Appendix F) and the unencoded payload option (RFC 7797: "b64": false, listed in
// "crit"). UCP 2026-01-11 signs request bodies and webhooks this way (`Request-Signature`).
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "negotiation/signing/ec_key.hpp"
#include "negotiation/signing/jwk.hpp"

namespace steward::negotiation {

struct JwsSignOptions {
  std::string kid;        // put in the protected header when not empty
  bool detached = false;  // leave the payload part empty (the receiver has the payload)
  bool b64 = true;        // false: RFC 7797 unencoded payload, with "crit":["b64"]
  std::string typ;        // optional "typ"
};

// JWS Signing Input: ASCII(encoded header) || '.' || payload, where the payload is base64url
// encoded unless b64 is false (RFC 7797 §3).
std::string jwsSigningInput(std::string_view encoded_header, std::string_view payload, bool b64);

// Compact JWS over `payload`, algorithm from the key's curve. An attached unencoded payload may
// not contain '.', which RFC 7797 §5.2 forbids in compact form.
core::Result<std::string> signJws(const EcPrivateKey& key, std::string_view payload,
                                  const JwsSignOptions& options);

struct JwsVerifyOptions {
  // Required when the payload part is empty; the viewed bytes must outlive the call.
  std::optional<std::string_view> detached_payload;
  bool require_kid = true;        // false: a header without kid is checked with a one-key set's key
  bool require_detached = false;  // refuse a JWS that carries its payload inline
  std::size_t max_bytes = 16384;  // the compact serialisation without a detached payload
};

struct VerifiedJws {
  SignatureAlgorithm alg = SignatureAlgorithm::kEs256;
  std::string kid;
  std::string thumbprint;  // RFC 7638, of the key that verified
  std::string payload;     // decoded
  bool b64 = true;
  bool detached = false;
  boost::json::object header;
};

// Checks, in order: size, shape (three parts), the protected header (JSON object; alg is ES256 or
// ES384; crit is a non-empty list of understood, present, unique names; b64 is a boolean and in
// crit when false), the key (by kid from `keys`, its curve matching alg), and the signature.
// Keys embedded in the header (jwk, jku, x5c, x5u) are never used. Errors begin with the UCP
// error code that fits (signature_invalid, algorithm_unsupported, key_not_found).
core::Result<VerifiedJws> verifyJws(std::string_view compact, const KeySet& keys,
                                    const JwsVerifyOptions& options);

}  // namespace steward::negotiation
