// Money as integer minor units with an ISO 4217 currency; never floating point.
// Written and read in the form homeowners type: "60.00 EUR".
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace steward::core {

struct Currency {
  char code[4] = {0, 0, 0, 0};  // upper-case ISO 4217 alphabetic code, NUL-terminated
  int exponent = 2;             // digits after the decimal point (EUR 2, JPY 0, KWD 3)

  std::string_view view() const { return {code, 3}; }
  friend bool operator==(const Currency& a, const Currency& b) { return a.view() == b.view(); }
};

// Looks a code up in the built-in ISO 4217 table; nullopt for codes it does not know.
std::optional<Currency> currencyFromCode(std::string_view code);

struct Money {
  std::int64_t minor = 0;  // minor units: cents for EUR
  Currency currency;

  friend bool operator==(const Money& a, const Money& b) {
    return a.minor == b.minor && a.currency == b.currency;
  }
};

// Parses "60.00 EUR", "60 EUR", "0.5 EUR" (at most the currency's number of decimals).
// The error says what was expected and what was found.
Result<Money> parseMoney(std::string_view text);

// "60.00 EUR"; negative amounts get a leading '-'.
std::string formatMoney(const Money& m);

// Checked arithmetic for amounts of one currency: nullopt on overflow or mismatch.
std::optional<Money> add(const Money& a, const Money& b);

}  // namespace steward::core
