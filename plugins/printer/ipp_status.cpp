// See ipp_status.hpp. Supply levels follow RFC 3805 prtMarkerSuppliesLevel: -1 other, -2 unknown,
// -3 "some remaining"; only real levels are reported.
#include "ipp_status.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <map>

namespace steward::printer {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<long> toLong(std::string_view s) {
  long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

// "toner", "black" -> "toner-black"; keys keep to the protocol's character set.
std::string needKey(std::string_view type, std::string_view colour) {
  std::string key;
  auto add = [&](std::string_view part) {
    for (char c : part) {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        key += c;
      } else if (c >= 'A' && c <= 'Z') {
        if (!key.empty() && key.back() != '-') key += '-';  // wasteToner -> waste-toner
        key += static_cast<char>(c - 'A' + 'a');
      } else if (!key.empty() && key.back() != '-') {
        key += '-';
      }
    }
  };
  add(type);
  if (!colour.empty() && colour != "unknown" && colour != "none") {
    if (!key.empty() && key.back() != '-') key += '-';
    add(colour);
  }
  while (!key.empty() && key.back() == '-')
    key.pop_back();
  return key.substr(0, 64);
}

}  // namespace

std::optional<Supply> parsePrinterSupply(std::string_view value) {
  std::map<std::string_view, std::string_view> f;
  for (auto part : split(value, ';')) {
    const auto eq = part.find('=');
    if (eq != std::string_view::npos) f[trim(part.substr(0, eq))] = trim(part.substr(eq + 1));
  }
  // Absent or unparsable fields become -1, which the checks below refuse like the printer's own
  // -1/-2/-3 ("no level"). (Plain longs: GCC 12 warns falsely on optionals here at -O2.)
  const long level = f.contains("level") ? toLong(f["level"]).value_or(-1) : -1;
  const long max = f.contains("maxcapacity") ? toLong(f["maxcapacity"]).value_or(-1) : -1;
  if (level < 0 || f["type"].empty()) return std::nullopt;
  double percent = static_cast<double>(level);
  if (f["unit"] != "percent") {
    if (max <= 0) return std::nullopt;
    percent = 100.0 * static_cast<double>(level) / static_cast<double>(max);
  }
  if (percent > 100) percent = 100;
  Supply s;
  s.key = needKey(f["type"], f["colorantname"]);
  if (s.key.empty()) return std::nullopt;
  // A receptacle (waste toner box) fills up: what matters is the room left.
  s.remaining = f["class"] == "receptacleThatIsFilled" ? 100.0 - percent : percent;
  s.description = std::string(f["colorantname"]) + " " + std::string(f["type"]);
  return s;
}

std::optional<PrinterStatus> parseIpptoolOutput(std::string_view text, std::string& error) {
  PrinterStatus status;
  bool ok = false;
  std::vector<std::string> marker_names;
  std::vector<long> marker_levels, marker_lows;
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.find("[PASS]") != std::string_view::npos) ok = true;
    const auto paren = line.find(" (");
    const auto eq = line.find(") = ");
    if (paren == std::string_view::npos || eq == std::string_view::npos || eq < paren) continue;
    const std::string_view name = line.substr(0, paren);
    const std::string_view value = line.substr(eq + 4);
    if (name == "printer-make-and-model") {
      status.make_and_model = std::string(value.substr(0, 128));
    } else if (name == "printer-uuid") {
      const std::string_view prefix = "urn:uuid:";
      status.uuid =
          std::string(value.substr(0, prefix.size()) == prefix ? value.substr(prefix.size(), 64)
                                                               : value.substr(0, 64));
    } else if (name == "printer-supply") {
      // Values are separated by ',' and each holds "index=..." first.
      std::size_t start = 0;
      while (start < value.size()) {
        auto next = value.find(",index=", start);
        const auto item = value.substr(start, next == std::string_view::npos ? next : next - start);
        if (auto s = parsePrinterSupply(item); s && status.supplies.size() < 16)
          status.supplies.push_back(std::move(*s));
        if (next == std::string_view::npos) break;
        start = next + 1;
      }
    } else if (name == "marker-names") {
      for (auto n : split(value, ','))
        marker_names.emplace_back(trim(n));
    } else if (name == "marker-levels" || name == "marker-low-levels") {
      auto& out = name == "marker-levels" ? marker_levels : marker_lows;
      for (auto n : split(value, ','))
        out.push_back(toLong(trim(n)).value_or(-1));
    } else if (name == "printer-state-reasons") {
      for (auto r : split(value, ',')) {
        r = trim(r);
        if (r.empty() || r == "none") continue;
        Fault f;
        f.severity = "info";
        for (auto [suffix, severity] :
             {std::pair{"-error", "critical"}, std::pair{"-warning", "warning"},
              std::pair{"-report", "info"}}) {
          const std::string_view sfx = suffix;
          if (r.size() > sfx.size() && r.substr(r.size() - sfx.size()) == sfx) {
            r.remove_suffix(sfx.size());
            f.severity = severity;
            break;
          }
        }
        // Supply levels are reported as supplies; these reasons would only repeat them.
        if (r.find("-low") != std::string_view::npos || r.find("-empty") != std::string_view::npos)
          continue;
        f.key = needKey(r, "");
        if (!f.key.empty() && status.faults.size() < 16) status.faults.push_back(std::move(f));
      }
    }
  }
  if (!ok) {
    error = "no successful Get-Printer-Attributes response (ipptool did not report [PASS])";
    return std::nullopt;
  }
  // CUPS queues describe supplies with marker-* instead of printer-supply.
  if (status.supplies.empty()) {
    for (std::size_t i = 0; i < marker_names.size() && i < marker_levels.size() && i < 16; ++i) {
      if (marker_levels[i] < 0) continue;
      Supply s;
      s.key = needKey(marker_names[i], "");
      s.description = marker_names[i];
      s.remaining = static_cast<double>(std::min(marker_levels[i], 100L));
      if (i < marker_lows.size() && marker_lows[i] >= 0)
        s.low_threshold = static_cast<double>(marker_lows[i]);
      if (!s.key.empty()) status.supplies.push_back(std::move(s));
    }
  }
  return status;
}

std::optional<IppUri> parseIppUri(std::string_view uri, std::string& error) {
  IppUri u;
  if (uri.size() > 512) {
    error = "the printer URI is longer than 512 characters";
    return std::nullopt;
  }
  for (char c : uri) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr(":/._-%[]~", c) != nullptr;
    if (!ok) {
      error = "the printer URI holds a character that is not allowed here";
      return std::nullopt;
    }
  }
  const auto sep = uri.find("://");
  if (sep == std::string_view::npos ||
      (uri.substr(0, sep) != "ipp" && uri.substr(0, sep) != "ipps")) {
    error = "expected an ipp:// or ipps:// URI, like ipp://printer.local:631/ipp/print";
    return std::nullopt;
  }
  u.scheme = std::string(uri.substr(0, sep));
  std::string_view rest = uri.substr(sep + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed '[' in the printer URI";
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      error = "expected ':PORT' after the address";
      return std::nullopt;
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {
    u.port = std::string(authority.substr(1));
    const auto p = toLong(u.port);
    if (!p || *p < 1 || *p > 65535) {
      error = "the printer URI's port must be a number from 1 to 65535";
      return std::nullopt;
    }
  }
  if (u.host.empty()) {
    error = "the printer URI has no host";
    return std::nullopt;
  }
  return u;
}

std::string IppUri::withHost(const std::string& address) const {
  const std::string h = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  return scheme + "://" + h + (port.empty() ? "" : ":" + port) + path;
}

bool isLocalAddress(const sockaddr* address) {
  auto v4local = [](std::uint32_t a) {
    return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == 0xAC1 ||  // 172.16/12
           (a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE;                   // 192.168/16, 169.254/16
  };
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return v4local(ntohl(in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    const std::uint8_t* b = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
    if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      return v4local((std::uint32_t(b[12]) << 24) | (std::uint32_t(b[13]) << 16) |
                     (std::uint32_t(b[14]) << 8) | b[15]);
    }
  }
  return false;
}

std::string ipptoolTestFile() {
  return R"({
  NAME "Steward supplies"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR keyword requested-attributes printer-supply,marker-names,marker-levels,marker-low-levels,printer-state-reasons,printer-uuid,printer-make-and-model
  STATUS successful-ok
  DISPLAY printer-supply
  DISPLAY marker-names
  DISPLAY marker-levels
  DISPLAY marker-low-levels
  DISPLAY printer-state-reasons
  DISPLAY printer-uuid
  DISPLAY printer-make-and-model
}
)";
}

}  // namespace steward::printer
