// See render.hpp.
#include "stewardctl/render.hpp"

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace steward::stewardctl {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxCell = 60;

std::string cell(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "-";
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::bool_:
      return v.get_bool() ? "yes" : "no";
    case json::kind::array: {
      // A list of scalars reads best as "a, b, c".
      std::string joined;
      for (const auto& e : v.get_array()) {
        if (e.is_structured()) return json::serialize(v);
        if (!joined.empty()) joined += ", ";
        joined += cell(e);
      }
      return joined.empty() ? "-" : joined;
    }
    default:
      return json::serialize(v);
  }
}

}  // namespace

void renderTable(const json::value& rows, const ledger::OutputStyle& style, std::ostream& out) {
  const json::array* array = rows.if_array();
  if (!array) {
    out << json::serialize(rows) << '\n';
    return;
  }
  if (array->empty()) {
    out << "(none)\n";
    return;
  }
  std::vector<std::string> keys;
  for (const auto& row : *array)
    if (const auto* o = row.if_object())
      for (const auto& [k, _] : *o)
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.emplace_back(k);

  std::vector<ledger::TextTable::Column> columns;
  for (const auto& k : keys) {
    std::string header;
    for (char c : k)
      header += c == '_' ? ' ' : static_cast<char>(std::toupper(c));
    bool numeric = true;
    for (const auto& row : *array)
      if (const auto* o = row.if_object())
        if (const auto* v = o->if_contains(k); v && !v->is_number() && !v->is_null())
          numeric = false;
    columns.push_back({header, numeric, kMaxCell});
  }
  ledger::TextTable table(columns);
  for (const auto& row : *array) {
    const auto* o = row.if_object();
    std::vector<std::string> cells;
    for (const auto& k : keys) {
      const json::value* v = o ? o->if_contains(k) : nullptr;
      cells.push_back(v ? cell(*v) : "");
    }
    table.add(std::move(cells));
  }
  table.print(out, style);
}

void renderAnswer(std::string_view what, const json::value& answer,
                  const ledger::OutputStyle& style, std::ostream& out) {
  const json::object* o = answer.if_object();
  if (o) {
    if (const auto* m = o->if_contains("message"); m && m->is_string()) {
      out << std::string_view(m->get_string()) << '\n';
      return;
    }
  }
  out << ledger::paint(what, ledger::Colour::green, style) << '\n';
  if (!o) return;
  std::size_t width = 0;
  for (const auto& [k, _] : *o)
    width = std::max(width, k.size());
  for (const auto& [k, v] : *o)
    out << "  " << std::string_view(k) << std::string(width - k.size() + 2, ' ') << cell(v) << '\n';
}

}  // namespace steward::stewardctl
