// DSMR P1 telegrams (Dutch/Belgian smart meters): framing, CRC-16/ARC check and the readings a
// household needs, parsed from untrusted bytes with a clear error for anything malformed.
// Versions: DSMR 2.2 and 3.0 (no CRC; gas as a 0-n:24.3.0 profile record whose value is on the
// next line), DSMR 4.x and 5.0 (CRC; gas as 0-n:24.2.1), and the Belgian e-MUCS variant (Fluvius;
// 0-0:96.1.4 version, gas as 0-n:24.2.3). M-Bus channels are told apart by their device type
// (0-n:24.1.0: 3 gas, 7 water).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace steward::dsmr {

struct Reading {
  double value = 0;
  std::string unit;  // "kWh", "kW", "m3", "" for counts
};

struct Telegram {
  std::string header;        // "KFM5KAIFA-METER" (after the leading '/')
  std::string version;       // "42", "50" (1-3:0.2.8), "" for DSMR 2.2/3.0
  std::string timestamp;     // "161113205757W" (0-0:1.0.0)
  std::string equipment_id;  // 0-0:96.1.1, hex as sent
  std::optional<Reading> import_tariff1, import_tariff2;  // 1-0:1.8.1 / 1.8.2
  std::optional<Reading> export_tariff1, export_tariff2;  // 1-0:2.8.1 / 2.8.2
  std::optional<Reading> power_delivered;                 // 1-0:1.7.0 (kW)
  std::optional<Reading> power_returned;                  // 1-0:2.7.0 (kW)
  std::optional<long> power_failures;                     // 0-0:96.7.21
  std::optional<long> long_power_failures;                // 0-0:96.7.9
  std::optional<Reading> gas;                             // 0-n:24.2.1 (m3, last reading)
  std::string gas_timestamp;
  std::optional<Reading> water;  // an M-Bus channel of device type 7 (m3)
  std::string water_timestamp;
  bool belgian = false;      // the version came from 0-0:96.1.4 (e-MUCS)
  bool crc_checked = false;  // false for versions without a CRC (2.2, 3.0)

  // "DSMR 2.2/3.0", "DSMR 4.2", "DSMR 5.0", "e-MUCS 1.7.1 (Belgium)": for people.
  std::string variant() const;
  // Total imported/exported electricity over both tariffs, when the meter reports them.
  std::optional<double> importKwh() const;
  std::optional<double> exportKwh() const;
};

// CRC-16/ARC (poly 0xA001 reflected, init 0, no final xor), as DSMR 4+ uses over '/'..'!'.
std::uint16_t crc16Arc(std::string_view data);

struct ParseResult {
  std::optional<Telegram> telegram;
  std::string error;  // set when telegram is empty: what is wrong and where
};

// Parses one complete telegram: from '/' to '!' and its CRC (4 hex digits; absent in old
// versions). Fails on a CRC mismatch, a missing end, malformed OBIS lines or absurd values.
ParseResult parseTelegram(std::string_view text);

// Splits a byte stream into telegrams, keeping an incomplete tail for the next call. Bytes outside
// telegrams (noise, comments) are skipped. A tail over 16 KiB without an end is dropped.
class Framer {
 public:
  std::vector<std::string> feed(std::string_view bytes);

 private:
  std::string buffer_;
};

}  // namespace steward::dsmr
