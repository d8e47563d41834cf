// Command-line flags and a config file for Steward plugins, declared once: each option has a name,
// a help line and a setter that validates its value. `--help` is generated; `--config FILE` reads
// a flat TOML file whose keys are the option names (flags given on the command line win).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::sdk {

class Options {
 public:
  // A setter returns an error sentence ("expected a whole number of seconds") or "" when it took
  // the value.
  using Setter = std::function<std::string(std::string_view value)>;

  Options(std::string program, std::string summary, std::string usage_examples = {});

  // A flag without a value (`--once`); in a config file `once = true`.
  void flag(std::string name, std::string help, bool& target);
  // An option with a value; `metavar` names it in --help (`--id ID`).
  void value(std::string name, std::string metavar, std::string help, Setter set);
  // Conveniences for the common value types, with range checks.
  void text(std::string name, std::string metavar, std::string help, std::string& target);
  void integer(std::string name, std::string metavar, std::string help, long& target, long min,
               long max);
  void number(std::string name, std::string metavar, std::string help, double& target, double min,
              double max);
  // "30s", "5m", "250ms", "2h" or a bare number of seconds; between `min` and `max`.
  void duration(std::string name, std::string help, std::chrono::milliseconds& target,
                std::chrono::milliseconds min, std::chrono::milliseconds max);
  // Options that may only come from the config file (secrets: never on a command line).
  void fileOnly(std::string name, std::string help, std::string& target);

  // Parses argv (after an optional --config FILE, read first). Returns nullopt to go on, or the
  // exit code: 0 after --help, 2 after a usage error (printed to stderr as one sentence).
  std::optional<int> parse(int argc, const char* const* argv);
  // Same for the text of a config file, `where` naming it in errors. "" when it was fine.
  std::string parseConfigText(std::string_view text, const std::string& where);

  std::string help() const;
  // True after --check-config: the program validates everything, says so, and exits.
  bool checkOnly() const { return check_only_; }
  const std::string& program() const { return program_; }

 private:
  struct Option {
    std::string name, metavar, help;
    bool is_flag = false, file_only = false;
    bool* flag = nullptr;
    Setter set;
  };
  const Option* find(std::string_view name) const;
  std::string suggest(std::string_view name) const;

  std::string program_, summary_, examples_;
  std::vector<Option> options_;
  std::string config_path_;
  bool check_only_ = false;
};

// Parses "250ms", "30s", "5m", "2h", "1d" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

// Device ids and need keys: 1..64 characters of [A-Za-z0-9._-] (plugins/PROTOCOL.md).
bool validId(std::string_view id);

}  // namespace steward::sdk
