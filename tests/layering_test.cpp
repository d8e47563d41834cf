// The layering of daemon/, checked on the sources: core/ includes only core/; each module includes
// only core/, itself and the modules before it in daemon/CMakeLists.txt's order; only app/ (the
// composition root) names the concrete, technology-named implementations of other modules.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kDaemon = fs::path(STEWARD_SOURCE_DIR) / "daemon";

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The module order as daemon/CMakeLists.txt states it: `foreach(module core ledger ...)`.
std::vector<std::string> moduleOrder() {
  const std::string cmake = readFile(kDaemon / "CMakeLists.txt");
  std::smatch m;
  const std::regex line(R"(foreach\(module ([a-z_ ]+)\))");
  if (!std::regex_search(cmake, m, line)) return {};
  std::vector<std::string> order;
  std::istringstream words(m[1].str());
  for (std::string w; words >> w;)
    order.push_back(w);
  return order;
}

struct Include {
  fs::path file;
  int line;
  std::string target;  // "ledger/sqlite_ledger.hpp"
};

std::vector<Include> includesOf(const std::string& folder) {
  std::vector<Include> out;
  const fs::path dir = kDaemon / folder;
  if (!fs::exists(dir)) return out;
  const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (ext != ".hpp" && ext != ".cpp" && ext != ".h") continue;
    std::ifstream in(entry.path());
    int n = 0;
    for (std::string text; std::getline(in, text);) {
      ++n;
      std::smatch m;
      if (std::regex_search(text, m, include)) out.push_back({entry.path(), n, m[1].str()});
    }
  }
  return out;
}

std::string folderOf(const std::string& include_target) {
  const auto slash = include_target.find('/');
  return slash == std::string::npos ? "" : include_target.substr(0, slash);
}

std::string where(const Include& inc) {
  return fs::relative(inc.file, kDaemon.parent_path()).string() + ":" + std::to_string(inc.line) +
         ": includes \"" + inc.target + "\"";
}

// Implementations named by technology (STYLE.md: `SqliteLedger`, `MosquittoClient`,
// `AvahiBrowser`, ...): other modules use the role-named interfaces instead.
bool isConcreteHeader(const std::string& include_target) {
  static const std::regex concrete(
      R"(^[a-z_]+/(sqlite_[a-z_]*|mosquitto_[a-z_]*|avahi_[a-z_]*|dbus_[a-z_]*|https_[a-z_]*)\.hpp$)");
  return std::regex_match(include_target, concrete);
}

TEST(Layering, ModuleOrderIsStated) {
  const auto order = moduleOrder();
  ASSERT_FALSE(order.empty()) << "daemon/CMakeLists.txt lost its foreach(module ...) line";
  EXPECT_EQ(order.front(), "core");
}

TEST(Layering, EachModuleIncludesOnlyCoreItselfAndModulesBelowIt) {
  const auto order = moduleOrder();
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::set<std::string> allowed(order.begin(), order.begin() + static_cast<long>(i) + 1);
    allowed.insert("core");
    for (const auto& inc : includesOf(order[i])) {
      const std::string folder = folderOf(inc.target);
      if (folder.empty()) continue;  // a file beside this one, or a generated/system header
      if (folder == "bus" && inc.target.starts_with("bus/generated/")) continue;
      if (!allowed.contains(folder))
        problems.push_back(where(inc) + " (" + order[i] + " may use only " + [&] {
          std::string s;
          for (const auto& a : allowed)
            s += (s.empty() ? "" : ", ") + a;
          return s;
        }() + ")");
    }
  }
  for (const auto& p : problems)
    ADD_FAILURE() << p;
}

TEST(Layering, NoModuleIncludesTheCompositionRoot) {
  for (const auto& module : moduleOrder())
    for (const auto& inc : includesOf(module))
      EXPECT_NE(folderOf(inc.target), "app") << where(inc);
}

TEST(Layering, OnlyTheCompositionRootNamesOtherModulesConcreteTypes) {
  std::vector<std::string> folders = moduleOrder();
  folders.push_back("stewardctl");
  for (const auto& module : folders) {
    for (const auto& inc : includesOf(module)) {
      const std::string folder = folderOf(inc.target);
      if (folder == module || !isConcreteHeader(inc.target)) continue;
      ADD_FAILURE() << where(inc) << " (only app/ wires concrete implementations)";
    }
  }
}

// The check itself must be able to fail: it sees the includes that are there.
TEST(Layering, SeesTheCompositionRootsIncludes) {
  const auto includes = includesOf("app");
  const bool names_sqlite = std::any_of(includes.begin(), includes.end(), [](const Include& i) {
    return i.target == "ledger/sqlite_ledger.hpp";
  });
  EXPECT_TRUE(names_sqlite);
  EXPECT_TRUE(isConcreteHeader("ledger/sqlite_ledger.hpp"));
  EXPECT_FALSE(isConcreteHeader("ledger/ledger.hpp"));
}

}  // namespace
