// stewardctl: the household owner's tool for Steward (see cli.hpp and `stewardctl --help`).
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "stewardctl/cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  steward::stewardctl::Environment env;
  env.stdout_is_terminal = ::isatty(STDOUT_FILENO) == 1;
  env.no_color = std::getenv("NO_COLOR") != nullptr;
  if (winsize ws{}; env.stdout_is_terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    env.terminal_columns = ws.ws_col;
  const int code = steward::stewardctl::run(args, std::cout, std::cerr, env);
  std::cout.flush();
  return code;
}
