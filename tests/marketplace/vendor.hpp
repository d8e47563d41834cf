// One vendor of the marketplace: a UCP business (2026-04-08 or 2026-01-11, REST binding) with
// checkout sessions, orders and Steward's negotiation extension, plus the misbehaviours its
// configuration asks for. Requests are handled synchronously on the loop; the server only
// carries bytes, delays and hangs.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "crypto.hpp"

namespace marketplace {

// The marketplace's time: the wall clock, or a simulated one moved by /_admin/clock.
class Clock {
 public:
  explicit Clock(std::optional<std::int64_t> start) : simulated_(start.has_value()) {
    if (start) now_ = *start;
  }
  std::int64_t now() const;
  bool simulated() const { return simulated_; }
  void advance(std::int64_t seconds) { offset_ += seconds; }
  void set(std::int64_t unix_seconds);

 private:
  bool simulated_;
  std::int64_t now_ = 0;
  std::int64_t offset_ = 0;
};

struct Request {
  std::string method;
  std::string target;                          // path and query as sent
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::int64_t delay_ms = 0;
  bool hang = false;
};

class Vendor {
 public:
  Vendor(VendorConfig config, Clock& clock);
  void setOrigin(std::string origin) { origin_ = std::move(origin); }
  const std::string& origin() const { return origin_; }
  const VendorConfig& config() const { return config_; }
  const SigningKey& key() const { return key_; }

  Response handle(const Request& request);

  // The platform profile URL this request needs fetched before handle() can verify it, when
  // fetch_platform_profile is on and no fresh copy is cached.
  std::optional<std::string> profileToFetch(const Request& request) const;
  // The outcome of that fetch: the profile's body, or an error (`code`, `content`).
  void rememberProfile(const std::string& url, int error_status, const std::string& code,
                       const std::string& text);

 private:
  struct LineItem {
    std::string id;
    std::string product;
    std::int64_t quantity = 0;
  };
  struct OfferTerms {
    std::string id;
    std::int64_t round = 0;
    std::int64_t subtotal = 0, discount = 0, shipping = 0, tax = 0, total = 0;
    std::int64_t valid_until = 0;
    std::string payload;  // the exact signed bytes
    std::string sha256;   // base64url(SHA-256(payload))
    std::string jws;
  };
  struct Negotiation {
    std::string id;
    std::string rfq_id;
    std::string status;  // open | accepted | declined | ended
    std::vector<LineItem> items;
    std::int64_t max_rounds = 0;
    std::int64_t round = 0;
    std::vector<OfferTerms> offers;
    std::optional<std::string> accepted_offer;
    std::optional<std::string> checkout_id;
    boost::json::array messages;
  };
  struct Session {
    std::string id;
    std::string status;
    std::vector<LineItem> items;
    std::optional<boost::json::object> buyer;
    boost::json::array destinations;
    std::string selected_destination;
    std::string selected_option;
    std::optional<OfferTerms> offer;  // priced by an accepted negotiation offer
    std::string negotiation_id;
    std::optional<std::string> order_id;
    std::optional<boost::json::object> instrument;
    std::int64_t created = 0;
    std::int64_t total_delta = 0;  // misbehaviour: charged total differs
  };
  struct Order {
    std::string id;
    std::string checkout_id;
    std::string idempotency_key;
    std::int64_t created = 0;
    boost::json::array line_items;
    boost::json::array totals;
    std::int64_t delivery_days = 0;
  };
  struct Stored {
    std::string fingerprint;
    Response response;
  };
  struct Seen {
    std::int64_t at;
    std::string operation, method, target, idempotency_key;
    int status;
    bool signed_request;
  };

  Response dispatch(const Request& request, const std::string& op,
                    const std::vector<std::string>& parts, const boost::json::value& body);
  Response admin(const Request& request);
  std::string operation(const Request& request, std::vector<std::string>& parts) const;
  std::optional<Response> checkHeaders(const Request& request);
  bool misbehaves(const std::string& op);

  Response profile();
  Response createCheckout(const boost::json::value& body, const std::string& key);
  Response getCheckout(const std::string& id);
  Response updateCheckout(const std::string& id, const boost::json::value& body);
  Response completeCheckout(const std::string& id, const boost::json::value& body,
                            const std::string& key);
  Response cancelCheckout(const std::string& id);
  Response getOrder(const std::string& id);
  Response createNegotiation(const boost::json::value& body);
  Response getNegotiation(const std::string& id);
  Response counter(const std::string& id, const boost::json::value& body);
  Response accept(const std::string& id, const boost::json::value& body);
  Response decline(const std::string& id, const boost::json::value& body);

  boost::json::object ucpMeta(const std::string& root) const;
  boost::json::object checkoutJson(const Session& s) const;
  boost::json::object negotiationJson(const Negotiation& n) const;
  boost::json::object orderJson(const Order& o) const;
  boost::json::array sessionTotals(const Session& s) const;
  boost::json::object fulfillmentJson(const Session& s) const;
  std::int64_t sessionShipping(const Session& s) const;
  std::int64_t goodsSubtotal(const std::vector<LineItem>& items) const;
  std::int64_t taxOn(std::int64_t net) const;
  const Product* product(const std::string& id) const;
  std::optional<std::string> parseItems(const boost::json::value& v, std::vector<LineItem>& out,
                                        bool assign_ids) const;
  OfferTerms makeOffer(Negotiation& n, std::int64_t total, bool final_offer);
  std::int64_t concessionTotal(const Negotiation& n, std::int64_t round) const;
  void refreshStatus(Session& s) const;

  Response json(int status, const boost::json::value& body) const;
  Response error(int status, const std::string& code, const std::string& content) const;
  Response businessError(const std::string& code, const std::string& content) const;
  void sign(Response& response);
  std::string newId(const char* prefix);

  VendorConfig config_;
  Clock& clock_;
  SigningKey key_;
  SigningKey wrong_key_;
  std::string origin_;
  std::int64_t next_id_ = 1;
  std::int64_t misbehaviour_hits_ = 0;
  std::map<std::string, Session> sessions_;
  std::map<std::string, Order> orders_;
  std::map<std::string, Negotiation> negotiations_;
  std::map<std::string, Stored> idempotency_;
  std::map<std::string, std::int64_t> requests_per_operation_;
  std::int64_t idempotent_replays_ = 0;
  std::int64_t idempotency_conflicts_ = 0;
  std::deque<Seen> seen_;
  bool active_ = false;
  struct CachedProfile {
    std::int64_t fetched = 0;
    int error_status = 0;  // 0: keys hold the profile's signing_keys
    std::string code, content;
    std::vector<boost::json::object> keys;
  };
  std::map<std::string, CachedProfile> profiles_;
  std::vector<boost::json::object> platformKeys(const Request& request,
                                                std::optional<Response>& failure)
      const;  // the misbehaviour applies to the request being handled
};

}  // namespace marketplace
