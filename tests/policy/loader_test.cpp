// Loading from disk (policy.toml + policy.d/*.toml in name order) and reloading: a reload with a
// broken file keeps the policy in force and logs the errors.
#include "policy/loader.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "policy/keeper.hpp"
#include "policy_fixture.hpp"
#include "support/temp_dir.hpp"

namespace steward::policy {
namespace {

using test::formatted;
using test::kHead;

std::string readAll(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  return out;
}

TEST(PolicyLoader, DirectoryWithDropInsInNameOrder) {
  steward::test::TempDir dir;
  dir.write("policy.toml", kHead + "[purchasing]\nmode = \"auto\"\n");
  std::filesystem::create_directory(dir.file("policy.d"));
  // Written out of order; merged by name: 10 before 20, so 20 wins.
  dir.write("policy.d/20-late.toml", "[purchasing]\nmode = \"paused\"\n");
  dir.write("policy.d/10-early.toml", "[purchasing]\nmode = \"approve-all\"\n");
  dir.write("policy.d/notes.txt", "not a drop-in");
  dir.write("policy.d/.hidden.toml", "this = is not parsed");
  const std::string path = dir.path();
  auto load = loadPolicy(std::span(&path, 1));
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  EXPECT_EQ(load.policy->purchasing.mode, PurchasingMode::paused);
  EXPECT_EQ(load.policy->sources,
            (std::vector<std::string>{dir.file("policy.toml"), dir.file("policy.d/10-early.toml"),
                                      dir.file("policy.d/20-late.toml")}));
}

TEST(PolicyLoader, FileErrorsNameTheFile) {
  steward::test::TempDir dir;
  std::vector<std::string> paths = {dir.file("missing.toml")};
  EXPECT_EQ(formatted(loadPolicy(paths).errors),
            std::vector<std::string>{dir.file("missing.toml") +
                                     ": cannot read file: No such file or directory"});
  paths = {dir.path()};
  EXPECT_EQ(formatted(loadPolicy(paths).errors),
            std::vector<std::string>{dir.file("policy.toml") +
                                     ": missing: a policy directory needs policy.toml"});
  dir.write("big.toml", std::string((1 << 20) + 1, '#'));
  paths = {dir.file("big.toml")};
  EXPECT_EQ(formatted(loadPolicy(paths).errors),
            std::vector<std::string>{dir.file("big.toml") + ": file is larger than 1 MiB"});
  // Positions in a drop-in carry its full path.
  dir.write("policy.toml", kHead);
  std::filesystem::create_directory(dir.file("policy.d"));
  dir.write("policy.d/50-x.toml", "[budgets.consumables]\nmonthly = \"60\"\n");
  paths = {dir.path()};
  EXPECT_EQ(formatted(loadPolicy(paths).errors),
            std::vector<std::string>{
                dir.file("policy.d/50-x.toml") +
                ":2:11: budgets.consumables.monthly: expected an amount like \"60.00 EUR\", got "
                "\"60\""});
}

TEST(PolicyKeeper, ReloadWithABrokenFileKeepsTheOldPolicy) {
  steward::test::TempDir dir;
  dir.write("policy.toml", kHead + "[budgets.consumables]\nmonthly = \"60.00 EUR\"\n");
  std::FILE* logFile = std::tmpfile();
  ASSERT_NE(logFile, nullptr);
  core::Logger log(core::LogLevel::info, logFile);
  PolicyKeeper keeper(PolicyKeeper::fromPaths({dir.path()}), log);
  int replaced = 0;
  keeper.onReplaced([&](const std::shared_ptr<const Policy>&) { ++replaced; });

  ASSERT_TRUE(keeper.start().empty());
  ASSERT_TRUE(keeper.current());
  const auto first = keeper.current();
  EXPECT_EQ(first->budget("consumables")->monthly, test::eur(6000));
  EXPECT_EQ(replaced, 1);

  // Broken: the policy in force stays, the errors are logged with their positions.
  dir.write("policy.toml", kHead + "[budgets.consumables]\nmonthly = \"60\"\nmontly = 1\n");
  EXPECT_EQ(keeper.reload(), PolicyKeeper::ReloadOutcome::failed);
  EXPECT_EQ(keeper.current(), first);
  EXPECT_EQ(keeper.current()->budget("consumables")->monthly, test::eur(6000));
  EXPECT_EQ(replaced, 1);
  const std::string logged = readAll(logFile);
  EXPECT_NE(logged.find("policy.toml:7:11: budgets.consumables.monthly: expected an amount"),
            std::string::npos)
      << logged;
  EXPECT_NE(logged.find("policy.toml:8:1: budgets.consumables.montly: unknown key"),
            std::string::npos)
      << logged;
  EXPECT_NE(logged.find("kept_revision=" + first->revision), std::string::npos) << logged;

  // Only comments changed: same revision, nothing to do.
  dir.write("policy.toml",
            "# tidied up\n" + kHead + "[budgets.consumables]\nmonthly = \"60.00 EUR\" # cap\n");
  EXPECT_EQ(keeper.reload(), PolicyKeeper::ReloadOutcome::unchanged);
  EXPECT_EQ(keeper.current(), first);

  // Fixed with a new value: swapped in, listeners told.
  dir.write("policy.toml", kHead + "[budgets.consumables]\nmonthly = \"75.00 EUR\"\n");
  EXPECT_EQ(keeper.reload(), PolicyKeeper::ReloadOutcome::replaced);
  EXPECT_NE(keeper.current()->revision, first->revision);
  EXPECT_EQ(keeper.current()->budget("consumables")->monthly, test::eur(7500));
  EXPECT_EQ(replaced, 2);
  // Whoever still holds the old policy keeps an intact value.
  EXPECT_EQ(first->budget("consumables")->monthly, test::eur(6000));
  std::fclose(logFile);
}

TEST(PolicyKeeper, RefusesToStartOnAnInvalidPolicy) {
  steward::test::TempDir dir;
  dir.write("policy.toml", kHead + "[purchasing]\nmode = \"yolo\"\n");
  std::FILE* logFile = std::tmpfile();
  core::Logger log(core::LogLevel::info, logFile);
  PolicyKeeper keeper(PolicyKeeper::fromPaths({dir.path()}), log);
  const auto errors = keeper.start();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 7);
  EXPECT_EQ(keeper.current(), nullptr);
  std::fclose(logFile);
}

// The revision is a hash of the canonical form: the owner compares it across hosts and over time,
// so the same policy files must keep giving the same revision whatever the parser's inner layout.
TEST(PolicyLoader, ShippedPoliciesKeepTheirRevisions) {
  const std::string shipped = test::sourcePath("policy/policy.toml");
  auto load = loadPolicy(std::span(&shipped, 1));
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  EXPECT_EQ(load.policy->revision,
            "fe36783d2c3227aeeeca351e064130d98378a15916c644e1662d05b1a199a5fa");
  const std::string family = test::sourcePath("policy/examples/family-house");
  load = loadPolicy(std::span(&family, 1));
  ASSERT_TRUE(load.errors.empty()) << formatted(load.errors)[0];
  EXPECT_EQ(load.policy->revision,
            "f3ad047350dcca2c0855b77a519fc522c78a4405151b4b41ba98c682b09ac97e");
}

}  // namespace
}  // namespace steward::policy
