// Structured logging to stderr with sd-daemon priority prefixes ("<3>", "<6>", ...), so journald
// keeps the level. One line per event: an event name followed by key=value context.
#pragma once

#include <concepts>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace steward::core {

enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

std::optional<LogLevel> parseLogLevel(std::string_view name);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}

  std::string_view key;
  std::string value;
};

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::info, std::FILE* out = stderr)
      : level_(level), out_(out) {}

  void setLevel(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  bool enabled(LogLevel level) const { return level <= level_; }

  void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
  void error(std::string_view event, std::initializer_list<LogField> f = {}) {
    log(LogLevel::error, event, f);
  }
  void warning(std::string_view event, std::initializer_list<LogField> f = {}) {
    log(LogLevel::warning, event, f);
  }
  void notice(std::string_view event, std::initializer_list<LogField> f = {}) {
    log(LogLevel::notice, event, f);
  }
  void info(std::string_view event, std::initializer_list<LogField> f = {}) {
    log(LogLevel::info, event, f);
  }
  void debug(std::string_view event, std::initializer_list<LogField> f = {}) {
    log(LogLevel::debug, event, f);
  }

 private:
  LogLevel level_;
  std::FILE* out_;
};

}  // namespace steward::core
