// RFC 9530 Content-Digest: the hash of the message content as sent, so that a signature over the
// header binds the exact body bytes. sha-256 and sha-512 are produced and checked; algorithms
// RFC 9530 marks insecure or that Steward does not know are ignored, never trusted.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace steward::negotiation {

enum class DigestAlgorithm { kSha256, kSha512 };

// "sha-256=:<base64>:" (UCP requires sha-256).
std::string contentDigest(std::string_view body, DigestAlgorithm alg = DigestAlgorithm::kSha256);

// Parses the field (an RFC 8941 Dictionary of byte sequences). Every sha-256 / sha-512 entry
// must match the body; at least one must be there. Returns the strongest that matched.
// Errors start with "digest_mismatch:" (UCP's code).
core::Result<DigestAlgorithm> verifyContentDigest(std::string_view field_value,
                                                  std::string_view body);

}  // namespace steward::negotiation
