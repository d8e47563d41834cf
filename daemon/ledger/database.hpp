// A thin RAII layer over one SQLite connection: statements, transactions and per-component
// schema migrations. Owned by the ledger; used on the loop thread only.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace steward::ledger {

using core::Result;

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  // Any other integer type (long long from core::toUnixMillis, uid_t, ...).
  template <std::integral T>
  requires(!std::is_same_v<T, std::int64_t> && !std::is_same_v<T, int> &&
           !std::is_same_v<T, bool>) Statement& bind(int index, T value) {
    return bind(index, static_cast<std::int64_t>(value));
  }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  Statement& bindBlob(int index, std::span<const unsigned char> blob);
  Statement& bindNull(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  // true: a row is available; false: done. Errors carry SQLite's message.
  Result<bool> step();
  // Runs a statement that returns no rows to completion.
  Result<void> run();
  // The row loop: calls `fn(*this)` for every row, then resets the statement (bindings cleared)
  // so it can be bound and run again. `fn` returns void, or a Result<void> whose error stops the
  // loop and is returned; a step error is returned as well.
  template <class F>
  Result<void> forEach(F&& fn) {
    for (;;) {
      auto row = step();
      if (!row) {
        reset();
        return row.error();
      }
      if (!*row) break;
      if constexpr (std::is_void_v<std::invoke_result_t<F&, Statement&>>) {
        fn(*this);
      } else if (auto r = fn(*this); !r) {
        reset();
        return r.error();
      }
    }
    reset();
    return {};
  }
  void reset();

  // Columns are 0-based, as in SQLite.
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::string_view textView(int column) const;  // valid until the next step/reset
  bool isNull(int column) const;
  std::span<const unsigned char> blob(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

enum class OpenMode { readWrite, readOnly };

class Database {
 public:
  // Opens (creating when read-write) the database at `path`; WAL mode, foreign keys on,
  // synchronous=FULL so a reported commit survives power loss (see ledger/README.md). Read-only
  // opens never create or modify the file, so `stewardctl --db` is safe beside a running daemon.
  static Result<Database> open(const std::string& path, OpenMode mode = OpenMode::readWrite);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  Result<void> exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);

  // Applies `steps[version..]` of `component`'s schema, each in its own transaction, and records
  // the new version. Steps are append-only: never edit a step that has shipped.
  Result<void> migrate(std::string_view component, std::span<const std::string_view> steps);
  Result<int> schemaVersion(std::string_view component);

  std::int64_t lastInsertRowId() const;
  int changes() const;
  bool inTransaction() const { return depth_ > 0; }
  sqlite3* handle() const { return db_; }
  bool readOnly() const { return read_only_; }

  // Whether a table or view of that name exists (review functions tolerate absent modules).
  Result<bool> hasTable(std::string_view name);

  // Runs `fn` once the enclosing outermost transaction has committed, so observers (D-Bus
  // signals, MQTT publishes) never hear of a change that was rolled back. Dropped if the
  // transaction (or the savepoint it was queued in) rolls back. Outside a transaction it runs
  // at once: the change has already committed.
  void afterCommit(std::function<void()> fn);

  // Incremented by every rollback (whole transaction or savepoint), so callers that cache what
  // they wrote can tell that it may have been undone.
  std::uint64_t rollbackCount() const { return *rollbacks_; }

 private:
  explicit Database(sqlite3* db);
  friend class Transaction;
  void beginLevel();
  void releaseLevel();
  void discardLevel();
  void commitOuter();

  sqlite3* db_ = nullptr;
  int depth_ = 0;
  bool read_only_ = false;
  // On the heap so SQLite's rollback hook (which also sees rollbacks SQLite makes by itself)
  // keeps a stable address when the Database moves.
  std::unique_ptr<std::uint64_t> rollbacks_;
  // Callbacks waiting for the commit, one list per open transaction level.
  std::vector<std::vector<std::function<void()>>> after_commit_;
};

// BEGIN IMMEDIATE at the outermost level, a SAVEPOINT when nested. Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  bool begun() const { return begun_; }
  const core::Error& error() const { return error_; }
  Result<void> commit();

 private:
  Database& db_;
  bool begun_ = false;
  bool done_ = false;
  core::Error error_;
};

}  // namespace steward::ledger
