// Signed checkpoints of the decision chain: the hub's Ed25519 key signs (seq, head hash, time),
// the checkpoint is stored in the ledger, logged, and published retained on MQTT so a copy lives
// outside the database. verify() (verify.hpp) checks the chain against them.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "ledger/database.hpp"

namespace steward::ledger {

struct Checkpoint {
  std::int64_t seq = 0;    // the last record covered; 0 for an empty ledger
  std::string head_hash;   // that record's hash ("" for an empty ledger)
  core::TimePoint at;      // when it was signed
  std::string key_id;      // first 16 hex digits of SHA-256 of the raw public key
  std::string public_key;  // raw Ed25519 public key, hex
  std::string signature;   // Ed25519 over checkpointMessage(), hex
};

// The bytes that are signed: "steward-checkpoint-v1\n<seq>\n<head hash>\n<at unix ms>\n".
std::string checkpointMessage(std::int64_t seq, std::string_view head_hash, std::int64_t at_ms);

// {"seq", "head", "at" (UTC ISO 8601), "at_ms", "key_id", "public_key", "signature"}: the
// document published retained on steward/hub/checkpoint.
boost::json::object toJson(const Checkpoint& checkpoint);
// Parses that document (from a file or the broker). Checks shape only, not the signature.
Result<Checkpoint> parseCheckpoint(std::string_view json_text);

// True when the signature is a valid Ed25519 signature by `public_key` over the message and
// key_id matches the key. Does not say whether the key is the hub's: see verify().
bool signatureValid(const Checkpoint& checkpoint);
std::string keyIdOf(std::string_view public_key_hex);

// Holds the hub's signing key and writes checkpoints. Loop thread only.
class Checkpointer {
 public:
  // Loads the PEM key at `key_path`, generating it on first use (mode 0600, written to a temp
  // file then renamed); registers its public key in the ledger so verification can check
  // signatures. Refuses a key file readable by group or others, or one that is not Ed25519.
  // Needs the ledger's schema (open SqliteLedger first).
  static Result<Checkpointer> open(Database& db, const std::string& key_path,
                                   const core::Clock& clock);

  Checkpointer(Checkpointer&&) noexcept;
  Checkpointer& operator=(Checkpointer&&) noexcept;
  ~Checkpointer();

  // Signs the current head and stores the checkpoint. If the head has not moved since the last
  // checkpoint by this key, returns that one again (nothing new to attest). Must not run inside
  // a transaction: it would sign a head that might still roll back.
  Result<Checkpoint> checkpoint();

  // The newest stored checkpoint, if any.
  static Result<std::optional<Checkpoint>> latest(Database& db);

  const std::string& keyId() const { return key_id_; }
  const std::string& publicKey() const { return public_key_; }

 private:
  struct Key;
  Checkpointer(Database& db, const core::Clock& clock, std::unique_ptr<Key> key);

  Database* db_;
  const core::Clock* clock_;
  std::unique_ptr<Key> key_;
  std::string public_key_;
  std::string key_id_;
};

}  // namespace steward::ledger
