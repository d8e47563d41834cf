// Merging, validating and canonicalising the household policy; see parse.hpp. One Reader walks
// the merged tree and records every problem with the position toml++ kept for each value.
#include "policy/parse.hpp"

#include <openssl/evp.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <sstream>
#include <tuple>

#include "core/duration.hpp"
#include "core/toml_text.hpp"

namespace steward::policy {
namespace {

using core::Diagnostic;
using core::Money;
using Keys = std::span<const std::string_view>;

constexpr std::string_view kRootKeys[] = {"household", "purchasing", "offers",  "budgets",
                                          "retailers", "items",      "service", "meter",
                                          "devices",   "forbid",     "permit",  "home_assistant"};
constexpr std::string_view kMeterKeys[] = {"report_day", "every_months"};
constexpr std::string_view kHomeAssistantKeys[] = {"commands"};
constexpr std::string_view kHouseholdKeys[] = {"name", "currency", "time_zone", "region"};
constexpr std::string_view kPurchasingKeys[] = {"mode", "auto_approve_limit", "approval_timeout",
                                                "cancel_window"};
constexpr std::string_view kOffersKeys[] = {"weights", "max_counter_rounds"};
constexpr std::string_view kWeightsKeys[] = {"price", "delivery", "rating"};
constexpr std::string_view kBudgetKeys[] = {"monthly", "per_order", "per_retailer_monthly"};
constexpr std::string_view kRetailerKeys[] = {"name",    "endpoint",   "signing_key",
                                              "tls_pin", "categories", "rating"};
constexpr std::string_view kItemKeys[] = {
    "key",          "device_kinds",   "devices",      "category",  "products",    "alternatives",
    "substitution", "max_unit_price", "max_quantity", "lead_time", "order_ahead", "retailers"};
constexpr std::string_view kServiceKeys[] = {"category", "providers", "max_call_out_fee",
                                             "visit_windows", "quiet_hours"};
constexpr std::string_view kDeviceKeys[] = {"disabled", "category"};
constexpr std::string_view kForbidKeys[] = {
    "id",     "description", "kind",         "category",       "item", "retailer",
    "device", "device_kind", "amount_above", "amount_at_most", "when", "substitute"};
constexpr std::string_view kPermitKeys[] = {"id",
                                            "description",
                                            "kind",
                                            "category",
                                            "item",
                                            "retailer",
                                            "device",
                                            "device_kind",
                                            "amount_above",
                                            "amount_at_most",
                                            "when",
                                            "substitute",
                                            "require_approval"};
constexpr std::string_view kModes[] = {"auto", "approve-all", "paused"};
constexpr std::string_view kKinds[] = {"purchase", "service", "meter-report"};
constexpr std::string_view kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

constexpr std::array<KeySet, 14> kKeySets{{
    {"", kRootKeys},
    {"household", kHouseholdKeys},
    {"purchasing", kPurchasingKeys},
    {"offers", kOffersKeys},
    {"offers.weights", kWeightsKeys},
    {"budgets.*", kBudgetKeys},
    {"retailers.*", kRetailerKeys},
    {"items.*", kItemKeys},
    {"service", kServiceKeys},
    {"meter", kMeterKeys},
    {"home_assistant", kHomeAssistantKeys},
    {"devices.*", kDeviceKeys},
    {"forbid[]", kForbidKeys},
    {"permit[]", kPermitKeys},
}};

// Limits on what one policy may hold; far above any household, low enough to bound work.
constexpr std::size_t kMaxEntries = 1000;  // per table of named entries, and rules per effect
constexpr std::size_t kMaxListLength = 100;
constexpr std::size_t kMaxStringLength = 2048;

bool isBareKey(std::string_view k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string join(std::string_view path, std::string_view key) {
  std::string k = isBareKey(key) ? std::string(key) : "\"" + std::string(key) + "\"";
  return path.empty() ? k : std::string(path) + "." + k;
}

// What was found, for messages: strings quoted as written, other values by type.
std::string found(const toml::node& n) {
  if (auto s = n.value<std::string>()) return "\"" + *s + "\"";
  if (auto i = n.value<std::int64_t>(); i && n.is_integer()) return std::to_string(*i);
  return core::tomlTypeName(n);
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string suggestion(std::string_view word, Keys candidates) {
  return core::didYouMean(word, candidates);
}

// Standard base64 with padding; nullopt on any other character or a wrong length.
std::optional<std::vector<unsigned char>> decodeBase64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned n =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out.push_back(static_cast<unsigned char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<unsigned char>(n >> 8));
    if (pad < 1) out.push_back(static_cast<unsigned char>(n));
  }
  return out;
}

enum class RefKind { category, retailer, item };

// A name used somewhere that must be defined elsewhere; checked once everything is read.
struct Ref {
  const toml::node* node;
  std::string path;
  std::string value;
  RefKind kind;
};

class Reader {
 public:
  Reader(core::Diagnostics& errors, std::string fallback_file)
      : errors_(errors), fallback_(std::move(fallback_file)) {}

  void at(const toml::source_region& src, std::string key, std::string message) {
    errors_.push_back(Diagnostic{src.path ? *src.path : fallback_, static_cast<int>(src.begin.line),
                                 static_cast<int>(src.begin.column), std::move(key),
                                 std::move(message)});
  }
  void error(const toml::node& n, std::string key, std::string message) {
    at(n.source(), std::move(key), std::move(message));
  }
  void nowhere(std::string key, std::string message) {
    errors_.push_back(Diagnostic{fallback_, 0, 0, std::move(key), std::move(message)});
  }

  void checkKeys(const toml::table& t, std::string_view path, Keys known) {
    for (const auto& [key, node] : t) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      at(key.source(), join(path, key.str()), "unknown key" + suggestion(key.str(), known));
    }
  }

  const toml::table* table(const toml::table& parent, std::string_view path, std::string_view key) {
    const toml::node* n = parent.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      error(*n, join(path, key), "expected a table, got " + core::tomlTypeName(*n));
      return nullptr;
    }
    return n->as_table();
  }

  bool require(const toml::table& t, std::string_view path, std::string_view key) {
    if (t.get(key)) return true;
    at(t.source(), join(path, key), "missing required key \"" + std::string(key) + "\"");
    return false;
  }

  std::optional<std::string> string(const toml::table& t, std::string_view path,
                                    std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    auto v = n->value<std::string>();
    if (!v || !n->is_string()) {
      error(*n, join(path, key), "expected a string, got " + core::tomlTypeName(*n));
      return std::nullopt;
    }
    if (v->size() > kMaxStringLength) {
      error(*n, join(path, key),
            "too long (at most " + std::to_string(kMaxStringLength) + " characters)");
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const toml::table& t, std::string_view path, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) {
      error(*n, join(path, key), "expected true or false, got " + found(*n));
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  std::optional<std::int64_t> integer(const toml::table& t, std::string_view path,
                                      std::string_view key, std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) {
      error(*n, join(path, key), "expected an integer, got " + found(*n));
      return std::nullopt;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      error(*n, join(path, key),
            "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                ", got " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  void setCurrency(std::optional<core::Currency> c) { currency_ = c; }

  std::optional<Money> moneyNode(const toml::node& n, const std::string& key) {
    auto text = n.value<std::string>();
    if (!text || !n.is_string()) {
      error(n, key, "expected an amount like \"60.00 EUR\", got " + found(n));
      return std::nullopt;
    }
    auto m = core::parseMoney(*text);
    if (!m) {
      error(n, key, m.error().message);
      return std::nullopt;
    }
    if (currency_ && !(m->currency == *currency_)) {
      error(n, key,
            "expected an amount in " + std::string(currency_->view()) +
                " (the household currency), got \"" + *text + "\"");
      return std::nullopt;
    }
    return *m;
  }

  std::optional<Money> money(const toml::table& t, std::string_view path, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    return moneyNode(*n, join(path, key));
  }

  std::optional<std::chrono::milliseconds> duration(const toml::table& t, std::string_view path,
                                                    std::string_view key,
                                                    std::chrono::milliseconds max) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    auto text = n->value<std::string>();
    if (!text || !n->is_string()) {
      error(*n, join(path, key), "expected a duration like \"48h\" or \"3d\", got " + found(*n));
      return std::nullopt;
    }
    auto d = core::parseDuration(*text);
    if (!d) {
      error(*n, join(path, key), d.error().message);
      return std::nullopt;
    }
    if (*d > max) {
      error(*n, join(path, key),
            "expected at most " + core::formatDuration(max) + ", got \"" + *text + "\"");
      return std::nullopt;
    }
    return *d;
  }

  // A string or an array of strings; each element's node is returned for positions.
  std::optional<std::vector<std::pair<std::string, const toml::node*>>> strings(
      const toml::table& t, std::string_view path, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    std::vector<std::pair<std::string, const toml::node*>> out;
    if (n->is_string()) {
      out.emplace_back(n->as_string()->get(), n);
      return out;
    }
    const toml::array* a = n->as_array();
    if (!a) {
      error(*n, join(path, key),
            "expected a string or an array of strings, got " + core::tomlTypeName(*n));
      return std::nullopt;
    }
    if (a->size() > kMaxListLength) {
      error(*n, join(path, key),
            "too many entries (at most " + std::to_string(kMaxListLength) + ")");
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& item : *a) {
      if (!item.is_string()) {
        error(item, join(path, key), "expected a string, got " + found(item));
        ok = false;
        continue;
      }
      out.emplace_back(item.as_string()->get(), &item);
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // A list of names that must be defined elsewhere (checked later).
  std::vector<std::string> refs(const toml::table& t, std::string_view path, std::string_view key,
                                RefKind kind) {
    std::vector<std::string> out;
    auto list = strings(t, path, key);
    if (!list) return out;
    for (auto& [value, node] : *list) {
      refs_.push_back(Ref{node, join(path, key), value, kind});
      out.push_back(std::move(value));
    }
    return out;
  }

  void ref(const toml::node& n, std::string path, std::string value, RefKind kind) {
    refs_.push_back(Ref{&n, std::move(path), std::move(value), kind});
  }

  std::vector<TimeWindow> windows(const toml::table& t, std::string_view path,
                                  std::string_view key) {
    std::vector<TimeWindow> out;
    auto list = strings(t, path, key);
    if (!list) return out;
    for (const auto& [text, node] : *list) {
      auto w = parseTimeWindow(text);
      if (!w) {
        error(*node, join(path, key), w.error().message);
        continue;
      }
      out.push_back(*w);
    }
    return out;
  }

  // Checks an owner-chosen name used as a table key.
  bool id(const toml::key& k, std::string_view path) {
    if (isValidId(k.str())) return true;
    at(k.source(), join(path, k.str()),
       "expected a name of lower-case letters, digits, '-' and '_' (at most 64), got " +
           quoted(k.str()));
    return false;
  }

  const std::vector<Ref>& pendingRefs() const { return refs_; }

 private:
  core::Diagnostics& errors_;
  std::string fallback_;
  std::optional<core::Currency> currency_;
  std::vector<Ref> refs_;
};

template <class Map>
std::vector<std::string_view> names(const Map& m) {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : m)
    out.push_back(k);
  return out;
}

bool validRegion(std::string_view r) {
  const auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto alnum = [&](char c) { return upper(c) || (c >= '0' && c <= '9'); };
  if (r.size() < 2 || !upper(r[0]) || !upper(r[1])) return false;
  if (r.size() == 2) return true;
  if (r[2] != '-' || r.size() < 4 || r.size() > 6) return false;
  return std::all_of(r.begin() + 3, r.end(), alnum);
}

bool validHttpsUrl(std::string_view url) {
  if (!url.starts_with("https://")) return false;
  const std::string_view rest = url.substr(8);
  const std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.starts_with(':') || host.find('@') != std::string_view::npos)
    return false;
  return std::none_of(url.begin(), url.end(),
                      [](char c) { return c <= ' ' || c == '"' || c == '\\' || c == 0x7f; });
}

void readHousehold(const toml::table& root, Reader& r, Policy& p, const ZoneLookup& zones) {
  const toml::table* t = r.table(root, "", "household");
  if (!t) {
    if (!root.get("household")) r.nowhere("household", "missing required table [household]");
    return;
  }
  r.checkKeys(*t, "household", kHouseholdKeys);
  for (auto key : kHouseholdKeys)
    r.require(*t, "household", key);
  if (auto name = r.string(*t, "household", "name")) {
    if (name->empty()) r.error(*t->get("name"), "household.name", "must not be empty");
    p.household.name = *name;
  }
  if (auto code = r.string(*t, "household", "currency")) {
    if (auto c = core::currencyFromCode(*code)) {
      p.household.currency = *c;
      r.setCurrency(*c);
    } else {
      r.error(*t->get("currency"), "household.currency",
              "expected an ISO 4217 currency code like \"EUR\", got " + quoted(*code));
    }
  }
  if (auto zone = r.string(*t, "household", "time_zone")) {
    if (!isValidZoneName(*zone)) {
      r.error(*t->get("time_zone"), "household.time_zone",
              "expected an IANA time zone like \"Europe/Berlin\", got " + quoted(*zone));
    } else if (auto tz = zones(*zone)) {
      p.household.time_zone = std::move(*tz);
    } else {
      r.error(*t->get("time_zone"), "household.time_zone", tz.error().message);
    }
  }
  if (auto region = r.string(*t, "household", "region")) {
    if (!validRegion(*region)) {
      r.error(*t->get("region"), "household.region",
              "expected an ISO 3166 country or subdivision like \"DE\" or \"DE-BE\", got " +
                  quoted(*region));
    }
    p.household.region = *region;
  }
}

void readPurchasing(const toml::table& root, Reader& r, Policy& p) {
  p.purchasing.auto_approve_limit = p.zero();
  const toml::table* t = r.table(root, "", "purchasing");
  if (!t) return;
  r.checkKeys(*t, "purchasing", kPurchasingKeys);
  if (auto mode = r.string(*t, "purchasing", "mode")) {
    if (*mode == "auto") {
      p.purchasing.mode = PurchasingMode::automatic;
    } else if (*mode == "approve-all") {
      p.purchasing.mode = PurchasingMode::approveAll;
    } else if (*mode == "paused") {
      p.purchasing.mode = PurchasingMode::paused;
    } else {
      r.error(*t->get("mode"), "purchasing.mode",
              "expected \"auto\", \"approve-all\" or \"paused\", got " + quoted(*mode) +
                  suggestion(*mode, kModes));
    }
  }
  if (auto m = r.money(*t, "purchasing", "auto_approve_limit"))
    p.purchasing.auto_approve_limit = *m;
  using namespace std::chrono_literals;
  if (auto d = r.duration(*t, "purchasing", "approval_timeout", 24h * 30)) {
    if (*d < 1min) {
      r.error(*t->get("approval_timeout"), "purchasing.approval_timeout", "expected at least 1m");
    } else {
      p.purchasing.approval_timeout = *d;
    }
  }
  if (auto d = r.duration(*t, "purchasing", "cancel_window", 24h * 30))
    p.purchasing.cancel_window = *d;
}

void readOffers(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "offers");
  if (!t) return;
  r.checkKeys(*t, "offers", kOffersKeys);
  if (auto n = r.integer(*t, "offers", "max_counter_rounds", 0, 10))
    p.offers.max_counter_rounds = static_cast<int>(*n);
  if (const toml::table* w = r.table(*t, "offers", "weights")) {
    r.checkKeys(*w, "offers.weights", kWeightsKeys);
    auto& weights = p.offers.weights;
    if (auto v = r.integer(*w, "offers.weights", "price", 0, 100)) weights.price = int(*v);
    if (auto v = r.integer(*w, "offers.weights", "delivery", 0, 100)) weights.delivery = int(*v);
    if (auto v = r.integer(*w, "offers.weights", "rating", 0, 100)) weights.rating = int(*v);
    if (weights.price + weights.delivery + weights.rating == 0)
      r.error(*w, "offers.weights", "at least one weight must be above 0");
  }
}

void readMeter(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "meter");
  if (!t) return;
  r.checkKeys(*t, "meter", kMeterKeys);
  if (auto n = r.integer(*t, "meter", "report_day", 1, 31))
    p.meter.report_day = static_cast<int>(*n);
  if (auto n = r.integer(*t, "meter", "every_months", 1, 12))
    p.meter.every_months = static_cast<int>(*n);
}

void readHomeAssistant(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "home_assistant");
  if (!t) return;
  r.checkKeys(*t, "home_assistant", kHomeAssistantKeys);
  if (auto v = r.boolean(*t, "home_assistant", "commands")) p.home_assistant.commands = *v;
}

void readBudgets(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "budgets");
  if (!t) return;
  if (t->size() > kMaxEntries) r.error(*t, "budgets", "too many categories");
  for (const auto& [key, node] : *t) {
    const std::string path = join("budgets", key.str());
    if (!r.id(key, "budgets")) continue;
    const toml::table* b = node.as_table();
    if (!b) {
      r.error(node, path, "expected a table, got " + core::tomlTypeName(node));
      continue;
    }
    r.checkKeys(*b, path, kBudgetKeys);
    Budget budget;
    budget.category = std::string(key.str());
    budget.monthly = p.zero();
    if (r.require(*b, path, "monthly")) {
      if (auto m = r.money(*b, path, "monthly")) budget.monthly = *m;
    }
    budget.per_order = r.money(*b, path, "per_order");
    if (budget.per_order && budget.per_order->minor > budget.monthly.minor && b->get("monthly")) {
      r.error(*b->get("per_order"), join(path, "per_order"),
              "is above the monthly cap of " + core::formatMoney(budget.monthly) +
                  ", so it can never apply");
    }
    if (const toml::table* pr = r.table(*b, path, "per_retailer_monthly")) {
      const std::string prPath = join(path, "per_retailer_monthly");
      for (const auto& [rk, rn] : *pr) {
        r.ref(rn, join(prPath, rk.str()), std::string(rk.str()), RefKind::retailer);
        if (auto m = r.moneyNode(rn, join(prPath, rk.str())))
          budget.per_retailer_monthly.emplace(std::string(rk.str()), *m);
      }
    }
    p.budgets.emplace(budget.category, std::move(budget));
  }
}

void readRetailers(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "retailers");
  if (!t) return;
  if (t->size() > kMaxEntries) r.error(*t, "retailers", "too many retailers");
  for (const auto& [key, node] : *t) {
    const std::string path = join("retailers", key.str());
    if (!r.id(key, "retailers")) continue;
    const toml::table* rt = node.as_table();
    if (!rt) {
      r.error(node, path, "expected a table, got " + core::tomlTypeName(node));
      continue;
    }
    r.checkKeys(*rt, path, kRetailerKeys);
    Retailer ret;
    ret.id = std::string(key.str());
    for (auto k : {"name", "endpoint", "signing_key", "categories"})
      r.require(*rt, path, k);
    if (auto v = r.string(*rt, path, "name")) ret.name = *v;
    if (auto v = r.string(*rt, path, "endpoint")) {
      if (validHttpsUrl(*v)) {
        ret.endpoint = *v;
      } else {
        r.error(
            *rt->get("endpoint"), join(path, "endpoint"),
            "expected an https:// URL like \"https://shop.example/steward\", got " + quoted(*v));
      }
    }
    if (auto v = r.string(*rt, path, "signing_key")) {
      std::optional<std::vector<unsigned char>> raw;
      if (v->starts_with("ed25519:")) raw = decodeBase64(std::string_view(*v).substr(8));
      if (raw && raw->size() == 32) {
        ret.signing_key = std::move(*raw);
      } else {
        r.error(*rt->get("signing_key"), join(path, "signing_key"),
                "expected an Ed25519 public key like \"ed25519:<44 base64 characters>\", got " +
                    quoted(*v));
      }
    }
    if (auto v = r.string(*rt, path, "tls_pin")) {
      std::optional<std::vector<unsigned char>> raw;
      if (v->starts_with("sha256/")) raw = decodeBase64(std::string_view(*v).substr(7));
      if (raw && raw->size() == 32) {
        ret.tls_pin = std::move(*raw);
      } else {
        r.error(*rt->get("tls_pin"), join(path, "tls_pin"),
                "expected a SPKI pin like \"sha256/<44 base64 characters>\", got " + quoted(*v));
      }
    }
    ret.categories = r.refs(*rt, path, "categories", RefKind::category);
    if (auto v = r.integer(*rt, path, "rating", 1, 5)) ret.rating = static_cast<int>(*v);
    p.retailers.emplace(ret.id, std::move(ret));
  }
}

void readItems(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "items");
  if (!t) return;
  if (t->size() > kMaxEntries) r.error(*t, "items", "too many items");
  using namespace std::chrono_literals;
  for (const auto& [key, node] : *t) {
    const std::string path = join("items", key.str());
    if (!r.id(key, "items")) continue;
    const toml::table* it = node.as_table();
    if (!it) {
      r.error(node, path, "expected a table, got " + core::tomlTypeName(node));
      continue;
    }
    r.checkKeys(*it, path, kItemKeys);
    Item item;
    item.id = std::string(key.str());
    for (auto k : {"key", "category", "products"})
      r.require(*it, path, k);
    if (auto v = r.string(*it, path, "key")) item.key = *v;
    if (auto v = r.string(*it, path, "category")) {
      r.ref(*it->get("category"), join(path, "category"), *v, RefKind::category);
      item.category = *v;
    }
    auto plain = [&](std::string_view k) {
      std::vector<std::string> out;
      if (auto list = r.strings(*it, path, k))
        for (auto& [v, n] : *list)
          out.push_back(std::move(v));
      return out;
    };
    item.device_kinds = plain("device_kinds");
    item.devices = plain("devices");
    if (!item.device_kinds.empty() && !item.devices.empty()) {
      r.error(*it->get("devices"), join(path, "devices"),
              "give either devices or device_kinds, not both");
    }
    item.products = plain("products");
    if (it->get("products") && item.products.empty() && it->get("products")->is_array())
      r.error(*it->get("products"), join(path, "products"), "must list at least one product");
    item.alternatives = plain("alternatives");
    if (auto v = r.boolean(*it, path, "substitution")) item.substitution = *v;
    item.max_unit_price = r.money(*it, path, "max_unit_price");
    if (auto v = r.integer(*it, path, "max_quantity", 1, 1000)) item.max_quantity = int(*v);
    if (auto d = r.duration(*it, path, "lead_time", 24h * 365)) item.lead_time = *d;
    if (auto d = r.duration(*it, path, "order_ahead", 24h * 365)) item.order_ahead = *d;
    item.retailers = r.refs(*it, path, "retailers", RefKind::retailer);
    p.items.emplace(item.id, std::move(item));
  }
}

void readService(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "service");
  if (!t) return;
  r.checkKeys(*t, "service", kServiceKeys);
  if (auto v = r.string(*t, "service", "category")) p.service.category = *v;
  if (const toml::node* n = t->get("category"); n && n->is_string()) {
    r.ref(*n, "service.category", p.service.category, RefKind::category);
  } else if (!n) {
    r.ref(*t, "service.category", p.service.category, RefKind::category);
  }
  p.service.providers = r.refs(*t, "service", "providers", RefKind::retailer);
  p.service.max_call_out_fee = r.money(*t, "service", "max_call_out_fee");
  p.service.visit_windows = r.windows(*t, "service", "visit_windows");
  p.service.quiet_hours = r.windows(*t, "service", "quiet_hours");
}

void readDevices(const toml::table& root, Reader& r, Policy& p) {
  const toml::table* t = r.table(root, "", "devices");
  if (!t) return;
  if (t->size() > kMaxEntries) r.error(*t, "devices", "too many devices");
  for (const auto& [key, node] : *t) {
    const std::string path = join("devices", key.str());
    const toml::table* d = node.as_table();
    if (!d) {
      r.error(node, path, "expected a table, got " + core::tomlTypeName(node));
      continue;
    }
    r.checkKeys(*d, path, kDeviceKeys);
    DeviceOverride o;
    o.device_id = std::string(key.str());
    if (auto v = r.boolean(*d, path, "disabled")) o.disabled = *v;
    if (auto v = r.string(*d, path, "category")) {
      r.ref(*d->get("category"), join(path, "category"), *v, RefKind::category);
      o.category = *v;
    }
    p.devices.emplace(o.device_id, std::move(o));
  }
}

void readRules(const toml::table& root, Reader& r, Policy& p, std::string_view name, Effect effect,
               std::set<std::string>& ids) {
  const toml::node* n = root.get(name);
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    r.error(*n, std::string(name),
            "expected rules written as [[" + std::string(name) + "]] tables, got " +
                core::tomlTypeName(*n));
    return;
  }
  if (a->size() > kMaxEntries) r.error(*n, std::string(name), "too many rules");
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::table& t = *a->get(i)->as_table();
    const std::string path = std::string(name) + "[" + std::to_string(i) + "]";
    // Checked against the permit keys so the one permit-only key gets a clearer message.
    r.checkKeys(t, path, kPermitKeys);
    if (const toml::node* n = t.get("require_approval"); n && effect == Effect::forbid)
      r.error(*n, path + ".require_approval", "only [[permit]] rules can require approval");
    Rule rule;
    rule.effect = effect;
    if (r.require(t, path, "id")) {
      if (auto id = r.string(t, path, "id")) {
        if (!isValidId(*id)) {
          r.error(*t.get("id"), path + ".id",
                  "expected a name of lower-case letters, digits, '-' and '_' (at most 64), got " +
                      quoted(*id));
        } else if (!ids.insert(*id).second) {
          r.error(*t.get("id"), path + ".id", "rule id " + quoted(*id) + " is used twice");
        }
        rule.id = *id;
      }
    }
    if (auto v = r.string(t, path, "description")) rule.description = *v;
    if (auto kinds = r.strings(t, path, "kind")) {
      for (const auto& [k, node] : *kinds) {
        if (k == "purchase") {
          rule.kinds.push_back(RequestKind::purchase);
        } else if (k == "service") {
          rule.kinds.push_back(RequestKind::service);
        } else if (k == "meter-report") {
          rule.kinds.push_back(RequestKind::meterReport);
        } else {
          r.error(*node, path + ".kind",
                  "expected \"purchase\", \"service\" or \"meter-report\", got " + quoted(k) +
                      suggestion(k, kKinds));
        }
      }
    }
    rule.categories = r.refs(t, path, "category", RefKind::category);
    rule.items = r.refs(t, path, "item", RefKind::item);
    rule.retailers = r.refs(t, path, "retailer", RefKind::retailer);
    if (auto list = r.strings(t, path, "device"))
      for (auto& [v, node] : *list)
        rule.devices.push_back(std::move(v));
    if (auto list = r.strings(t, path, "device_kind"))
      for (auto& [v, node] : *list)
        rule.device_kinds.push_back(std::move(v));
    rule.amount_above = r.money(t, path, "amount_above");
    rule.amount_at_most = r.money(t, path, "amount_at_most");
    rule.when = r.windows(t, path, "when");
    rule.substitute = r.boolean(t, path, "substitute");
    if (effect == Effect::permit) {
      if (auto v = r.boolean(t, path, "require_approval")) rule.require_approval = *v;
    }
    (effect == Effect::forbid ? p.forbids : p.permits).push_back(std::move(rule));
  }
}

void checkItemOverlaps(const toml::table& root, Reader& r, const Policy& p) {
  const auto intersects = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (const auto& x : a)
      if (std::find(b.begin(), b.end(), x) != b.end()) return x;
    return std::string();
  };
  std::vector<const Item*> items;
  for (const auto& [id, item] : p.items)
    items.push_back(&item);
  for (std::size_t j = 0; j < items.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      const Item& a = *items[i];
      const Item& b = *items[j];
      if (a.key != b.key || a.key.empty()) continue;
      std::string clash;
      if (!a.devices.empty() && !b.devices.empty()) {
        if (auto d = intersects(a.devices, b.devices); !d.empty()) clash = "device " + quoted(d);
      } else if (a.devices.empty() && b.devices.empty()) {
        if (a.device_kinds.empty() && b.device_kinds.empty()) {
          clash = "any device";
        } else if (auto k = intersects(a.device_kinds, b.device_kinds); !k.empty()) {
          clash = "device kind " + quoted(k);
        }
      }
      if (clash.empty()) continue;
      const toml::node* node = root.at_path("items")[b.id]["key"].node();
      const std::string path = join(join("items", b.id), "key");
      const std::string message = "items " + quoted(a.id) + " and " + quoted(b.id) +
                                  " both apply to key " + quoted(b.key) + " for " + clash;
      if (node) {
        r.error(*node, path, message);
      } else {
        r.nowhere(path, message);
      }
    }
  }
}

void checkRefs(const toml::table& root, Reader& r, const Policy& p) {
  const auto categories = names(p.budgets);
  const auto retailers = names(p.retailers);
  const auto items = names(p.items);
  for (const Ref& ref : r.pendingRefs()) {
    const std::vector<std::string_view>* known = nullptr;
    std::string what, section;
    switch (ref.kind) {
      case RefKind::category:
        known = &categories;
        what = "category";
        section = "budgets";
        break;
      case RefKind::retailer:
        known = &retailers;
        what = "retailer";
        section = "retailers";
        break;
      case RefKind::item:
        known = &items;
        what = "item";
        section = "items";
        break;
    }
    if (std::find(known->begin(), known->end(), ref.value) != known->end()) continue;
    std::string hint = suggestion(ref.value, *known);
    if (hint.empty()) hint = " (there is no [" + join(section, ref.value) + "])";
    r.error(*ref.node, ref.path, "unknown " + what + " " + quoted(ref.value) + hint);
  }
  // An item may only list retailers that sell in its category.
  for (const auto& [id, item] : p.items) {
    for (const auto& rid : item.retailers) {
      const Retailer* ret = p.retailer(rid);
      if (!ret || item.category.empty() || !p.budget(item.category) || ret->serves(item.category))
        continue;
      const std::string path = join(join("items", id), "retailers");
      const std::string message = "retailer " + quoted(rid) + " does not sell in category " +
                                  quoted(item.category) + " (see retailers." + rid + ".categories)";
      if (const toml::node* n = root.at_path("items")[id]["retailers"].node()) {
        r.error(*n, path, message);
      } else {
        r.nowhere(path, message);
      }
    }
  }
}

// Later sources win: tables merge key by key, rule arrays accumulate by id.
void mergeInto(toml::table& base, toml::table& over, bool root) {
  for (auto&& [key, node] : over) {
    toml::node* existing = base.get(key.str());
    if (existing && existing->is_table() && node.is_table()) {
      mergeInto(*existing->as_table(), *node.as_table(), false);
      continue;
    }
    if (root && (key == "forbid" || key == "permit") && existing && existing->is_array() &&
        node.is_array()) {
      toml::array& into = *existing->as_array();
      for (auto& rule : *node.as_array()) {
        const auto id = rule.is_table() ? rule.as_table()->get_as<std::string>("id") : nullptr;
        bool replaced = false;
        for (std::size_t i = 0; id && i < into.size(); ++i) {
          const auto* t = into.get(i)->as_table();
          const auto other = t ? t->get_as<std::string>("id") : nullptr;
          if (other && other->get() == id->get()) {
            into.replace(into.cbegin() + static_cast<std::ptrdiff_t>(i), std::move(rule));
            replaced = true;
            break;
          }
        }
        if (!replaced) into.push_back(std::move(rule));
      }
      continue;
    }
    base.insert_or_assign(key, std::move(node));
  }
}

void jsonString(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A JSON-like text with sorted keys and no formatting choices left to the writer, so the same
// values always give the same bytes, whatever the comments, layout or file split.
void canonicalize(const toml::node& n, std::string& out) {
  switch (n.type()) {
    case toml::node_type::table: {
      const auto& t = *n.as_table();
      std::vector<std::pair<std::string_view, const toml::node*>> entries;
      for (const auto& [k, v] : t)
        entries.emplace_back(k.str(), &v);
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i) out += ',';
        jsonString(entries[i].first, out);
        out += ':';
        canonicalize(*entries[i].second, out);
      }
      out += '}';
      return;
    }
    case toml::node_type::array: {
      out += '[';
      bool first = true;
      for (const auto& v : *n.as_array()) {
        if (!first) out += ',';
        first = false;
        canonicalize(v, out);
      }
      out += ']';
      return;
    }
    case toml::node_type::string:
      jsonString(n.as_string()->get(), out);
      return;
    case toml::node_type::integer:
      out += std::to_string(n.as_integer()->get());
      return;
    case toml::node_type::floating_point: {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n.as_floating_point()->get());
      out += "f:";
      out.append(buf, ec == std::errc{} ? end : buf);
      return;
    }
    case toml::node_type::boolean:
      out += n.as_boolean()->get() ? "true" : "false";
      return;
    default: {
      // Dates and times: toml++ prints them in RFC 3339 form.
      std::ostringstream s;
      n.visit([&s](const auto& v) { s << v; });
      out += "t:";
      jsonString(s.str(), out);
      return;
    }
  }
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    // Only fails when OpenSSL cannot allocate; a policy without a revision must not be used.
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

std::span<const KeySet> policyKeySets() {
  return kKeySets;
}

bool isValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  const auto lowerOrDigit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lowerOrDigit(id[0])) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return lowerOrDigit(c) || c == '-' || c == '_'; });
}

core::Result<TimeWindow> parseTimeWindow(std::string_view text) {
  const auto bad = [&] {
    return core::fail(
        "expected a window like \"Mon-Fri 08:00-18:00\", \"Sat\" or \"22:00-07:00\", got \"" +
        std::string(text) + "\"");
  };
  TimeWindow w;
  w.text = std::string(text);
  std::string_view days, hours;
  if (const auto space = text.find(' '); space != std::string_view::npos) {
    days = text.substr(0, space);
    hours = text.substr(space + 1);
  } else if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    hours = text;
  } else {
    days = text;
  }
  if (days.empty() && hours.empty()) return bad();
  const auto dayIndex = [](std::string_view name) -> int {
    for (int i = 0; i < 7; ++i)
      if (kDayNames[i] == name) return i;
    return -1;
  };
  if (!days.empty()) {
    w.days = 0;
    std::size_t pos = 0;
    while (pos <= days.size()) {
      const auto comma = days.find(',', pos);
      const std::string_view part =
          days.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      const auto dash = part.find('-');
      const int from = dayIndex(part.substr(0, dash));
      const int to = dash == std::string_view::npos ? from : dayIndex(part.substr(dash + 1));
      if (from < 0 || to < 0) return bad();
      for (int d = from;; d = (d + 1) % 7) {
        w.days |= 1u << d;
        if (d == to) break;
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  if (!hours.empty()) {
    const auto clock = [](std::string_view s, int& minute) {
      if (s.size() != 5 || s[2] != ':') return false;
      for (std::size_t i : {0u, 1u, 3u, 4u})
        if (s[i] < '0' || s[i] > '9') return false;
      const int h = (s[0] - '0') * 10 + (s[1] - '0');
      const int m = (s[3] - '0') * 10 + (s[4] - '0');
      if (h > 24 || m > 59 || (h == 24 && m != 0)) return false;
      minute = h * 60 + m;
      return true;
    };
    const auto dash = hours.find('-');
    if (dash == std::string_view::npos) return bad();
    if (!clock(hours.substr(0, dash), w.start_minute) ||
        !clock(hours.substr(dash + 1), w.end_minute))
      return bad();
    if (w.start_minute == 1440 || w.start_minute == w.end_minute) return bad();
    if (w.end_minute == 0) w.end_minute = 1440;
  }
  return w;
}

PolicyLoad parsePolicy(std::span<const PolicySource> sources, const ZoneLookup& zones) {
  PolicyLoad load;
  if (sources.empty()) {
    load.errors.push_back(Diagnostic{"policy", 0, 0, "", "no policy files given"});
    return load;
  }
  toml::table merged;
  bool syntax_ok = true;
  for (const auto& source : sources) {
    try {
      toml::table t = toml::parse(source.text, std::string(source.name));
      mergeInto(merged, t, true);
    } catch (const toml::parse_error& e) {
      syntax_ok = false;
      load.errors.push_back(Diagnostic{source.name, static_cast<int>(e.source().begin.line),
                                       static_cast<int>(e.source().begin.column), "",
                                       std::string(e.description())});
    }
  }
  if (!syntax_ok) return load;

  auto policy = std::make_shared<Policy>();
  Policy& p = *policy;
  for (const auto& s : sources)
    p.sources.push_back(s.name);
  Reader r(load.errors, sources.front().name);
  r.checkKeys(merged, "", kRootKeys);
  readHousehold(merged, r, p, zones);
  readPurchasing(merged, r, p);
  readOffers(merged, r, p);
  readBudgets(merged, r, p);
  readRetailers(merged, r, p);
  readItems(merged, r, p);
  readService(merged, r, p);
  readMeter(merged, r, p);
  readHomeAssistant(merged, r, p);
  readDevices(merged, r, p);
  std::set<std::string> ids;
  readRules(merged, r, p, "forbid", Effect::forbid, ids);
  readRules(merged, r, p, "permit", Effect::permit, ids);
  checkRefs(merged, r, p);
  checkItemOverlaps(merged, r, p);
  if (!load.errors.empty()) {
    // In reading order: by file (in merge order), then line and column.
    const auto fileIndex = [&](const std::string& file) {
      for (std::size_t i = 0; i < sources.size(); ++i)
        if (sources[i].name == file) return i;
      return sources.size();
    };
    std::stable_sort(load.errors.begin(), load.errors.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) {
                       return std::tuple(fileIndex(a.file), a.line, a.column) <
                              std::tuple(fileIndex(b.file), b.line, b.column);
                     });
    return load;
  }

  canonicalize(merged, p.canonical);
  p.canonical.insert(0, "steward-policy-v1\n");
  p.revision = sha256Hex(p.canonical);
  load.policy = std::move(policy);
  return load;
}

}  // namespace steward::policy
