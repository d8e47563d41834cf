// See log.hpp. Values with spaces, quotes or control characters are quoted and escaped so a
// line stays one line and parses back unambiguously.
#include "core/log.hpp"

namespace steward::core {
namespace {

bool needsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  return false;
}

void appendValue(std::string& line, std::string_view v) {
  if (!needsQuoting(v)) {
    line += v;
    return;
  }
  line += '"';
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        line += "\\\"";
        break;
      case '\\':
        line += "\\\\";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          line += "\\x";
          line += kHex[c >> 4];
          line += kHex[c & 0xf];
        } else {
          line += static_cast<char>(c);
        }
    }
  }
  line += '"';
}

}  // namespace

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  if (name == "error") return LogLevel::error;
  if (name == "warning") return LogLevel::warning;
  if (name == "notice") return LogLevel::notice;
  if (name == "info") return LogLevel::info;
  if (name == "debug") return LogLevel::debug;
  return std::nullopt;
}

void Logger::log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(128);
  line += '<';
  line += static_cast<char>('0' + static_cast<int>(level));
  line += '>';
  line += event;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    appendValue(line, f.value);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace steward::core
