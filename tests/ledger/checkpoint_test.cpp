// The checkpoint key and signatures: generated once with mode 0600, refused when exposed, and
// signatures that the openssl tool verifies independently.
#include "ledger/checkpoint.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/serialize.hpp>
#include <filesystem>

#include "ledger/text.hpp"
#include "ledger_fixture.hpp"

namespace steward::ledger::test {
namespace {

class CheckpointTest : public LedgerTest {
 protected:
  std::string keyPath() const { return dir_.file("state/checkpoint.key"); }
  void SetUp() override {
    LedgerTest::SetUp();
    std::filesystem::create_directories(dir_.file("state"));
  }
  Checkpointer open() {
    auto cp = Checkpointer::open(ledger_->database(), keyPath(), clock_);
    EXPECT_TRUE(cp.ok()) << cp.error().message;
    return std::move(*cp);
  }
  int run(std::vector<std::string> argv) {
    steward::test::Process p(std::move(argv), dir_.file("tool.log"));
    auto status = p.wait(std::chrono::seconds(30));
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
};

TEST_F(CheckpointTest, GeneratesTheKeyOncePrivately) {
  const std::string id = open().keyId();
  struct stat st {};
  ASSERT_EQ(::stat(keyPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(open().keyId(), id) << "the second start reuses the key";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.file("state"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "no temp files left behind";
  EXPECT_EQ(count(ledger_->database(), "SELECT count(*) FROM checkpoint_keys"), 1);
}

TEST_F(CheckpointTest, RefusesAKeyOthersCanRead) {
  open();
  ASSERT_EQ(::chmod(keyPath().c_str(), 0644), 0);
  auto cp = Checkpointer::open(ledger_->database(), keyPath(), clock_);
  ASSERT_FALSE(cp.ok());
  EXPECT_NE(cp.error().message.find("mode 0644"), std::string::npos) << cp.error().message;
}

TEST_F(CheckpointTest, RefusesAFileThatIsNotAnEd25519Key) {
  dir_.write("state/checkpoint.key", "not a key");
  ASSERT_EQ(::chmod(keyPath().c_str(), 0600), 0);
  auto cp = Checkpointer::open(ledger_->database(), keyPath(), clock_);
  ASSERT_FALSE(cp.ok());
  EXPECT_NE(cp.error().message.find("not a PEM private key"), std::string::npos);
  EXPECT_EQ(steward::test::readFile(keyPath()), "not a key") << "never overwritten";
}

TEST_F(CheckpointTest, SignsTheHeadAndStoresIt) {
  record(makeDecision("need.opened", "need:1"));
  auto last = record(makeDecision("need.closed", "need:1"));
  auto cp = open();
  auto c = cp.checkpoint();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->seq, 2);
  EXPECT_EQ(c->head_hash, last.hash);
  EXPECT_EQ(c->at, clock_.now());
  EXPECT_EQ(c->public_key, cp.publicKey());
  EXPECT_TRUE(signatureValid(*c));

  auto stored = Checkpointer::latest(ledger_->database());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->signature, c->signature);

  // The published document round-trips; any change to it breaks the signature.
  auto parsed = parseCheckpoint(boost::json::serialize(toJson(*c)));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(signatureValid(*parsed));
  for (auto tamper : {+[](Checkpoint& x) { x.seq += 1; },
                      +[](Checkpoint& x) { x.head_hash[0] = x.head_hash[0] == 'a' ? 'b' : 'a'; },
                      +[](Checkpoint& x) { x.at += std::chrono::milliseconds(1); }}) {
    Checkpoint copy = *parsed;
    tamper(copy);
    EXPECT_FALSE(signatureValid(copy));
  }
}

TEST_F(CheckpointTest, TheOpensslToolAcceptsTheSignature) {
  record(makeDecision("need.opened", "need:1"));
  auto c = open().checkpoint();
  ASSERT_TRUE(c.ok());
  const std::string msg =
      dir_.write("msg", checkpointMessage(c->seq, c->head_hash, core::toUnixMillis(c->at)));
  auto sig = fromHex(c->signature);
  ASSERT_TRUE(sig.has_value());
  dir_.write("sig", std::string(sig->begin(), sig->end()));
  ASSERT_EQ(run({"openssl", "pkey", "-in", keyPath(), "-pubout", "-out", dir_.file("pub.pem")}), 0);
  EXPECT_EQ(run({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir_.file("pub.pem"),
                 "-rawin", "-in", msg, "-sigfile", dir_.file("sig")}),
            0)
      << steward::test::readFile(dir_.file("tool.log"));
  dir_.write("msg", "steward-checkpoint-v1\n999\n" + c->head_hash + "\n0\n");
  EXPECT_NE(run({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir_.file("pub.pem"),
                 "-rawin", "-in", msg, "-sigfile", dir_.file("sig")}),
            0);
}

TEST_F(CheckpointTest, AnUnchangedHeadIsNotSignedAgain) {
  record(makeDecision("need.opened", "need:1"));
  auto cp = open();
  auto first = cp.checkpoint();
  clock_.advance(std::chrono::hours(1));
  auto again = cp.checkpoint();
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(again->signature, first->signature);
  EXPECT_EQ(count(ledger_->database(), "SELECT count(*) FROM checkpoints"), 1);
  record(makeDecision("need.closed", "need:1"));
  auto next = cp.checkpoint();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 2);
  EXPECT_EQ(count(ledger_->database(), "SELECT count(*) FROM checkpoints"), 2);
}

TEST_F(CheckpointTest, AnEmptyLedgerCanBeCheckpointed) {
  auto c = open().checkpoint();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->seq, 0);
  EXPECT_EQ(c->head_hash, "");
  EXPECT_TRUE(signatureValid(*c));
}

TEST_F(CheckpointTest, RefusesToSignInsideATransaction) {
  auto cp = open();
  Transaction tx(ledger_->database());
  record(makeDecision("need.opened", "need:1"));
  auto c = cp.checkpoint();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("inside a transaction"), std::string::npos);
}

TEST(CheckpointJson, RejectsMalformedDocuments) {
  for (const char* bad :
       {"", "[]", "{\"seq\":\"1\"}", "{\"seq\":-1,\"at_ms\":0}",
        "{\"seq\":1,\"at_ms\":0,\"head\":\"a\",\"key_id\":\"b\",\"public_key\":\"c\"}"}) {
    EXPECT_FALSE(parseCheckpoint(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace steward::ledger::test
