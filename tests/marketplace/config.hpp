// The marketplace's configuration: its vendors, their catalogues, prices, negotiation behaviour
// and misbehaviours, read from one JSON file (format in README.md).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace marketplace {

inline constexpr const char* kVersionCurrent = "2026-04-08";
inline constexpr const char* kVersionFirst = "2026-01-11";

struct Product {
  std::string id;
  std::string title;
  std::int64_t price = 0;        // list price per unit, minor units, before tax
  std::int64_t reservation = 0;  // lowest unit price the vendor will concede to
  std::int64_t stock = 0;
};

struct Misbehaviour {
  std::set<std::string> operations;    // empty: every operation
  std::int64_t times = 0;              // 0: always; N: only the first N matching requests
  std::int64_t delay_ms = 0;           // answer this late
  int status = 0;                      // answer with this 5xx status instead
  bool malformed_json = false;         // answer with a truncated JSON body
  std::string signature;               // "", "missing" or "wrong" (responses and offers)
  bool expired_offers = false;         // offers whose valid_until is already past
  std::int64_t order_total_delta = 0;  // completed checkout / order total differs by this
  bool ignore_idempotency = false;     // execute every request again, whatever its key
  bool hang = false;                   // process the request, then never answer
  bool any() const {
    return delay_ms != 0 || status != 0 || malformed_json || !signature.empty() || expired_offers ||
           order_total_delta != 0 || ignore_idempotency || hang;
  }
};

struct PaymentHandler {
  std::string name = "com.example.tokenizer";  // reverse-domain name
  std::string id = "tokenizer_1";
};

struct VendorConfig {
  std::string name;
  std::string version = kVersionCurrent;
  std::string currency = "EUR";
  std::int64_t tax_rate_bp = 1900;  // basis points on goods and shipping
  std::int64_t shipping_standard = 495;
  std::int64_t shipping_express = 995;
  std::int64_t delivery_days_standard = 3;
  std::int64_t delivery_days_express = 1;
  bool negotiation = true;
  std::int64_t max_rounds = 6;
  double concession_exponent = 0.2;  // < 1 Boulware (late), > 1 conceder (early)
  std::int64_t offer_valid_seconds = 900;
  std::vector<Product> catalogue;
  std::vector<PaymentHandler> payment_handlers;
  std::string request_signatures = "present";      // "ignore" | "present" | "verify"
  std::vector<boost::json::object> platform_keys;  // JWKs trusted for "verify"
  bool require_request_id = true;                  // 2026-01-11's OpenAPI requires Request-Id
  // Fetch the platform's profile from UCP-Agent (HTTPS, no redirects) for its signing keys.
  bool fetch_platform_profile = false;
  std::string platform_profile_ca_file;  // CA to trust for that fetch; empty: the system's
  Misbehaviour misbehaviour;
};

struct Config {
  std::string host = "127.0.0.1";
  std::optional<std::int64_t> clock_start;  // Unix seconds; set = simulated clock
  std::vector<VendorConfig> vendors;
};

// Throws std::runtime_error naming the offending key ("vendors[1].catalogue[0].price: ...").
Config parseConfig(const boost::json::value& json);
Misbehaviour parseMisbehaviour(const boost::json::value& json, const std::string& where);
Config loadConfig(const std::string& path);
std::optional<std::int64_t> parseRfc3339(std::string_view text);
std::string formatRfc3339(std::int64_t unix_seconds);
std::string formatDate(std::int64_t unix_seconds);

}  // namespace marketplace
