// See chain.hpp. OpenSSL 3 fetches a digest implementation by name on every EVP_sha256() use;
// fetching once and reusing the context keeps hashing well below the cost of reading a row.
#include "ledger/chain.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace steward::ledger {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Writes the canonical form into `out` in one pass: sizes first, then one resize and plain
// copies (this runs once per record when verifying a million of them).
void buildCanonical(std::string& out, const DecisionRowView& row) {
  constexpr std::string_view kMagic = "steward-decision-v1\n";
  char seq_digits[24], at_digits[24];
  const auto seq_end = std::to_chars(seq_digits, seq_digits + sizeof seq_digits, row.seq).ptr;
  const auto at_end = std::to_chars(at_digits, at_digits + sizeof at_digits, row.at_ms).ptr;
  const std::string_view fields[] = {{seq_digits, static_cast<std::size_t>(seq_end - seq_digits)},
                                     row.id,
                                     {at_digits, static_cast<std::size_t>(at_end - at_digits)},
                                     row.kind,
                                     row.subject,
                                     row.input,
                                     row.outcome,
                                     row.reasons,
                                     row.policy_revision,
                                     row.causes,
                                     row.prev_hash};
  char lengths[std::size(fields)][24];
  std::size_t length_sizes[std::size(fields)];
  std::size_t total = kMagic.size();
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    const auto end = std::to_chars(lengths[i], lengths[i] + 24, fields[i].size()).ptr;
    length_sizes[i] = static_cast<std::size_t>(end - lengths[i]);
    total += length_sizes[i] + 1 + fields[i].size() + 1;
  }
  out.resize(total);
  char* p = out.data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  p += kMagic.size();
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    std::memcpy(p, lengths[i], length_sizes[i]);
    p += length_sizes[i];
    *p++ = ':';
    if (!fields[i].empty()) std::memcpy(p, fields[i].data(), fields[i].size());
    p += fields[i].size();
    *p++ = '\n';
  }
}

[[noreturn]] void cryptoFailure(const char* what) {
  // OpenSSL without SHA-256 is a broken installation, not a runtime condition.
  std::fprintf(stderr, "<2>ledger.crypto_failure what=%s\n", what);
  std::abort();
}

}  // namespace

struct ChainHasher::State {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
  std::string buffer;
  std::array<char, 64> hex{};

  State() {
    md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    ctx = EVP_MD_CTX_new();
    if (!md || !ctx) cryptoFailure("sha256 unavailable");
    buffer.reserve(1024);
  }
  ~State() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }

  std::string_view digest(std::string_view bytes) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32) {
      cryptoFailure("sha256 failed");
    }
    for (unsigned int i = 0; i < len; ++i) {
      hex[2 * i] = kHex[out[i] >> 4];
      hex[2 * i + 1] = kHex[out[i] & 0xf];
    }
    return {hex.data(), 64};
  }
};

ChainHasher::ChainHasher() : state_(std::make_unique<State>()) {}
ChainHasher::~ChainHasher() = default;
ChainHasher::ChainHasher(ChainHasher&&) noexcept = default;
ChainHasher& ChainHasher::operator=(ChainHasher&&) noexcept = default;

std::string_view ChainHasher::hashHex(const DecisionRowView& row) {
  buildCanonical(state_->buffer, row);
  return state_->digest(state_->buffer);
}

std::string_view ChainHasher::hashHex(std::string_view bytes) {
  return state_->digest(bytes);
}

std::string canonicalForm(const DecisionRowView& row) {
  std::string out;
  buildCanonical(out, row);
  return out;
}

std::string sha256Hex(std::string_view data) {
  ChainHasher hasher;
  return std::string(hasher.hashHex(data));
}

}  // namespace steward::ledger
