// The one place that knows how each UCP version signs HTTP messages, so the HTTP client only says
// which version a merchant speaks:
//   2026-04-08: RFC 9421 HTTP Message Signatures + RFC 9530 Content-Digest on requests, responses
//               and webhooks (signatures.md, REST binding).
//   2026-01-11: a `Request-Signature` header holding a detached JWS over the body bytes, required
//               on every request by that version's OpenAPI and used by businesses on webhooks;
//               responses are not signed in this version.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "negotiation/signing/ec_key.hpp"
#include "negotiation/signing/http_signature.hpp"
#include "negotiation/signing/jwk.hpp"

namespace steward::negotiation {

enum class UcpVersion { k2026_01_11, k2026_04_08 };

core::Result<UcpVersion> parseUcpVersion(std::string_view text);
std::string_view versionName(UcpVersion version);

// The UCP error code a signing error starts with (signature_missing, signature_invalid,
// key_not_found, digest_mismatch, algorithm_unsupported); "signature_invalid" for any other.
std::string_view ucpErrorCode(const core::Error& error);

// `UCP-Agent: profile="https://..."` (an RFC 8941 Dictionary; signatures.md "Parsing Rules"):
// the profile member is required, a string, and an https URL with a host.
std::string ucpAgentField(std::string_view profile_url);
core::Result<std::string> parseUcpAgentProfile(std::string_view field_value);

class RequestSigner {
 public:
  // `kid` is the key's id in Steward's platform profile (KeyStore::kid()).
  RequestSigner(EcPrivateKey key, std::string kid, const core::Clock& clock);

  // Signs an outgoing request whose method, target URI, fields (Content-Type, UCP-Agent,
  // Idempotency-Key) and body are final; any earlier signature fields are replaced, so a retry is
  // simply signed again.
  //   2026-04-08: adds Content-Digest (sha-256, when there is a body), Signature-Input and
  //     Signature (label sig1, created, keyid; no alg) covering @method @authority @path, @query
  //     when there is one, ucp-agent and idempotency-key when present, content-digest and
  //     content-type when there is a body. A POST/PUT/PATCH/DELETE without Idempotency-Key, or a
  //     body without Content-Type, is refused.
  //   2026-01-11: adds Request-Signature: a compact JWS with an empty payload part, "b64": false
  //     (RFC 7797) and kid, over the exact body bytes (empty for a request without a body).
  core::Result<void> sign(UcpVersion version, HttpMessage& request) const;

 private:
  EcPrivateKey key_;
  std::string kid_;
  const core::Clock& clock_;
};

struct SignatureCheck {
  bool is_signed = false;
  std::string scheme;  // "rfc9421", "jws-detached" or "" when unsigned
  std::string label;   // RFC 9421 label
  std::string kid;
  std::string thumbprint;
  SignatureAlgorithm alg = SignatureAlgorithm::kEs256;
  std::string signed_content;  // the RFC 9421 signature base, or the compact JWS
};

class ResponseVerifier {
 public:
  struct Options {
    // Refuse unsigned responses. Off by default: 2026-01-11 merchants never sign responses and
    // 2026-04-08 only recommends it; the policy decides whether unsigned merchants may be used.
    bool require_signed_responses = false;
    std::optional<core::Duration> max_age = std::chrono::minutes(5);  // when `created` is given
    core::Duration clock_skew = std::chrono::seconds(60);
  };

  // `keys`: the business profile's signing_keys, pinned by thumbprint where the policy says so.
  ResponseVerifier(KeySet keys, const core::Clock& clock, Options options);
  ResponseVerifier(KeySet keys, const core::Clock& clock)
      : ResponseVerifier(std::move(keys), clock, Options{}) {}

  // A response from the merchant. Unsigned is reported as such (an error only when
  // require_signed_responses); a signature that is present must verify, covering @status, and
  // content-digest and content-type when there is a body.
  core::Result<SignatureCheck> verifyResponse(UcpVersion version, const HttpMessage& response,
                                              const HttpMessage* request = nullptr) const;

  // A webhook the merchant sent to Steward; it must be signed in both versions.
  //   2026-01-11: Request-Signature, a detached JWS over the body (b64 true or false).
  //   2026-04-08: RFC 9421 covering @method @authority @path, and content-digest and content-type
  //     when there is a body.
  core::Result<SignatureCheck> verifyWebhook(UcpVersion version, const HttpMessage& request) const;

 private:
  core::Result<SignatureCheck> verifyRfc9421(const HttpMessage& message,
                                             std::vector<std::string> required,
                                             const HttpMessage* request) const;
  KeySet keys_;
  const core::Clock& clock_;
  Options options_;
};

}  // namespace steward::negotiation
