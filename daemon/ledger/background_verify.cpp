// See background_verify.hpp.
#include "ledger/background_verify.hpp"

#include <malloc.h>

#include <boost/asio/post.hpp>
#include <utility>

namespace steward::ledger {

Result<VerifyReport> verifyFile(const std::string& path,
                                const std::optional<Checkpoint>& external) {
  Result<VerifyReport> result = core::fail("verify did not run");
  {
    auto db = Database::open(path, OpenMode::readOnly);
    if (!db) return db.error();
    // One sequential pass needs few pages; the indexes are not used. 2 MiB, not 64.
    if (auto r = db->exec("PRAGMA cache_size=-2048"); !r) return r.error();
    result = verify(*db, external);
  }  // the connection and its cache are gone here
  // Hand the freed heap back to the system, so a verify leaves no resident memory behind.
  malloc_trim(0);
  return result;
}

BackgroundVerifier::BackgroundVerifier(boost::asio::any_io_executor loop)
    : loop_(std::move(loop)) {}

BackgroundVerifier::~BackgroundVerifier() {
  *alive_ = false;
  if (worker_.joinable()) worker_.join();
}

bool BackgroundVerifier::start(std::string path, std::optional<Checkpoint> external, Done done) {
  if (running_) return false;
  if (worker_.joinable()) worker_.join();  // the previous one has finished: its result was posted
  running_ = true;
  worker_ = std::thread([this, path = std::move(path), external = std::move(external),
                         done = std::move(done), alive = alive_, loop = loop_]() mutable {
    auto result = verifyFile(path, external);
    boost::asio::post(loop, [this, alive = std::move(alive), done = std::move(done),
                             result = std::move(result)]() mutable {
      if (!*alive) return;
      running_ = false;
      done(std::move(result));
    });
  });
  return true;
}

}  // namespace steward::ledger
