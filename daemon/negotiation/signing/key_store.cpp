// See key_store.hpp.
#include "negotiation/signing/key_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

#include "negotiation/signing/jwk.hpp"

namespace steward::negotiation {
namespace {

using core::fail;

std::string errnoText() {
  return std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

core::Result<void> writeAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errnoText());
    }
    done += std::size_t(n);
  }
  return {};
}

core::Result<EcPrivateKey> load(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return fail("cannot open the signing key " + path + ": " + errnoText());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot inspect " + path + ": " + errnoText());
  if (!S_ISREG(st.st_mode)) return fail("the signing key " + path + " is not a regular file");
  if (st.st_uid != ::geteuid()) {
    return fail("the signing key " + path + " belongs to another user (uid " +
                std::to_string(st.st_uid) + "); refusing to use it");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return fail("the signing key " + path + " has mode " + mode +
                ", readable or writable by others; it must be 0600 (run chmod 600 on it, and "
                "consider the key exposed)");
  }
  if (st.st_size > off_t(kMaxJwkBytes)) return fail("the signing key " + path + " is too large");
  std::string text(std::size_t(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot read the signing key " + path + ": " + errnoText());
    got += std::size_t(n);
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return fail("the signing key " + path + " is not a JSON object");
  auto key = parsePrivateJwk(v.as_object());
  if (!key) return fail("the signing key " + path + ": " + key.error().message);
  return key;
}

core::Result<void> save(const std::string& directory, const std::string& path,
                        const EcPrivateKey& key) {
  const std::string kid = jwkThumbprint(key.publicKey());
  const std::string text = boost::json::serialize(toPrivateJwk(key, kid)) + "\n";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a start that crashed before its rename
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return fail("cannot create " + tmp + ": " + errnoText());
  auto cleanup = [&](const std::string& why) {
    ::unlink(tmp.c_str());
    return fail("cannot save the signing key to " + path + ": " + why);
  };
  if (::fchmod(fd.get(), 0600) != 0) return cleanup(errnoText());
  if (auto w = writeAll(fd.get(), text); !w) return cleanup(w.error().message);
  if (::fsync(fd.get()) != 0) return cleanup(errnoText());
  if (::close(fd.release()) != 0) return cleanup(errnoText());
  if (::rename(tmp.c_str(), path.c_str()) != 0) return cleanup(errnoText());
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return {};
}

}  // namespace

KeyStore::KeyStore(EcPrivateKey key, std::string path, bool created_now)
    : key_(std::move(key)),
      kid_(jwkThumbprint(key_.publicKey())),
      path_(std::move(path)),
      created_now_(created_now) {}

core::Result<KeyStore> KeyStore::openOrCreate(const std::string& state_directory) {
  if (state_directory.empty()) return fail("no state directory for the signing key");
  struct stat st {};
  if (::stat(state_directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail("the state directory " + state_directory + " does not exist");
  }
  const std::string path = state_directory + "/" + kFileName;
  struct stat key_st {};
  if (::lstat(path.c_str(), &key_st) == 0) {
    auto key = load(path);
    if (!key) return key.error();
    return KeyStore(std::move(*key), path, false);
  }
  if (errno != ENOENT) return fail("cannot inspect " + path + ": " + errnoText());
  auto key = EcPrivateKey::generate(Curve::kP256);
  if (!key) return key.error();
  if (auto s = save(state_directory, path, *key); !s) return s.error();
  return KeyStore(std::move(*key), path, true);
}

boost::json::object KeyStore::publicJwk() const {
  return toPublicJwk(key_.publicKey(), kid_);
}

}  // namespace steward::negotiation
