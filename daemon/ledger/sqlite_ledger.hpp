// The SQLite implementation of the ledger (see ledger.hpp and README.md): the decisions table,
// the hash chain, and group commit for bursts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "ledger/chain.hpp"
#include "ledger/ledger.hpp"

namespace steward::ledger {

class SqliteLedger final : public Ledger {
 public:
  // Opens or creates the database at `path` and brings the ledger's schema up to date.
  static Result<std::unique_ptr<SqliteLedger>> open(const std::string& path,
                                                    const core::Clock& clock);

  // Validates, chains and appends. Fails, changing nothing, on a malformed decision (empty or
  // malformed kind, a cause that is not an earlier record, a field over the caps above) or a
  // database error.
  Result<RecordedDecision> record(const Decision& decision) override;
  Database& database() override { return db_; }

  struct Head {
    std::int64_t seq = 0;
    std::string hash;
  };
  // The last record's sequence number and hash as this connection sees it (including records
  // of the open transaction). Cached, and re-read after any rollback.
  Result<Head> head();

  // Called once the transaction holding a decision has committed (never for one rolled back);
  // for the DecisionRecorded D-Bus signal and the like. One handler; a new one replaces it.
  using RecordedHandler = std::function<void(const Decision&, const RecordedDecision&)>;
  void onRecorded(RecordedHandler handler) { on_recorded_ = std::move(handler); }

 private:
  SqliteLedger(Database db, const core::Clock& clock) : db_(std::move(db)), clock_(clock) {}
  Result<RecordedDecision> append(const Decision& decision);

  Database db_;
  const core::Clock& clock_;
  Statement insert_;
  Statement head_query_;
  ChainHasher hasher_;
  RecordedHandler on_recorded_;
  // The head after our last append, valid while no rollback happened since (rollbackCount).
  std::optional<Head> cached_head_;
  std::uint64_t cached_at_rollbacks_ = 0;
};

// Group commit: the decisions of a burst (a batch of MQTT messages handled in one loop turn)
// share one transaction and so one fsync. Nothing is durable, and nothing may be sent because
// of these decisions, until commit() returns; destroying an uncommitted batch rolls it back.
// State changes made through ledger.database() in between join the same transaction.
class RecordBatch {
 public:
  explicit RecordBatch(Ledger& ledger) : ledger_(ledger) {}
  RecordBatch(const RecordBatch&) = delete;
  RecordBatch& operator=(const RecordBatch&) = delete;

  Result<RecordedDecision> record(const Decision& decision);
  Result<void> commit();
  std::size_t size() const { return size_; }

 private:
  Ledger& ledger_;
  std::optional<Transaction> tx_;
  std::size_t size_ = 0;
};

}  // namespace steward::ledger
