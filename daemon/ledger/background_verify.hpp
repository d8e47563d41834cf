// verify() off the loop: a worker thread with its own read-only connection (a small page cache,
// closed afterwards, freed memory handed back to the system), the result posted back to the
// loop. The daemon keeps answering while a million decisions are hashed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "ledger/verify.hpp"

namespace steward::ledger {

// Verifies the ledger file at `path` through a connection of its own: read-only, a 2 MiB page
// cache instead of the daemon's 64 MiB, closed before it returns. Safe beside the daemon's
// writing connection (WAL gives the reader one consistent snapshot).
Result<VerifyReport> verifyFile(const std::string& path,
                                const std::optional<Checkpoint>& external = std::nullopt);

class BackgroundVerifier {
 public:
  using Done = std::function<void(Result<VerifyReport>)>;

  // `loop` is where `done` runs (the daemon's io_context).
  explicit BackgroundVerifier(boost::asio::any_io_executor loop);
  BackgroundVerifier(const BackgroundVerifier&) = delete;
  BackgroundVerifier& operator=(const BackgroundVerifier&) = delete;
  // Waits for a verify still running (it only reads); its result is then dropped.
  ~BackgroundVerifier();

  // Starts a verify of `path` on the worker thread; `done` runs on the loop with the result.
  // One at a time: false (and `done` is not called) while one is running. Call on the loop.
  bool start(std::string path, std::optional<Checkpoint> external, Done done);
  bool running() const { return running_; }

 private:
  boost::asio::any_io_executor loop_;
  std::thread worker_;
  bool running_ = false;
  // Cleared by the destructor (on the loop), read by the posted completion (on the loop).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::ledger
