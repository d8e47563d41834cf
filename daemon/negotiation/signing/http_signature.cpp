// See http_signature.hpp. Section numbers refer to RFC 9421.
#include "negotiation/signing/http_signature.hpp"

#include <algorithm>
#include <chrono>

#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/content_digest.hpp"

namespace steward::negotiation {
namespace {

using core::fail;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Fields whose structured type is known, for the `sf` and `key` parameters (§2.1.1, §2.1.2).
bool isDictionaryField(std::string_view name) {
  return name == "signature-input" || name == "signature" || name == "content-digest" ||
         name == "repr-digest" || name == "want-content-digest" || name == "ucp-agent";
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// application/x-www-form-urlencoded parsing of one name or value (WHATWG URL §5.1).
std::string formDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 &&
               hexValue(s[i + 2]) >= 0) {
      out += char(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// §2.2.8: re-encoded with every byte outside ALPHA / DIGIT / "*-._" percent-encoded.
std::string queryParamEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = std::uint8_t(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
        c == '-' || c == '.' || c == '_') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

core::Result<std::string> stringParam(const sf::Parameters& params, std::string_view name) {
  const auto* v = sf::findParam(params, name);
  if (!v) return std::string();
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return fail("parameter \"" + std::string(name) + "\" must be a string");
}

// The value lines one component contributes (several only for a repeated @query-param).
core::Result<std::vector<std::string>> componentValues(const HttpMessage& message,
                                                       const sf::Item& component,
                                                       const HttpMessage* request) {
  const auto* name_ptr = std::get_if<std::string>(&component.value);
  if (!name_ptr) return fail("a covered component must be a string");
  const std::string& name = *name_ptr;
  if (name.empty() || name != toLower(name)) {
    return fail("component \"" + name + "\" must be a non-empty lower-case name");
  }
  bool req = false, sf_flag = false;
  std::string key, param_name;
  for (const auto& [k, v] : component.params) {
    if (k == "req" || k == "sf") {
      if (!std::holds_alternative<bool>(v) || !std::get<bool>(v)) {
        return fail("component \"" + name + "\": \"" + k + "\" must be a boolean true");
      }
      (k == "req" ? req : sf_flag) = true;
    } else if (k == "key" || k == "name") {
      const auto* s = std::get_if<std::string>(&v);
      if (!s) return fail("component \"" + name + "\": \"" + k + "\" must be a string");
      (k == "key" ? key : param_name) = *s;
    } else if (k == "bs" || k == "tr") {
      return fail("component \"" + name + "\": parameter \"" + k + "\" is not supported");
    } else {
      return fail("component \"" + name + "\": unknown parameter \"" + k + "\"");
    }
  }
  const HttpMessage* source = &message;
  if (req) {
    if (!message.isResponse() || !request) {
      return fail("component \"" + name + "\";req needs the request this response answers");
    }
    source = request;
  }
  if (!param_name.empty() && name != "@query-param") {
    return fail("component \"" + name + "\": \"name\" belongs to @query-param only");
  }

  if (name[0] == '@') {
    if (sf_flag || !key.empty()) {
      return fail("component \"" + name + "\": sf and key apply to fields only");
    }
    if (name == "@signature-params") return fail("@signature-params cannot be covered");
    if (name == "@status") {
      if (!source->isResponse()) return fail("@status is only defined for a response");
      if (source->status < 100 || source->status > 999) return fail("@status is not 3 digits");
      return std::vector<std::string>{std::to_string(source->status)};
    }
    if (source->isResponse()) return fail(name + " is only defined for a request");
    if (name == "@method") {
      if (source->method.empty()) return fail("@method: the request has no method");
      return std::vector<std::string>{source->method};
    }
    if (name == "@target-uri") return std::vector<std::string>{source->target_uri};
    auto uri = parseTargetUri(source->target_uri);
    if (!uri) return uri.error();
    if (name == "@authority") return std::vector<std::string>{uri->authority};
    if (name == "@scheme") return std::vector<std::string>{uri->scheme};
    if (name == "@path") return std::vector<std::string>{uri->path};
    if (name == "@query") return std::vector<std::string>{"?" + uri->query.value_or("")};
    if (name == "@request-target") {
      return std::vector<std::string>{uri->path + (uri->query ? "?" + *uri->query : "")};
    }
    if (name == "@query-param") {
      if (param_name.empty()) return fail("@query-param needs a \"name\" parameter");
      const std::string wanted = queryParamEncode(formDecode(param_name));
      std::vector<std::string> values;
      const std::string query = uri->query.value_or("");
      std::string_view q = query;
      while (!q.empty()) {
        const auto amp = q.find('&');
        const std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string n = queryParamEncode(formDecode(pair.substr(0, eq)));
        const std::string v = eq == std::string_view::npos
                                  ? std::string()
                                  : queryParamEncode(formDecode(pair.substr(eq + 1)));
        if (n == wanted) values.push_back(v);
      }
      if (values.empty()) return fail("@query-param \"" + param_name + "\" is not in the query");
      return values;
    }
    return fail("derived component \"" + name + "\" is not supported");
  }

  auto value = source->field(name);
  if (!value) return fail("covered field \"" + name + "\" is not in the message");
  if (sf_flag || !key.empty()) {
    if (!isDictionaryField(name)) {
      return fail("field \"" + name + "\" is not a known structured dictionary field");
    }
    auto dict = sf::parseDictionary(*value);
    if (!dict) return fail("field \"" + name + "\": " + dict.error().message);
    if (!key.empty()) {
      const auto* m = sf::findMember(*dict, key);
      if (!m) return fail("field \"" + name + "\" has no member \"" + key + "\"");
      auto s = std::holds_alternative<sf::Item>(*m) ? sf::serialize(std::get<sf::Item>(*m))
                                                    : sf::serialize(std::get<sf::InnerList>(*m));
      if (!s) return s.error();
      return std::vector<std::string>{std::move(*s)};
    }
    auto s = sf::serialize(*dict);
    if (!s) return s.error();
    return std::vector<std::string>{std::move(*s)};
  }
  return std::vector<std::string>{std::move(*value)};
}

std::int64_t unixSeconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::string codeOf(const std::string& message) {
  const auto colon = message.find(':');
  const std::string code = message.substr(0, colon);
  for (const char* known : {"signature_missing", "signature_invalid", "key_not_found",
                            "digest_mismatch", "algorithm_unsupported"}) {
    if (code == known) return code;
  }
  return "signature_invalid";
}

// Strips a leading "code: " so that candidate reasons read as one sentence.
std::string reasonOf(const std::string& message) {
  const std::string code = codeOf(message);
  if (message.rfind(code + ": ", 0) == 0) return message.substr(code.size() + 2);
  return message;
}

core::Result<VerifiedHttpSignature> verifyOne(const HttpMessage& message, const KeySet& keys,
                                              const HttpVerifyOptions& options,
                                              const core::Clock& clock, const HttpMessage* request,
                                              const std::string& label, const sf::InnerList& input,
                                              const sf::Member* signature_member) {
  VerifiedHttpSignature out;
  out.label = label;
  const auto* sig_item = signature_member ? std::get_if<sf::Item>(signature_member) : nullptr;
  const auto* sig_bytes = sig_item ? std::get_if<sf::ByteSequence>(&sig_item->value) : nullptr;
  if (!signature_member) return fail("signature_missing: no Signature value for this label");
  if (!sig_bytes) return fail("signature_invalid: the Signature value is not a byte sequence");

  // Parameters (§2.3).
  for (const auto& [k, v] : input.params) {
    if ((k == "created" || k == "expires") && !std::holds_alternative<std::int64_t>(v)) {
      return fail("signature_invalid: \"" + k + "\" must be an integer");
    }
    if ((k == "keyid" || k == "alg" || k == "nonce" || k == "tag") &&
        !std::holds_alternative<std::string>(v)) {
      return fail("signature_invalid: \"" + k + "\" must be a string");
    }
  }
  auto keyid = stringParam(input.params, "keyid");
  if (!keyid) return keyid.error();
  if (keyid->empty()) return fail("key_not_found: the signature names no keyid");
  auto alg_name = stringParam(input.params, "alg");
  if (!alg_name) return alg_name.error();
  std::optional<SignatureAlgorithm> named_alg;
  if (!alg_name->empty()) {
    auto alg = algorithmFromHttpSig(*alg_name);
    if (!alg) return alg.error();
    named_alg = *alg;
  }
  auto tag = stringParam(input.params, "tag");
  if (!tag) return tag.error();
  if (!options.tag.empty() && *tag != options.tag) {
    return fail("signature_invalid: tag is \"" + *tag + "\", expected \"" + options.tag + "\"");
  }

  // Covered components.
  for (const auto& item : input.items) {
    auto s = sf::serialize(item);
    if (!s) return fail("signature_invalid: " + s.error().message);
    if (std::find(out.components.begin(), out.components.end(), *s) != out.components.end()) {
      return fail("signature_invalid: component " + *s + " is covered twice");
    }
    out.components.push_back(std::move(*s));
  }
  auto covers = [&](std::string_view plain) {
    return std::any_of(input.items.begin(), input.items.end(), [&](const sf::Item& i) {
      const auto* s = std::get_if<std::string>(&i.value);
      return s && *s == plain && i.params.empty();
    });
  };
  for (const auto& required : options.required_components) {
    if (!covers(required)) {
      return fail("signature_invalid: the signature does not cover \"" + required + "\"");
    }
  }
  if (options.require_digest_for_body && !message.body.empty() && !covers("content-digest")) {
    return fail("signature_invalid: the message has a body but content-digest is not covered");
  }
  if (covers("content-digest")) {
    auto digest = message.field("content-digest");
    if (!digest) return fail("digest_mismatch: content-digest is covered but absent");
    if (auto d = verifyContentDigest(*digest, message.body); !d) return d.error();
  }

  // Time (§3.2 step 5).
  const std::int64_t now = unixSeconds(clock);
  const std::int64_t skew =
      std::chrono::duration_cast<std::chrono::seconds>(options.clock_skew).count();
  const auto* created = sf::findParam(input.params, "created");
  const auto* expires = sf::findParam(input.params, "expires");
  if (created) {
    out.created = std::get<std::int64_t>(*created);
    if (*out.created > now + skew) {
      return fail("signature_invalid: created " + std::to_string(*out.created - now) +
                  " s in the future (allowed clock skew " + std::to_string(skew) + " s)");
    }
    if (options.max_age) {
      const auto max_age =
          std::chrono::duration_cast<std::chrono::seconds>(*options.max_age).count();
      if (now - *out.created > max_age + skew) {
        return fail("signature_invalid: signed " + std::to_string(now - *out.created) +
                    " s ago, older than the maximum age of " + std::to_string(max_age) + " s");
      }
    }
  } else if (options.require_created) {
    return fail("signature_invalid: the signature has no \"created\" time");
  }
  if (expires) {
    const auto e = std::get<std::int64_t>(*expires);
    if (now > e + skew) {
      return fail("signature_invalid: the signature expired " + std::to_string(now - e) + " s ago");
    }
    if (out.created && *out.created > e) {
      return fail("signature_invalid: \"created\" is after \"expires\"");
    }
  }

  // Key and algorithm.
  auto key = keys.find(*keyid);
  if (!key) return key.error();
  out.keyid = *keyid;
  out.alg = (*key)->key.algorithm();
  if (named_alg) {
    if (*named_alg != out.alg) {
      return fail("algorithm_unsupported: alg " + *alg_name + " does not match key \"" + *keyid +
                  "\" on " + std::string(curveName((*key)->key.curve())));
    }
  }

  auto base = signatureBase(message, input, request);
  if (!base) return fail("signature_invalid: " + base.error().message);
  if (auto v = (*key)->key.verify(*base, sig_bytes->bytes); !v) {
    return fail(v.error().message + " (key \"" + *keyid + "\")");
  }
  out.signature_base = std::move(*base);
  out.thumbprint = jwkThumbprint((*key)->key);
  return out;
}

}  // namespace

std::optional<std::string> HttpMessage::field(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [n, v] : fields) {
    if (!iequals(n, name)) continue;
    if (!out) {
      out.emplace();
    } else {
      *out += ", ";
    }
    out->append(trim(v));
  }
  return out;
}

void HttpMessage::setField(std::string_view name, std::string value) {
  removeField(name);
  fields.emplace_back(std::string(name), std::move(value));
}

void HttpMessage::removeField(std::string_view name) {
  std::erase_if(fields, [&](const auto& f) { return iequals(f.first, name); });
}

core::Result<TargetUri> parseTargetUri(std::string_view uri) {
  if (uri.size() > 8192) return fail("target URI is longer than 8192 characters");
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return fail("target URI \"" + std::string(uri.substr(0, 64)) + "\" is not absolute");
  }
  TargetUri out;
  out.scheme = toLower(uri.substr(0, scheme_end));
  std::string_view rest = uri.substr(scheme_end + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return fail("target URI carries user information, which is never signed");
  }
  if (authority.empty()) return fail("target URI has no host");
  for (char c : authority) {
    if (std::uint8_t(c) <= 0x20 || std::uint8_t(c) >= 0x7f) {
      return fail("target URI host holds a space or non-ASCII character");
    }
  }
  std::string host = toLower(authority);
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if ((out.scheme == "https" && port == "443") || (out.scheme == "http" && port == "80") ||
        port.empty()) {
      host.resize(colon);
    }
  }
  out.authority = std::move(host);
  const auto q = rest.find('?');
  out.path = std::string(rest.substr(0, q));
  if (out.path.empty()) out.path = "/";
  if (q != std::string_view::npos) out.query = std::string(rest.substr(q + 1));
  return out;
}

core::Result<std::string> signatureBase(const HttpMessage& message, const sf::InnerList& covered,
                                        const HttpMessage* request) {
  std::string base;
  std::vector<std::string> seen;
  for (const auto& item : covered.items) {
    auto id = sf::serialize(item);
    if (!id) return id.error();
    if (std::find(seen.begin(), seen.end(), *id) != seen.end()) {
      return fail("component " + *id + " is covered twice");
    }
    seen.push_back(*id);
    auto values = componentValues(message, item, request);
    if (!values) return values.error();
    for (const auto& v : *values) {
      if (v.find_first_of("\r\n") != std::string::npos) {
        return fail("component " + *id + " holds a line break");
      }
      base += *id + ": " + v + "\n";
    }
  }
  auto params = sf::serialize(covered);
  if (!params) return params.error();
  base += "\"@signature-params\": " + *params;
  return base;
}

core::Result<void> signHttpMessage(HttpMessage& message, const EcPrivateKey& key,
                                   const HttpSignOptions& options, const core::Clock& clock,
                                   const HttpMessage* request) {
  if (!sf::validKey(options.label))
    return fail("invalid signature label \"" + options.label + "\"");
  sf::InnerList covered;
  for (const auto& c : options.components)
    covered.items.push_back(sf::Item{c.name, c.params});
  const std::int64_t now = unixSeconds(clock);
  if (options.created) covered.params.emplace_back("created", now);
  if (options.expires_after) {
    covered.params.emplace_back(
        "expires",
        now + std::chrono::duration_cast<std::chrono::seconds>(*options.expires_after).count());
  }
  if (!options.keyid.empty()) covered.params.emplace_back("keyid", options.keyid);
  if (options.include_alg) {
    covered.params.emplace_back("alg", std::string(httpSigName(key.algorithm())));
  }
  if (!options.nonce.empty()) covered.params.emplace_back("nonce", options.nonce);
  if (!options.tag.empty()) covered.params.emplace_back("tag", options.tag);

  auto base = signatureBase(message, covered, request);
  if (!base) return base.error();
  auto signature = key.sign(*base);
  if (!signature) return signature.error();

  sf::Dictionary inputs, signatures;
  if (auto existing = message.field("signature-input")) {
    auto d = sf::parseDictionary(*existing);
    if (!d) return fail("existing Signature-Input: " + d.error().message);
    inputs = std::move(*d);
  }
  if (auto existing = message.field("signature")) {
    auto d = sf::parseDictionary(*existing);
    if (!d) return fail("existing Signature: " + d.error().message);
    signatures = std::move(*d);
  }
  if (sf::findMember(inputs, options.label) || sf::findMember(signatures, options.label)) {
    return fail("the message already has a signature labelled \"" + options.label + "\"");
  }
  inputs.emplace_back(options.label, std::move(covered));
  signatures.emplace_back(options.label, sf::Item{sf::ByteSequence{std::move(*signature)}, {}});
  auto input_text = sf::serialize(inputs);
  if (!input_text) return input_text.error();
  auto signature_text = sf::serialize(signatures);
  if (!signature_text) return signature_text.error();
  message.setField("Signature-Input", std::move(*input_text));
  message.setField("Signature", std::move(*signature_text));
  return {};
}

core::Result<VerifiedHttpSignature> verifyHttpMessage(const HttpMessage& message,
                                                      const KeySet& keys,
                                                      const HttpVerifyOptions& options,
                                                      const core::Clock& clock,
                                                      const HttpMessage* request) {
  const auto input_text = message.field("signature-input");
  const auto signature_text = message.field("signature");
  if (!input_text || !signature_text) {
    return fail(std::string("signature_missing: the message has no ") +
                (!input_text ? "Signature-Input" : "Signature") + " field");
  }
  sf::Limits limits;
  limits.max_length = options.max_field_bytes;
  limits.max_members = options.max_signatures;
  auto inputs = sf::parseDictionary(*input_text, limits);
  if (!inputs) return fail("signature_invalid: Signature-Input: " + inputs.error().message);
  auto signatures = sf::parseDictionary(*signature_text, limits);
  if (!signatures) return fail("signature_invalid: Signature: " + signatures.error().message);

  std::string reasons, first_code;
  std::size_t candidates = 0;
  for (const auto& [label, member] : *inputs) {
    if (!options.label.empty() && label != options.label) continue;
    ++candidates;
    core::Result<VerifiedHttpSignature> result = fail("signature_invalid: not an inner list");
    if (const auto* input = std::get_if<sf::InnerList>(&member)) {
      result = verifyOne(message, keys, options, clock, request, label, *input,
                         sf::findMember(*signatures, label));
    }
    if (result) return result;
    if (first_code.empty()) first_code = codeOf(result.error().message);
    if (!reasons.empty()) reasons += "; ";
    reasons += label + ": " + reasonOf(result.error().message);
  }
  if (candidates == 0) {
    if (options.label.empty()) return fail("signature_missing: Signature-Input lists no signature");
    return fail("signature_missing: no signature labelled \"" + options.label + "\"");
  }
  return fail(first_code + ": " + reasons);
}

}  // namespace steward::negotiation
