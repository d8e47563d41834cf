// Generates the level traces the forecast is evaluated on (steady, bursty, refills, noise,
// silent, sparse, battery): simulated true levels and the readings a device would publish, from a
// fixed-seed generator, so the checked-in CSV files can be regenerated and checked.
#pragma once

#include <string>
#include <vector>

namespace steward::needs::test {

struct GeneratedRow {
  int hour;
  double level;
  double true_level;
  double true_runout_hours;  // where this row's refill cycle truly runs out
};

struct GeneratedTrace {
  std::string name;
  std::string description;
  int level_decimals = 0;
  std::vector<GeneratedRow> rows;
};

std::vector<GeneratedTrace> generateTraces();

// Writes <dir>/<name>.csv; false (with a message on stderr) when it cannot.
bool writeTrace(const std::string& dir, const GeneratedTrace& trace);

}  // namespace steward::needs::test
