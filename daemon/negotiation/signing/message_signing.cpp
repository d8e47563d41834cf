// See message_signing.hpp.
#include "negotiation/signing/message_signing.hpp"

#include "negotiation/signing/content_digest.hpp"
#include "negotiation/signing/jws.hpp"
#include "negotiation/signing/structured_fields.hpp"

namespace steward::negotiation {
namespace {

using core::fail;

bool isStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

core::Result<UcpVersion> parseUcpVersion(std::string_view text) {
  if (text == "2026-04-08") return UcpVersion::k2026_04_08;
  if (text == "2026-01-11") return UcpVersion::k2026_01_11;
  return fail("UCP version \"" + std::string(text.substr(0, 32)) +
              "\" is not supported (2026-04-08 and 2026-01-11 are)");
}

std::string_view versionName(UcpVersion version) {
  return version == UcpVersion::k2026_04_08 ? "2026-04-08" : "2026-01-11";
}

std::string_view ucpErrorCode(const core::Error& error) {
  for (std::string_view code : {"signature_missing", "signature_invalid", "key_not_found",
                                "digest_mismatch", "algorithm_unsupported"}) {
    if (error.message.size() > code.size() && error.message.starts_with(code) &&
        error.message[code.size()] == ':') {
      return code;
    }
  }
  return "signature_invalid";
}

std::string ucpAgentField(std::string_view profile_url) {
  sf::Dictionary dict{{"profile", sf::Item{std::string(profile_url), {}}}};
  auto text = sf::serialize(dict);
  return text ? *text : std::string();
}

core::Result<std::string> parseUcpAgentProfile(std::string_view field_value) {
  sf::Limits limits;
  limits.max_length = 2048;
  limits.max_members = 16;
  auto dict = sf::parseDictionary(field_value, limits);
  if (!dict) return fail("invalid_profile_url: UCP-Agent: " + dict.error().message);
  const auto* member = sf::findMember(*dict, "profile");
  if (!member) return fail("invalid_profile_url: UCP-Agent has no profile");
  const auto* item = std::get_if<sf::Item>(member);
  const auto* url = item ? std::get_if<std::string>(&item->value) : nullptr;
  if (!url) return fail("invalid_profile_url: UCP-Agent profile must be a quoted string");
  auto parsed = parseTargetUri(*url);
  if (!parsed || parsed->scheme != "https" || parsed->authority.empty()) {
    return fail("invalid_profile_url: UCP-Agent profile \"" + url->substr(0, 128) +
                "\" is not an https URL");
  }
  return *url;
}

RequestSigner::RequestSigner(EcPrivateKey key, std::string kid, const core::Clock& clock)
    : key_(std::move(key)), kid_(std::move(kid)), clock_(clock) {}

core::Result<void> RequestSigner::sign(UcpVersion version, HttpMessage& request) const {
  if (request.isResponse() || request.method.empty()) {
    return fail("only a request can be signed here");
  }
  request.removeField("Signature-Input");
  request.removeField("Signature");
  request.removeField("Request-Signature");
  if (version == UcpVersion::k2026_01_11) {
    JwsSignOptions options;
    options.kid = kid_;
    options.detached = true;
    options.b64 = false;
    auto jws = signJws(key_, request.body, options);
    if (!jws) return jws.error();
    request.setField("Request-Signature", std::move(*jws));
    return {};
  }

  auto uri = parseTargetUri(request.target_uri);
  if (!uri) return uri.error();
  HttpSignOptions options;
  options.keyid = kid_;
  options.components = {"@method", "@authority", "@path"};
  if (uri->query) options.components.emplace_back("@query");
  if (request.field("ucp-agent")) options.components.emplace_back("ucp-agent");
  if (request.field("idempotency-key")) {
    options.components.emplace_back("idempotency-key");
  } else if (isStateChanging(request.method)) {
    return fail("a " + request.method + " request needs an Idempotency-Key before it is signed");
  }
  request.removeField("Content-Digest");
  if (!request.body.empty()) {
    if (!request.field("content-type")) {
      return fail("a request with a body needs a Content-Type before it is signed");
    }
    request.setField("Content-Digest", contentDigest(request.body));
    options.components.emplace_back("content-digest");
    options.components.emplace_back("content-type");
  }
  return signHttpMessage(request, key_, options, clock_);
}

ResponseVerifier::ResponseVerifier(KeySet keys, const core::Clock& clock, Options options)
    : keys_(std::move(keys)), clock_(clock), options_(options) {}

core::Result<SignatureCheck> ResponseVerifier::verifyRfc9421(const HttpMessage& message,
                                                             std::vector<std::string> required,
                                                             const HttpMessage* request) const {
  if (!message.body.empty()) {
    required.emplace_back("content-digest");
    required.emplace_back("content-type");
  }
  HttpVerifyOptions options;
  options.required_components = std::move(required);
  options.max_age = options_.max_age;
  options.clock_skew = options_.clock_skew;
  auto verified = verifyHttpMessage(message, keys_, options, clock_, request);
  if (!verified) return verified.error();
  SignatureCheck out;
  out.is_signed = true;
  out.scheme = "rfc9421";
  out.label = verified->label;
  out.kid = verified->keyid;
  out.thumbprint = verified->thumbprint;
  out.alg = verified->alg;
  out.signed_content = std::move(verified->signature_base);
  return out;
}

core::Result<SignatureCheck> ResponseVerifier::verifyResponse(UcpVersion version,
                                                              const HttpMessage& response,
                                                              const HttpMessage* request) const {
  if (!response.isResponse()) return fail("verifyResponse needs a response");
  if (version == UcpVersion::k2026_01_11) {
    if (options_.require_signed_responses) {
      return fail(
          "signature_missing: UCP 2026-01-11 does not sign responses, and signed responses are "
          "required");
    }
    return SignatureCheck{};
  }
  if (!response.field("signature-input") && !response.field("signature")) {
    if (options_.require_signed_responses) {
      return fail(
          "signature_missing: the response is not signed, and signed responses are "
          "required");
    }
    return SignatureCheck{};
  }
  return verifyRfc9421(response, {"@status"}, request);
}

core::Result<SignatureCheck> ResponseVerifier::verifyWebhook(UcpVersion version,
                                                             const HttpMessage& request) const {
  if (request.isResponse()) return fail("verifyWebhook needs a request");
  if (version == UcpVersion::k2026_04_08) {
    return verifyRfc9421(request, {"@method", "@authority", "@path"}, nullptr);
  }
  auto header = request.field("request-signature");
  if (!header) return fail("signature_missing: the webhook has no Request-Signature");
  JwsVerifyOptions options;
  options.detached_payload = request.body;
  options.require_detached = true;
  auto verified = verifyJws(*header, keys_, options);
  if (!verified) return verified.error();
  SignatureCheck out;
  out.is_signed = true;
  out.scheme = "jws-detached";
  out.kid = verified->kid;
  out.thumbprint = verified->thumbprint;
  out.alg = verified->alg;
  out.signed_content = *header;
  return out;
}

}  // namespace steward::negotiation
