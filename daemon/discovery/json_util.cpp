// See json_util.hpp.
#include "discovery/json_util.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

namespace steward::discovery::json {

std::optional<Rejection> parse(std::string_view text, std::string_view what,
                               boost::json::value& out) {
  boost::json::parse_options options;
  options.max_depth = 32;  // device payloads are shallow; deep nesting is an attack, not data
  boost::system::error_code ec;
  out = boost::json::parse(text, ec, {}, options);
  if (ec) {
    return Rejection{Reject::malformed,
                     std::string(what) + ": not valid JSON (" + ec.message() + ")"};
  }
  return std::nullopt;
}

std::optional<double> number(const boost::json::value& v) {
  if (const auto* d = v.if_double()) return *d;
  if (const auto* i = v.if_int64()) return static_cast<double>(*i);
  if (const auto* u = v.if_uint64()) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<double> parseNumber(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value != value) return std::nullopt;  // NaN
  return value;
}

std::optional<double> numberOrNumericString(const boost::json::value& v) {
  if (auto n = number(v)) return n;
  if (const auto* s = v.if_string()) return parseNumber(*s);
  return std::nullopt;
}

const boost::json::value* find(const boost::json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::optional<std::string> optionalString(const boost::json::object& o, std::string_view key,
                                          std::string_view where, std::optional<Rejection>& error) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (const auto* s = v->if_string()) return std::string(*s);
  if (!error) {
    error = Rejection{Reject::invalid,
                      std::string(where) + ": " + std::string(key) + ": expected a string"};
  }
  return std::nullopt;
}

bool isSafeId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace steward::discovery::json
