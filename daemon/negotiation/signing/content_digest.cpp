// See content_digest.hpp.
#include "negotiation/signing/content_digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "negotiation/signing/base64.hpp"
#include "negotiation/signing/structured_fields.hpp"

namespace steward::negotiation {
namespace {

std::string hash(std::string_view body, DigestAlgorithm alg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len,
             alg == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

const char* name(DigestAlgorithm alg) {
  return alg == DigestAlgorithm::kSha256 ? "sha-256" : "sha-512";
}

}  // namespace

std::string contentDigest(std::string_view body, DigestAlgorithm alg) {
  return std::string(name(alg)) + "=:" + base64Encode(hash(body, alg)) + ":";
}

core::Result<DigestAlgorithm> verifyContentDigest(std::string_view field_value,
                                                  std::string_view body) {
  sf::Limits limits;
  limits.max_length = 4096;
  limits.max_members = 16;
  auto dict = sf::parseDictionary(field_value, limits);
  if (!dict) return core::fail("digest_mismatch: Content-Digest: " + dict.error().message);
  bool any = false;
  DigestAlgorithm best = DigestAlgorithm::kSha256;
  for (auto alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    const auto* member = sf::findMember(*dict, name(alg));
    if (!member) continue;
    const auto* item = std::get_if<sf::Item>(member);
    const auto* bytes = item ? std::get_if<sf::ByteSequence>(&item->value) : nullptr;
    if (!bytes) {
      return core::fail(std::string("digest_mismatch: Content-Digest ") + name(alg) +
                        " is not a byte sequence");
    }
    const std::string expected = hash(body, alg);
    if (bytes->bytes.size() != expected.size() ||
        CRYPTO_memcmp(bytes->bytes.data(), expected.data(), expected.size()) != 0) {
      return core::fail(std::string("digest_mismatch: the ") + name(alg) +
                        " Content-Digest does not match the " + std::to_string(body.size()) +
                        "-byte body");
    }
    any = true;
    best = alg;
  }
  if (!any) {
    return core::fail("digest_mismatch: Content-Digest has neither sha-256 nor sha-512");
  }
  return best;
}

}  // namespace steward::negotiation
