// See vendor.hpp. The shapes follow UCP's schemas for each version (checked by the tests
// against ../shared/reference/ucp/*/source/); the negotiation extension follows
// daemon/negotiation/PROTOCOL.md.
#include "vendor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace marketplace {
namespace json = boost::json;
namespace {

constexpr const char* kExtension = "org.stewardhub.commerce.negotiation";
constexpr const char* kExtensionService = "org.stewardhub.commerce";
constexpr const char* kExtensionVersion = "2026-12-01";
constexpr std::size_t kMaxSeen = 2000;
constexpr std::size_t kMaxLineItems = 100;
constexpr std::int64_t kMaxQuantity = 10'000;
constexpr std::size_t kMaxSessions = 10'000;

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

const json::string* str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  const auto* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? &f->as_string() : nullptr;
}

std::optional<std::int64_t> integer(const json::value& v, std::string_view key) {
  if (!v.is_object()) return std::nullopt;
  const auto* f = v.as_object().if_contains(key);
  if (f == nullptr) return std::nullopt;
  if (f->is_int64()) return f->as_int64();
  if (f->is_uint64() && f->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(f->as_uint64());
  }
  return std::nullopt;
}

json::object total(const char* type, std::int64_t amount) {
  return {{"type", type}, {"amount", amount}};
}

json::object message(const std::string& type, const std::string& code, const std::string& content,
                     const std::string& severity, const std::string& path = "") {
  json::object m{{"type", type}, {"code", code}, {"content", content}};
  if (type == "error") m["severity"] = severity;
  if (!path.empty()) m["path"] = path;
  return m;
}

// ProfileURL from `UCP-Agent: profile="https://..."` (an RFC 8941 dictionary).
std::optional<std::string> agentProfile(const std::string& header) {
  const auto pos = header.find("profile=\"");
  if (pos == std::string::npos) return std::nullopt;
  if (pos != 0) {
    const char before = header[pos - 1];
    if (before != ',' && before != ' ' && before != '\t' && before != ';') return std::nullopt;
  }
  const auto start = pos + 9;
  const auto end = header.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  std::string url = header.substr(start, end - start);
  if (url.rfind("https://", 0) != 0 || url.size() <= 8) return std::nullopt;
  return url;
}

struct SignatureInput {
  std::string label;
  std::vector<std::string> components;
  std::string params;  // everything after the inner list, e.g. ;created=..;keyid=".."
  std::string keyid;
};

// Parses `sig1=("@method" "@path" ...);keyid="k"` (first member only, as UCP uses one).
std::optional<SignatureInput> parseSignatureInput(const std::string& header) {
  SignatureInput in;
  const auto eq = header.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  in.label = header.substr(0, eq);
  if (eq + 1 >= header.size() || header[eq + 1] != '(') return std::nullopt;
  const auto close = header.find(')', eq);
  if (close == std::string::npos) return std::nullopt;
  std::string list = header.substr(eq + 2, close - eq - 2);
  std::size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ' ') {
      ++i;
      continue;
    }
    if (list[i] != '"') return std::nullopt;
    const auto end = list.find('"', i + 1);
    if (end == std::string::npos) return std::nullopt;
    in.components.push_back(list.substr(i + 1, end - i - 1));
    i = end + 1;
  }
  auto rest = header.substr(close + 1);
  const auto comma = rest.find(',');
  if (comma != std::string::npos) rest = rest.substr(0, comma);
  in.params = rest;
  const auto k = rest.find("keyid=\"");
  if (k != std::string::npos) {
    const auto e = rest.find('"', k + 7);
    if (e != std::string::npos) in.keyid = rest.substr(k + 7, e - k - 7);
  }
  return in;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
    ++i;
  return s.substr(i);
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::int64_t Clock::now() const {
  if (simulated_) return now_ + offset_;
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset_;
}

void Clock::set(std::int64_t unix_seconds) {
  if (simulated_) {
    now_ = unix_seconds;
    offset_ = 0;
  } else {
    offset_ += unix_seconds - now();
  }
}

Vendor::Vendor(VendorConfig config, Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      key_(config_.name + "-2026"),
      wrong_key_(config_.name + "-2026") {}

std::string Vendor::newId(const char* prefix) {
  return std::string(prefix) + "_" + config_.name + "_" + std::to_string(next_id_++);
}

const Product* Vendor::product(const std::string& id) const {
  for (const auto& p : config_.catalogue) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

std::int64_t Vendor::taxOn(std::int64_t net) const {
  // Half up, in 128 bits: a vendor's prices and quantities are capped, their product is not.
  const __int128 twice = static_cast<__int128>(net) * config_.tax_rate_bp * 2;
  return static_cast<std::int64_t>((twice + 10000) / 20000);
}

std::int64_t Vendor::goodsSubtotal(const std::vector<LineItem>& items) const {
  std::int64_t sum = 0;
  for (const auto& li : items) {
    if (const auto* p = product(li.product)) sum += p->price * li.quantity;
  }
  return sum;
}

// ---- responses ---------------------------------------------------------------------------

Response Vendor::json(int status, const json::value& body) const {
  Response r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

Response Vendor::error(int status, const std::string& code, const std::string& content) const {
  return json(status, json::object{{"code", code}, {"content", content}});
}

// A business outcome with no resource (UCP: HTTP 200, ucp.status "error", messages).
Response Vendor::businessError(const std::string& code, const std::string& content) const {
  json::object ucp{{"version", config_.version}};
  if (config_.version == kVersionCurrent) ucp["status"] = "error";
  if (config_.version == kVersionFirst) ucp["capabilities"] = json::array{};
  const std::string severity =
      config_.version == kVersionCurrent ? "unrecoverable" : "requires_buyer_input";
  return json(200,
              json::object{{"ucp", ucp},
                           {"messages", json::array{message("error", code, content, severity)}},
                           {"continue_url", origin_ + "/"}});
}

void Vendor::sign(Response& r) {
  if (config_.version != kVersionCurrent) return;  // 2026-01-11 never signs responses
  if (active_ && config_.misbehaviour.signature == "missing") return;
  const std::string digest = "sha-256=:" + base64(sha256(r.body)) + ":";
  const std::string params =
      "(\"@status\" \"content-digest\" \"content-type\");created=" + std::to_string(clock_.now()) +
      ";keyid=\"" + key_.kid() + "\"";
  const std::string base = "\"@status\": " + std::to_string(r.status) +
                           "\n\"content-digest\": " + digest +
                           "\n\"content-type\": application/json\n\"@signature-params\": " + params;
  const bool wrong = active_ && config_.misbehaviour.signature == "wrong";
  const std::string signature = (wrong ? wrong_key_ : key_).sign(base);
  r.headers.emplace_back("Content-Digest", digest);
  r.headers.emplace_back("Signature-Input", "sig1=" + params);
  r.headers.emplace_back("Signature", "sig1=:" + base64(signature) + ":");
}

// ---- dispatch ------------------------------------------------------------------------------

std::string Vendor::operation(const Request& request, std::vector<std::string>& parts) const {
  const auto q = request.target.find('?');
  parts = split(std::string_view(request.target).substr(0, q));
  const auto& m = request.method;
  const auto n = parts.size();
  if (n == 2 && parts[0] == ".well-known" && parts[1] == "ucp" && m == "GET") return "profile";
  if (n >= 2 && parts[0] == "ucp" && parts[1] == "checkout-sessions") {
    if (n == 2 && m == "POST") return "create_checkout";
    if (n == 3 && m == "GET") return "get_checkout";
    if (n == 3 && m == "PUT") return "update_checkout";
    if (n == 4 && parts[3] == "complete" && m == "POST") return "complete_checkout";
    if (n == 4 && parts[3] == "cancel" && m == "POST") return "cancel_checkout";
  }
  if (n == 3 && parts[0] == "ucp" && parts[1] == "orders" && m == "GET" &&
      config_.version == kVersionCurrent) {
    return "get_order";
  }
  if (config_.negotiation && n >= 2 && parts[0] == "negotiation" && parts[1] == "negotiations") {
    if (n == 2 && m == "POST") return "create_negotiation";
    if (n == 3 && m == "GET") return "get_negotiation";
    if (n == 4 && m == "POST" && parts[3] == "counter") return "counter_offer";
    if (n == 4 && m == "POST" && parts[3] == "accept") return "accept_offer";
    if (n == 4 && m == "POST" && parts[3] == "decline") return "decline";
  }
  return "";
}

bool Vendor::misbehaves(const std::string& op) {
  const auto& m = config_.misbehaviour;
  if (!m.any()) return false;
  if (!m.operations.empty() && m.operations.count(op) == 0) return false;
  if (m.times != 0 && misbehaviour_hits_ >= m.times) return false;
  ++misbehaviour_hits_;
  return true;
}

std::optional<Response> Vendor::checkHeaders(const Request& request) {
  auto header = [&](const char* name) -> const std::string* {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? nullptr : &it->second;
  };
  const bool changes = request.method == "POST" || request.method == "PUT";
  const auto* agent = header("ucp-agent");
  if (agent == nullptr) {
    return error(400, "invalid_profile_url", "The UCP-Agent header is missing.");
  }
  if (!agentProfile(*agent)) {
    return error(400, "invalid_profile_url",
                 "UCP-Agent must be a dictionary with profile=\"https://...\".");
  }
  if (changes && header("idempotency-key") == nullptr) {
    return error(400, "idempotency_key_missing",
                 "State-changing requests must carry an Idempotency-Key header.");
  }
  if (changes) {
    const auto& key = *header("idempotency-key");
    if (key.empty() || key.size() > 255) {
      return error(400, "idempotency_key_invalid", "Idempotency-Key must be 1 to 255 characters.");
    }
  }
  if (config_.version == kVersionFirst && config_.require_request_id &&
      header("request-id") == nullptr) {
    return error(400, "request_id_missing", "2026-01-11 requires a Request-Id header.");
  }
  if (config_.request_signatures == "ignore") return std::nullopt;
  if (config_.version == kVersionFirst) {
    const auto* sig = header("request-signature");
    if (sig == nullptr) {
      return error(401, "signature_missing", "The Request-Signature header is missing.");
    }
    // A detached JWS: header..signature (RFC 7515 Appendix F, or RFC 7797 with b64=false).
    const auto dot1 = sig->find('.');
    const auto dot2 = dot1 == std::string::npos ? dot1 : sig->find('.', dot1 + 1);
    if (dot1 == std::string::npos || dot2 != dot1 + 1 ||
        sig->find('.', dot2 + 1) != std::string::npos) {
      return error(401, "signature_invalid", "Request-Signature must be a detached JWS.");
    }
    if (config_.request_signatures != "verify") return std::nullopt;
    const auto protected_b64 = sig->substr(0, dot1);
    const auto protected_json = unbase64url(protected_b64);
    const auto signature = unbase64url(sig->substr(dot2 + 1));
    boost::system::error_code ec;
    const auto head = protected_json ? json::parse(*protected_json, ec) : json::value();
    if (!protected_json || !signature || ec || !head.is_object()) {
      return error(401, "signature_invalid", "Request-Signature cannot be read.");
    }
    const auto* kid = str(head, "kid");
    const auto* alg = str(head, "alg");
    if (alg == nullptr || (*alg != "ES256" && *alg != "ES384")) {
      return error(400, "algorithm_unsupported", "Only ES256 and ES384 are accepted.");
    }
    const auto* b64 = head.as_object().if_contains("b64");
    const bool unencoded = b64 != nullptr && b64->is_bool() && !b64->as_bool();
    const std::string input =
        protected_b64 + "." + (unencoded ? request.body : base64url(request.body));
    std::optional<Response> failure;
    const auto keys = platformKeys(request, failure);
    if (failure) return failure;
    for (const auto& jwk : keys) {
      const auto* k = jwk.if_contains("kid");
      if (kid != nullptr && k != nullptr && k->is_string() && k->as_string() == *kid) {
        if (verifyJwk(jwk, input, *signature)) return std::nullopt;
        return error(401, "signature_invalid", "Request-Signature does not verify.");
      }
    }
    return error(401, "key_not_found", "The Request-Signature key is not a known platform key.");
  }
  // 2026-04-08: RFC 9421 with RFC 9530 Content-Digest.
  const auto* input_header = header("signature-input");
  const auto* sig_header = header("signature");
  if (input_header == nullptr || sig_header == nullptr) {
    return error(401, "signature_missing", "Signature-Input and Signature are required.");
  }
  if (!request.body.empty()) {
    const auto* digest = header("content-digest");
    if (digest == nullptr) {
      return error(400, "digest_mismatch", "A request with a body needs Content-Digest.");
    }
    if (*digest != "sha-256=:" + base64(sha256(request.body)) + ":") {
      return error(400, "digest_mismatch", "Content-Digest does not match the body.");
    }
  }
  const auto in = parseSignatureInput(*input_header);
  if (!in) return error(401, "signature_invalid", "Signature-Input cannot be read.");
  for (const char* needed : {"@method", "@authority", "@path"}) {
    if (std::find(in->components.begin(), in->components.end(), needed) == in->components.end()) {
      return error(401, "signature_invalid", std::string("The signature must cover ") + needed);
    }
  }
  if (changes && std::find(in->components.begin(), in->components.end(), "idempotency-key") ==
                     in->components.end()) {
    return error(401, "signature_invalid", "The signature must cover idempotency-key.");
  }
  if (!request.body.empty() && std::find(in->components.begin(), in->components.end(),
                                         "content-digest") == in->components.end()) {
    return error(401, "signature_invalid", "The signature must cover content-digest.");
  }
  if (config_.request_signatures != "verify") return std::nullopt;
  // Rebuild the signature base (RFC 9421 section 2.5).
  std::string base;
  const auto q = request.target.find('?');
  for (const auto& c : in->components) {
    std::string value;
    if (c == "@method") {
      value = request.method;
    } else if (c == "@authority") {
      const auto* host = header("host");
      value = host ? lower(*host) : "";
    } else if (c == "@path") {
      value = request.target.substr(0, q);
    } else if (c == "@query") {
      value = q == std::string::npos ? "?" : request.target.substr(q);
    } else if (!c.empty() && c[0] != '@') {
      const auto* h = header(c.c_str());
      if (h == nullptr) return error(401, "signature_invalid", "Signed header " + c + " missing.");
      value = trim(*h);
    } else {
      return error(401, "signature_invalid", "Unsupported component " + c);
    }
    base += "\"" + c + "\": " + value + "\n";
  }
  std::string list;
  for (const auto& c : in->components)
    list += (list.empty() ? "\"" : " \"") + c + "\"";
  base += "\"@signature-params\": (" + list + ")" + in->params;
  const auto prefix = in->label + "=:";
  if (sig_header->rfind(prefix, 0) != 0 || sig_header->back() != ':') {
    return error(401, "signature_invalid", "Signature must be " + in->label + "=:...:");
  }
  const auto raw =
      unbase64(sig_header->substr(prefix.size(), sig_header->size() - prefix.size() - 1));
  if (!raw) return error(401, "signature_invalid", "Signature is not base64.");
  std::optional<Response> failure;
  const auto keys = platformKeys(request, failure);
  if (failure) return failure;
  for (const auto& jwk : keys) {
    const auto* k = jwk.if_contains("kid");
    if (k != nullptr && k->is_string() && k->as_string() == in->keyid) {
      if (verifyJwk(jwk, base, *raw)) return std::nullopt;
      return error(401, "signature_invalid",
                   "Request signature verification failed for key kid=" + in->keyid);
    }
  }
  return error(401, "key_not_found", "Key " + in->keyid + " is not a known platform key.");
}

constexpr std::int64_t kProfileTtl = 60;  // UCP: cache profiles at least 60 s
constexpr std::size_t kMaxProfiles = 64;

std::optional<std::string> Vendor::profileToFetch(const Request& request) const {
  if (!config_.fetch_platform_profile || config_.request_signatures != "verify") return {};
  if (request.target.compare(0, 8, "/_admin/") == 0) return {};
  std::vector<std::string> parts;
  const auto op = operation(request, parts);
  if (op.empty() || op == "profile") return {};
  const auto agent = request.headers.find("ucp-agent");
  if (agent == request.headers.end()) return {};
  auto url = agentProfile(agent->second);
  if (!url) return {};
  const auto cached = profiles_.find(*url);
  if (cached != profiles_.end() && cached->second.error_status == 0 &&
      clock_.now() - cached->second.fetched < kProfileTtl) {
    return {};
  }
  return url;
}

void Vendor::rememberProfile(const std::string& url, int error_status, const std::string& code,
                             const std::string& text) {
  if (profiles_.size() >= kMaxProfiles && profiles_.count(url) == 0) profiles_.clear();
  CachedProfile entry;
  entry.fetched = clock_.now();
  entry.error_status = error_status;
  entry.code = code;
  entry.content = text;
  if (error_status == 0) {
    boost::system::error_code ec;
    const auto doc = json::parse(text, ec);
    const auto* keys =
        !ec && doc.is_object() ? doc.as_object().if_contains("signing_keys") : nullptr;
    const auto* ucp = !ec && doc.is_object() ? doc.as_object().if_contains("ucp") : nullptr;
    if (keys == nullptr || !keys->is_array() || ucp == nullptr || !ucp->is_object()) {
      entry.error_status = 422;
      entry.code = "profile_malformed";
      entry.content = "The platform profile at " + url + " is not a UCP profile with signing_keys.";
    } else {
      for (const auto& k : keys->as_array()) {
        if (k.is_object()) entry.keys.push_back(k.as_object());
      }
    }
  }
  profiles_[url] = std::move(entry);
}

std::vector<json::object> Vendor::platformKeys(const Request& request,
                                               std::optional<Response>& failure) const {
  std::vector<json::object> keys = config_.platform_keys;
  if (!config_.fetch_platform_profile) return keys;
  const auto agent = request.headers.find("ucp-agent");
  const auto url = agent == request.headers.end() ? std::nullopt : agentProfile(agent->second);
  const auto cached = url ? profiles_.find(*url) : profiles_.end();
  if (cached == profiles_.end()) {
    failure = error(424, "profile_unreachable", "The platform profile was not fetched.");
  } else if (cached->second.error_status != 0) {
    failure = error(cached->second.error_status, cached->second.code, cached->second.content);
  } else {
    keys.insert(keys.end(), cached->second.keys.begin(), cached->second.keys.end());
  }
  return keys;
}

Response Vendor::handle(const Request& request) {
  std::vector<std::string> parts;
  const auto q = request.target.find('?');
  if (request.target.compare(0, 8, "/_admin/") == 0) return admin(request);
  const std::string op = operation(request, parts);
  const auto idem = request.headers.find("idempotency-key");
  const std::string key = idem == request.headers.end() ? "" : idem->second;
  Response response;
  bool store = false;
  std::string fingerprint;
  active_ = false;
  const auto finish = [&](Response r) {
    Seen seen{clock_.now(),
              op.empty() ? "unknown" : op,
              request.method,
              request.target.substr(0, q),
              key,
              r.status,
              request.headers.count("signature") + request.headers.count("request-signature") > 0};
    seen_.push_back(std::move(seen));
    if (seen_.size() > kMaxSeen) seen_.pop_front();
    return r;
  };
  if (op.empty()) {
    return finish(
        error(404, "not_found",
              "No such operation: " + request.method + " " + request.target.substr(0, q)));
  }
  ++requests_per_operation_[op];
  if (op != "profile") {
    if (auto bad = checkHeaders(request)) return finish(std::move(*bad));
  }
  const bool changes = request.method == "POST" || request.method == "PUT";
  active_ = misbehaves(op);
  const auto& m = config_.misbehaviour;
  if (changes && !(active_ && m.ignore_idempotency)) {
    fingerprint = request.method + " " + request.target + " " + base64(sha256(request.body));
    if (auto it = idempotency_.find(key); it != idempotency_.end()) {
      if (it->second.fingerprint != fingerprint) {
        ++idempotency_conflicts_;
        return finish(error(409, "idempotency_conflict",
                            "Idempotency-Key " + key + " was used with a different request."));
      }
      ++idempotent_replays_;
      Response replay = it->second.response;
      if (active_) replay.delay_ms = m.delay_ms, replay.hang = m.hang;
      return finish(replay);
    }
    store = true;
  }
  if (active_ && m.status != 0) {
    response = error(m.status, m.status == 503 ? "unavailable" : "internal_error",
                     "The vendor is failing on purpose.");
    response.delay_ms = m.delay_ms;
    if (m.status == 503) response.headers.emplace_back("Retry-After", "1");
    return finish(response);
  }
  json::value body = json::object{};
  if (changes && !request.body.empty()) {
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
      return finish(error(400, "invalid_request", "The body must be a JSON object."));
    }
  }
  response = dispatch(request, op, parts, body);
  if (active_ && m.malformed_json && !response.body.empty()) {
    response.body = response.body.substr(0, response.body.size() / 2);
  }
  if (op != "profile" || config_.version == kVersionCurrent) sign(response);
  if (store && response.status < 500) idempotency_[key] = Stored{fingerprint, response};
  if (active_) response.delay_ms = m.delay_ms, response.hang = m.hang;
  return finish(response);
}

Response Vendor::dispatch(const Request& request, const std::string& op,
                          const std::vector<std::string>& parts, const json::value& body) {
  const auto idOf = [&](std::size_t i) { return parts.size() > i ? parts[i] : std::string(); };
  if (op == "profile") return profile();
  if (op == "create_checkout") return createCheckout(body, "");
  if (op == "get_checkout") return getCheckout(idOf(2));
  if (op == "update_checkout") return updateCheckout(idOf(2), body);
  if (op == "complete_checkout") {
    const auto key = request.headers.find("idempotency-key");  // orders are counted per key
    return completeCheckout(idOf(2), body, key == request.headers.end() ? "" : key->second);
  }
  if (op == "cancel_checkout") return cancelCheckout(idOf(2));
  if (op == "get_order") return getOrder(idOf(2));
  if (op == "create_negotiation") return createNegotiation(body);
  if (op == "get_negotiation") return getNegotiation(idOf(2));
  if (op == "counter_offer") return counter(idOf(2), body);
  if (op == "accept_offer") return accept(idOf(2), body);
  if (op == "decline") return decline(idOf(2), body);
  return error(404, "not_found", "No such operation.");
}

// ---- profile -------------------------------------------------------------------------------

json::object Vendor::ucpMeta(const std::string& root) const {
  const auto& v = config_.version;
  json::object ucp{{"version", v}};
  if (v == kVersionCurrent) {
    ucp["status"] = "success";
    json::object caps;
    if (root == "checkout") {
      caps["dev.ucp.shopping.checkout"] = json::array{json::object{{"version", v}}};
      caps["dev.ucp.shopping.fulfillment"] =
          json::array{json::object{{"version", v}, {"extends", "dev.ucp.shopping.checkout"}}};
      if (config_.negotiation) {
        caps[kExtension] = json::array{
            json::object{{"version", kExtensionVersion}, {"extends", "dev.ucp.shopping.checkout"}}};
      }
      json::object handlers;
      for (const auto& h : config_.payment_handlers) {
        json::array list;
        if (auto* existing = handlers.if_contains(h.name)) list = existing->as_array();
        list.push_back(
            json::object{{"id", h.id},
                         {"version", v},
                         {"available_instruments", json::array{json::object{{"type", "card"}}}}});
        handlers[h.name] = list;
      }
      ucp["payment_handlers"] = handlers;
    } else if (root == "order") {
      caps["dev.ucp.shopping.order"] = json::array{json::object{{"version", v}}};
    } else if (root == "negotiation") {
      caps[kExtension] = json::array{json::object{{"version", kExtensionVersion}}};
    }
    ucp["capabilities"] = caps;
  } else {
    json::array caps;
    if (root == "checkout") {
      caps.push_back(json::object{{"name", "dev.ucp.shopping.checkout"}, {"version", v}});
      caps.push_back(json::object{{"name", "dev.ucp.shopping.fulfillment"},
                                  {"version", v},
                                  {"extends", "dev.ucp.shopping.checkout"}});
      if (config_.negotiation) {
        caps.push_back(json::object{{"name", kExtension},
                                    {"version", kExtensionVersion},
                                    {"extends", "dev.ucp.shopping.checkout"}});
      }
    } else if (root == "negotiation") {
      caps.push_back(json::object{{"name", kExtension}, {"version", kExtensionVersion}});
    }
    ucp["capabilities"] = caps;
  }
  return ucp;
}

Response Vendor::profile() {
  const auto& v = config_.version;
  const std::string spec = "https://ucp.dev/" + v + "/specification/";
  const std::string ext_spec =
      std::string("https://stewardhub.org/specification/negotiation/") + kExtensionVersion;
  const std::string ext_schema =
      std::string("https://stewardhub.org/schemas/negotiation/") + kExtensionVersion;
  json::object profile;
  json::array keys{key_.jwk()};
  if (v == kVersionCurrent) {
    json::object services{
        {"dev.ucp.shopping",
         json::array{json::object{
             {"version", v},
             {"spec", spec + "overview"},
             {"transport", "rest"},
             {"endpoint", origin_ + "/ucp"},
             {"schema", "https://ucp.dev/" + v + "/services/shopping/rest.openapi.json"}}}}};
    json::object caps{
        {"dev.ucp.shopping.checkout",
         json::array{
             json::object{{"version", v},
                          {"spec", spec + "checkout"},
                          {"schema", "https://ucp.dev/" + v + "/schemas/shopping/checkout.json"}}}},
        {"dev.ucp.shopping.fulfillment",
         json::array{
             json::object{{"version", v},
                          {"spec", spec + "fulfillment"},
                          {"schema", "https://ucp.dev/" + v + "/schemas/shopping/fulfillment.json"},
                          {"extends", "dev.ucp.shopping.checkout"}}}},
        {"dev.ucp.shopping.order",
         json::array{
             json::object{{"version", v},
                          {"spec", spec + "order"},
                          {"schema", "https://ucp.dev/" + v + "/schemas/shopping/order.json"}}}}};
    if (config_.negotiation) {
      services[kExtensionService] =
          json::array{json::object{{"version", kExtensionVersion},
                                   {"spec", ext_spec},
                                   {"transport", "rest"},
                                   {"endpoint", origin_ + "/negotiation"},
                                   {"schema", ext_schema + "/rest.openapi.json"}}};
      caps[kExtension] = json::array{json::object{{"version", kExtensionVersion},
                                                  {"spec", ext_spec},
                                                  {"schema", ext_schema + "/extension.json"},
                                                  {"extends", "dev.ucp.shopping.checkout"}}};
    }
    json::object handlers;
    for (const auto& h : config_.payment_handlers) {
      json::array list;
      if (auto* existing = handlers.if_contains(h.name)) list = existing->as_array();
      list.push_back(
          json::object{{"id", h.id},
                       {"version", v},
                       {"spec", "https://example.com/specs/payments/tokenizer"},
                       {"schema", "https://example.com/schemas/payments/tokenizer.json"},
                       {"available_instruments", json::array{json::object{{"type", "card"}}}},
                       {"config", json::object{{"environment", "test"}}}});
      handlers[h.name] = list;
    }
    profile["ucp"] = json::object{{"version", v},
                                  {"services", services},
                                  {"capabilities", caps},
                                  {"payment_handlers", handlers}};
  } else {
    json::object services{
        {"dev.ucp.shopping",
         json::object{{"version", v},
                      {"spec", "https://ucp.dev/specification/overview"},
                      {"rest", json::object{{"schema",
                                             "https://ucp.dev/services/shopping/rest.openapi.json"},
                                            {"endpoint", origin_ + "/ucp"}}}}}};
    json::array caps{json::object{{"name", "dev.ucp.shopping.checkout"},
                                  {"version", v},
                                  {"spec", "https://ucp.dev/specification/checkout"},
                                  {"schema", "https://ucp.dev/schemas/shopping/checkout.json"}},
                     json::object{{"name", "dev.ucp.shopping.fulfillment"},
                                  {"version", v},
                                  {"spec", "https://ucp.dev/specification/fulfillment"},
                                  {"schema", "https://ucp.dev/schemas/shopping/fulfillment.json"},
                                  {"extends", "dev.ucp.shopping.checkout"}}};
    if (config_.negotiation) {
      services[kExtensionService] =
          json::object{{"version", kExtensionVersion},
                       {"spec", ext_spec},
                       {"rest", json::object{{"schema", ext_schema + "/rest.openapi.json"},
                                             {"endpoint", origin_ + "/negotiation"}}}};
      caps.push_back(json::object{{"name", kExtension},
                                  {"version", kExtensionVersion},
                                  {"spec", ext_spec},
                                  {"schema", ext_schema + "/extension.json"},
                                  {"extends", "dev.ucp.shopping.checkout"}});
    }
    json::array handlers;
    for (const auto& h : config_.payment_handlers) {
      handlers.push_back(json::object{
          {"id", h.id},
          {"name", h.name},
          {"version", v},
          {"spec", "https://example.com/specs/payments/tokenizer"},
          {"config_schema", "https://example.com/schemas/payments/tokenizer.json"},
          {"instrument_schemas",
           json::array{"https://ucp.dev/schemas/shopping/types/card_payment_instrument.json"}},
          {"config", json::object{{"environment", "test"}}}});
    }
    profile["ucp"] = json::object{{"version", v}, {"services", services}, {"capabilities", caps}};
    profile["payment"] = json::object{{"handlers", handlers}};
  }
  profile["signing_keys"] = keys;
  auto r = json(200, profile);
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  return r;
}

// ---- checkout ------------------------------------------------------------------------------

std::optional<std::string> Vendor::parseItems(const json::value& v, std::vector<LineItem>& out,
                                              bool assign_ids) const {
  if (!v.is_array() || v.as_array().empty()) return "line_items must be a non-empty list";
  if (v.as_array().size() > kMaxLineItems) return "at most 100 line items";
  for (const auto& li : v.as_array()) {
    const auto* item = li.is_object() ? li.as_object().if_contains("item") : nullptr;
    const auto* id = item != nullptr ? str(*item, "id") : nullptr;
    const auto quantity = integer(li, "quantity");
    if (id == nullptr) return "every line item needs item.id";
    if (!quantity || *quantity < 1 || *quantity > kMaxQuantity) {
      return "every line item needs a quantity between 1 and 10000";
    }
    LineItem line;
    line.product = std::string(*id);
    line.quantity = *quantity;
    const auto* lid = str(li, "id");
    line.id = (lid != nullptr && !assign_ids) ? std::string(*lid) : "";
    out.push_back(std::move(line));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].id.empty()) out[i].id = "li_" + std::to_string(i + 1);
  }
  return std::nullopt;
}

std::int64_t Vendor::sessionShipping(const Session& s) const {
  if (s.offer) return s.offer->shipping;
  if (s.selected_option == "standard") return config_.shipping_standard;
  if (s.selected_option == "express") return config_.shipping_express;
  return 0;
}

json::array Vendor::sessionTotals(const Session& s) const {
  const std::int64_t subtotal = goodsSubtotal(s.items);
  const std::int64_t shipping = sessionShipping(s);
  std::int64_t discount = s.offer ? s.offer->discount : 0;  // <= 0
  std::int64_t tax = s.offer ? s.offer->tax : taxOn(subtotal + shipping);
  tax += s.total_delta;
  json::array totals{total("subtotal", subtotal)};
  if (discount != 0) {
    // 2026-04-08 carries discounts as negative amounts, 2026-01-11 as non-negative ones.
    totals.push_back(total("discount", config_.version == kVersionCurrent ? discount : -discount));
  }
  if (!s.selected_option.empty()) totals.push_back(total("fulfillment", shipping));
  totals.push_back(total("tax", tax));
  totals.push_back(total("total", subtotal + discount + shipping + tax));
  return totals;
}

json::object Vendor::fulfillmentJson(const Session& s) const {
  json::array ids;
  for (const auto& li : s.items)
    ids.push_back(json::value(li.id));
  json::object group{{"id", "package_1"}, {"line_item_ids", ids}};
  if (!s.destinations.empty()) {
    const auto now = clock_.now();
    auto option = [&](const char* id, const char* title, std::int64_t amount, std::int64_t days) {
      return json::object{{"id", id},
                          {"title", title},
                          {"description", "Arrives in " + std::to_string(days) + " days"},
                          {"earliest_fulfillment_time", formatRfc3339(now + days * 86400)},
                          {"latest_fulfillment_time", formatRfc3339(now + (days + 1) * 86400)},
                          {"totals", json::array{total("total", amount)}}};
    };
    json::array options;
    if (s.offer) {
      options.push_back(option("negotiated", "Delivery as offered", s.offer->shipping,
                               config_.delivery_days_standard));
    } else {
      options.push_back(option("standard", "Standard shipping", config_.shipping_standard,
                               config_.delivery_days_standard));
      options.push_back(option("express", "Express shipping", config_.shipping_express,
                               config_.delivery_days_express));
    }
    group["options"] = options;
    if (!s.selected_option.empty()) group["selected_option_id"] = s.selected_option;
  }
  json::object method{{"id", "shipping_1"},
                      {"type", "shipping"},
                      {"line_item_ids", ids},
                      {"destinations", s.destinations},
                      {"groups", json::array{group}}};
  if (!s.selected_destination.empty()) method["selected_destination_id"] = s.selected_destination;
  return json::object{{"methods", json::array{method}}};
}

void Vendor::refreshStatus(Session& s) const {
  if (s.status == "completed" || s.status == "canceled") return;
  const auto* email = s.buyer ? s.buyer->if_contains("email") : nullptr;
  const bool ready = email != nullptr && email->is_string() && !s.selected_destination.empty() &&
                     !s.selected_option.empty();
  s.status = ready ? "ready_for_complete" : "incomplete";
}

json::object Vendor::checkoutJson(const Session& s) const {
  const bool current = config_.version == kVersionCurrent;
  json::array lines;
  json::array messages;
  for (std::size_t i = 0; i < s.items.size(); ++i) {
    const auto& li = s.items[i];
    const auto* p = product(li.product);
    const std::int64_t price = p ? p->price : 0;
    lines.push_back(json::object{
        {"id", li.id},
        {"item",
         json::object{{"id", li.product}, {"title", p ? p->title : li.product}, {"price", price}}},
        {"quantity", li.quantity},
        {"totals", json::array{total("subtotal", price * li.quantity),
                               total("total", price * li.quantity)}}});
    if (p != nullptr && p->stock < li.quantity && s.status != "completed") {
      messages.push_back(
          message("error", "out_of_stock",
                  "Only " + std::to_string(p->stock) + " of " + p->title + " in stock.",
                  "recoverable", "$.line_items[" + std::to_string(i) + "]"));
    }
  }
  json::object c{{"ucp", ucpMeta("checkout")},
                 {"id", s.id},
                 {"status", s.status},
                 {"currency", config_.currency},
                 {"line_items", lines},
                 {"totals", sessionTotals(s)},
                 {"links", json::array{json::object{{"type", "terms_of_service"},
                                                    {"url", origin_ + "/terms"}}}},
                 {"expires_at", formatRfc3339(s.created + 6 * 3600)},
                 {"continue_url", origin_ + "/checkout/" + s.id},
                 {"fulfillment", fulfillmentJson(s)}};
  if (s.buyer) c["buyer"] = *s.buyer;
  if (s.status == "incomplete") {
    const auto* email = s.buyer ? s.buyer->if_contains("email") : nullptr;
    const char* severity = "recoverable";
    if (email == nullptr) {
      messages.push_back(
          message("error", "missing", "Buyer email is required", severity, "$.buyer.email"));
    }
    if (s.selected_destination.empty()) {
      messages.push_back(message("error", "missing", "A delivery address is required", severity,
                                 "$.fulfillment.methods[0].selected_destination_id"));
    } else if (s.selected_option.empty()) {
      messages.push_back(message("error", "missing", "Please select a fulfillment option", severity,
                                 "$.fulfillment.methods[0].groups[0].selected_option_id"));
    }
  }
  if (!messages.empty()) c["messages"] = messages;
  json::object payment;
  if (!current) {
    json::array handlers;
    for (const auto& h : config_.payment_handlers) {
      handlers.push_back(json::object{
          {"id", h.id},
          {"name", h.name},
          {"version", config_.version},
          {"spec", "https://example.com/specs/payments/tokenizer"},
          {"config_schema", "https://example.com/schemas/payments/tokenizer.json"},
          {"instrument_schemas",
           json::array{"https://ucp.dev/schemas/shopping/types/card_payment_instrument.json"}},
          {"config", json::object{{"environment", "test"}}}});
    }
    payment["handlers"] = handlers;
  }
  if (s.instrument) {
    json::object shown = *s.instrument;
    shown.erase("credential");  // never echo a credential
    if (current) {
      shown["selected"] = true;
    } else if (const auto* id = shown.if_contains("id")) {
      payment["selected_instrument_id"] = *id;
    }
    payment["instruments"] = json::array{shown};
  }
  if (!current || !payment.empty()) c["payment"] = payment;
  if (s.order_id) {
    c["order"] =
        json::object{{"id", *s.order_id}, {"permalink_url", origin_ + "/orders/" + *s.order_id}};
  }
  if (s.offer) {
    c["negotiation"] = json::object{{"negotiation_id", s.negotiation_id},
                                    {"offer_id", s.offer->id},
                                    {"offer_sha256", s.offer->sha256}};
  }
  return c;
}

Response Vendor::createCheckout(const json::value& body, const std::string&) {
  if (sessions_.size() >= kMaxSessions) return error(503, "unavailable", "Too many sessions.");
  Session s;
  s.created = clock_.now();
  if (auto bad = parseItems(
          body.as_object().contains("line_items") ? body.at("line_items") : json::value(), s.items,
          true)) {
    return error(400, "invalid_request", *bad);
  }
  std::size_t known = 0;
  for (const auto& li : s.items)
    known += product(li.product) != nullptr ? 1 : 0;
  if (known == 0) {
    return businessError("item_unavailable", "None of the requested items is sold here.");
  }
  for (const auto& li : s.items) {
    if (product(li.product) == nullptr) {
      return businessError("item_unavailable", "Item " + li.product + " is not sold here.");
    }
  }
  if (const auto* neg = body.as_object().if_contains("negotiation")) {
    const auto* nid = str(*neg, "negotiation_id");
    const auto* oid = str(*neg, "offer_id");
    const auto* sha = str(*neg, "offer_sha256");
    auto it = nid ? negotiations_.find(std::string(*nid)) : negotiations_.end();
    if (it == negotiations_.end() || oid == nullptr || sha == nullptr) {
      return error(400, "invalid_request",
                   "negotiation needs negotiation_id, offer_id, offer_sha256.");
    }
    auto& n = it->second;
    if (n.status != "accepted" || !n.accepted_offer || *n.accepted_offer != *oid) {
      return businessError("offer_not_accepted", "That offer was not accepted.");
    }
    const auto& offer = *std::find_if(n.offers.begin(), n.offers.end(),
                                      [&](const OfferTerms& o) { return o.id == *oid; });
    if (offer.sha256 != *sha) {
      return businessError("offer_mismatch", "offer_sha256 does not match the accepted offer.");
    }
    bool same = s.items.size() == n.items.size();
    for (std::size_t i = 0; same && i < s.items.size(); ++i) {
      same = s.items[i].product == n.items[i].product && s.items[i].quantity == n.items[i].quantity;
    }
    if (!same) {
      return businessError("offer_mismatch", "The line items differ from the accepted offer.");
    }
    s.offer = offer;
    s.negotiation_id = n.id;
    s.selected_option = "negotiated";
  }
  s.id = newId("chk");
  if (const auto* buyer = body.as_object().if_contains("buyer"); buyer && buyer->is_object()) {
    s.buyer = buyer->as_object();
  }
  s.status = "incomplete";
  auto [it, _] = sessions_.emplace(s.id, std::move(s));
  if (it->second.offer) negotiations_[it->second.negotiation_id].checkout_id = it->first;
  if (body.as_object().contains("fulfillment")) {
    json::object update = body.as_object();
    update.erase("line_items");
    auto r = updateCheckout(it->first, update);
    r.status = r.status == 200 ? 201 : r.status;
    return r;
  }
  refreshStatus(it->second);
  return json(201, checkoutJson(it->second));
}

Response Vendor::getCheckout(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return error(404, "not_found", "No checkout session " + id);
  return json(200, checkoutJson(it->second));
}

Response Vendor::updateCheckout(const std::string& id, const json::value& body) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return error(404, "not_found", "No checkout session " + id);
  auto& s = it->second;
  if (s.status == "completed" || s.status == "canceled") {
    auto c = checkoutJson(s);
    c["messages"] = json::array{message(
        "error", "not_modifiable", "The checkout session is " + s.status + ".", "recoverable")};
    return json(200, c);
  }
  const auto& o = body.as_object();
  if (const auto* lines = o.if_contains("line_items")) {
    std::vector<LineItem> items;
    if (auto bad = parseItems(*lines, items, false)) return error(400, "invalid_request", *bad);
    for (const auto& li : items) {
      if (product(li.product) == nullptr) {
        return error(400, "invalid_request", "Item " + li.product + " is not sold here.");
      }
    }
    if (s.offer) {
      bool same = items.size() == s.items.size();
      for (std::size_t i = 0; same && i < items.size(); ++i) {
        same = items[i].product == s.items[i].product && items[i].quantity == s.items[i].quantity;
      }
      if (!same) {
        return error(400, "invalid_request", "A negotiated checkout keeps the offer's items.");
      }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].id.empty() || items[i].id.rfind("li_", 0) != 0) {
        items[i].id = "li_" + std::to_string(i + 1);
      }
    }
    s.items = std::move(items);
  }
  if (const auto* buyer = o.if_contains("buyer")) {
    if (!buyer->is_object()) return error(400, "invalid_request", "buyer must be an object");
    s.buyer = buyer->as_object();
  }
  if (const auto* f = o.if_contains("fulfillment")) {
    const auto* methods = f->is_object() ? f->as_object().if_contains("methods") : nullptr;
    if (methods == nullptr || !methods->is_array() || methods->as_array().size() != 1 ||
        !methods->as_array()[0].is_object()) {
      return error(400, "invalid_request", "fulfillment.methods must hold one shipping method");
    }
    const auto& method = methods->as_array()[0].as_object();
    if (const auto* type = method.if_contains("type");
        type && (!type->is_string() || type->as_string() != "shipping")) {
      return error(400, "invalid_request", "Only shipping is offered.");
    }
    if (const auto* dests = method.if_contains("destinations")) {
      if (!dests->is_array() || dests->as_array().size() > 10) {
        return error(400, "invalid_request", "destinations must be a list of at most 10");
      }
      json::array stored;
      std::size_t n = 0;
      for (const auto& d : dests->as_array()) {
        if (!d.is_object()) return error(400, "invalid_request", "a destination is an object");
        json::object dest = d.as_object();
        if (!dest.contains("id")) dest["id"] = "dest_" + std::to_string(++n);
        stored.push_back(dest);
      }
      s.destinations = stored;
      if (!stored.empty() && !method.contains("selected_destination_id")) {
        s.selected_destination = std::string(stored[0].as_object().at("id").as_string());
      }
    }
    if (const auto* sel = method.if_contains("selected_destination_id")) {
      if (sel->is_null()) {
        s.selected_destination.clear();
      } else if (sel->is_string()) {
        bool found = false;
        for (const auto& d : s.destinations) {
          const auto* did = str(d, "id");
          found = found || (did && *did == sel->as_string());
        }
        if (!found) return error(400, "invalid_request", "Unknown selected_destination_id.");
        s.selected_destination = std::string(sel->as_string());
      }
    }
    if (const auto* groups = method.if_contains("groups")) {
      if (groups->is_array() && !groups->as_array().empty()) {
        const auto* opt = str(groups->as_array()[0], "selected_option_id");
        if (opt != nullptr) {
          const bool valid =
              s.offer ? *opt == "negotiated" : (*opt == "standard" || *opt == "express");
          if (!valid) return error(400, "invalid_request", "Unknown selected_option_id.");
          s.selected_option = std::string(*opt);
        }
      }
    }
  }
  refreshStatus(s);
  return json(200, checkoutJson(s));
}

Response Vendor::completeCheckout(const std::string& id, const json::value& body,
                                  const std::string& key) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return error(404, "not_found", "No checkout session " + id);
  auto& s = it->second;
  auto withMessage = [&](const std::string& code, const std::string& content) {
    auto c = checkoutJson(s);
    json::array messages;
    if (auto* m = c.if_contains("messages")) messages = m->as_array();
    messages.push_back(message("error", code, content, "recoverable"));
    c["messages"] = messages;
    return json(200, c);
  };
  if (s.status == "completed") return withMessage("already_completed", "Already completed.");
  if (s.status == "canceled") return withMessage("canceled", "The session was canceled.");
  if (s.status != "ready_for_complete") {
    return withMessage("not_ready", "The checkout is not ready to complete.");
  }
  // The instrument: 2026-04-08 payment.instruments[0], 2026-01-11 payment_data.
  const json::value* instrument = nullptr;
  const auto& o = body.as_object();
  if (config_.version == kVersionCurrent) {
    const auto* payment = o.if_contains("payment");
    const auto* list =
        payment && payment->is_object() ? payment->as_object().if_contains("instruments") : nullptr;
    if (list && list->is_array() && list->as_array().size() == 1) instrument = &list->as_array()[0];
  } else {
    instrument = o.if_contains("payment_data");
  }
  if (instrument == nullptr || !instrument->is_object()) {
    return error(400, "invalid_request",
                 config_.version == kVersionCurrent
                     ? "complete needs payment.instruments with one instrument"
                     : "complete needs payment_data");
  }
  const auto* handler = str(*instrument, "handler_id");
  bool known = false;
  for (const auto& h : config_.payment_handlers)
    known = known || (handler && *handler == h.id);
  if (!known) return withMessage("payment_failed", "Unknown payment handler.");
  const auto* credential = instrument->as_object().if_contains("credential");
  const auto* token = credential ? str(*credential, "token") : nullptr;
  if (token == nullptr || token->empty()) {
    return withMessage("payment_failed", "The instrument carries no credential token.");
  }
  for (const auto& li : s.items) {
    const auto* p = product(li.product);
    if (p == nullptr || p->stock < li.quantity) {
      return withMessage("out_of_stock", "Not enough stock to complete.");
    }
  }
  for (const auto& li : s.items) {
    for (auto& p : config_.catalogue) {
      if (p.id == li.product) p.stock -= li.quantity;
    }
  }
  s.instrument = instrument->as_object();
  if (active_) s.total_delta = config_.misbehaviour.order_total_delta;
  Order order;
  order.id = newId("ord");
  order.checkout_id = s.id;
  order.idempotency_key = key;
  order.created = clock_.now();
  order.delivery_days = s.selected_option == "express" ? config_.delivery_days_express
                                                       : config_.delivery_days_standard;
  for (const auto& li : s.items) {
    const auto* p = product(li.product);
    order.line_items.push_back(json::object{
        {"id", li.id},
        {"item", json::object{{"id", li.product}, {"title", p->title}, {"price", p->price}}},
        {"quantity",
         json::object{{"original", li.quantity}, {"total", li.quantity}, {"fulfilled", 0}}},
        {"totals", json::array{total("subtotal", p->price * li.quantity),
                               total("total", p->price * li.quantity)}},
        {"status", "processing"}});
  }
  order.totals = sessionTotals(s);
  s.order_id = order.id;
  s.status = "completed";
  orders_.emplace(order.id, std::move(order));
  return json(200, checkoutJson(s));
}

Response Vendor::cancelCheckout(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return error(404, "not_found", "No checkout session " + id);
  auto& s = it->second;
  if (s.status == "completed") {
    auto c = checkoutJson(s);
    c["messages"] = json::array{message("error", "not_cancelable",
                                        "A completed checkout cannot be canceled.", "recoverable")};
    return json(200, c);
  }
  s.status = "canceled";
  return json(200, checkoutJson(s));
}

// The order as of the marketplace clock: shipped a day after the order (or at once for
// same-day delivery), delivered after the selected option's delivery days.
json::object Vendor::orderJson(const Order& o) const {
  const auto& s = sessions_.at(o.checkout_id);
  const auto now = clock_.now();
  const std::int64_t shipped_at = o.created + std::min<std::int64_t>(1, o.delivery_days) * 86400;
  const std::int64_t delivered_at = o.created + o.delivery_days * 86400;
  const bool delivered = now >= delivered_at;
  json::array expected_items;
  json::array lines;
  for (const auto& li : o.line_items) {
    const auto quantity = li.at("quantity").at("total");
    expected_items.push_back(json::object{{"id", li.at("id")}, {"quantity", quantity}});
    json::object line = li.as_object();
    if (delivered) {
      line["status"] = "fulfilled";
      line["quantity"].as_object()["fulfilled"] = quantity;
    }
    lines.push_back(line);
  }
  json::array events;
  if (now >= shipped_at) {
    events.push_back(json::object{{"id", "evt_" + o.id + "_shipped"},
                                  {"occurred_at", formatRfc3339(shipped_at)},
                                  {"type", "shipped"},
                                  {"line_items", expected_items},
                                  {"carrier", "Test Parcel"},
                                  {"tracking_number", "TP" + o.id}});
  }
  if (delivered) {
    events.push_back(json::object{{"id", "evt_" + o.id + "_delivered"},
                                  {"occurred_at", formatRfc3339(delivered_at)},
                                  {"type", "delivered"},
                                  {"line_items", expected_items}});
  }
  json::object destination;
  for (const auto& d : s.destinations) {
    const auto* did = str(d, "id");
    if (did && *did == s.selected_destination) destination = d.as_object();
  }
  return json::object{
      {"ucp", ucpMeta("order")},
      {"id", o.id},
      {"checkout_id", o.checkout_id},
      {"permalink_url", origin_ + "/orders/" + o.id},
      {"line_items", lines},
      {"fulfillment",
       json::object{
           {"expectations",
            json::array{json::object{{"id", "exp_1"},
                                     {"line_items", expected_items},
                                     {"method_type", "shipping"},
                                     {"destination", destination},
                                     {"description", "Arrives by " + formatDate(delivered_at)}}}},
           {"events", events}}},
      {"currency", config_.currency},
      {"totals", o.totals}};
}

Response Vendor::getOrder(const std::string& id) {
  auto it = orders_.find(id);
  if (it == orders_.end()) return error(404, "not_found", "No order " + id);
  return json(200, orderJson(it->second));
}

// ---- negotiation ---------------------------------------------------------------------------

std::int64_t Vendor::concessionTotal(const Negotiation& n, std::int64_t round) const {
  std::int64_t list = 0;
  std::int64_t floor = 0;
  for (const auto& li : n.items) {
    const auto* p = product(li.product);
    list += p->price * li.quantity;
    floor += p->reservation * li.quantity;
  }
  const std::int64_t ship = config_.shipping_standard;
  const std::int64_t list_total = list + ship + taxOn(list + ship);
  const std::int64_t floor_total = floor + ship + taxOn(floor + ship);
  const double t =
      std::min<double>(1.0, static_cast<double>(round) /
                                static_cast<double>(std::max<std::int64_t>(1, n.max_rounds)));
  // The vendor's concession curve: 0 at the first offer, 1 (its reservation) at the last round.
  const double conceded = std::pow(t, 1.0 / config_.concession_exponent);
  return list_total - static_cast<std::int64_t>(
                          std::floor(static_cast<double>(list_total - floor_total) * conceded));
}

Vendor::OfferTerms Vendor::makeOffer(Negotiation& n, std::int64_t total_amount, bool final_offer) {
  OfferTerms o;
  o.id = newId("ofr");
  o.round = n.round;
  o.subtotal = goodsSubtotal(n.items);
  o.shipping = config_.shipping_standard;
  const std::int64_t bp = config_.tax_rate_bp;
  o.tax = static_cast<std::int64_t>((static_cast<__int128>(total_amount) * bp * 2 + (10000 + bp)) /
                                    (2 * (10000 + bp)));
  o.discount = total_amount - o.tax - o.subtotal - o.shipping;
  if (o.discount > 0) {
    o.tax += o.discount;
    o.discount = 0;
  }
  o.total = total_amount;
  const auto now = clock_.now();
  o.valid_until = (active_ && config_.misbehaviour.expired_offers)
                      ? now - 60
                      : now + config_.offer_valid_seconds;
  json::array lines;
  for (const auto& li : n.items) {
    const auto* p = product(li.product);
    lines.push_back(json::object{
        {"item", json::object{{"id", li.product}, {"title", p->title}, {"price", p->price}}},
        {"quantity", li.quantity}});
  }
  json::array totals{total("subtotal", o.subtotal)};
  if (o.discount != 0) totals.push_back(total("discount", o.discount));
  totals.push_back(total("fulfillment", o.shipping));
  totals.push_back(total("tax", o.tax));
  totals.push_back(total("total", o.total));
  json::object terms{
      {"id", o.id},
      {"negotiation_id", n.id},
      {"rfq_id", n.rfq_id},
      {"round", o.round},
      {"final", final_offer},
      {"business", origin_},
      {"issued_at", formatRfc3339(now)},
      {"valid_until", formatRfc3339(o.valid_until)},
      {"currency", config_.currency},
      {"line_items", lines},
      {"fulfillment",
       json::object{
           {"type", "shipping"},
           {"title", "Standard shipping"},
           {"earliest_delivery", formatDate(now + config_.delivery_days_standard * 86400)},
           {"latest_delivery", formatDate(now + (config_.delivery_days_standard + 1) * 86400)}}},
      {"totals", totals}};
  o.payload = json::serialize(terms);
  o.sha256 = base64url(sha256(o.payload));
  if (!(active_ && config_.misbehaviour.signature == "missing")) {
    const std::string head = base64url(json::serialize(
        json::object{{"alg", "ES256"}, {"kid", key_.kid()}, {"typ", "offer+json"}}));
    const std::string input = head + "." + base64url(o.payload);
    const bool wrong = active_ && config_.misbehaviour.signature == "wrong";
    o.jws = input + "." + base64url((wrong ? wrong_key_ : key_).sign(input));
  }
  n.offers.push_back(o);
  return o;
}

json::object Vendor::negotiationJson(const Negotiation& n) const {
  json::object out{{"ucp", ucpMeta("negotiation")},
                   {"id", n.id},
                   {"rfq_id", n.rfq_id},
                   {"status", n.status},
                   {"round", n.round},
                   {"max_rounds", n.max_rounds},
                   {"currency", config_.currency}};
  if (!n.offers.empty()) {
    const auto& o = n.offers.back();
    json::object offer{{"id", o.id}, {"offer_sha256", o.sha256}, {"terms", json::parse(o.payload)}};
    if (!o.jws.empty()) offer["jws"] = o.jws;
    out["offer"] = offer;
  }
  if (n.accepted_offer) {
    for (const auto& o : n.offers) {
      if (o.id == *n.accepted_offer) {
        out["accepted"] = json::object{{"offer_id", o.id}, {"offer_sha256", o.sha256}};
      }
    }
  }
  if (n.checkout_id) out["checkout_id"] = *n.checkout_id;
  if (!n.messages.empty()) out["messages"] = n.messages;
  return out;
}

Response Vendor::createNegotiation(const json::value& body) {
  if (negotiations_.size() >= kMaxSessions) return error(503, "unavailable", "Too many.");
  const auto* rfq_id = str(body, "rfq_id");
  const auto* reply_by = str(body, "reply_by");
  const auto* currency = str(body, "currency");
  const auto max_rounds = integer(body, "max_rounds");
  if (rfq_id == nullptr || rfq_id->empty() || rfq_id->size() > 128) {
    return error(400, "invalid_request", "rfq_id is required (1 to 128 characters).");
  }
  if (reply_by == nullptr || !parseRfc3339(*reply_by)) {
    return error(400, "invalid_request", "reply_by must be an RFC 3339 time.");
  }
  if (!max_rounds || *max_rounds < 0 || *max_rounds > 50) {
    return error(400, "invalid_request", "max_rounds must be an integer from 0 to 50.");
  }
  if (currency == nullptr || currency->size() != 3) {
    return error(400, "invalid_request", "currency must be an ISO 4217 code.");
  }
  Negotiation n;
  n.id = newId("neg");
  n.rfq_id = std::string(*rfq_id);
  n.max_rounds = std::min(*max_rounds, config_.max_rounds);
  n.status = "open";
  auto decline = [&](const std::string& code, const std::string& content) {
    n.status = "declined";
    n.messages.push_back(message("error", code, content, "unrecoverable"));
    auto [it, _] = negotiations_.emplace(n.id, n);
    return json(201, negotiationJson(it->second));
  };
  const auto& o = body.as_object();
  if (o.contains("service")) {
    return decline("service_unavailable", "This vendor sells goods, not services.");
  }
  if (auto bad = parseItems(o.contains("line_items") ? o.at("line_items") : json::value(), n.items,
                            true)) {
    return error(400, "invalid_request", *bad);
  }
  if (*currency != config_.currency) {
    return decline("currency_unsupported", "This vendor quotes in " + config_.currency + " only.");
  }
  if (*parseRfc3339(*reply_by) < clock_.now()) {
    return decline("reply_by_passed", "The reply-by time has already passed.");
  }
  for (const auto& li : n.items) {
    const auto* p = product(li.product);
    if (p == nullptr)
      return decline("item_unavailable", "Item " + li.product + " is not sold here.");
    if (p->stock < li.quantity) {
      return decline("out_of_stock",
                     "Only " + std::to_string(p->stock) + " of " + p->title + " in stock.");
    }
  }
  makeOffer(n, concessionTotal(n, 0), n.max_rounds == 0);
  auto [it, _] = negotiations_.emplace(n.id, std::move(n));
  return json(201, negotiationJson(it->second));
}

Response Vendor::getNegotiation(const std::string& id) {
  auto it = negotiations_.find(id);
  if (it == negotiations_.end()) return error(404, "not_found", "No negotiation " + id);
  return json(200, negotiationJson(it->second));
}

Response Vendor::counter(const std::string& id, const json::value& body) {
  auto it = negotiations_.find(id);
  if (it == negotiations_.end()) return error(404, "not_found", "No negotiation " + id);
  auto& n = it->second;
  const auto* offer_id = str(body, "offer_id");
  const auto proposed = integer(body, "total");
  if (offer_id == nullptr || !proposed || *proposed <= 0) {
    return error(400, "invalid_request", "A counter-offer needs offer_id and a positive total.");
  }
  if (n.status != "open") {
    return error(409, "negotiation_closed", "The negotiation is " + n.status + ".");
  }
  if (n.offers.empty() || n.offers.back().id != *offer_id) {
    return error(409, "stale_offer", "Counter the latest offer only.");
  }
  if (n.round >= n.max_rounds) {
    return error(409, "rounds_exhausted",
                 "No rounds left; the last offer stands until it expires.");
  }
  n.round += 1;
  const std::int64_t ours = concessionTotal(n, n.round);
  const std::int64_t previous = n.offers.back().total;
  // The buyer's proposal wins once it is at least what the vendor would ask next.
  const std::int64_t next = *proposed >= ours ? std::min(*proposed, previous) : ours;
  makeOffer(n, next, n.round >= n.max_rounds);
  return json(200, negotiationJson(n));
}

Response Vendor::accept(const std::string& id, const json::value& body) {
  auto it = negotiations_.find(id);
  if (it == negotiations_.end()) return error(404, "not_found", "No negotiation " + id);
  auto& n = it->second;
  const auto* offer_id = str(body, "offer_id");
  const auto* sha = str(body, "offer_sha256");
  if (offer_id == nullptr || sha == nullptr) {
    return error(400, "invalid_request", "accept needs offer_id and offer_sha256.");
  }
  if (n.status != "open") {
    return error(409, "negotiation_closed", "The negotiation is " + n.status + ".");
  }
  const auto offer = std::find_if(n.offers.begin(), n.offers.end(),
                                  [&](const OfferTerms& o) { return o.id == *offer_id; });
  if (offer == n.offers.end()) return error(404, "not_found", "No offer " + std::string(*offer_id));
  if (offer->id != n.offers.back().id) {
    return error(409, "stale_offer", "Only the latest offer can be accepted.");
  }
  if (offer->sha256 != *sha) {
    return error(409, "offer_mismatch", "offer_sha256 does not match the offer as signed.");
  }
  if (offer->valid_until < clock_.now()) {
    return error(409, "offer_expired", "The offer expired at " + formatRfc3339(offer->valid_until));
  }
  n.status = "accepted";
  n.accepted_offer = offer->id;
  return json(200, negotiationJson(n));
}

Response Vendor::decline(const std::string& id, const json::value& body) {
  auto it = negotiations_.find(id);
  if (it == negotiations_.end()) return error(404, "not_found", "No negotiation " + id);
  auto& n = it->second;
  if (n.status != "open") {
    return error(409, "negotiation_closed", "The negotiation is " + n.status + ".");
  }
  n.status = "ended";
  const auto* reason = str(body, "reason");
  n.messages.push_back(json::object{{"type", "info"},
                                    {"code", "ended_by_buyer"},
                                    {"content", reason ? std::string(*reason) : "Declined."}});
  return json(200, negotiationJson(n));
}

// ---- admin ---------------------------------------------------------------------------------

Response Vendor::admin(const Request& request) {
  const auto q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  boost::system::error_code ec;
  json::value body =
      request.body.empty() ? json::value(json::object{}) : json::parse(request.body, ec);
  if (ec || !body.is_object())
    return error(400, "invalid_request", "The body must be a JSON object.");
  auto clockJson = [&] {
    return json::object{{"now", formatRfc3339(clock_.now())},
                        {"unix", clock_.now()},
                        {"simulated", clock_.simulated()}};
  };
  if (path == "/_admin/state" && request.method == "GET") {
    json::object per_key;
    json::array orders;
    std::map<std::string, std::int64_t> counts;
    for (const auto& [oid, o] : orders_) {
      const auto& s = sessions_.at(o.checkout_id);
      orders.push_back(json::object{{"id", oid},
                                    {"checkout_id", o.checkout_id},
                                    {"idempotency_key", o.idempotency_key},
                                    {"total", sessionTotals(s).back().at("amount")},
                                    {"created", formatRfc3339(o.created)}});
      ++counts[o.idempotency_key];
    }
    for (const auto& [k, n] : counts)
      per_key[k] = n;
    json::array sessions;
    for (const auto& [sid, s] : sessions_) {
      json::object e{{"id", sid}, {"status", s.status}};
      if (s.order_id) e["order_id"] = *s.order_id;
      if (s.offer) e["offer_id"] = s.offer->id;
      sessions.push_back(e);
    }
    json::array negotiations;
    for (const auto& [nid, n] : negotiations_) {
      json::array totals;
      for (const auto& o : n.offers)
        totals.push_back(o.total);
      negotiations.push_back(json::object{{"id", nid},
                                          {"rfq_id", n.rfq_id},
                                          {"status", n.status},
                                          {"round", n.round},
                                          {"offer_totals", totals}});
    }
    json::array seen;
    for (const auto& r : seen_) {
      seen.push_back(json::object{{"at", formatRfc3339(r.at)},
                                  {"operation", r.operation},
                                  {"method", r.method},
                                  {"path", r.target},
                                  {"idempotency_key", r.idempotency_key},
                                  {"status", r.status},
                                  {"signed", r.signed_request}});
    }
    json::object per_op;
    for (const auto& [op, n] : requests_per_operation_)
      per_op[op] = n;
    json::object stock;
    for (const auto& p : config_.catalogue)
      stock[p.id] = p.stock;
    return json(200,
                json::object{{"vendor", config_.name},
                             {"version", config_.version},
                             {"origin", origin_},
                             {"clock", clockJson()},
                             {"orders", orders},
                             {"orders_per_idempotency_key", per_key},
                             {"sessions", sessions},
                             {"negotiations", negotiations},
                             {"requests_per_operation", per_op},
                             {"requests", seen},
                             {"idempotency", json::object{{"stored", idempotency_.size()},
                                                          {"replays", idempotent_replays_},
                                                          {"conflicts", idempotency_conflicts_}}},
                             {"misbehaviour_hits", misbehaviour_hits_},
                             {"stock", stock}});
  }
  if (path == "/_admin/clock" && request.method == "GET") return json(200, clockJson());
  if (path == "/_admin/clock" && request.method == "POST") {
    if (const auto adv = integer(body, "advance_seconds")) {
      if (*adv < 0 || *adv > 10L * 365 * 86400) {
        return error(400, "invalid_request", "advance_seconds must be 0 to 10 years.");
      }
      clock_.advance(*adv);
    } else if (const auto* at = str(body, "set")) {
      const auto t = parseRfc3339(*at);
      if (!t) return error(400, "invalid_request", "set must be an RFC 3339 time.");
      clock_.set(*t);
    } else {
      return error(400, "invalid_request", "Send {\"advance_seconds\": N} or {\"set\": TIME}.");
    }
    return json(200, clockJson());
  }
  if (path == "/_admin/misbehaviour" && request.method == "POST") {
    try {
      config_.misbehaviour = parseMisbehaviour(body, "misbehaviour");
    } catch (const std::exception& e) {
      return error(400, "invalid_request", e.what());
    }
    misbehaviour_hits_ = 0;
    return json(200, json::object{{"misbehaviour", body}});
  }
  return error(404, "not_found",
               "Admin: GET /_admin/state, GET|POST /_admin/clock, "
               "POST /_admin/misbehaviour");
}

}  // namespace marketplace
