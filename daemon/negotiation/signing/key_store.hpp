// Steward's own signing key: one P-256 key made on first start and kept in the state directory
// (private part 0600, written temp-then-rename), loaded on every later start. The public half is
// what the exported platform profile lists in `signing_keys`; its kid is its RFC 7638 thumbprint.
// This is not the ledger's checkpoint key.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "core/result.hpp"
#include "negotiation/signing/ec_key.hpp"

namespace steward::negotiation {

class KeyStore {
 public:
  static constexpr const char* kFileName = "signing-key.jwk";

  // Loads `state_directory`/signing-key.jwk, or makes and saves a new key when there is none.
  // Refuses (and changes nothing) when the file is not a regular file owned by this user, is
  // readable or writable by group or others, is too large, or does not hold a valid private
  // P-256 or P-384 JWK.
  static core::Result<KeyStore> openOrCreate(const std::string& state_directory);

  const EcPrivateKey& key() const { return key_; }
  const std::string& kid() const { return kid_; }
  const std::string& thumbprint() const { return kid_; }
  const std::string& path() const { return path_; }
  bool createdNow() const { return created_now_; }
  // {"kid","kty","crv","x","y","use":"sig","alg"} for the platform profile.
  boost::json::object publicJwk() const;

 private:
  KeyStore(EcPrivateKey key, std::string path, bool created_now);
  EcPrivateKey key_;
  std::string kid_;
  std::string path_;
  bool created_now_ = false;
};

}  // namespace steward::negotiation
