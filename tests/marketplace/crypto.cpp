// See crypto.hpp.
#include "crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace marketplace {
namespace {

constexpr std::string_view kStd =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

std::optional<std::string> decode(std::string_view text, std::string_view alphabet, bool padded) {
  if (padded) {
    if (text.size() % 4 != 0) return std::nullopt;
    while (!text.empty() && text.back() == '=')
      text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    const auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

std::string bnBytes(const BIGNUM* bn, int width) {
  std::string out(static_cast<std::size_t>(width), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), width) != width) {
    throw std::runtime_error("EC coordinate does not fit");
  }
  return out;
}

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

}  // namespace

std::string base64(std::string_view bytes) {
  return encode(bytes, kStd, true);
}
std::string base64url(std::string_view bytes) {
  return encode(bytes, kUrl, false);
}
std::optional<std::string> unbase64(std::string_view text) {
  return decode(text, kStd, true);
}
std::optional<std::string> unbase64url(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  return decode(text, kUrl, false);
}

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  check(EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr),
        "SHA-256");
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

SigningKey::SigningKey(std::string kid)
    : kid_(std::move(kid)), key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {
  if (!key_) throw std::runtime_error("OpenSSL: cannot make a P-256 key");
}

std::string SigningKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()), "sign init");
  std::size_t length = 0;
  check(EVP_DigestSign(ctx.get(), nullptr, &length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()),
        "sign size");
  std::string der(length, '\0');
  check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()),
        "sign");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
  if (sig == nullptr) throw std::runtime_error("OpenSSL: cannot read the DER signature");
  std::string raw = bnBytes(ECDSA_SIG_get0_r(sig), 32) + bnBytes(ECDSA_SIG_get0_s(sig), 32);
  ECDSA_SIG_free(sig);
  return raw;
}

boost::json::object SigningKey::jwk() const {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  check(EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x), "public x");
  Bn xs(x);
  check(EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y), "public y");
  Bn ys(y);
  return {{"kid", kid_},
          {"kty", "EC"},
          {"crv", "P-256"},
          {"x", base64url(bnBytes(x, 32))},
          {"y", base64url(bnBytes(y, 32))},
          {"use", "sig"},
          {"alg", "ES256"}};
}

bool verifyJwk(const boost::json::object& jwk, std::string_view data, std::string_view signature) {
  const auto* kty = jwk.if_contains("kty");
  const auto* crv = jwk.if_contains("crv");
  const auto* xv = jwk.if_contains("x");
  const auto* yv = jwk.if_contains("y");
  if (!kty || !crv || !xv || !yv || !kty->is_string() || kty->as_string() != "EC" ||
      !crv->is_string() || !xv->is_string() || !yv->is_string()) {
    return false;
  }
  int width = 0;
  const char* group = nullptr;
  const EVP_MD* md = nullptr;
  if (crv->as_string() == "P-256") {
    width = 32, group = "prime256v1", md = EVP_sha256();
  } else if (crv->as_string() == "P-384") {
    width = 48, group = "secp384r1", md = EVP_sha384();
  } else {
    return false;
  }
  const auto x = unbase64url(xv->as_string());
  const auto y = unbase64url(yv->as_string());
  if (!x || !y || x->size() != static_cast<std::size_t>(width) || y->size() != x->size() ||
      signature.size() != 2 * x->size()) {
    return false;
  }
  const std::string point = "\x04" + *x + *y;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return false;
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()),
                                                                 OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> pctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1 ||
      EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return false;
  }
  Pkey key(raw);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), width, nullptr);
  BIGNUM* s =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + width, width, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_length <= 0) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_length),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  OPENSSL_free(der);
  return ok;
}

std::string jwkThumbprint(const boost::json::object& jwk) {
  // Members in lexicographic order, no whitespace (RFC 7638 section 3).
  auto member = [&](const char* name) {
    const auto* v = jwk.if_contains(name);
    return std::string("\"") + name + "\":" + boost::json::serialize(v ? *v : nullptr);
  };
  return base64url(sha256("{" + member("crv") + "," + member("kty") + "," + member("x") + "," +
                          member("y") + "}"));
}

namespace {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Cert = std::unique_ptr<X509, X509Deleter>;

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("OpenSSL: bad certificate extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert makeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
              bool ca) {
  Cert cert(X509_new());
  check(X509_set_version(cert.get(), 2), "version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
  check(X509_set_pubkey(cert.get(), key), "pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Steward test marketplace"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "issuer");
  if (ca) {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    addExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    addExtension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
    addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    throw std::runtime_error("OpenSSL: cannot sign a certificate");
  }
  return cert;
}

void writePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw std::runtime_error("cannot write " + path);
  const int ok = cert != nullptr
                     ? PEM_write_X509(file, cert)
                     : PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
  if (ok != 1) throw std::runtime_error("cannot write " + path);
}

}  // namespace

TestPki makeTestPki(const std::string& dir) {
  Pkey ca_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Pkey leaf_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!ca_key || !leaf_key) throw std::runtime_error("OpenSSL: cannot make TLS keys");
  Cert ca = makeCert(ca_key.get(), "Steward test marketplace CA", nullptr, ca_key.get(), 1, true);
  Cert leaf = makeCert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), 2, false);
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(leaf_key.get(), &der);
  if (der_length <= 0) throw std::runtime_error("OpenSSL: cannot encode the server key");
  const std::string spki(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_length));
  OPENSSL_free(der);
  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", base64(sha256(spki))};
  writePem(pki.ca_file, ca.get(), nullptr);
  writePem(pki.cert_file, leaf.get(), nullptr);
  writePem(pki.key_file, nullptr, leaf_key.get());
  return pki;
}

}  // namespace marketplace
