// What a printer says about itself over IPP (Get-Printer-Attributes), reduced to what Steward
// needs: its supplies (printer-supply, RFC 3805 / PWG 5100.13, or CUPS's marker-* attributes)
// and its state reasons. Parsed from `ipptool -t` output, which is untrusted text.
#pragma once

#include <sys/socket.h>

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

// An ipp:// or ipps:// URI taken apart: "ipp://[fe80::1%eth0]:631/ipp/print".
struct IppUri {
  std::string scheme;  // "ipp" or "ipps"
  std::string host;    // without brackets
  std::string port;    // "" when absent (631)
  std::string path;    // "/ipp/print"
  // The same URI with `address` (an IP literal) instead of the host name.
  std::string withHost(const std::string& address) const;
};
// nullopt with `error` for anything but ipp(s)://host[:port]/path from a safe character set.
std::optional<IppUri> parseIppUri(std::string_view uri, std::string& error);

// True for addresses on the local network: loopback, RFC 1918 private ranges, link-local
// (169.254/16, fe80::/10), IPv6 unique local (fc00::/7), and IPv4-mapped forms of those.
bool isLocalAddress(const ::sockaddr* address);

// The Get-Printer-Attributes test file handed to ipptool.
std::string ipptoolTestFile();

}  // namespace steward::printer
