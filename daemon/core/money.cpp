// Parsing and formatting of money amounts; see money.hpp.
#include "core/money.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace steward::core {
namespace {

struct CurrencyRow {
  std::string_view code;
  int exponent;
};

// The ISO 4217 currencies a household is likely to use; exponents per the standard.
constexpr std::array<CurrencyRow, 40> kCurrencies{{
    {"AUD", 2}, {"BGN", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2},
    {"CZK", 2}, {"DKK", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2},
    {"INR", 2}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3}, {"MXN", 2}, {"MYR", 2},
    {"NOK", 2}, {"NZD", 2}, {"OMR", 3}, {"PHP", 2}, {"PLN", 2}, {"RON", 2}, {"RSD", 2}, {"SEK", 2},
    {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2}, {"USD", 2}, {"ZAR", 2},
}};

std::int64_t pow10(int n) {
  std::int64_t r = 1;
  while (n-- > 0)
    r *= 10;
  return r;
}

}  // namespace

std::optional<Currency> currencyFromCode(std::string_view code) {
  for (const auto& row : kCurrencies) {
    if (row.code == code) {
      Currency c;
      for (int i = 0; i < 3; ++i)
        c.code[i] = code[static_cast<std::size_t>(i)];
      c.exponent = row.exponent;
      return c;
    }
  }
  return std::nullopt;
}

Result<Money> parseMoney(std::string_view text) {
  const std::string expected =
      "expected an amount like \"60.00 EUR\", got \"" + std::string(text) + "\"";
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return fail(expected);
  std::string_view number = text.substr(0, space);
  std::string_view code = text.substr(space + 1);
  if (code.size() != 3) return fail(expected);
  auto currency = currencyFromCode(code);
  if (!currency) {
    return fail("unknown ISO 4217 currency \"" + std::string(code) + "\" in \"" +
                std::string(text) + "\"");
  }
  std::string_view whole = number;
  std::string_view frac;
  if (const auto dot = number.find('.'); dot != std::string_view::npos) {
    whole = number.substr(0, dot);
    frac = number.substr(dot + 1);
    if (frac.empty()) return fail(expected);
  }
  if (whole.empty()) return fail(expected);
  for (char ch : whole)
    if (ch < '0' || ch > '9') return fail(expected);
  for (char ch : frac)
    if (ch < '0' || ch > '9') return fail(expected);
  if (static_cast<int>(frac.size()) > currency->exponent) {
    return fail(std::string(code) + " has " + std::to_string(currency->exponent) +
                " decimal places, got \"" + std::string(text) + "\"");
  }
  std::int64_t units = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), units);
  if (ec != std::errc{} || p != whole.data() + whole.size())
    return fail("amount too large: \"" + std::string(text) + "\"");
  const std::int64_t scale = pow10(currency->exponent);
  if (units > std::numeric_limits<std::int64_t>::max() / scale / 10) {
    return fail("amount too large: \"" + std::string(text) + "\"");
  }
  std::int64_t fraction = 0;
  for (char ch : frac)
    fraction = fraction * 10 + (ch - '0');
  fraction *= pow10(currency->exponent - static_cast<int>(frac.size()));
  return Money{units * scale + fraction, *currency};
}

std::string formatMoney(const Money& m) {
  const std::int64_t scale = pow10(m.currency.exponent);
  const bool negative = m.minor < 0;
  // Work in unsigned to format INT64_MIN without overflow.
  const std::uint64_t abs =
      negative ? 0 - static_cast<std::uint64_t>(m.minor) : static_cast<std::uint64_t>(m.minor);
  std::string out = negative ? "-" : "";
  out += std::to_string(abs / static_cast<std::uint64_t>(scale));
  if (m.currency.exponent > 0) {
    std::string frac = std::to_string(abs % static_cast<std::uint64_t>(scale));
    out += '.';
    out.append(static_cast<std::size_t>(m.currency.exponent) - frac.size(), '0');
    out += frac;
  }
  out += ' ';
  out += m.currency.view();
  return out;
}

std::optional<Money> add(const Money& a, const Money& b) {
  if (!(a.currency == b.currency)) return std::nullopt;
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a.minor, b.minor, &sum)) return std::nullopt;
  return Money{sum, a.currency};
}

}  // namespace steward::core
