// Reading fields of JSON the hub and stewardctl exchange (decision inputs, reports), tolerant of
// absent or mistyped fields, and printable: text a device or vendor chose has its control
// characters removed before display.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/text.hpp"

namespace steward::ledger {

inline std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return printable(v->as_string());
  if (v->is_null()) return {};
  return boost::json::serialize(*v);
}

inline std::optional<std::int64_t> integer(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

inline std::int64_t intOf(const boost::json::object& o, std::string_view key) {
  return integer(o.if_contains(key)).value_or(0);
}

inline const boost::json::object& objectOf(const boost::json::object& o, std::string_view key) {
  static const boost::json::object kEmpty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

inline const boost::json::array& arrayOf(const boost::json::object& o, std::string_view key) {
  static const boost::json::array kEmpty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : kEmpty;
}

}  // namespace steward::ledger
