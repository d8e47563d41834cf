// See base64.hpp.
#include "negotiation/signing/base64.hpp"

#include <array>
#include <cstdint>

namespace steward::negotiation {
namespace {

constexpr std::string_view kStd =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                            (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                            std::uint32_t(std::uint8_t(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                            (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

core::Result<std::string> decode(std::string_view text, std::string_view alphabet, bool padded,
                                 std::string_view what) {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    table[std::uint8_t(alphabet[i])] = int(i);

  std::size_t data_len = text.size();
  if (padded) {
    if (text.size() % 4 != 0) {
      return core::fail(std::string(what) + ": length is not a multiple of 4");
    }
    while (data_len > 0 && text.size() - data_len < 2 && text[data_len - 1] == '=')
      --data_len;
  } else if (text.size() % 4 == 1) {
    return core::fail(std::string(what) + ": impossible length");
  }
  std::string out;
  out.reserve(data_len * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < data_len; ++i) {
    const int v = table[std::uint8_t(text[i])];
    if (v < 0) {
      return core::fail(std::string(what) + ": unexpected character at offset " +
                        std::to_string(i));
    }
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  if (data_len % 4 == 1) return core::fail(std::string(what) + ": impossible length");
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return core::fail(std::string(what) + ": non-zero padding bits");
  }
  return out;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  return encode(bytes, kStd, true);
}
std::string base64UrlEncode(std::string_view bytes) {
  return encode(bytes, kUrl, false);
}
core::Result<std::string> base64Decode(std::string_view text) {
  return decode(text, kStd, true, "base64");
}
core::Result<std::string> base64UrlDecode(std::string_view text) {
  return decode(text, kUrl, false, "base64url");
}

}  // namespace steward::negotiation
