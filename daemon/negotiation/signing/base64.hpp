// Base64 (RFC 4648 §4, padded) for HTTP structured fields and Base64url (§5, unpadded) for JOSE.
// Decoders are strict on purpose: a signature or digest has exactly one accepted spelling, so a
// changed character can never decode to the same bytes.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace steward::negotiation {

std::string base64Encode(std::string_view bytes);
std::string base64UrlEncode(std::string_view bytes);

// Refuses characters outside the alphabet, wrong or missing '=' padding and non-zero pad bits.
core::Result<std::string> base64Decode(std::string_view text);
// Refuses characters outside the URL-safe alphabet, any '=' and non-zero pad bits.
core::Result<std::string> base64UrlDecode(std::string_view text);

}  // namespace steward::negotiation
