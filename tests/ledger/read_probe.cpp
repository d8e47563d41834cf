// A stand-in for `stewardctl --db`: opens a ledger read-only, verifies it and prints one line.
// The tests run it as an unprivileged user to prove such a reader can open the daemon's file.
#include <cstdio>

#include "ledger/verify.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ledger_read_probe DB\n");
    return 2;
  }
  auto db = steward::ledger::Database::open(argv[1], steward::ledger::OpenMode::readOnly);
  if (!db) {
    std::printf("error: %s\n", db.error().message.c_str());
    return 1;
  }
  auto report = steward::ledger::verify(*db);
  if (!report) {
    std::printf("error: %s\n", report.error().message.c_str());
    return 1;
  }
  std::printf("records=%lld intact=%d\n", static_cast<long long>(report->records),
              report->intact() ? 1 : 0);
  return report->intact() ? 0 : 1;
}
