// See jws.hpp.
#include "negotiation/signing/jws.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "negotiation/signing/base64.hpp"

namespace steward::negotiation {
namespace {

using core::fail;
namespace json = boost::json;

constexpr std::size_t kMaxHeaderBytes = 4096;

core::Error invalid(std::string what) {
  return fail("signature_invalid: JWS " + std::move(what));
}

}  // namespace

std::string jwsSigningInput(std::string_view encoded_header, std::string_view payload, bool b64) {
  std::string input(encoded_header);
  input += '.';
  if (b64) {
    input += base64UrlEncode(payload);
  } else {
    input.append(payload);
  }
  return input;
}

core::Result<std::string> signJws(const EcPrivateKey& key, std::string_view payload,
                                  const JwsSignOptions& options) {
  if (!options.b64 && !options.detached && payload.find('.') != std::string_view::npos) {
    return fail("an unencoded payload containing '.' cannot be attached to a compact JWS");
  }
  json::object header;
  header["alg"] = joseName(key.algorithm());
  if (!options.kid.empty()) header["kid"] = options.kid;
  if (!options.typ.empty()) header["typ"] = options.typ;
  if (!options.b64) {
    header["b64"] = false;
    header["crit"] = json::array{"b64"};
  }
  const std::string encoded_header = base64UrlEncode(json::serialize(header));
  const std::string input = jwsSigningInput(encoded_header, payload, options.b64);
  auto signature = key.sign(input);
  if (!signature) return signature.error();
  std::string out = encoded_header + '.';
  if (!options.detached) out += options.b64 ? base64UrlEncode(payload) : std::string(payload);
  return out + '.' + base64UrlEncode(*signature);
}

core::Result<VerifiedJws> verifyJws(std::string_view compact, const KeySet& keys,
                                    const JwsVerifyOptions& options) {
  if (compact.size() > options.max_bytes) {
    return invalid("is " + std::to_string(compact.size()) + " bytes, over the cap of " +
                   std::to_string(options.max_bytes));
  }
  const auto dot1 = compact.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return invalid("is not in compact form (header.payload.signature)");
  }
  const std::string_view header_part = compact.substr(0, dot1);
  const std::string_view payload_part = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = compact.substr(dot2 + 1);

  if (header_part.size() > kMaxHeaderBytes) return invalid("protected header is too large");
  auto header_text = base64UrlDecode(header_part);
  if (!header_text) return invalid("protected header: " + header_text.error().message);
  boost::system::error_code ec;
  // Duplicate member names: Boost.JSON keeps the lexically last one, as RFC 7515 §4 allows.
  auto header_value = json::parse(*header_text, ec);
  if (ec || !header_value.is_object()) {
    return invalid("protected header is not a JSON object");
  }
  VerifiedJws out;
  out.header = std::move(header_value.as_object());
  const auto& header = out.header;

  const auto* alg = header.if_contains("alg");
  if (!alg || !alg->is_string()) return invalid("protected header has no \"alg\"");
  auto algorithm = algorithmFromJose(alg->as_string());
  if (!algorithm) return algorithm.error();
  out.alg = *algorithm;

  bool b64_critical = false;
  if (const auto* crit = header.if_contains("crit")) {
    if (!crit->is_array() || crit->as_array().empty()) {
      return invalid("\"crit\" must be a non-empty array");
    }
    const auto& names = crit->as_array();
    if (names.size() > 8) return invalid("\"crit\" lists too many names");
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string()) return invalid("\"crit\" must hold strings");
      const auto& name = names[i].as_string();
      for (std::size_t j = 0; j < i; ++j) {
        if (names[j] == names[i])
          return invalid("\"crit\" lists \"" + std::string(name) + "\" twice");
      }
      if (name != "b64") {
        return invalid("critical header \"" + std::string(name.subview().substr(0, 32)) +
                       "\" is not understood");
      }
      if (!header.contains(name)) {
        return invalid("\"crit\" names \"" + std::string(name) + "\" but the header lacks it");
      }
      b64_critical = true;
    }
  }
  if (const auto* b64 = header.if_contains("b64")) {
    if (!b64->is_bool()) return invalid("\"b64\" must be true or false");
    out.b64 = b64->as_bool();
    if (!out.b64 && !b64_critical) {
      return invalid("\"b64\": false must be listed in \"crit\" (RFC 7797 §6)");
    }
  }

  std::string_view kid;
  if (const auto* k = header.if_contains("kid")) {
    if (!k->is_string()) return invalid("\"kid\" must be a string");
    kid = k->as_string();
  }
  if (kid.empty() && options.require_kid) return invalid("protected header has no \"kid\"");
  // Without a kid (allowed only when the caller says so) the sole key of the set is meant.
  if (kid.empty() && keys.size() == 1) kid = keys.keys().front().kid;
  auto key = keys.find(kid);
  if (!key) return key.error();
  if (curveFor(out.alg) != (*key)->key.curve()) {
    return fail("algorithm_unsupported: JWS alg " + std::string(joseName(out.alg)) +
                " does not match key \"" + std::string(kid) + "\" on " +
                std::string(curveName((*key)->key.curve())));
  }
  out.kid = std::string(kid);

  std::string payload;
  if (payload_part.empty()) {
    if (!options.detached_payload) return invalid("has no payload and none was supplied");
    out.detached = true;
    payload = std::string(*options.detached_payload);
  } else {
    if (options.require_detached || options.detached_payload) {
      return invalid("carries its payload inline where a detached payload was expected");
    }
    if (out.b64) {
      auto decoded = base64UrlDecode(payload_part);
      if (!decoded) return invalid("payload: " + decoded.error().message);
      payload = std::move(*decoded);
    } else {
      payload = std::string(payload_part);
    }
  }

  auto signature = base64UrlDecode(signature_part);
  if (!signature) return invalid("signature: " + signature.error().message);
  const std::string input = jwsSigningInput(header_part, payload, out.b64);
  if (auto v = (*key)->key.verify(input, *signature); !v) {
    return fail(v.error().message + " (JWS, key \"" + out.kid + "\")");
  }
  out.payload = std::move(payload);
  out.thumbprint = jwkThumbprint((*key)->key);
  return out;
}

}  // namespace steward::negotiation
