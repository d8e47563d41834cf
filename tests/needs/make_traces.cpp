// Writes the recorded level traces under tests/needs/traces/ (CSV), deterministically: the same
// program always writes the same files. Usage: needs_make_traces <directory>
#include <cstdio>

#include "needs/trace_gen.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  for (const auto& t : steward::needs::test::generateTraces()) {
    if (!steward::needs::test::writeTrace(argv[1], t)) return 1;
    std::printf("%s: %zu readings\n", t.name.c_str(), t.rows.size());
  }
  return 0;
}
