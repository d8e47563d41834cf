// stewardd: parse flags, build the Hub, run it.
#include <cstring>
#include <iostream>
#include <string>

#include "app/config.hpp"
#include "app/hub.hpp"
#include "core/log.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/steward/stewardd.toml";

void usage(std::ostream& out) {
  out << "usage: stewardd [--config FILE] [--check-config] [--log-level LEVEL] [--version]\n"
         "  --config FILE      daemon settings (default "
      << kDefaultConfig
      << ")\n"
         "  --check-config     validate the settings, print errors as file:line:col, exit 1 on "
         "error\n"
         "  --log-level LEVEL  error|warning|notice|info|debug (overrides the file)\n"
         "  --version          print the version\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace steward;
  std::string config_path = kDefaultConfig;
  bool explicit_config = false;
  bool check_only = false;
  std::string level_override;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
      explicit_config = true;
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--log-level" && i + 1 < argc) {
      level_override = argv[++i];
    } else if (arg == "--version") {
      std::cout << "stewardd " << STEWARD_VERSION << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    } else {
      std::cerr << "stewardd: unknown argument: " << arg << "\n";
      usage(std::cerr);
      return 2;
    }
  }

  // The default file may be absent (defaults apply); a file named on the command line may not.
  auto load = app::loadDaemonConfig(config_path, !explicit_config);
  for (const auto& e : load.errors)
    std::cerr << e.format() << "\n";
  if (!load.errors.empty()) return 1;
  if (check_only) return 0;

  app::applySystemdDirectories(load.config);
  if (!level_override.empty()) {
    auto level = core::parseLogLevel(level_override);
    if (!level) {
      std::cerr << "stewardd: unknown log level: " << level_override << "\n";
      return 2;
    }
    load.config.log_level = *level;
  }

  core::Logger log(load.config.log_level);
  try {
    const core::SystemClock clock;
    app::Hub hub(std::move(load.config), config_path, log, clock);
    return hub.run();
  } catch (const std::exception& e) {
    log.error("hub.start_failed", {{"error", e.what()}});
    return 1;
  }
}
