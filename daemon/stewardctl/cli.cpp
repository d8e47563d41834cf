// See cli.hpp. Both ways of answering render through the same module functions (the daemon's
// JSON documents are the ones the modules' query functions build), so a listing looks the same
// whether it came over D-Bus or straight from the file.
#include "stewardctl/cli.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "app/config.hpp"
#include "bus/operations.hpp"
#include "discovery/report.hpp"
#include "ledger/budget_store.hpp"
#include "ledger/database.hpp"
#include "ledger/review.hpp"
#include "ledger/verify.hpp"
#include "needs/report.hpp"
#include "policy/budget_persistence.hpp"
#include "policy/cli.hpp"
#include "policy/loader.hpp"
#include "stewardctl/arguments.hpp"
#include "stewardctl/backup.hpp"
#include "stewardctl/fit.hpp"
#include "stewardctl/hub_client.hpp"
#include "stewardctl/render.hpp"
#include "stewardctl/views.hpp"

namespace steward::stewardctl {

namespace json = boost::json;

namespace {

// `policy simulate --db FILE`: the ledger's budget entries, read-only, for the policy command.
core::Result<void> readLedgerBudgets(const std::string& path, policy::BudgetBook& book) {
  auto db = ledger::Database::open(path, ledger::OpenMode::readOnly);
  if (!db) return db.error();
  auto store = ledger::BudgetStore::reader(*db);
  return policy::restoreBudgets(book, store);
}

struct Context {
  const Invocation& inv;
  app::DaemonConfig config;
  ledger::OutputStyle style;
  core::TimePoint now;
  std::ostream& out;
  std::ostream& err;
  std::size_t width = 80;  // 0: --wide

  Layout layout() const { return Layout{style, width, now}; }

  int fail(const std::string& message) const {
    err << "stewardctl: " << message << '\n';
    return kExitFailed;
  }
};

// --- database mode -------------------------------------------------------------------------

// This month's use with the caps from the policy files filled in (the database holds spending,
// the policy holds the caps). Without a readable policy the caps stay unknown.
std::vector<ledger::BudgetUse> budgetsWithCaps(ledger::Database& db, const Context& ctx) {
  auto use = ledger::readBudgetUse(db);
  std::vector<ledger::BudgetUse> budgets = use ? std::move(*use) : std::vector<ledger::BudgetUse>{};
  const std::string dir = ctx.config.policy_directory;
  auto load = policy::loadPolicy(std::span<const std::string>(&dir, 1));
  if (!load.policy) {
    ctx.err << "stewardctl: budget caps are not shown: no readable policy in " << dir
            << " (give --config with the daemon's stewardd.toml)\n";
    return budgets;
  }
  for (const auto& [category, budget] : load.policy->budgets) {
    auto it = std::find_if(budgets.begin(), budgets.end(),
                           [&](const ledger::BudgetUse& b) { return b.category == category; });
    if (it == budgets.end()) {
      ledger::BudgetUse fresh;
      fresh.category = category;
      fresh.currency = std::string(budget.monthly.currency.view());
      budgets.push_back(fresh);
      it = budgets.end() - 1;
    }
    if (!it->limit_minor) it->limit_minor = budget.monthly.minor;
    if (it->currency.empty()) it->currency = std::string(budget.monthly.currency.view());
  }
  return budgets;
}

int runOnDatabase(const Context& ctx, const std::string& path) {
  auto opened = ledger::Database::open(path, ledger::OpenMode::readOnly);
  if (!opened) return ctx.fail("cannot open " + path + " read-only: " + opened.error().message);
  ledger::Database& db = *opened;
  const Invocation& inv = ctx.inv;
  auto done = [&](const core::Result<void>& r) {
    return r ? kExitOk : ctx.fail(r.error().message);
  };

  switch (inv.verb) {
    case Verb::status: {
      auto status = ledger::queryStatus(db, budgetsWithCaps(db, ctx));
      if (!status) return ctx.fail(status.error().message);
      if (inv.json)
        ctx.out << json::serialize(*status) << '\n';
      else
        renderStatus(*status, ctx.style, ctx.out);
      return kExitOk;
    }
    case Verb::devices: {
      // The same document the daemon sends, drawn by the same view.
      std::ostringstream document;
      if (auto r = discovery::printDevices(db, document, discovery::ReportFormat::json); !r)
        return ctx.fail(r.error().message);
      boost::system::error_code ec;
      const json::value devices = json::parse(document.str(), ec);
      if (ec) return ctx.fail("the devices report is not JSON: " + ec.message());
      if (inv.json)
        ctx.out << json::serialize(devices) << '\n';
      else
        renderDevices(devices, ctx.layout(), ctx.out);
      return kExitOk;
    }
    case Verb::needs: {
      auto list = needs::needsJson(db, ctx.now, inv.all);
      if (!list) return ctx.fail(list.error().message);
      if (inv.json)
        ctx.out << json::serialize(*list) << '\n';
      else
        renderNeeds(*list, ctx.layout(), ctx.out);
      return kExitOk;
    }
    case Verb::log: {
      ledger::LogQuery query;
      if (!inv.since.empty()) {
        auto since = ledger::parseSince(inv.since, ctx.now);
        if (!since) return ctx.fail("--since: " + since.error().message);
        query.since = *since;
      }
      query.device = inv.device;
      query.kind = inv.kind;
      query.limit = inv.limit;
      return done(printLog(db, query, ctx.style, ctx.out, ctx.width));
    }
    case Verb::explain:
      return done(printExplanation(db, inv.target, ctx.style, ctx.out));
    case Verb::verify: {
      std::optional<ledger::Checkpoint> external;
      if (!inv.checkpoint.empty()) {
        std::ifstream in(inv.checkpoint, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) return ctx.fail("cannot read checkpoint file " + inv.checkpoint);
        auto parsed = ledger::parseCheckpoint(text.str());
        if (!parsed) return ctx.fail(inv.checkpoint + ": " + parsed.error().message);
        external = *parsed;
      }
      auto report = ledger::verify(db, external);
      if (!report) return ctx.fail(report.error().message);
      const auto document = ledger::toJson(*report);
      if (inv.json)
        ctx.out << json::serialize(document) << '\n';
      else
        ledger::renderVerify(document, ctx.style, ctx.out);
      const bool trusted = report->intact() && report->extends_checkpoint.value_or(true);
      return trusted ? kExitOk : kExitFailed;
    }
    case Verb::exportLog: {
      auto format = ledger::parseExportFormat(inv.format);
      if (!format) return ctx.fail(format.error().message);
      return done(ledger::exportDecisions(db, *format, ctx.out));
    }
    case Verb::approvals:
      return done(printApprovals(db, true, ctx.style, ctx.out));
    default:
      return ctx.fail(std::string(verbName(inv.verb)) + " needs the running daemon");
  }
}

// --- D-Bus mode ----------------------------------------------------------------------------

// The daemon's JSON: printed as is for --json, else parsed and drawn by `draw`.
template <class Draw>
int show(const Context& ctx, const std::string& document, Draw&& draw) {
  if (ctx.inv.json) {
    ctx.out << document << '\n';
    return kExitOk;
  }
  boost::system::error_code ec;
  json::value value = json::parse(document, ec);
  if (ec) return ctx.fail("stewardd sent a malformed answer: " + ec.message());
  draw(value);
  return kExitOk;
}

template <class T>
int failure(const Context& ctx, const Reply<T>& reply) {
  if (reply.unreachable()) return ctx.fail("stewardd is not running (" + reply.error_message + ")");
  if (reply.error_name == "org.freedesktop.DBus.Error.AccessDenied")
    return ctx.fail("permission denied: " + std::string(verbName(ctx.inv.verb)) +
                    " needs root or membership of group steward-admin");
  if (bus::errorCodeFromName(reply.error_name)) return ctx.fail(reply.error_message);
  return ctx.fail(reply.error_name + ": " + reply.error_message);
}

// Returns nullopt when the daemon is unreachable and the caller may fall back to the database.
std::optional<int> runOverDbus(const Context& ctx, HubClient& hub) {
  const Invocation& inv = ctx.inv;
  using P = HubClient::Proxy;

  auto text = [&](auto&& f, auto&& draw) -> std::optional<int> {
    auto reply = hub.call<std::string>(f);
    if (!reply.ok()) {
      if (reply.unreachable() && readsOnly(inv.verb)) return std::nullopt;
      return failure(ctx, reply);
    }
    return show(ctx, *reply.value, draw);
  };
  auto object = [](const json::value& v) -> const json::object& {
    static const json::object empty;
    return v.is_object() ? v.get_object() : empty;
  };
  auto array = [](const json::value& v) -> const json::array& {
    static const json::array empty;
    return v.is_array() ? v.get_array() : empty;
  };
  auto answer = [&](std::string what) {
    return [&ctx, what](const json::value& v) { renderAnswer(what, v, ctx.style, ctx.out); };
  };
  const std::string target = inv.target;

  switch (inv.verb) {
    case Verb::status:
      return text([](P& p) { return p.Status(); },
                  [&](const json::value& v) { renderStatus(object(v), ctx.style, ctx.out); });
    case Verb::devices:
      return text([](P& p) { return p.Devices(); },
                  [&](const json::value& v) { renderDevices(v, ctx.layout(), ctx.out); });
    case Verb::needs:
      return text([](P& p) { return p.Needs(); },
                  [&](const json::value& v) { renderNeeds(v, ctx.layout(), ctx.out); });
    case Verb::log: {
      std::int64_t since_ms = 0;
      if (!inv.since.empty()) {
        auto since = ledger::parseSince(inv.since, ctx.now);
        if (!since) return ctx.fail("--since: " + since.error().message);
        since_ms = std::max<std::int64_t>(1, core::toUnixMillis(*since));
      }
      if (inv.limit != 0)  // the newest few: one answer (the daemon caps it at a page)
        return text(
            [&](P& p) { return p.Log(since_ms, inv.device, inv.kind, inv.limit); },
            [&](const json::value& v) { renderLog(array(v), ctx.style, ctx.out, ctx.width); });
      // The whole history, a page at a time, each page printed as it comes: neither side ever
      // holds more than a page. --json prints one array all the same.
      std::int64_t cursor = 0;
      bool first_page = true, any = false;
      if (inv.json) ctx.out << '[';
      while (true) {
        using PageReply = std::tuple<std::string, std::int64_t>;
        auto reply = hub.call<PageReply>(
            [&](P& p) { return p.LogPage(since_ms, inv.device, inv.kind, cursor, 0); });
        if (!reply.ok()) {
          if (first_page && reply.unreachable()) return std::nullopt;
          if (inv.json && !first_page) ctx.out << "]\n";
          return failure(ctx, reply);
        }
        first_page = false;
        auto& [page_text, next] = *reply.value;
        boost::system::error_code ec;
        const json::value page = json::parse(page_text, ec);
        if (ec || !page.is_array()) return ctx.fail("stewardd sent a malformed log page");
        if (inv.json) {
          for (const auto& d : page.get_array()) {
            if (any) ctx.out << ',';
            ctx.out << json::serialize(d);
            any = true;
          }
        } else if (!page.get_array().empty() || !any) {
          renderLog(array(page), ctx.style, ctx.out, ctx.width);  // empty only when nothing matched
          any = true;
        }
        ctx.out.flush();
        if (next <= cursor) break;  // 0: the last page (a cursor never goes back)
        cursor = next;
      }
      if (inv.json) ctx.out << "]\n";
      return kExitOk;
    }
    case Verb::explain:
      return text([&](P& p) { return p.Explain(target); },
                  [&](const json::value& v) { renderExplanation(object(v), ctx.style, ctx.out); });
    case Verb::verify: {
      auto reply = hub.call<std::tuple<bool, std::string>>([](P& p) { return p.Verify(); });
      if (!reply.ok()) {
        if (reply.unreachable()) return std::nullopt;
        return failure(ctx, reply);
      }
      const auto& [intact, report] = *reply.value;
      const int shown = show(ctx, report, [&](const json::value& v) {
        ledger::renderVerify(object(v), ctx.style, ctx.out);
      });
      return shown != kExitOk ? shown : intact ? kExitOk : kExitFailed;
    }
    case Verb::exportLog: {
      // Chunk by chunk, each written as it comes.
      std::int64_t cursor = 0;
      for (bool first = true;; first = false) {
        using Chunk = std::tuple<std::string, std::int64_t>;
        auto reply = hub.call<Chunk>([&](P& p) { return p.ExportChunk(inv.format, cursor, 0); });
        if (!reply.ok()) {
          if (first && reply.unreachable()) return std::nullopt;
          return failure(ctx, reply);
        }
        const auto& [data, next] = *reply.value;
        ctx.out << data;
        ctx.out.flush();
        if (!ctx.out) return ctx.fail("export: writing the output failed");
        if (next <= cursor) break;  // 0: the end (a cursor never goes back)
        cursor = next;
      }
      return kExitOk;
    }
    case Verb::approvals:
      return text([](P& p) { return p.Approvals(); },
                  [&](const json::value& v) { renderApprovals(array(v), ctx.style, ctx.out); });
    case Verb::approve:
      return text([&](P& p) { return p.Approve(target); }, answer("approved " + target));
    case Verb::reject:
      return text([&](P& p) { return p.Reject(target); }, answer("rejected " + target));
    case Verb::cancel:
      return text([&](P& p) { return p.Cancel(target); }, answer("cancelled " + target));
    case Verb::pause:
      return text([&](P& p) { return p.Pause(target); },
                  answer(target.empty() ? "purchasing paused" : "paused " + target));
    case Verb::resume:
      return text([&](P& p) { return p.Resume(target); },
                  answer(target.empty() ? "purchasing resumed" : "resumed " + target));
    case Verb::reload:
      return text([](P& p) { return p.Reload(); }, answer("policy reloaded"));
    case Verb::policy:
    case Verb::backup:
      break;
  }
  return ctx.fail("internal: unhandled command");
}

int runBackup(const Context& ctx, const std::string& db_path) {
  auto report = backupDatabase(db_path, ctx.inv.target);
  if (!report) return ctx.fail(report.error().message);
  const auto& chain = report->chain;
  if (ctx.inv.json) {
    json::object document{
        {"file", ctx.inv.target}, {"bytes", report->bytes}, {"verify", ledger::toJson(chain)}};
    ctx.out << json::serialize(document) << '\n';
  } else {
    ctx.out << "Backed up " << db_path << " to " << ctx.inv.target << " ("
            << (report->bytes + 1023) / 1024 << " KiB, " << chain.records << " decisions).\n";
    if (chain.intact())
      ctx.out << "The copy's decision chain verifies.\n";
    else
      ctx.out << "The copy was written, but its decision chain does NOT verify; run\n"
                 "stewardctl --db "
              << ctx.inv.target << " verify to see where.\n";
  }
  return chain.intact() ? kExitOk : kExitFailed;
}

}  // namespace

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
        const Environment& env) {
  auto parsed = parseArguments(args);
  if (!parsed) {
    if (parsed.error().message == "help") {
      out << usage();
      return kExitOk;
    }
    err << "stewardctl: " << parsed.error().message << "\nTry 'stewardctl --help'.\n";
    return kExitUsage;
  }
  const Invocation& inv = *parsed;

  const core::SystemClock system_clock;
  const core::Clock& clock = env.clock ? *env.clock : system_clock;

  // The daemon's config tells where its database and bus are; a missing default file is fine.
  const std::string config_path = inv.config.value_or(env.default_config);
  auto load = app::loadDaemonConfig(config_path, !inv.config.has_value());
  if (!load.errors.empty()) {
    for (const auto& e : load.errors)
      err << "stewardctl: " << e.format() << '\n';
    return kExitFailed;
  }

  // --json documents are buffered and written again with plain numbers (93, 1.2; never 9.3E1).
  std::ostringstream json_buffer;
  Context ctx{inv, load.config, {}, clock.now(), inv.json ? json_buffer : out, err};
  ctx.width = inv.wide ? 0 : env.terminal_columns > 0 ? env.terminal_columns : 80;
  struct Flush {
    const Invocation& inv;
    std::ostringstream& buffer;
    std::ostream& out;
    ~Flush() {
      if (!inv.json) return;
      boost::system::error_code ec;
      const json::value value = json::parse(buffer.str(), ec);
      if (ec) {
        out << buffer.str();  // not one document (an export, or a message): as it was written
        return;
      }
      writePlainJson(value, out);
      out << '\n';
    }
  } flush{inv, json_buffer, out};
  ctx.style.json = inv.json;
  ctx.style.colour = !inv.json && inv.colour.value_or(env.stdout_is_terminal && !env.no_color);

  if (inv.verb == Verb::policy) {
    policy::CliEnvironment policy_env;
    policy_env.clock = &clock;
    policy_env.default_policy = ctx.config.policy_directory;
    policy_env.read_budgets = readLedgerBudgets;
    return policy::runPolicyCommand(inv.policy_args, out, err, policy_env);
  }

  const std::string db_path = inv.db.value_or(ctx.config.state_directory + "/steward.db");
  if (inv.verb == Verb::backup) return runBackup(ctx, db_path);
  // What the D-Bus API does not carry is read from the file.
  const bool file_only = inv.db || !inv.checkpoint.empty() || inv.all;
  if (file_only) return runOnDatabase(ctx, db_path);

  const std::string address = inv.bus.value_or(ctx.config.bus_address);
  std::string why;
  if (auto hub = HubClient::connect(address); hub) {
    if (auto code = runOverDbus(ctx, **hub)) return *code;
    why = "stewardd is not running";
  } else {
    why = hub.error().message;
    if (!readsOnly(inv.verb)) return ctx.fail(why);
  }
  err << "stewardctl: " << why << "; reading " << db_path << '\n';
  return runOnDatabase(ctx, db_path);
}

}  // namespace steward::stewardctl
