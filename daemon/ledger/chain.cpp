// See chain.hpp. OpenSSL 3 fetches a digest implementation by name on every EVP_sha256() use;
// fetching once and reusing the context keeps hashing well below the cost of reading a row.
#include "ledger/chain.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace steward::ledger {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void appendField(std::string& out, std::string_view value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value.size());
  (void)ec;
  out.append(digits, end);
  out += ':';
  out.append(value);
  out += '\n';
}

void appendNumber(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  appendField(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void buildCanonical(std::string& out, const DecisionRowView& row) {
  out.clear();
  out += "steward-decision-v1\n";
  appendNumber(out, row.seq);
  appendField(out, row.id);
  appendNumber(out, row.at_ms);
  appendField(out, row.kind);
  appendField(out, row.subject);
  appendField(out, row.input);
  appendField(out, row.outcome);
  appendField(out, row.reasons);
  appendField(out, row.policy_revision);
  appendField(out, row.causes);
  appendField(out, row.prev_hash);
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
