// See checkpoint.hpp. The key file is written the way systemd writes state files: a private temp
// file in the same directory, fsync, rename, fsync the directory, so a crash leaves either no
// key or the whole key, never half of one.
#include "ledger/checkpoint.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ledger/chain.hpp"
#include "ledger/text.hpp"

namespace steward::ledger {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
constexpr std::size_t kMaxCheckpointJsonBytes = 16 * 1024;

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

Result<std::string> readSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return core::fail(errnoText("cannot read key " + path));
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return core::fail(errnoText("cannot read key " + path));
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > kMaxKeyFileBytes) {
      ::close(fd);
      return core::fail("key " + path + " is too large to be an Ed25519 key");
    }
  }
  ::close(fd);
  return data;
}

Result<void> writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::fail(errnoText("write"));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Writes `data` to `path` with mode 0600 via temp-then-rename; never replaces an existing file.
Result<void> writeKeyFile(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mkstemp creates it 0600
  if (fd < 0) return core::fail(errnoText("cannot create key file next to " + path));
  auto cleanup = [&] {
    ::close(fd);
    ::unlink(tmp.c_str());
  };
  if (::fchmod(fd, 0600) != 0) {
    cleanup();
    return core::fail(errnoText("chmod " + tmp));
  }
  if (auto r = writeAll(fd, data); !r) {
    cleanup();
    return core::fail("writing " + tmp + ": " + r.error().message);
  }
  if (::fsync(fd) != 0) {
    cleanup();
    return core::fail(errnoText("fsync " + tmp));
  }
  ::close(fd);
  // link() + unlink() instead of rename(): fails if a key appeared meanwhile, never overwrites.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = errnoText("cannot install key " + path);
    ::unlink(tmp.c_str());
    return core::fail(e);
  }
  ::unlink(tmp.c_str());
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<PkeyPtr> generateKey(const std::string& path) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return core::fail("cannot generate an Ed25519 key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return core::fail("cannot encode the Ed25519 key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (auto r = writeKeyFile(path, std::string_view(data, static_cast<std::size_t>(len))); !r) {
    return r.error();
  }
  return key;
}

Result<PkeyPtr> loadKey(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return generateKey(path);
    return core::fail(errnoText("cannot stat key " + path));
  }
  if (!S_ISREG(st.st_mode)) return core::fail("key " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return core::fail("key " + path + " is readable by others (mode " + mode +
                      "); it must be 0600");
  }
  auto pem = readSmallFile(path);
  if (!pem) return pem.error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return core::fail("key " + path + " is not a PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
    return core::fail("key " + path + " is not an Ed25519 key");
  }
  return key;
}

Result<std::string> rawPublicKeyHex(EVP_PKEY* key) {
  unsigned char raw[64];
  std::size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32) {
    return core::fail("cannot read the Ed25519 public key");
  }
  return toHex({raw, len});
}

Result<std::string> sign(EVP_PKEY* key, std::string_view message) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return core::fail("Ed25519 signing failed");
  }
  return toHex({sig, len});
}

Checkpoint readCheckpointRow(const Statement& q) {
  Checkpoint c;
  c.seq = q.int64(0);
  c.head_hash = q.text(1);
  c.at = core::fromUnixMillis(q.int64(2));
  c.key_id = q.text(3);
  c.signature = q.text(4);
  c.public_key = q.text(5);
  return c;
}

constexpr std::string_view kSelectCheckpoint =
    "SELECT c.seq, c.head_hash, c.at_ms, c.key_id, c.signature, COALESCE(k.public_key, '') "
    "FROM checkpoints c LEFT JOIN checkpoint_keys k ON k.key_id = c.key_id ";

}  // namespace

struct Checkpointer::Key {
  PkeyPtr pkey;
};

std::string checkpointMessage(std::int64_t seq, std::string_view head_hash, std::int64_t at_ms) {
  std::string m = "steward-checkpoint-v1\n";
  m += std::to_string(seq);
  m += '\n';
  m += head_hash;
  m += '\n';
  m += std::to_string(at_ms);
  m += '\n';
  return m;
}

std::string keyIdOf(std::string_view public_key_hex) {
  auto raw = fromHex(public_key_hex);
  if (!raw) return {};
  const std::string digest =
      sha256Hex(std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()));
  return digest.substr(0, 16);
}

boost::json::object toJson(const Checkpoint& c) {
  boost::json::object o;
  o["seq"] = c.seq;
  o["head"] = c.head_hash;
  o["at"] = formatUtc(c.at);
  o["at_ms"] = core::toUnixMillis(c.at);
  o["key_id"] = c.key_id;
  o["public_key"] = c.public_key;
  o["signature"] = c.signature;
  return o;
}

Result<Checkpoint> parseCheckpoint(std::string_view text) {
  if (text.size() > kMaxCheckpointJsonBytes) return core::fail("checkpoint document is too large");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return core::fail("checkpoint is not JSON: " + ec.message());
  const auto* o = v.if_object();
  if (!o) return core::fail("checkpoint: expected a JSON object");
  auto str = [&](std::string_view key) -> Result<std::string> {
    const auto* f = o->if_contains(key);
    if (!f || !f->is_string())
      return core::fail("checkpoint: \"" + std::string(key) + "\" must be a string");
    return std::string(f->as_string());
  };
  auto num = [&](std::string_view key) -> Result<std::int64_t> {
    const auto* f = o->if_contains(key);
    if (!f || !f->is_int64())
      return core::fail("checkpoint: \"" + std::string(key) + "\" must be an integer");
    return f->as_int64();
  };
  Checkpoint c;
  auto seq = num("seq");
  if (!seq) return seq.error();
  if (*seq < 0) return core::fail("checkpoint: \"seq\" must not be negative");
  c.seq = *seq;
  auto at = num("at_ms");
  if (!at) return at.error();
  c.at = core::fromUnixMillis(*at);
  for (auto [key, field] :
       {std::pair{"head", &c.head_hash}, std::pair{"key_id", &c.key_id},
        std::pair{"public_key", &c.public_key}, std::pair{"signature", &c.signature}}) {
    auto s = str(key);
    if (!s) return s.error();
    *field = std::move(*s);
  }
  return c;
}

bool signatureValid(const Checkpoint& c) {
  auto raw = fromHex(c.public_key);
  auto sig = fromHex(c.signature);
  if (!raw || raw->size() != 32 || !sig || sig->size() != 64) return false;
  if (keyIdOf(c.public_key) != c.key_id) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  const std::string m = checkpointMessage(c.seq, c.head_hash, core::toUnixMillis(c.at));
  return EVP_DigestVerify(ctx.get(), sig->data(), sig->size(),
                          reinterpret_cast<const unsigned char*>(m.data()), m.size()) == 1;
}

Checkpointer::Checkpointer(Database& db, const core::Clock& clock, std::unique_ptr<Key> key)
    : db_(&db), clock_(&clock), key_(std::move(key)) {}
Checkpointer::Checkpointer(Checkpointer&&) noexcept = default;
Checkpointer& Checkpointer::operator=(Checkpointer&&) noexcept = default;
Checkpointer::~Checkpointer() = default;

Result<Checkpointer> Checkpointer::open(Database& db, const std::string& key_path,
                                        const core::Clock& clock) {
  auto pkey = loadKey(key_path);
  if (!pkey) return pkey.error();
  auto pub = rawPublicKeyHex(pkey->get());
  if (!pub) return pub.error();
  Checkpointer cp(db, clock, std::make_unique<Key>(Key{std::move(*pkey)}));
  cp.public_key_ = std::move(*pub);
  cp.key_id_ = keyIdOf(cp.public_key_);

  auto existing = db.prepare("SELECT public_key FROM checkpoint_keys WHERE key_id = ?1");
  if (!existing) return existing.error();
  existing->bind(1, cp.key_id_);
  auto row = existing->step();
  if (!row) return row.error();
  if (*row) {
    if (existing->text(0) != cp.public_key_) {
      return core::fail("the ledger holds a different public key under id " + cp.key_id_);
    }
    return cp;
  }
  existing->reset();
  auto insert = db.prepare(
      "INSERT INTO checkpoint_keys(key_id, public_key, created_at_ms) VALUES(?1, ?2, ?3)");
  if (!insert) return insert.error();
  insert->bind(1, cp.key_id_).bind(2, cp.public_key_).bind(3, core::toUnixMillis(clock.now()));
  if (auto r = insert->run(); !r) return r.error();
  return cp;
}

Result<Checkpoint> Checkpointer::checkpoint() {
  if (db_->inTransaction()) {
    return core::fail("checkpoint() inside a transaction would sign a head that may roll back");
  }
  Transaction tx(*db_);
  if (!tx.begun()) return tx.error();
  auto head = db_->prepare("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1");
  if (!head) return head.error();
  auto hrow = head->step();
  if (!hrow) return hrow.error();
  const std::int64_t seq = *hrow ? head->int64(0) : 0;
  const std::string hash = *hrow ? head->text(1) : std::string();
  head->reset();

  auto last = db_->prepare(std::string(kSelectCheckpoint) +
                           "WHERE c.key_id = ?1 ORDER BY c.id DESC LIMIT 1");
  if (!last) return last.error();
  last->bind(1, key_id_);
  auto lrow = last->step();
  if (!lrow) return lrow.error();
  if (*lrow) {
    Checkpoint previous = readCheckpointRow(*last);
    if (previous.seq == seq && previous.head_hash == hash) return previous;
  }
  last->reset();

  Checkpoint c;
  c.seq = seq;
  c.head_hash = hash;
  c.at = clock_->now();
  c.key_id = key_id_;
  c.public_key = public_key_;
  auto sig = sign(key_->pkey.get(), checkpointMessage(seq, hash, core::toUnixMillis(c.at)));
  if (!sig) return sig.error();
  c.signature = std::move(*sig);

  auto insert = db_->prepare(
      "INSERT INTO checkpoints(seq, head_hash, at_ms, key_id, signature) VALUES(?1,?2,?3,?4,?5)");
  if (!insert) return insert.error();
  insert->bind(1, c.seq)
      .bind(2, c.head_hash)
      .bind(3, core::toUnixMillis(c.at))
      .bind(4, c.key_id)
      .bind(5, c.signature);
  if (auto r = insert->run(); !r) return r.error();
  if (auto r = tx.commit(); !r) return r.error();
  return c;
}

Result<std::optional<Checkpoint>> Checkpointer::latest(Database& db) {
  auto has = db.hasTable("checkpoints");
  if (!has) return has.error();
  if (!*has) return std::optional<Checkpoint>();
  auto q = db.prepare(std::string(kSelectCheckpoint) + "ORDER BY c.id DESC LIMIT 1");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Checkpoint>();
  return std::optional<Checkpoint>(readCheckpointRow(*q));
}

}  // namespace steward::ledger
