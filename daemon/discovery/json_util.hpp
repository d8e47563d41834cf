// Small, strict helpers for reading untrusted JSON: every accessor says what it expected, so a
// source's rejection names the field and the problem.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/source.hpp"

namespace steward::discovery::json {

// Parses `text` as JSON (depth-limited). Returns a malformed Rejection naming `what` on failure.
std::optional<Rejection> parse(std::string_view text, std::string_view what,
                               boost::json::value& out);

// A number (integer or real); nullopt for anything else.
std::optional<double> number(const boost::json::value& v);
// A number, or a string holding one (Home Assistant state payloads are often "23.4").
std::optional<double> numberOrNumericString(const boost::json::value& v);
// Parses a plain decimal number ("8", "23.40", "-1e3"), nothing else around it but spaces.
std::optional<double> parseNumber(std::string_view text);

const boost::json::value* find(const boost::json::object& o, std::string_view key);
// A string member, nullopt when absent; a Rejection via `error` when present but not a string.
std::optional<std::string> optionalString(const boost::json::object& o, std::string_view key,
                                          std::string_view where, std::optional<Rejection>& error);

// "printer-1", "0x0017880104e45522": 1..64 of [A-Za-z0-9._:-], the ids we accept in topics.
bool isSafeId(std::string_view id);

// A compact excerpt of an untrusted value for messages and logs (at most ~40 characters).
std::string excerpt(std::string_view text);

}  // namespace steward::discovery::json
