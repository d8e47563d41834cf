// See config.hpp.
#include "config.hpp"

#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace marketplace {
namespace json = boost::json;
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

void onlyKeys(const json::object& object, const std::string& where,
              std::initializer_list<std::string_view> keys) {
  for (const auto& entry : object) {
    bool known = false;
    for (auto key : keys)
      known = known || entry.key() == key;
    if (!known) fail(where + "." + std::string(entry.key()), "unknown key");
  }
}

const json::object& asObject(const json::value& value, const std::string& where) {
  if (!value.is_object()) fail(where, "expected an object");
  return value.as_object();
}

std::string getString(const json::object& o, std::string_view key, const std::string& where,
                      std::string fallback, bool required = false) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) fail(where + "." + std::string(key), "required");
    return fallback;
  }
  if (!v->is_string() || v->as_string().empty()) {
    fail(where + "." + std::string(key), "expected a non-empty string");
  }
  return std::string(v->as_string());
}

std::int64_t getInt(const json::object& o, std::string_view key, const std::string& where,
                    std::int64_t fallback, std::int64_t min, std::int64_t max,
                    bool required = false) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) fail(where + "." + std::string(key), "required");
    return fallback;
  }
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  } else {
    fail(where + "." + std::string(key), "expected an integer (money is in minor units)");
  }
  if (n < min || n > max) {
    fail(where + "." + std::string(key),
         "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

bool getBool(const json::object& o, std::string_view key, const std::string& where, bool fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) fail(where + "." + std::string(key), "expected true or false");
  return v->as_bool();
}

constexpr std::int64_t kMaxMoney = 100'000'000'00;

VendorConfig parseVendor(const json::value& value, const std::string& where) {
  const auto& o = asObject(value, where);
  onlyKeys(
      o, where,
      {"name", "version", "currency", "tax_rate_bp", "shipping", "delivery_days", "negotiation",
       "catalogue", "payment_handlers", "request_signatures", "platform_keys", "require_request_id",
       "fetch_platform_profile", "platform_profile_ca_file", "misbehaviour"});
  VendorConfig v;
  v.name = getString(o, "name", where, "", true);
  for (char c : v.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      fail(where + ".name", "use letters, digits, '-' and '_' only");
    }
  }
  v.version = getString(o, "version", where, kVersionCurrent);
  if (v.version != kVersionCurrent && v.version != kVersionFirst) {
    fail(where + ".version",
         std::string("must be \"") + kVersionCurrent + "\" or \"" + kVersionFirst + "\"");
  }
  v.currency = getString(o, "currency", where, "EUR");
  if (v.currency.size() != 3 || !std::isupper(static_cast<unsigned char>(v.currency[0])) ||
      !std::isupper(static_cast<unsigned char>(v.currency[1])) ||
      !std::isupper(static_cast<unsigned char>(v.currency[2]))) {
    fail(where + ".currency", "expected an ISO 4217 code like \"EUR\"");
  }
  v.tax_rate_bp = getInt(o, "tax_rate_bp", where, 1900, 0, 10000);
  if (const auto* s = o.if_contains("shipping")) {
    const auto& so = asObject(*s, where + ".shipping");
    onlyKeys(so, where + ".shipping", {"standard", "express"});
    v.shipping_standard = getInt(so, "standard", where + ".shipping", 495, 0, kMaxMoney);
    v.shipping_express = getInt(so, "express", where + ".shipping", 995, 0, kMaxMoney);
  }
  if (const auto* d = o.if_contains("delivery_days")) {
    const auto& dd = asObject(*d, where + ".delivery_days");
    onlyKeys(dd, where + ".delivery_days", {"standard", "express"});
    v.delivery_days_standard = getInt(dd, "standard", where + ".delivery_days", 3, 0, 365);
    v.delivery_days_express = getInt(dd, "express", where + ".delivery_days", 1, 0, 365);
  }
  if (const auto* n = o.if_contains("negotiation")) {
    const std::string w = where + ".negotiation";
    const auto& no = asObject(*n, w);
    onlyKeys(no, w, {"enabled", "max_rounds", "exponent", "offer_valid_seconds"});
    v.negotiation = getBool(no, "enabled", w, true);
    v.max_rounds = getInt(no, "max_rounds", w, 6, 1, 50);
    if (const auto* e = no.if_contains("exponent")) {
      if (!e->is_number()) fail(w + ".exponent", "expected a number");
      v.concession_exponent = e->to_number<double>();
      if (!(v.concession_exponent >= 0.01 && v.concession_exponent <= 100)) {
        fail(w + ".exponent", "must be between 0.01 and 100");
      }
    }
    v.offer_valid_seconds = getInt(no, "offer_valid_seconds", w, 900, 1, 30 * 86400);
  }
  const auto* cat = o.if_contains("catalogue");
  if (cat == nullptr || !cat->is_array() || cat->as_array().empty()) {
    fail(where + ".catalogue", "expected a non-empty list of products");
  }
  for (std::size_t i = 0; i < cat->as_array().size(); ++i) {
    const std::string w = where + ".catalogue[" + std::to_string(i) + "]";
    const auto& p = asObject(cat->as_array()[i], w);
    onlyKeys(p, w, {"id", "title", "price", "reservation", "stock"});
    Product product;
    product.id = getString(p, "id", w, "", true);
    product.title = getString(p, "title", w, product.id);
    product.price = getInt(p, "price", w, 0, 1, kMaxMoney, true);
    product.reservation = getInt(p, "reservation", w, product.price, 1, product.price);
    product.stock = getInt(p, "stock", w, 100, 0, 1'000'000);
    for (const auto& other : v.catalogue) {
      if (other.id == product.id) fail(w + ".id", "duplicate product id");
    }
    v.catalogue.push_back(std::move(product));
  }
  if (const auto* h = o.if_contains("payment_handlers")) {
    if (!h->is_array() || h->as_array().empty()) {
      fail(where + ".payment_handlers", "expected a non-empty list");
    }
    for (std::size_t i = 0; i < h->as_array().size(); ++i) {
      const std::string w = where + ".payment_handlers[" + std::to_string(i) + "]";
      const auto& ho = asObject(h->as_array()[i], w);
      onlyKeys(ho, w, {"name", "id"});
      v.payment_handlers.push_back(
          {getString(ho, "name", w, "", true), getString(ho, "id", w, "", true)});
    }
  } else {
    v.payment_handlers.push_back({});
  }
  v.request_signatures = getString(o, "request_signatures", where, "present");
  if (v.request_signatures != "ignore" && v.request_signatures != "present" &&
      v.request_signatures != "verify") {
    fail(where + ".request_signatures", "must be \"ignore\", \"present\" or \"verify\"");
  }
  if (const auto* keys = o.if_contains("platform_keys")) {
    if (!keys->is_array()) fail(where + ".platform_keys", "expected a list of JWKs");
    for (const auto& k : keys->as_array()) {
      v.platform_keys.push_back(asObject(k, where + ".platform_keys[]"));
    }
  }
  v.require_request_id = getBool(o, "require_request_id", where, true);
  v.fetch_platform_profile = getBool(o, "fetch_platform_profile", where, false);
  v.platform_profile_ca_file = getString(o, "platform_profile_ca_file", where, "");
  if (const auto* m = o.if_contains("misbehaviour")) {
    v.misbehaviour = parseMisbehaviour(*m, where + ".misbehaviour");
  }
  return v;
}

}  // namespace

Misbehaviour parseMisbehaviour(const json::value& value, const std::string& where) {
  const auto& o = asObject(value, where);
  onlyKeys(o, where,
           {"operations", "times", "delay_ms", "status", "malformed_json", "signature",
            "expired_offers", "order_total_delta", "ignore_idempotency", "hang"});
  Misbehaviour m;
  if (const auto* ops = o.if_contains("operations")) {
    if (!ops->is_array()) fail(where + ".operations", "expected a list of operation names");
    for (const auto& op : ops->as_array()) {
      if (!op.is_string()) fail(where + ".operations", "expected operation names");
      m.operations.insert(std::string(op.as_string()));
    }
  }
  m.times = getInt(o, "times", where, 0, 0, 1'000'000);
  m.delay_ms = getInt(o, "delay_ms", where, 0, 0, 600'000);
  m.status = static_cast<int>(getInt(o, "status", where, 0, 0, 599));
  if (m.status != 0 && m.status < 500) fail(where + ".status", "must be a 5xx status");
  m.malformed_json = getBool(o, "malformed_json", where, false);
  m.signature = o.contains("signature") ? getString(o, "signature", where, "") : "";
  if (!m.signature.empty() && m.signature != "missing" && m.signature != "wrong") {
    fail(where + ".signature", "must be \"missing\" or \"wrong\"");
  }
  m.expired_offers = getBool(o, "expired_offers", where, false);
  m.order_total_delta = getInt(o, "order_total_delta", where, 0, -kMaxMoney, kMaxMoney);
  m.ignore_idempotency = getBool(o, "ignore_idempotency", where, false);
  m.hang = getBool(o, "hang", where, false);
  return m;
}

Config parseConfig(const json::value& value) {
  const auto& o = asObject(value, "config");
  onlyKeys(o, "config", {"host", "clock_start", "vendors"});
  Config config;
  config.host = getString(o, "host", "config", "127.0.0.1");
  if (config.host != "127.0.0.1" && config.host != "::1") {
    fail("config.host", "the marketplace serves loopback only: \"127.0.0.1\" or \"::1\"");
  }
  if (const auto* c = o.if_contains("clock_start")) {
    if (!c->is_string()) fail("config.clock_start", "expected an RFC 3339 time");
    config.clock_start = parseRfc3339(c->as_string());
    if (!config.clock_start) fail("config.clock_start", "expected like 2026-12-01T09:00:00Z");
  }
  const auto* vendors = o.if_contains("vendors");
  if (vendors == nullptr || !vendors->is_array() || vendors->as_array().empty()) {
    fail("config.vendors", "expected a non-empty list of vendors");
  }
  if (vendors->as_array().size() > 200) fail("config.vendors", "at most 200 vendors");
  for (std::size_t i = 0; i < vendors->as_array().size(); ++i) {
    auto v = parseVendor(vendors->as_array()[i], "vendors[" + std::to_string(i) + "]");
    for (const auto& other : config.vendors) {
      if (other.name == v.name) fail("vendors[" + std::to_string(i) + "].name", "duplicate");
    }
    config.vendors.push_back(std::move(v));
  }
  return config;
}

Config loadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto value = json::parse(text.str(), ec);
  if (ec) throw std::runtime_error(path + ": not valid JSON: " + ec.message());
  try {
    return parseConfig(value);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::optional<std::int64_t> parseRfc3339(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      rest.remove_prefix(1);
    }
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string formatRfc3339(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string formatDate(std::int64_t unix_seconds) {
  return formatRfc3339(unix_seconds).substr(0, 10);
}

}  // namespace marketplace
