// See ec_key.hpp. OpenSSL 3 EVP only; no deprecated EC_KEY calls.
#include "negotiation/signing/ec_key.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <array>

namespace steward::negotiation {
namespace {

using core::fail;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

const char* groupName(Curve curve) {
  return curve == Curve::kP256 ? "prime256v1" : "secp384r1";
}

const EVP_MD* digestFor(Curve curve) {
  return curve == Curve::kP256 ? EVP_sha256() : EVP_sha384();
}

core::Result<Curve> curveOf(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return fail("key is not an elliptic-curve key (only ECDSA P-256 and P-384 are accepted)");
  }
  std::array<char, 64> name{};
  std::size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name.data(), name.size(),
                                      &len)) {
    return fail("cannot read the key's curve: " + opensslError());
  }
  const std::string_view group(name.data(), len);
  if (group == "prime256v1" || group == "P-256") return Curve::kP256;
  if (group == "secp384r1" || group == "P-384") return Curve::kP384;
  return fail("curve " + std::string(group) + " is not accepted (only P-256 and P-384)");
}

core::Result<std::string> bnParam(EVP_PKEY* key, const char* name, std::size_t size) {
  BIGNUM* raw = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &raw)) {
    return fail(std::string("cannot read key parameter ") + name + ": " + opensslError());
  }
  Bn bn(raw);
  std::string out(size, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), int(size)) !=
      int(size)) {
    return fail(std::string("key parameter ") + name + " does not fit the curve");
  }
  return out;
}

core::Result<std::shared_ptr<EVP_PKEY>> keyFromData(Curve curve, std::string_view x,
                                                    std::string_view y, std::string_view d) {
  const std::size_t n = coordinateSize(curve);
  if (x.size() != n || y.size() != n) {
    return fail(std::string(curveName(curve)) + " coordinates must be " + std::to_string(n) +
                " bytes each, got " + std::to_string(x.size()) + " and " +
                std::to_string(y.size()));
  }
  if (!d.empty() && d.size() != n) {
    return fail(std::string(curveName(curve)) + " private key must be " + std::to_string(n) +
                " bytes, got " + std::to_string(d.size()));
  }
  std::string point = "\x04";
  point.append(x);
  point.append(y);
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  Bn priv;
  if (!d.empty()) {
    priv.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(d.data()), int(d.size()), nullptr));
    if (!priv) return fail("cannot read the private key: " + opensslError());
  }
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, groupName(curve),
                                       0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size()) ||
      (priv && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()))) {
    return fail("cannot build the key: " + opensslError());
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, d.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
                        params.get()) <= 0) {
    ERR_clear_error();
    return fail("the public key is not a point on " + std::string(curveName(curve)));
  }
  auto key = own(raw);
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return fail("the public key is not a valid point on " + std::string(curveName(curve)));
  }
  if (!d.empty() && EVP_PKEY_pairwise_check(check.get()) != 1) {
    ERR_clear_error();
    return fail("the private key does not match the public key");
  }
  return key;
}

}  // namespace

std::string_view curveName(Curve curve) {
  return curve == Curve::kP256 ? "P-256" : "P-384";
}
std::size_t coordinateSize(Curve curve) {
  return curve == Curve::kP256 ? 32 : 48;
}
SignatureAlgorithm algorithmFor(Curve curve) {
  return curve == Curve::kP256 ? SignatureAlgorithm::kEs256 : SignatureAlgorithm::kEs384;
}
Curve curveFor(SignatureAlgorithm alg) {
  return alg == SignatureAlgorithm::kEs256 ? Curve::kP256 : Curve::kP384;
}
std::string_view joseName(SignatureAlgorithm alg) {
  return alg == SignatureAlgorithm::kEs256 ? "ES256" : "ES384";
}
std::string_view httpSigName(SignatureAlgorithm alg) {
  return alg == SignatureAlgorithm::kEs256 ? "ecdsa-p256-sha256" : "ecdsa-p384-sha384";
}

core::Result<SignatureAlgorithm> algorithmFromJose(std::string_view name) {
  if (name == "ES256") return SignatureAlgorithm::kEs256;
  if (name == "ES384") return SignatureAlgorithm::kEs384;
  std::string why = "only ES256 and ES384 are accepted";
  if (name == "none") why = "unsigned content is never accepted";
  if (name.starts_with("HS")) why = "shared-secret MACs are not accepted; " + why;
  if (name == "ES512") why = "P-521 is not supported; " + why;
  return fail("algorithm_unsupported: JWS algorithm \"" + std::string(name.substr(0, 32)) +
              "\" is not accepted (" + why + ")");
}

core::Result<SignatureAlgorithm> algorithmFromHttpSig(std::string_view name) {
  if (name == "ecdsa-p256-sha256") return SignatureAlgorithm::kEs256;
  if (name == "ecdsa-p384-sha384") return SignatureAlgorithm::kEs384;
  return fail("algorithm_unsupported: signature algorithm \"" + std::string(name.substr(0, 32)) +
              "\" is not accepted (only ecdsa-p256-sha256 and ecdsa-p384-sha384)");
}

core::Result<Curve> curveFromName(std::string_view crv) {
  if (crv == "P-256") return Curve::kP256;
  if (crv == "P-384") return Curve::kP384;
  return fail("curve \"" + std::string(crv.substr(0, 32)) +
              "\" is not accepted (only P-256 and P-384)");
}

core::Result<std::string> ecdsaRawToDer(std::string_view raw, Curve curve) {
  const std::size_t n = coordinateSize(curve);
  if (raw.size() != 2 * n) {
    return fail("signature_invalid: an " + std::string(joseName(algorithmFor(curve))) +
                " signature is " + std::to_string(2 * n) + " bytes (r||s), got " +
                std::to_string(raw.size()));
  }
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), int(n), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + n), int(n), nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return fail("cannot convert the signature: " + opensslError());
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return fail("cannot encode the signature: " + opensslError());
  std::string out(reinterpret_cast<char*>(der), std::size_t(len));
  OPENSSL_free(der);
  return out;
}

core::Result<std::string> ecdsaDerToRaw(std::string_view der, Curve curve) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
  if (!sig || p != reinterpret_cast<const unsigned char*>(der.data() + der.size())) {
    ERR_clear_error();
    return fail("malformed DER ECDSA signature");
  }
  const std::size_t n = coordinateSize(curve);
  std::string out(2 * n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, int(n)) != int(n) ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + n, int(n)) != int(n)) {
    return fail("ECDSA signature values do not fit the curve");
  }
  return out;
}

core::Result<EcPublicKey> EcPublicKey::fromEvp(std::shared_ptr<EVP_PKEY> key) {
  auto curve = curveOf(key.get());
  if (!curve) return curve.error();
  const std::size_t n = coordinateSize(*curve);
  auto x = bnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, n);
  if (!x) return x.error();
  auto y = bnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, n);
  if (!y) return y.error();
  // Re-import through the checked path so every key object went through the point check.
  auto checked = keyFromData(*curve, *x, *y, {});
  if (!checked) return checked.error();
  EcPublicKey out;
  out.key_ = std::move(*checked);
  out.curve_ = *curve;
  out.x_ = std::move(*x);
  out.y_ = std::move(*y);
  return out;
}

core::Result<EcPublicKey> EcPublicKey::fromCoordinates(Curve curve, std::string_view x,
                                                       std::string_view y) {
  auto key = keyFromData(curve, x, y, {});
  if (!key) return key.error();
  EcPublicKey out;
  out.key_ = std::move(*key);
  out.curve_ = curve;
  out.x_ = std::string(x);
  out.y_ = std::string(y);
  return out;
}

core::Result<EcPublicKey> EcPublicKey::fromPem(std::string_view pem) {
  if (pem.size() > 8192) return fail("PEM key is too large");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) return fail("cannot read the PEM public key: " + opensslError());
  return fromEvp(own(raw));
}

core::Result<void> EcPublicKey::verify(std::string_view message,
                                       std::string_view raw_signature) const {
  auto der = ecdsaRawToDer(raw_signature, curve_);
  if (!der) return der.error();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, digestFor(curve_), nullptr, key_.get()) != 1) {
    return fail("cannot start verification: " + opensslError());
  }
  const int rc =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der->data()), der->size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  if (rc != 1) {
    return fail("signature_invalid: the " + std::string(joseName(algorithm())) +
                " signature does not match the signed content");
  }
  return {};
}

core::Result<EcPrivateKey> EcPrivateKey::fromEvp(std::shared_ptr<EVP_PKEY> key) {
  auto pub = EcPublicKey::fromEvp(key);
  if (!pub) return pub.error();
  auto d = bnParam(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, coordinateSize(pub->curve()));
  if (!d) return d.error();
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    ERR_clear_error();
    return fail("the private key does not match its public key");
  }
  EcPrivateKey out;
  out.key_ = std::move(key);
  out.public_ = std::move(*pub);
  out.d_ = std::move(*d);
  return out;
}

core::Result<EcPrivateKey> EcPrivateKey::generate(Curve curve) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", groupName(curve));
  if (!raw) return fail("cannot generate a key: " + opensslError());
  return fromEvp(own(raw));
}

core::Result<EcPrivateKey> EcPrivateKey::fromComponents(Curve curve, std::string_view x,
                                                        std::string_view y, std::string_view d) {
  if (d.empty()) return fail("the private key is missing");
  auto key = keyFromData(curve, x, y, d);
  if (!key) return key.error();
  return fromEvp(std::move(*key));
}

core::Result<EcPrivateKey> EcPrivateKey::fromPem(std::string_view pem) {
  if (pem.size() > 8192) return fail("PEM key is too large");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw) return fail("cannot read the PEM private key: " + opensslError());
  return fromEvp(own(raw));
}

core::Result<std::string> EcPrivateKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, digestFor(curve()), nullptr, key_.get()) != 1) {
    return fail("cannot start signing: " + opensslError());
  }
  std::size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    return fail("cannot sign: " + opensslError());
  }
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, msg,
                     message.size()) != 1) {
    return fail("cannot sign: " + opensslError());
  }
  der.resize(len);
  return ecdsaDerToRaw(der, curve());
}

}  // namespace steward::negotiation
