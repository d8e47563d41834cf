// The subset of RFC 8941 Structured Field Values that signatures need: Dictionaries and Lists of
// Items and Inner Lists, with Parameters; bare items of every type. Parsing is strict (duplicate
// keys are refused rather than silently overwritten; byte sequences must be canonical base64,
// with padding and zero pad bits, stricter than RFC 8941 §4.2.7 asks, so that a signature has one
// spelling) and bounded by explicit caps; nothing recurses, as an Inner List cannot nest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace steward::negotiation::sf {

struct Token {
  std::string value;
  bool operator==(const Token&) const = default;
};
struct ByteSequence {
  std::string bytes;
  bool operator==(const ByteSequence&) const = default;
};
// Kept as its canonical text (at most 12 integer digits and 3 fractional ones).
struct Decimal {
  std::string text;
  bool operator==(const Decimal&) const = default;
};

using BareItem = std::variant<std::int64_t, Decimal, std::string, Token, ByteSequence, bool>;
using Parameters = std::vector<std::pair<std::string, BareItem>>;

struct Item {
  BareItem value;
  Parameters params;
};
struct InnerList {
  std::vector<Item> items;
  Parameters params;
};
using Member = std::variant<Item, InnerList>;
using Dictionary = std::vector<std::pair<std::string, Member>>;
using List = std::vector<Member>;

struct Limits {
  std::size_t max_length = 16384;    // characters in the field value
  std::size_t max_members = 64;      // dictionary or list members
  std::size_t max_inner_items = 64;  // items in one inner list
  std::size_t max_params = 32;       // parameters on one item or inner list
};

core::Result<Dictionary> parseDictionary(std::string_view text, const Limits& limits = {});
core::Result<List> parseList(std::string_view text, const Limits& limits = {});
core::Result<Item> parseItem(std::string_view text, const Limits& limits = {});

// Serialisation refuses values that cannot be represented (e.g. a string with a control
// character, a key with an upper-case letter).
core::Result<std::string> serialize(const Dictionary& dict);
core::Result<std::string> serialize(const List& list);
core::Result<std::string> serialize(const Item& item);
core::Result<std::string> serialize(const InnerList& list);
core::Result<std::string> serializeParams(const Parameters& params);

const BareItem* findParam(const Parameters& params, std::string_view key);
const Member* findMember(const Dictionary& dict, std::string_view key);
bool validKey(std::string_view key);

}  // namespace steward::negotiation::sf
