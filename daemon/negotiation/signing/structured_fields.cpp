// See structured_fields.hpp. Follows the parsing algorithms of RFC 8941 §4.2 step by step.
#include "negotiation/signing/structured_fields.hpp"

#include <cctype>

#include "negotiation/signing/base64.hpp"

namespace steward::negotiation::sf {
namespace {

using core::fail;

bool isLcAlpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isTchar(char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(std::string_view text, const Limits& limits) : s_(text), limits_(limits) {}

  core::Result<void> start() {
    if (s_.size() > limits_.max_length) {
      return fail("structured field is " + std::to_string(s_.size()) +
                  " characters, over the cap of " + std::to_string(limits_.max_length));
    }
    while (!s_.empty() && (s_.front() == ' '))
      s_.remove_prefix(1);
    while (!s_.empty() && (s_.back() == ' ' || s_.back() == '\t'))
      s_.remove_suffix(1);
    return {};
  }

  core::Result<Dictionary> dictionary() {
    Dictionary dict;
    while (!s_.empty()) {
      auto key = parseKey();
      if (!key) return key.error();
      for (const auto& [k, v] : dict) {
        if (k == *key) return err("duplicate dictionary key \"" + *key + "\"");
      }
      if (dict.size() >= limits_.max_members) return err("too many dictionary members");
      if (!s_.empty() && s_.front() == '=') {
        s_.remove_prefix(1);
        auto member = itemOrInnerList();
        if (!member) return member.error();
        dict.emplace_back(std::move(*key), std::move(*member));
      } else {
        auto params = parameters();
        if (!params) return params.error();
        dict.emplace_back(std::move(*key), Item{true, std::move(*params)});
      }
      auto more = separator();
      if (!more) return more.error();
      if (!*more) break;
    }
    return dict;
  }

  core::Result<List> list() {
    List out;
    while (!s_.empty()) {
      if (out.size() >= limits_.max_members) return err("too many list members");
      auto member = itemOrInnerList();
      if (!member) return member.error();
      out.push_back(std::move(*member));
      auto more = separator();
      if (!more) return more.error();
      if (!*more) break;
    }
    return out;
  }

  core::Result<Item> item() {
    auto bare = bareItem();
    if (!bare) return bare.error();
    auto params = parameters();
    if (!params) return params.error();
    return Item{std::move(*bare), std::move(*params)};
  }

  core::Result<void> finish() {
    if (!s_.empty()) return err("unexpected text after the value");
    return {};
  }

 private:
  core::Error err(std::string what) const {
    return fail("structured field: " + what + " at offset " + std::to_string(total_ - s_.size()));
  }

  void skipOws() {
    while (!s_.empty() && (s_.front() == ' ' || s_.front() == '\t'))
      s_.remove_prefix(1);
  }

  // After a member: either the end, or OWS "," OWS and another member.
  core::Result<bool> separator() {
    skipOws();
    if (s_.empty()) return false;
    if (s_.front() != ',') return err("expected ',' between members");
    s_.remove_prefix(1);
    skipOws();
    if (s_.empty()) return err("trailing ','");
    return true;
  }

  core::Result<Member> itemOrInnerList() {
    if (!s_.empty() && s_.front() == '(') {
      auto list = innerList();
      if (!list) return list.error();
      return Member{std::move(*list)};
    }
    auto it = item();
    if (!it) return it.error();
    return Member{std::move(*it)};
  }

  core::Result<InnerList> innerList() {
    s_.remove_prefix(1);  // '('
    InnerList list;
    while (!s_.empty()) {
      while (!s_.empty() && s_.front() == ' ')
        s_.remove_prefix(1);
      if (s_.empty()) break;
      if (s_.front() == ')') {
        s_.remove_prefix(1);
        auto params = parameters();
        if (!params) return params.error();
        list.params = std::move(*params);
        return list;
      }
      if (list.items.size() >= limits_.max_inner_items) return err("too many inner list items");
      auto it = item();
      if (!it) return it.error();
      list.items.push_back(std::move(*it));
      if (!s_.empty() && s_.front() != ' ' && s_.front() != ')') {
        return err("expected ' ' or ')' in inner list");
      }
    }
    return err("inner list is not closed");
  }

  core::Result<Parameters> parameters() {
    Parameters params;
    while (!s_.empty() && s_.front() == ';') {
      s_.remove_prefix(1);
      while (!s_.empty() && s_.front() == ' ')
        s_.remove_prefix(1);
      auto key = parseKey();
      if (!key) return key.error();
      for (const auto& [k, v] : params) {
        if (k == *key) return err("duplicate parameter \"" + *key + "\"");
      }
      if (params.size() >= limits_.max_params) return err("too many parameters");
      BareItem value = true;
      if (!s_.empty() && s_.front() == '=') {
        s_.remove_prefix(1);
        auto bare = bareItem();
        if (!bare) return bare.error();
        value = std::move(*bare);
      }
      params.emplace_back(std::move(*key), std::move(value));
    }
    return params;
  }

  core::Result<std::string> parseKey() {
    if (s_.empty() || !(isLcAlpha(s_.front()) || s_.front() == '*')) {
      return err("expected a key (lower-case letter or '*')");
    }
    std::string key;
    while (!s_.empty()) {
      const char c = s_.front();
      if (!(isLcAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
      key += c;
      s_.remove_prefix(1);
    }
    return key;
  }

  core::Result<BareItem> bareItem() {
    if (s_.empty()) return err("expected a value");
    const char c = s_.front();
    if (c == '-' || isDigit(c)) return number();
    if (c == '"') return string();
    if (c == '*' || isAlpha(c)) return token();
    if (c == ':') return byteSequence();
    if (c == '?') return boolean();
    return err(std::string("unexpected character '") + (std::isprint(std::uint8_t(c)) ? c : '?') +
               "'");
  }

  core::Result<BareItem> number() {
    bool negative = false;
    if (s_.front() == '-') {
      negative = true;
      s_.remove_prefix(1);
    }
    if (s_.empty() || !isDigit(s_.front())) return err("expected a digit");
    std::string digits;
    bool decimal = false;
    std::size_t int_digits = 0;
    while (!s_.empty()) {
      const char c = s_.front();
      if (isDigit(c)) {
        digits += c;
      } else if (c == '.' && !decimal) {
        if (digits.size() > 12) return err("decimal has more than 12 integer digits");
        decimal = true;
        int_digits = digits.size();
        digits += c;
      } else {
        break;
      }
      s_.remove_prefix(1);
      if (!decimal && digits.size() > 15) return err("integer has more than 15 digits");
      if (decimal && digits.size() > 16) return err("decimal is too long");
    }
    if (!decimal) {
      std::int64_t v = 0;
      for (char d : digits)
        v = v * 10 + (d - '0');
      return BareItem{negative ? -v : v};
    }
    const std::size_t frac = digits.size() - int_digits - 1;
    if (frac == 0) return err("decimal ends with '.'");
    if (frac > 3) return err("decimal has more than 3 fractional digits");
    return BareItem{Decimal{(negative ? "-" : "") + digits}};
  }

  core::Result<BareItem> string() {
    s_.remove_prefix(1);
    std::string out;
    while (!s_.empty()) {
      const char c = s_.front();
      s_.remove_prefix(1);
      if (c == '\\') {
        if (s_.empty() || (s_.front() != '"' && s_.front() != '\\')) {
          return err("bad escape in string");
        }
        out += s_.front();
        s_.remove_prefix(1);
      } else if (c == '"') {
        return BareItem{std::move(out)};
      } else if (std::uint8_t(c) < 0x20 || std::uint8_t(c) > 0x7e) {
        return err("control or non-ASCII character in string");
      } else {
        out += c;
      }
    }
    return err("string is not closed");
  }

  core::Result<BareItem> token() {
    std::string out;
    while (!s_.empty() && (isTchar(s_.front()) || s_.front() == ':' || s_.front() == '/')) {
      out += s_.front();
      s_.remove_prefix(1);
    }
    return BareItem{Token{std::move(out)}};
  }

  core::Result<BareItem> byteSequence() {
    s_.remove_prefix(1);
    const auto end = s_.find(':');
    if (end == std::string_view::npos) return err("byte sequence is not closed");
    auto bytes = base64Decode(s_.substr(0, end));
    if (!bytes) return err("byte sequence: " + bytes.error().message);
    s_.remove_prefix(end + 1);
    return BareItem{ByteSequence{std::move(*bytes)}};
  }

  core::Result<BareItem> boolean() {
    s_.remove_prefix(1);
    if (!s_.empty() && (s_.front() == '0' || s_.front() == '1')) {
      const bool v = s_.front() == '1';
      s_.remove_prefix(1);
      return BareItem{v};
    }
    return err("expected ?0 or ?1");
  }

 public:
  void markTotal() { total_ = s_.size(); }

 private:
  std::string_view s_;
  const Limits& limits_;
  std::size_t total_ = 0;
};

core::Result<std::string> serializeKey(std::string_view key) {
  if (!validKey(key)) return fail("structured field: invalid key \"" + std::string(key) + "\"");
  return std::string(key);
}

core::Result<std::string> serializeBare(const BareItem& item) {
  if (const auto* i = std::get_if<std::int64_t>(&item)) {
    if (*i > 999'999'999'999'999 || *i < -999'999'999'999'999) {
      return fail("structured field: integer out of range");
    }
    return std::to_string(*i);
  }
  if (const auto* d = std::get_if<Decimal>(&item)) return d->text;
  if (const auto* s = std::get_if<std::string>(&item)) {
    std::string out = "\"";
    for (char c : *s) {
      if (std::uint8_t(c) < 0x20 || std::uint8_t(c) > 0x7e) {
        return fail("structured field: string holds a control or non-ASCII character");
      }
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  if (const auto* t = std::get_if<Token>(&item)) {
    if (t->value.empty() || !(isAlpha(t->value[0]) || t->value[0] == '*')) {
      return fail("structured field: invalid token");
    }
    for (char c : t->value) {
      if (!(isTchar(c) || c == ':' || c == '/')) return fail("structured field: invalid token");
    }
    return t->value;
  }
  if (const auto* b = std::get_if<ByteSequence>(&item)) return ":" + base64Encode(b->bytes) + ":";
  return std::string(std::get<bool>(item) ? "?1" : "?0");
}

core::Result<std::string> serializeMemberValue(const Member& m) {
  if (const auto* it = std::get_if<Item>(&m)) return serialize(*it);
  return serialize(std::get<InnerList>(m));
}

}  // namespace

bool validKey(std::string_view key) {
  if (key.empty() || !(isLcAlpha(key[0]) || key[0] == '*')) return false;
  for (char c : key) {
    if (!(isLcAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*')) return false;
  }
  return true;
}

core::Result<Dictionary> parseDictionary(std::string_view text, const Limits& limits) {
  Parser p(text, limits);
  if (auto r = p.start(); !r) return r.error();
  p.markTotal();
  auto d = p.dictionary();
  if (!d) return d.error();
  if (auto r = p.finish(); !r) return r.error();
  return d;
}

core::Result<List> parseList(std::string_view text, const Limits& limits) {
  Parser p(text, limits);
  if (auto r = p.start(); !r) return r.error();
  p.markTotal();
  auto l = p.list();
  if (!l) return l.error();
  if (auto r = p.finish(); !r) return r.error();
  return l;
}

core::Result<Item> parseItem(std::string_view text, const Limits& limits) {
  Parser p(text, limits);
  if (auto r = p.start(); !r) return r.error();
  p.markTotal();
  auto i = p.item();
  if (!i) return i.error();
  if (auto r = p.finish(); !r) return r.error();
  return i;
}

core::Result<std::string> serializeParams(const Parameters& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    auto k = serializeKey(key);
    if (!k) return k.error();
    out += ";" + *k;
    if (const auto* b = std::get_if<bool>(&value); b && *b) continue;
    auto v = serializeBare(value);
    if (!v) return v.error();
    out += "=" + *v;
  }
  return out;
}

core::Result<std::string> serialize(const Item& item) {
  auto bare = serializeBare(item.value);
  if (!bare) return bare.error();
  auto params = serializeParams(item.params);
  if (!params) return params.error();
  return *bare + *params;
}

core::Result<std::string> serialize(const InnerList& list) {
  std::string out = "(";
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    auto s = serialize(list.items[i]);
    if (!s) return s.error();
    if (i) out += ' ';
    out += *s;
  }
  auto params = serializeParams(list.params);
  if (!params) return params.error();
  return out + ")" + *params;
}

core::Result<std::string> serialize(const Dictionary& dict) {
  std::string out;
  for (const auto& [key, member] : dict) {
    auto k = serializeKey(key);
    if (!k) return k.error();
    if (!out.empty()) out += ", ";
    out += *k;
    const auto* item = std::get_if<Item>(&member);
    if (item && std::holds_alternative<bool>(item->value) && std::get<bool>(item->value)) {
      auto params = serializeParams(item->params);
      if (!params) return params.error();
      out += *params;
      continue;
    }
    auto v = serializeMemberValue(member);
    if (!v) return v.error();
    out += "=" + *v;
  }
  return out;
}

core::Result<std::string> serialize(const List& list) {
  std::string out;
  for (const auto& member : list) {
    auto v = serializeMemberValue(member);
    if (!v) return v.error();
    if (!out.empty()) out += ", ";
    out += *v;
  }
  return out;
}

const BareItem* findParam(const Parameters& params, std::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Member* findMember(const Dictionary& dict, std::string_view key) {
  for (const auto& [k, v] : dict) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace steward::negotiation::sf
