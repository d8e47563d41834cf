// How files people edit describe TOML values in error messages ("expected an integer, got a
// string"), shared by the daemon config and the household policy so both speak alike.
#pragma once

#include <toml++/toml.h>
#include <string>

namespace steward::core {

// "a string", "an integer", "a number", "a boolean", "an array", "a table", "a date or time".
std::string tomlTypeName(const toml::node& n);

}  // namespace steward::core
