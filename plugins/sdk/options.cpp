// See options.hpp. The config file is TOML (toml++), restricted to top-level keys whose values are
// strings, integers, floats or booleans; every value goes through the same setter as its flag, so
// a file and a command line are checked by one code path.
#include "options.hpp"

#include <toml++/toml.h>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace steward::sdk {

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || v < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60'000;
  } else if (unit == "h") {
    ms = v * 3'600'000;
  } else if (unit == "d") {
    ms = v * 86'400'000;
  } else {
    return std::nullopt;
  }
  if (ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

Options::Options(std::string program, std::string summary, std::string usage_examples)
    : program_(std::move(program)),
      summary_(std::move(summary)),
      examples_(std::move(usage_examples)) {}

void Options::flag(std::string name, std::string help, bool& target) {
  Option o;
  o.name = std::move(name);
  o.help = std::move(help);
  o.is_flag = true;
  o.flag = &target;
  options_.push_back(std::move(o));
}

void Options::value(std::string name, std::string metavar, std::string help, Setter set) {
  Option o;
  o.name = std::move(name);
  o.metavar = std::move(metavar);
  o.help = std::move(help);
  o.set = std::move(set);
  options_.push_back(std::move(o));
}

void Options::text(std::string name, std::string metavar, std::string help, std::string& target) {
  value(std::move(name), std::move(metavar), std::move(help), [&target](std::string_view v) {
    if (v.size() > 4096) return std::string("longer than 4096 characters");
    target = std::string(v);
    return std::string();
  });
}

void Options::integer(std::string name, std::string metavar, std::string help, long& target,
                      long min, long max) {
  value(std::move(name), std::move(metavar), std::move(help),
        [&target, min, max](std::string_view v) {
          long n = 0;
          const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc{} || end != v.data() + v.size() || n < min || n > max)
            return "expected a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max);
          target = n;
          return std::string();
        });
}

void Options::number(std::string name, std::string metavar, std::string help, double& target,
                     double min, double max) {
  value(std::move(name), std::move(metavar), std::move(help),
        [&target, min, max](std::string_view v) {
          double n = 0;
          const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc{} || end != v.data() + v.size() || !(n >= min && n <= max)) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "expected a number from %g to %g", min, max);
            return std::string(buf);
          }
          target = n;
          return std::string();
        });
}

void Options::duration(std::string name, std::string help, std::chrono::milliseconds& target,
                       std::chrono::milliseconds min, std::chrono::milliseconds max) {
  value(std::move(name), "DURATION", std::move(help), [&target, min, max](std::string_view v) {
    const auto d = parseDuration(v);
    if (!d || *d < min || *d > max)
      return "expected a duration like \"30s\", \"5m\" or \"250ms\" from " +
             std::to_string(min.count()) + " ms to " + std::to_string(max.count() / 1000) + " s";
    target = *d;
    return std::string();
  });
}

void Options::fileOnly(std::string name, std::string help, std::string& target) {
  text(std::move(name), "", std::move(help), target);
  options_.back().file_only = true;
}

const Options::Option* Options::find(std::string_view name) const {
  for (const auto& o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

std::string Options::suggest(std::string_view name) const {
  // The closest name by edit distance, when it is close enough to be a typo.
  std::string best;
  std::size_t best_d = 3;
  for (const auto& o : options_) {
    const auto& a = o.name;
    std::vector<std::size_t> row(a.size() + 1);
    for (std::size_t j = 0; j <= a.size(); ++j)
      row[j] = j;
    for (std::size_t i = 1; i <= name.size(); ++i) {
      std::size_t prev = row[0]++;
      for (std::size_t j = 1; j <= a.size(); ++j) {
        const std::size_t cur = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (name[i - 1] == a[j - 1] ? 0 : 1)});
        prev = cur;
      }
    }
    if (row[a.size()] < best_d) {
      best_d = row[a.size()];
      best = a;
    }
  }
  return best.empty() ? std::string() : " (did you mean \"" + best + "\"?)";
}

std::string Options::help() const {
  std::ostringstream out;
  out << program_ << ": " << summary_ << "\n\nusage: " << program_ << " [OPTION...]\n";
  if (!examples_.empty()) out << "\n" << examples_ << "\n";
  out << "\noptions:\n";
  out << "  --config FILE            read options from a TOML file (flags given here win)\n";
  for (const auto& o : options_) {
    std::string left = o.file_only ? "  " + o.name + " = ... (file)" : "  --" + o.name;
    if (!o.is_flag && !o.file_only) left += " " + o.metavar;
    if (left.size() < 27)
      left.resize(27, ' ');
    else
      left += "\n" + std::string(27, ' ');
    out << left << o.help << "\n";
  }
  out << "  --check-config           check the options and the config file, then exit\n";
  out << "  --help                   show this help\n";
  return out.str();
}

std::string Options::parseConfigText(std::string_view text, const std::string& where) {
  toml::table table;
  try {
    table = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return where + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
           std::string(e.description());
  }
  for (const auto& [key, node] : table) {
    const auto& src = node.source().begin;
    const std::string at =
        where + ":" + std::to_string(src.line) + ":" + std::to_string(src.column) + ": ";
    const std::string name(key.str());
    const Option* o = find(name);
    if (!o || name == "help" || name == "config") {
      const auto& k = key.source().begin;
      return where + ":" + std::to_string(k.line) + ":" + std::to_string(k.column) +
             ": unknown setting \"" + name + "\"" + suggest(name);
    }
    std::string value;
    if (auto s = node.value<std::string>(); s && node.is_string()) {
      value = *s;
    } else if (node.is_integer()) {
      value = std::to_string(*node.value<long long>());
    } else if (node.is_floating_point()) {
      std::ostringstream n;
      n << *node.value<double>();
      value = n.str();
    } else if (node.is_boolean()) {
      if (!o->is_flag)
        return at + name + ": expected " + (o->metavar.empty() ? "a value" : o->metavar);
      *o->flag = *node.value<bool>();
      continue;
    } else {
      return at + name + ": expected a string, number or true/false";
    }
    if (o->is_flag) return at + name + ": expected true or false";
    if (auto err = o->set(value); !err.empty()) return at + name + ": " + err;
  }
  return {};
}

std::optional<int> Options::parse(int argc, const char* const* argv) {
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help' for the options.\n", program_.c_str(),
                 message.c_str(), program_.c_str());
    return 2;
  };
  // The config file first, so that flags given on the command line override it.
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return 0;
    }
    if (a == "--config") {
      if (i + 1 >= argc) return fail("--config needs a file name");
      config_path_ = argv[++i];
      std::ifstream in(config_path_, std::ios::binary);
      if (!in) return fail(config_path_ + ": cannot be read");
      std::ostringstream s;
      s << in.rdbuf();
      if (s.str().size() > 1'000'000) return fail(config_path_ + ": larger than 1 MB");
      if (auto err = parseConfigText(s.str(), config_path_); !err.empty()) return fail(err);
    } else if (a.rfind("--config=", 0) == 0) {
      return fail("write --config FILE, with a space");
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config") {
      ++i;
      continue;
    }
    if (a == "--check-config") {
      check_only_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) return fail("unexpected argument \"" + std::string(a) + "\"");
    a.remove_prefix(2);
    std::optional<std::string_view> inline_value;
    if (auto eq = a.find('='); eq != std::string_view::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    const Option* o = find(a);
    if (!o || o->file_only)
      return fail(o ? std::string(a) + " may only be set in the config file (--config)"
                    : "unknown option --" + std::string(a) + suggest(a));
    if (o->is_flag) {
      if (inline_value) return fail("--" + o->name + " takes no value");
      *o->flag = true;
      continue;
    }
    std::string_view v;
    if (inline_value) {
      v = *inline_value;
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return fail("--" + o->name + " needs a value (" + o->metavar + ")");
    }
    if (auto err = o->set(v); !err.empty()) return fail("--" + o->name + ": " + err);
  }
  return std::nullopt;
}

}  // namespace steward::sdk
