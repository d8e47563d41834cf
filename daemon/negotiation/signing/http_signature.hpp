// RFC 9421 HTTP Message Signatures with ECDSA (ecdsa-p256-sha256, ecdsa-p384-sha384): signature
// base construction, the Signature-Input / Signature fields, and verification with labels,
// several signatures per message, and created / expires checked against an injected clock.
// UCP 2026-04-08 signs requests, responses and webhooks this way (signatures.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "negotiation/signing/ec_key.hpp"
#include "negotiation/signing/jwk.hpp"
#include "negotiation/signing/structured_fields.hpp"

namespace steward::negotiation {

// One HTTP message as signed or received: a request (method + absolute target URI) or a response
// (status > 0). Field names are compared case-insensitively; several lines of one field are
// combined as RFC 9110 §5.3 says.
struct HttpMessage {
  std::string method;
  std::string target_uri;  // "https://host[:port]/path?query"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;

  bool isResponse() const { return status != 0; }
  // Every line's value of `name`, trimmed; nullopt when the field is absent.
  std::optional<std::string> field(std::string_view name) const;
  // Replaces every line of `name` with one.
  void setField(std::string_view name, std::string value);
  void removeField(std::string_view name);
};

struct TargetUri {
  std::string scheme;                // lower case
  std::string authority;             // host lower case, port only when not the scheme's default
  std::string path;                  // "/" when empty
  std::optional<std::string> query;  // without '?'
};
core::Result<TargetUri> parseTargetUri(std::string_view uri);

// A covered component: a field name ("content-digest") or a derived component ("@path"), with
// RFC 9421 parameters (sf, key, req, name).
struct ComponentId {
  ComponentId(std::string n, sf::Parameters p = {}) : name(std::move(n)), params(std::move(p)) {}
  ComponentId(const char* n) : name(n) {}
  std::string name;
  sf::Parameters params;
};

// The signature base (RFC 9421 §2.5) for `covered` — the inner list of component identifiers
// with the signature parameters, as it appears in Signature-Input. `request` is the request a
// response answers, for components with the `req` parameter. Fails, naming the component, when a
// component is absent, not applicable to this kind of message, or uses an unsupported parameter
// (bs, tr).
core::Result<std::string> signatureBase(const HttpMessage& message, const sf::InnerList& covered,
                                        const HttpMessage* request = nullptr);

struct HttpSignOptions {
  std::string label = "sig1";
  std::vector<ComponentId> components;
  std::string keyid;
  bool created = true;
  std::optional<core::Duration> expires_after;
  std::string nonce;
  std::string tag;
  bool include_alg = false;  // UCP derives the algorithm from the key and leaves `alg` out
};

// Signs and adds the signature under options.label to Signature-Input and Signature, keeping any
// signatures already there (a label clash is an error). Covered fields must already be set,
// Content-Digest included.
core::Result<void> signHttpMessage(HttpMessage& message, const EcPrivateKey& key,
                                   const HttpSignOptions& options, const core::Clock& clock,
                                   const HttpMessage* request = nullptr);

struct HttpVerifyOptions {
  std::string label;  // only this label; empty: every label is a candidate
  std::string tag;    // only signatures carrying this tag
  std::vector<std::string> required_components;  // plain names that must be covered
  bool require_created = false;
  std::optional<core::Duration> max_age;  // since `created`, when the signature has one
  core::Duration clock_skew = std::chrono::seconds(60);
  bool require_digest_for_body = true;  // a message with a body must cover content-digest
  std::size_t max_signatures = 8;
  std::size_t max_field_bytes = 8192;  // Signature-Input and Signature each
};

struct VerifiedHttpSignature {
  std::string label;
  std::string keyid;
  std::string thumbprint;  // RFC 7638, of the key that verified
  SignatureAlgorithm alg = SignatureAlgorithm::kEs256;
  std::optional<std::int64_t> created;
  std::vector<std::string> components;  // serialised identifiers
  std::string signature_base;
};

// Verifies the first candidate signature that passes every check: Content-Digest against the body
// when covered, required components, created/expires against `clock`, the key by keyid from
// `keys` (its curve matching `alg` when given), and the ECDSA signature. When none passes, the
// error names each candidate's reason; it starts with the UCP error code of the first.
core::Result<VerifiedHttpSignature> verifyHttpMessage(const HttpMessage& message,
                                                      const KeySet& keys,
                                                      const HttpVerifyOptions& options,
                                                      const core::Clock& clock,
                                                      const HttpMessage* request = nullptr);

}  // namespace steward::negotiation
