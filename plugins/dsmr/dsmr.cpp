// See dsmr.hpp. Reference: "P1 Companion Standard" (DSMR 5.0.2), sections 6.2 (telegram format)
// and 6.12 (object list); line syntax `OBIS(value*unit)(value*unit)...`.
#include "dsmr.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>

namespace steward::dsmr {
namespace {

constexpr std::size_t kMaxTelegram = 16 * 1024;

// A telegram starts with '/' at the start of a line (a '/' inside other text is not a start).
std::size_t findStart(std::string_view text, std::size_t from = 0) {
  for (auto p = text.find('/', from); p != std::string_view::npos; p = text.find('/', p + 1))
    if (p == 0 || text[p - 1] == '\n') return p;
  return std::string_view::npos;
}

std::optional<Reading> parseValue(std::string_view field) {
  const auto star = field.find('*');
  const std::string_view number = field.substr(0, star);
  if (number.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc{} || end != number.data() + number.size() || v < 0) return std::nullopt;
  Reading r;
  r.value = v;
  if (star != std::string_view::npos) r.unit = std::string(field.substr(star + 1));
  return r;
}

// The parenthesised fields of one line: "1-0:1.8.1(001581.123*kWh)" -> {"001581.123*kWh"}.
std::optional<std::vector<std::string_view>> fields(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) {
    if (rest.front() != '(') return std::nullopt;
    const auto close = rest.find(')');
    if (close == std::string_view::npos) return std::nullopt;
    out.push_back(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
  }
  return out;
}

}  // namespace

std::optional<double> Telegram::importKwh() const {
  if (!import_tariff1 && !import_tariff2) return std::nullopt;
  return (import_tariff1 ? import_tariff1->value : 0) +
         (import_tariff2 ? import_tariff2->value : 0);
}

std::optional<double> Telegram::exportKwh() const {
  if (!export_tariff1 && !export_tariff2) return std::nullopt;
  return (export_tariff1 ? export_tariff1->value : 0) +
         (export_tariff2 ? export_tariff2->value : 0);
}

std::string Telegram::variant() const {
  if (version.empty()) return "DSMR 2.2/3.0";
  if (belgian) return "e-MUCS (Belgium), version " + version;
  if (version.size() == 2) return std::string("DSMR ") + version[0] + "." + version[1];
  return "DSMR, version " + version;
}

std::uint16_t crc16Arc(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001)
                      : static_cast<std::uint16_t>(crc >> 1);
  }
  return crc;
}

ParseResult parseTelegram(std::string_view text) {
  ParseResult result;
  const auto start = findStart(text);
  if (start == std::string_view::npos) {
    result.error = "no telegram start ('/' at the start of a line)";
    return result;
  }
  text.remove_prefix(start);
  const auto bang = text.find('!');
  if (bang == std::string_view::npos) {
    result.error = "no telegram end ('!')";
    return result;
  }
  if (bang > kMaxTelegram) {
    result.error = "telegram longer than 16 KiB";
    return result;
  }
  Telegram t;
  std::string_view after = text.substr(bang + 1);
  if (after.size() >= 4 && std::isxdigit(static_cast<unsigned char>(after[0]))) {
    unsigned sent = 0;
    const auto [end, ec] = std::from_chars(after.data(), after.data() + 4, sent, 16);
    if (ec != std::errc{} || end != after.data() + 4) {
      result.error = "CRC after '!' is not 4 hex digits";
      return result;
    }
    const std::uint16_t computed = crc16Arc(text.substr(0, bang + 1));
    if (computed != sent) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "CRC mismatch: telegram says %04X, content gives %04X", sent,
                    computed);
      result.error = buf;
      return result;
    }
    t.crc_checked = true;
  }

  const std::string_view body = text.substr(0, bang);
  std::size_t line_no = 0;
  struct Channel {
    int type = 0;
    std::optional<Reading> reading;
    std::string timestamp;
  };
  std::map<char, Channel> channels;
  std::optional<char> profile_channel;  // a 2.2/3.0 gas record waiting for its value line
  std::string profile_timestamp, profile_unit;
  auto mbus = [](std::string_view obis, std::string_view rest) {
    return obis.size() == 10 && obis.substr(0, 2) == "0-" && obis[2] >= '1' && obis[2] <= '4' &&
           obis.substr(3) == rest;
  };
  for (std::size_t pos = 0; pos < body.size();) {
    auto eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no == 1) {
      t.header = std::string(line.substr(1));
      continue;
    }
    const auto paren = line.find('(');
    if (paren == std::string_view::npos) {
      result.error = "line " + std::to_string(line_no) + ": expected OBIS(value)";
      return result;
    }
    const std::string_view obis = line.substr(0, paren);
    const auto f = fields(line.substr(paren));
    if (!f || f->empty()) {
      result.error = "line " + std::to_string(line_no) + ": malformed value list";
      return result;
    }
    auto reading = [&](std::optional<Reading>& out) -> bool {
      out = parseValue((*f)[0]);
      if (!out)
        result.error =
            "line " + std::to_string(line_no) + ": " + std::string(obis) + ": not a number";
      return out.has_value();
    };
    auto count = [&](std::optional<long>& out) -> bool {
      auto r = parseValue((*f)[0]);
      if (!r) {
        result.error =
            "line " + std::to_string(line_no) + ": " + std::string(obis) + ": not a count";
        return false;
      }
      out = static_cast<long>(r->value);
      return true;
    };
    bool ok = true;
    if (obis == "1-3:0.2.8" || obis == "0-0:96.1.4") {
      t.version = std::string((*f)[0].substr(0, 16));
      t.belgian = obis == "0-0:96.1.4";
    } else if (obis == "0-0:1.0.0") {
      t.timestamp = std::string((*f)[0]);
    } else if (obis == "0-0:96.1.1") {
      t.equipment_id = std::string((*f)[0]);
    } else if (obis == "1-0:1.8.1") {
      ok = reading(t.import_tariff1);
    } else if (obis == "1-0:1.8.2") {
      ok = reading(t.import_tariff2);
    } else if (obis == "1-0:2.8.1") {
      ok = reading(t.export_tariff1);
    } else if (obis == "1-0:2.8.2") {
      ok = reading(t.export_tariff2);
    } else if (obis == "1-0:1.7.0") {
      ok = reading(t.power_delivered);
    } else if (obis == "0-0:96.7.21") {
      ok = count(t.power_failures);
    } else if (obis == "0-0:96.7.9") {
      ok = count(t.long_power_failures);
    } else if (obis == "1-0:2.7.0") {
      ok = reading(t.power_returned);
    } else if (mbus(obis, ":24.1.0")) {
      // The device type of an M-Bus channel: 3 gas, 7 water (EN 13757-3).
      auto r = parseValue((*f)[0]);
      if (r) channels[obis[2]].type = static_cast<int>(r->value);
    } else if (mbus(obis, ":24.2.1") || mbus(obis, ":24.2.3")) {
      // DSMR 4/5 (24.2.1) and e-MUCS (24.2.3, not temperature-corrected): (time)(value*unit).
      if (f->size() != 2) {
        result.error = "line " + std::to_string(line_no) + ": " + std::string(obis) +
                       ": expected (time)(value*unit)";
        return result;
      }
      auto r = parseValue((*f)[1]);
      if (!r) {
        result.error =
            "line " + std::to_string(line_no) + ": " + std::string(obis) + ": not a number";
        return result;
      }
      auto& c = channels[obis[2]];
      c.reading = r;
      c.timestamp = std::string((*f)[0]);
    } else if (mbus(obis, ":24.3.0")) {
      // DSMR 2.2/3.0: (time)(00)(60)(1)(0-n:24.2.1)(unit), the value alone on the next line.
      if (f->size() != 6) {
        result.error = "line " + std::to_string(line_no) + ": " + std::string(obis) +
                       ": expected (time)(status)(period)(count)(object)(unit)";
        return result;
      }
      profile_channel = obis[2];
      profile_timestamp = std::string((*f)[0]);
      profile_unit = std::string((*f)[5]);
      continue;
    } else if (obis.empty() && profile_channel) {
      auto r = parseValue((*f)[0]);
      if (!r) {
        result.error = "line " + std::to_string(line_no) + ": the gas value after " +
                       std::string("0-") + *profile_channel + ":24.3.0 is not a number";
        return result;
      }
      r->unit = profile_unit;
      auto& c = channels[*profile_channel];
      c.reading = r;
      c.timestamp = profile_timestamp;
    }
    profile_channel.reset();
    if (!ok) return result;
  }
  for (auto& [channel, c] : channels) {
    if (!c.reading) continue;
    if (c.type == 7 && c.reading->unit == "m3" && !t.water) {
      t.water = c.reading;
      t.water_timestamp = c.timestamp;
    } else if ((c.type == 3 || c.type == 0) && c.reading->unit == "m3" && !t.gas) {
      t.gas = c.reading;
      t.gas_timestamp = c.timestamp;
    }
  }
  if (t.header.empty()) {
    result.error = "empty header line";
    return result;
  }
  result.telegram = std::move(t);
  return result;
}

std::vector<std::string> Framer::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<std::string> out;
  for (;;) {
    const auto start = findStart(buffer_);
    if (start == std::string::npos) {
      // Keep a trailing partial line: its '/' may be a start whose line began in this chunk.
      const auto nl = buffer_.rfind('\n');
      buffer_.erase(0, nl == std::string::npos ? 0 : nl + 1);
      if (buffer_.size() > kMaxTelegram) buffer_.clear();
      break;
    }
    const auto bang = buffer_.find('!', start);
    if (bang == std::string::npos) {
      buffer_.erase(0, start);
      if (buffer_.size() > kMaxTelegram) buffer_.clear();
      break;
    }
    // The CRC line ends at the next newline; wait for it.
    const auto eol = buffer_.find('\n', bang);
    if (eol == std::string::npos) {
      buffer_.erase(0, start);
      break;
    }
    out.push_back(buffer_.substr(start, eol + 1 - start));
    buffer_.erase(0, eol + 1);
  }
  return out;
}

}  // namespace steward::dsmr
