// See render.hpp.
#include "stewardctl/render.hpp"

#include "stewardctl/fit.hpp"

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace steward::stewardctl {

namespace json = boost::json;

namespace {

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
    case json::kind::double_:
      return plainNumber(v.get_double());
    default:
      return json::serialize(v);
  }
}

}  // namespace

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
