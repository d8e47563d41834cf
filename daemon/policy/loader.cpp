// See loader.hpp. Files are read whole with a size cap; nothing is cached between loads, so a
// reload always sees what is on disk now.
#include "policy/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace steward::policy {
namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxFileBytes = 1 << 20;
constexpr std::size_t kMaxDropIns = 256;

core::Result<std::string> readSmallFile(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found)
    return core::fail("cannot read file: No such file or directory");
  if (ec) return core::fail("cannot read file: " + ec.message());
  if (!fs::is_regular_file(status)) return core::fail("not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) return core::fail("cannot read file: " + ec.message());
  if (size > kMaxFileBytes) return core::fail("file is larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::fail(std::string("cannot read file: ") + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return core::fail("cannot read file");
  if (text.size() > kMaxFileBytes) return core::fail("file is larger than 1 MiB");
  return text;
}

void addFile(const std::string& path, std::vector<PolicySource>& out, core::Diagnostics& errors) {
  auto text = readSmallFile(path);
  if (!text) {
    errors.push_back(core::Diagnostic{path, 0, 0, "", text.error().message});
    return;
  }
  out.push_back(PolicySource{path, std::move(*text)});
}

}  // namespace

std::vector<PolicySource> readPolicySources(std::span<const std::string> paths,
                                            core::Diagnostics& errors) {
  std::vector<PolicySource> out;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      addFile(path, out, errors);
      continue;
    }
    const std::string dir = path.ends_with('/') ? path.substr(0, path.size() - 1) : path;
    const std::string main = dir + "/policy.toml";
    if (!fs::exists(main, ec)) {
      errors.push_back(
          core::Diagnostic{main, 0, 0, "", "missing: a policy directory needs policy.toml"});
    } else {
      addFile(main, out, errors);
    }
    const std::string dropins = dir + "/policy.d";
    if (!fs::is_directory(dropins, ec)) continue;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dropins, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with('.') || !name.ends_with(".toml")) continue;
      names.push_back(name);
    }
    if (ec) {
      errors.push_back(
          core::Diagnostic{dropins, 0, 0, "", "cannot list directory: " + ec.message()});
      continue;
    }
    std::sort(names.begin(), names.end());
    if (names.size() > kMaxDropIns) {
      errors.push_back(core::Diagnostic{dropins, 0, 0, "",
                                        "more than " + std::to_string(kMaxDropIns) + " drop-ins"});
      continue;
    }
    for (const auto& name : names)
      addFile(dropins + "/" + name, out, errors);
  }
  return out;
}

PolicyLoad loadPolicy(std::span<const std::string> paths) {
  PolicyLoad load;
  auto sources = readPolicySources(paths, load.errors);
  if (!load.errors.empty()) return load;
  return parsePolicy(sources, systemZoneLookup());
}

ZoneLookup systemZoneLookup() {
  return [](std::string_view name) { return TimeZone::locate(name); };
}

}  // namespace steward::policy
