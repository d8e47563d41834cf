// Steward's own signing key on disk: made once, 0600, reloaded unchanged, and refused when its
// file could have been read or replaced by someone else.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>

#include "negotiation/signing/jwk.hpp"
#include "negotiation/signing/key_store.hpp"
#include "support/temp_dir.hpp"

namespace steward::negotiation {
namespace {

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(KeyStore, MadeOnFirstStartAndLoadedAfter) {
  test::TempDir dir;
  auto first = KeyStore::openOrCreate(dir.path());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->createdNow());
  EXPECT_EQ(first->key().curve(), Curve::kP256);
  EXPECT_EQ(modeOf(first->path()), 0600u);
  EXPECT_EQ(first->kid(), jwkThumbprint(first->key().publicKey()));
  // No temporary file is left behind.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);

  const auto jwk = first->publicJwk();
  EXPECT_FALSE(jwk.contains("d"));
  EXPECT_EQ(std::string(jwk.at("kid").as_string()), first->kid());
  auto parsed = parsePublicJwk(jwk);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;

  auto second = KeyStore::openOrCreate(dir.path());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->createdNow());
  EXPECT_EQ(second->thumbprint(), first->thumbprint());
  EXPECT_EQ(second->key().d(), first->key().d());
  // What the first signs, the second's public key verifies.
  auto sig = first->key().sign("hello");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(second->key().publicKey().verify("hello", *sig).ok());
}

TEST(KeyStore, RefusesALooseFileAndChangesNothing) {
  test::TempDir dir;
  auto made = KeyStore::openOrCreate(dir.path());
  ASSERT_TRUE(made.ok());
  const std::string before = test::readFile(made->path());
  for (unsigned mode : {0640u, 0604u, 0660u, 0644u, 0404u, 0602u, 0620u}) {
    ASSERT_EQ(::chmod(made->path().c_str(), mode), 0);
    auto r = KeyStore::openOrCreate(dir.path());
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_NE(r.error().message.find("it must be 0600"), std::string::npos) << r.error().message;
    EXPECT_EQ(test::readFile(made->path()), before);
  }
  ASSERT_EQ(::chmod(made->path().c_str(), 0400), 0);  // stricter than 0600 is fine
  EXPECT_TRUE(KeyStore::openOrCreate(dir.path()).ok());
  ASSERT_EQ(::chmod(made->path().c_str(), 0600), 0);
  EXPECT_TRUE(KeyStore::openOrCreate(dir.path()).ok());
}

TEST(KeyStore, RefusesSymlinksGarbageAndPublicOnlyKeys) {
  test::TempDir dir;
  test::TempDir elsewhere;
  auto made = KeyStore::openOrCreate(elsewhere.path());
  ASSERT_TRUE(made.ok());
  const std::string link = dir.file(KeyStore::kFileName);
  ASSERT_EQ(::symlink(made->path().c_str(), link.c_str()), 0);
  auto r = KeyStore::openOrCreate(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot open the signing key"), std::string::npos)
      << r.error().message;
  ::unlink(link.c_str());

  auto write600 = [&](const std::string& text) {
    const std::string p = dir.write(KeyStore::kFileName, text);
    EXPECT_EQ(::chmod(p.c_str(), 0600), 0);
  };
  write600("not json");
  r = KeyStore::openOrCreate(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a JSON object"), std::string::npos);

  write600(boost::json::serialize(made->publicJwk()));
  r = KeyStore::openOrCreate(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"d\" is missing"), std::string::npos) << r.error().message;

  write600(std::string(5000, ' '));
  r = KeyStore::openOrCreate(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);

  EXPECT_FALSE(KeyStore::openOrCreate(dir.file("absent")).ok());
}

}  // namespace
}  // namespace steward::negotiation
