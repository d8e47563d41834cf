// What a printer says about itself over IPP (Get-Printer-Attributes), reduced to what Steward
// needs: its supplies (printer-supply, RFC 3805 / PWG 5100.13, or CUPS's marker-* attributes)
// and its state reasons. Parsed from `ipptool -t` output, which is untrusted text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::printer {

struct Supply {
  std::string key;          // "toner-black", "ink-cyan", "waste-toner": the need key
  std::string description;  // "Black toner"
  double remaining = 0;     // percent of capacity left to use (a waste box: room left)
  double low_threshold = 10;
};

struct Fault {
  std::string key;       // the state reason without its severity suffix: "media-jam"
  std::string severity;  // "critical" (-error), "warning" (-warning), "info" (-report or none)
};

struct PrinterStatus {
  std::string make_and_model;
  std::string uuid;  // "a458b2ed-..." from printer-uuid (urn:uuid:...)
  std::vector<Supply> supplies;
  std::vector<Fault> faults;
};

// Parses `ipptool -t` output: "[PASS]" for the request, then "name (type) = value" lines for the
// displayed attributes. Fails (nullopt, with `error`) when the request did not pass.
std::optional<PrinterStatus> parseIpptoolOutput(std::string_view text, std::string& error);

// One printer-supply value: "index=2;class=supplyThatIsConsumed;type=toner;unit=percent;
// maxcapacity=100;level=75;colorantname=black;". nullopt for values Steward cannot use (unknown
// level, not a consumable).
std::optional<Supply> parsePrinterSupply(std::string_view value);

// The Get-Printer-Attributes test file handed to ipptool.
std::string ipptoolTestFile();

}  // namespace steward::printer
