// See cli.hpp. `check` and stewardd share loadPolicy(), so what passes here loads there.
// `simulate` builds a Request from flags or a JSON file, evaluates it against a budget state it
// assembles in memory (from --spent/--reserved, optionally on top of the budget entries the caller
// read from a ledger), and prints the outcome; it writes nothing anywhere and opens no ledger.
#include "policy/cli.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include "core/money.hpp"
#include "policy/engine.hpp"

namespace steward::policy {
namespace {

constexpr int kOk = 0;
constexpr int kInvalid = 1;
constexpr int kUsage = 2;

constexpr std::string_view kUsageText =
    "usage: stewardctl policy check [FILE|DIR...]\n"
    "       stewardctl policy simulate [--policy FILE|DIR]... [--json FILE] [REQUEST FLAGS]\n"
    "                                  [--spent CATEGORY=AMOUNT]... [--reserved "
    "CATEGORY=AMOUNT]...\n"
    "                                  [--db LEDGER.db] [--output text|json]\n"
    "request flags: --kind purchase|service|meter-report --item ID --key CONSUMABLE\n"
    "               --device ID --device-kind KIND --category NAME --retailer ID --product ID\n"
    "               --amount \"12.00 EUR\" --unit-price AMOUNT --quantity N --call-out-fee AMOUNT\n"
    "               --at 2026-11-30T23:30:00Z --visit-start TIME --visit-end TIME\n"
    "check: validates the policy (default /etc/steward: policy.toml + policy.d/*.toml).\n"
    "simulate: prints the decision, the rules that determined it and the budget effect;\n"
    "          no state is changed. Exit 0 allow/needs-approval, 1 deny or invalid, 2 usage.\n";

class UsageError {
 public:
  explicit UsageError(std::string m) : message(std::move(m)) {}
  std::string message;
};

// "2026-11-30T23:30:00Z", "2026-11-30T23:30Z", "2026-12-01T00:30:00+01:00".
std::optional<core::TimePoint> parseTime(std::string_view s) {
  int y, mo, d, h, mi, sec = 0;
  char sep;
  int consumed = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &consumed) !=
          6 ||
      (sep != 'T' && sep != ' '))
    return std::nullopt;
  std::string_view rest = s.substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with(':')) {
    if (rest.size() < 3 || !std::isdigit(static_cast<unsigned char>(rest[1])) ||
        !std::isdigit(static_cast<unsigned char>(rest[2])))
      return std::nullopt;
    sec = (rest[1] - '0') * 10 + (rest[2] - '0');
    rest.remove_prefix(3);
  }
  int offset = 0;
  if (rest == "Z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    for (std::size_t i : {1u, 2u, 4u, 5u})
      if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return std::nullopt;
    oh = (rest[1] - '0') * 10 + (rest[2] - '0');
    om = (rest[4] - '0') * 10 + (rest[5] - '0');
    offset = (rest[0] == '-' ? -1 : 1) * (oh * 60 + om) * 60;
  } else {
    return std::nullopt;  // a time without a zone would be ambiguous
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - seconds{offset};
  return core::TimePoint{duration_cast<milliseconds>(t.time_since_epoch())};
}

struct Simulation {
  std::vector<std::string> policy_paths;
  std::string json_file;
  std::string db_path;
  bool json_output = false;
  Request request;
  std::string consumable_key;
  bool have_at = false;
  std::map<std::string, core::Money> spent, reserved;
};

// Money for the household; usage errors name the flag.
core::Money money(std::string_view flag, std::string_view text) {
  auto m = core::parseMoney(text);
  if (!m) throw UsageError(std::string(flag) + ": " + m.error().message);
  return *m;
}

core::TimePoint time(std::string_view flag, std::string_view text) {
  auto t = parseTime(text);
  if (!t)
    throw UsageError(std::string(flag) + ": expected a time like \"2026-11-30T23:30:00Z\", got \"" +
                     std::string(text) + "\"");
  return *t;
}

RequestKind kind(std::string_view text) {
  if (text == "purchase") return RequestKind::purchase;
  if (text == "service") return RequestKind::service;
  if (text == "meter-report") return RequestKind::meterReport;
  throw UsageError("--kind: expected purchase, service or meter-report, got \"" +
                   std::string(text) + "\"");
}

void budgetFigure(std::string_view flag, std::string_view text,
                  std::map<std::string, core::Money>& into) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw UsageError(std::string(flag) + ": expected CATEGORY=AMOUNT, got \"" + std::string(text) +
                     "\"");
  into[std::string(text.substr(0, eq))] = money(flag, text.substr(eq + 1));
}

// Applies one request field given as a flag name (without "--") or a JSON key.
void setField(Simulation& sim, std::string name, const std::string& value) {
  for (auto& c : name)
    if (c == '_') c = '-';
  Request& q = sim.request;
  const std::string flag = "--" + name;
  if (name == "kind") {
    q.kind = kind(value);
  } else if (name == "item") {
    q.item_id = value;
  } else if (name == "key") {
    sim.consumable_key = value;
  } else if (name == "device") {
    q.device_id = value;
  } else if (name == "device-kind") {
    q.device_kind = value;
  } else if (name == "category") {
    q.category = value;
  } else if (name == "retailer") {
    q.retailer_id = value;
  } else if (name == "product") {
    q.product = value;
  } else if (name == "amount") {
    q.amount = money(flag, value);
  } else if (name == "unit-price") {
    q.unit_price = money(flag, value);
  } else if (name == "call-out-fee") {
    q.call_out_fee = money(flag, value);
  } else if (name == "quantity") {
    int n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || p != value.data() + value.size())
      throw UsageError("--quantity: expected a whole number, got \"" + value + "\"");
    q.quantity = n;
  } else if (name == "at") {
    q.at = time(flag, value);
    sim.have_at = true;
  } else if (name == "visit-start") {
    q.visit_start = time(flag, value);
  } else if (name == "visit-end") {
    q.visit_end = time(flag, value);
  } else {
    throw UsageError("unknown request field \"" + name + "\"");
  }
}

void readJsonScenario(Simulation& sim, const boost::json::object& scenario) {
  for (const auto& [key, value] : scenario) {
    const std::string k(key);
    if (k == "spent" || k == "reserved") {
      if (!value.is_object())
        throw UsageError("--json: \"" + k + "\" must map categories to amounts");
      for (const auto& [cat, amount] : value.as_object()) {
        if (!amount.is_string())
          throw UsageError("--json: \"" + k + "." + std::string(cat) + "\" must be an amount");
        (k == "spent" ? sim.spent : sim.reserved)[std::string(cat)] =
            money("--json " + k, amount.as_string());
      }
      continue;
    }
    if (value.is_string()) {
      setField(sim, k, std::string(value.as_string()));
    } else if (value.is_int64()) {
      setField(sim, k, std::to_string(value.as_int64()));
    } else {
      throw UsageError("--json: \"" + k + "\" must be a string");
    }
  }
}

void readJsonRequest(Simulation& sim) {
  std::ifstream in(sim.json_file, std::ios::binary);
  if (!in) throw UsageError("--json: cannot read \"" + sim.json_file + "\"");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (1 << 20)) throw UsageError("--json: file is larger than 1 MiB");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    throw UsageError("--json: expected a JSON object describing the request" +
                     (ec ? ": " + ec.message() : std::string()));
  readJsonScenario(sim, v.as_object());
}

// Budget totals for the simulation: the live entries (if any) plus the figures given.
class SimulatedBudgets final : public BudgetState {
 public:
  SimulatedBudgets(const BudgetState& book, const Simulation& sim, Month month)
      : book_(book), sim_(sim), month_(month) {}
  BudgetTotals totals(std::string_view category, Month month) const override {
    BudgetTotals t = book_.totals(category, month);
    if (month == month_) {
      if (auto it = sim_.spent.find(std::string(category)); it != sim_.spent.end())
        t.spent += it->second.minor;
      if (auto it = sim_.reserved.find(std::string(category)); it != sim_.reserved.end())
        t.reserved += it->second.minor;
    }
    return t;
  }
  BudgetTotals retailerTotals(std::string_view category, std::string_view retailer,
                              Month month) const override {
    return book_.retailerTotals(category, retailer, month);
  }

 private:
  const BudgetState& book_;
  const Simulation& sim_;
  Month month_;
};

// Completes the request (time, item from a consumable key), checks the figures' currency and
// evaluates it on `live` plus the figures. Errors are the owner's to fix (invalidInput).
core::Result<Decision> decide(const Policy& p, const BudgetState& live, Simulation& sim,
                              core::TimePoint now) {
  Request& q = sim.request;
  if (!sim.have_at) q.at = now;
  if (!sim.consumable_key.empty() && q.item_id.empty()) {
    const Item* item = p.findItem(q.device_id, q.device_kind, sim.consumable_key);
    if (!item)
      return core::invalidInput("no item in the policy for consumable \"" + sim.consumable_key +
                                "\"" + (q.device_kind.empty() ? "" : " on a " + q.device_kind));
    q.item_id = item->id;
  }
  for (const auto* figures : {&sim.spent, &sim.reserved}) {
    for (const auto& [cat, m] : *figures) {
      if (!(m.currency == p.household.currency))
        return core::invalidInput(cat + ": " + core::formatMoney(m) +
                                  " is not in the household currency " +
                                  std::string(p.household.currency.view()));
    }
  }
  const SimulatedBudgets budgets(live, sim, p.household.time_zone.monthOf(q.at));
  return evaluate(p, budgets, q);
}

boost::json::object decisionJson(const Decision& d, const Request& q) {
  boost::json::object o = d.toJson().as_object();
  o["request"] = toJson(q);
  o["changed"] = false;
  return o;
}

void printErrors(const core::Diagnostics& errors, std::ostream& err) {
  for (const auto& e : errors)
    err << e.format() << "\n";
  err << errors.size() << (errors.size() == 1 ? " error" : " errors") << "\n";
}

int check(std::span<const std::string> args, std::ostream& out, std::ostream& err,
          const CliEnvironment& env) {
  std::vector<std::string> paths;
  for (const auto& a : args) {
    if (a.starts_with("-")) {
      err << "policy check: unknown option \"" << a << "\"\n" << kUsageText;
      return kUsage;
    }
    paths.push_back(a);
  }
  if (paths.empty()) paths.push_back(env.default_policy);
  PolicyLoad load = loadPolicy(paths);
  if (!load.errors.empty()) {
    printErrors(load.errors, err);
    return kInvalid;
  }
  const Policy& p = *load.policy;
  out << "policy is valid: " << p.sources.size() << (p.sources.size() == 1 ? " file" : " files")
      << ", revision " << p.revision << "\n";
  for (const auto& s : p.sources)
    out << "  " << s << "\n";
  return kOk;
}

void printDecision(const Decision& d, const Request& q, const Policy& p, std::ostream& out) {
  out << "decision: " << toString(d.outcome) << "\n";
  out << "request: " << boost::json::serialize(toJson(q)) << "\n";
  if (!d.category.empty() && d.month)
    out << "budget category: " << d.category << " (" << d.month->format() << ", "
        << p.household.time_zone.name() << ")\n";
  out << "determined by:\n";
  for (const auto& r : d.reasons)
    out << "  " << r.rule << ": " << r.message << "\n";
  if (!d.budgets.empty()) {
    out << "budget effect if placed:\n";
    for (const auto& b : d.budgets)
      out << "  " << b.format() << "\n";
  }
  if (d.approval_deadline) {
    out << "approval deadline: "
        << boost::json::value_to<std::string>(d.toJson().at("approval_deadline"))
        << " (unanswered = rejected)\n";
  }
  out << "policy revision: " << d.revision << "\n";
  out << "nothing was changed (simulation)\n";
}

int simulate(std::span<const std::string> args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  Simulation sim;
  std::vector<std::pair<std::string, std::string>> fields;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) throw UsageError("unexpected argument \"" + a + "\"");
    std::string name = a.substr(2);
    std::string value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      value = args[++i];
    }
    if (name == "policy") {
      sim.policy_paths.push_back(value);
    } else if (name == "json") {
      sim.json_file = value;
    } else if (name == "db") {
      sim.db_path = value;
    } else if (name == "output") {
      if (value != "text" && value != "json")
        throw UsageError("--output: expected text or json, got \"" + value + "\"");
      sim.json_output = value == "json";
    } else if (name == "spent") {
      budgetFigure("--spent", value, sim.spent);
    } else if (name == "reserved") {
      budgetFigure("--reserved", value, sim.reserved);
    } else {
      fields.emplace_back(name, value);
    }
  }
  // Flags override the JSON file.
  if (!sim.json_file.empty()) readJsonRequest(sim);
  for (const auto& [name, value] : fields) {
    try {
      setField(sim, name, value);
    } catch (const UsageError& e) {
      if (e.message.starts_with("unknown request field"))
        throw UsageError("unknown option \"--" + name + "\"");
      throw;
    }
  }

  if (sim.policy_paths.empty()) sim.policy_paths.push_back(env.default_policy);
  PolicyLoad load = loadPolicy(sim.policy_paths);
  if (!load.errors.empty()) {
    printErrors(load.errors, err);
    return kInvalid;
  }
  const Policy& p = *load.policy;
  core::SystemClock system;
  const core::TimePoint now =
      (env.clock ? *env.clock : static_cast<const core::Clock&>(system)).now();

  BudgetBook book;
  if (!sim.db_path.empty()) {
    if (!env.read_budgets) throw UsageError("--db: reading a ledger is not available here");
    if (auto r = env.read_budgets(sim.db_path, book); !r) {
      err << "policy simulate: " << sim.db_path << ": " << r.error().message << "\n";
      return kInvalid;
    }
  }
  auto d = decide(p, book, sim, now);
  if (!d) {
    err << "policy simulate: " << d.error().message << "\n";
    return kInvalid;
  }
  if (sim.json_output) {
    out << boost::json::serialize(decisionJson(*d, sim.request)) << "\n";
  } else {
    printDecision(*d, sim.request, p, out);
  }
  return d->outcome == Outcome::deny ? kInvalid : kOk;
}

}  // namespace

core::Result<std::string> simulateScenario(const boost::json::object& scenario,
                                           const Policy& policy, const BudgetState& live,
                                           core::TimePoint now) {
  Simulation sim;
  try {
    readJsonScenario(sim, scenario);
  } catch (const UsageError& e) {
    std::string message = e.message;
    if (message.starts_with("--json: ")) message.erase(0, 8);
    return core::invalidInput("scenario: " + message);
  }
  auto d = decide(policy, live, sim, now);
  if (!d) return d.error();
  return boost::json::serialize(decisionJson(*d, sim.request));
}

int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  return runPolicyCommand(args, out, err, CliEnvironment{});
}

int runPolicyCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                     const CliEnvironment& env) {
  if (args.empty()) {
    err << kUsageText;
    return kUsage;
  }
  const std::string& command = args[0];
  const auto rest = args.subspan(1);
  try {
    if (command == "check") return check(rest, out, err, env);
    if (command == "simulate") return simulate(rest, out, err, env);
    if (command == "help" || command == "--help" || command == "-h") {
      out << kUsageText;
      return kOk;
    }
  } catch (const UsageError& e) {
    err << "policy " << command << ": " << e.message << "\n";
    return kUsage;
  }
  err << "policy: unknown command \"" << command << "\"\n" << kUsageText;
  return kUsage;
}

}  // namespace steward::policy
