// See operations.hpp: the table between error codes and their D-Bus error names.
#include "bus/operations.hpp"

#include <array>

#include "bus/names.hpp"

namespace steward::bus {
namespace {

struct NamedCode {
  core::ErrorCode code;
  std::string_view name;
};

// "Failed" stays last: it is the answer for codes without a name of their own.
constexpr std::array<NamedCode, 7> kNames{{
    {core::ErrorCode::invalidInput, "org.stewardhub.Steward1.Error.InvalidArgument"},
    {core::ErrorCode::notFound, "org.stewardhub.Steward1.Error.NotFound"},
    {core::ErrorCode::conflict, "org.stewardhub.Steward1.Error.Conflict"},
    {core::ErrorCode::unavailable, "org.stewardhub.Steward1.Error.Unavailable"},
    {core::ErrorCode::denied, "org.stewardhub.Steward1.Error.AccessDenied"},
    {core::ErrorCode::timeout, "org.stewardhub.Steward1.Error.Timeout"},
    {core::ErrorCode::internal, "org.stewardhub.Steward1.Error.Failed"},
}};

}  // namespace

std::string_view errorName(core::ErrorCode code) {
  for (const auto& n : kNames)
    if (n.code == code) return n.name;
  return kNames.back().name;
}

std::optional<core::ErrorCode> errorCodeFromName(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.code;
  return std::nullopt;
}

std::optional<ExportFormat> parseExportFormat(std::string_view name) {
  if (name == "jsonl") return ExportFormat::jsonl;
  if (name == "csv") return ExportFormat::csv;
  return std::nullopt;
}

std::string_view modeName(Mode mode) {
  return mode == Mode::paused ? "paused" : "running";
}

}  // namespace steward::bus
