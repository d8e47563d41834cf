// Shared by the policy tests: parsing policy text with the system's tz database, and times.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "policy/loader.hpp"
#include "policy/parse.hpp"

namespace steward::policy::test {

// The five lines every test policy starts with; a case's own text begins on line 6.
inline const std::string kHead = R"([household]
name = "Test home"
currency = "EUR"
time_zone = "Europe/Berlin"
region = "DE"
)";

inline PolicyLoad parseTexts(std::vector<PolicySource> sources) {
  return parsePolicy(sources, systemZoneLookup());
}

inline PolicyLoad parseText(const std::string& text, const std::string& name = "policy.toml") {
  return parseTexts({PolicySource{name, text}});
}

inline std::vector<std::string> formatted(const core::Diagnostics& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors)
    out.push_back(e.format());
  return out;
}

inline core::TimePoint utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
  using namespace std::chrono;
  return core::TimePoint{duration_cast<milliseconds>(
      (sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi}).time_since_epoch())};
}

inline core::Money eur(std::int64_t cents) {
  return core::Money{cents, *core::currencyFromCode("EUR")};
}

inline std::string sourcePath(const std::string& relative) {
  return std::string(STEWARD_SOURCE_DIR) + "/" + relative;
}

}  // namespace steward::policy::test
