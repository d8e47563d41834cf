// See operations.hpp: the table between failure kinds and their D-Bus error names.
#include "bus/operations.hpp"

#include <array>

#include "bus/names.hpp"

namespace steward::bus {
namespace {

struct NamedKind {
  FailureKind kind;
  std::string_view name;
};

constexpr std::array<NamedKind, 6> kNames{{
    {FailureKind::invalidArgument, "org.stewardhub.Steward1.Error.InvalidArgument"},
    {FailureKind::notFound, "org.stewardhub.Steward1.Error.NotFound"},
    {FailureKind::conflict, "org.stewardhub.Steward1.Error.Conflict"},
    {FailureKind::unavailable, "org.stewardhub.Steward1.Error.Unavailable"},
    {FailureKind::accessDenied, "org.stewardhub.Steward1.Error.AccessDenied"},
    {FailureKind::failed, "org.stewardhub.Steward1.Error.Failed"},
}};

}  // namespace

std::string_view errorName(FailureKind kind) {
  for (const auto& n : kNames)
    if (n.kind == kind) return n.name;
  return kNames.back().name;
}

std::optional<FailureKind> failureKindFromName(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.kind;
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
