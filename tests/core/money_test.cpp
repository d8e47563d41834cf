// Money parsing and formatting: integer minor units, ISO 4217 exponents, clear errors.
#include "core/money.hpp"

#include <gtest/gtest.h>

namespace steward::core {
namespace {

TEST(Money, ParsesAmountsInMinorUnits) {
  struct Case {
    const char* text;
    std::int64_t minor;
    const char* code;
  } cases[] = {{"60.00 EUR", 6000, "EUR"}, {"60 EUR", 6000, "EUR"},    {"0.5 EUR", 50, "EUR"},
               {"1200 JPY", 1200, "JPY"},  {"1.234 KWD", 1234, "KWD"}, {"0.01 USD", 1, "USD"}};
  for (const auto& c : cases) {
    auto m = parseMoney(c.text);
    ASSERT_TRUE(m.ok()) << c.text << ": " << m.error().message;
    EXPECT_EQ(m->minor, c.minor) << c.text;
    EXPECT_EQ(m->currency.view(), c.code) << c.text;
  }
}

TEST(Money, RejectsWhatIsNotAnAmount) {
  for (const char* bad : {"60", "60.00", "EUR 60", "60,00 EUR", "60.001 EUR", "1.5 JPY", "-5 EUR",
                          "60.00 XXX", "60. EUR", ".5 EUR", "99999999999999999999 EUR"}) {
    auto m = parseMoney(bad);
    EXPECT_FALSE(m.ok()) << bad;
  }
  EXPECT_EQ(parseMoney("60").error().message, "expected an amount like \"60.00 EUR\", got \"60\"");
}

TEST(Money, FormatsRoundTrip) {
  for (const char* text : {"60.00 EUR", "0.05 EUR", "1200 JPY", "1.234 KWD"}) {
    EXPECT_EQ(formatMoney(*parseMoney(text)), text);
  }
  EXPECT_EQ(formatMoney(Money{-150, *currencyFromCode("EUR")}), "-1.50 EUR");
}

TEST(Money, AddChecksCurrencyAndOverflow) {
  auto eur = *currencyFromCode("EUR");
  auto usd = *currencyFromCode("USD");
  EXPECT_EQ(add(Money{100, eur}, Money{250, eur})->minor, 350);
  EXPECT_FALSE(add(Money{100, eur}, Money{250, usd}));
  EXPECT_FALSE(add(Money{INT64_MAX, eur}, Money{1, eur}));
}

}  // namespace
}  // namespace steward::core
