// See database.hpp.
#include "ledger/database.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <utility>

namespace steward::ledger {
namespace {

core::Error sqliteError(sqlite3* db, std::string_view what) {
  return core::Error{std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory")};
}

Result<sqlite3*> openHandle(const std::string& name, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    core::Error e = sqliteError(db, "cannot open database " + name);
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  return db;
}

// "file:<path>?immutable=1" with the characters URIs reserve escaped.
std::string immutableUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      uri += buf;
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bindBlob(int index, std::span<const unsigned char> blob) {
  sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db_, "sqlite step");
}

Result<void> Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) {
      reset();
      return r.error();
    }
    if (!*r) break;
  }
  reset();
  return {};
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}
std::string Statement::text(int column) const {
  return std::string(textView(column));
}

std::string_view Statement::textView(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::span<const unsigned char> Statement::blob(int column) const {
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, column));
  if (!p) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

Result<Database> Database::open(const std::string& path, OpenMode mode) {
  const bool read_only = mode == OpenMode::readOnly;
  auto opened = openHandle(
      path, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!opened) return opened.error();
  Database database(*opened);
  database.read_only_ = read_only;
  if (!read_only) {
    // WAL: readers (stewardctl --db) never block the daemon. synchronous=FULL: every commit is
    // on disk before it is reported, which is what "nothing committed is ever lost" needs.
    if (auto r = database.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !r)
      return r.error();
    // Keep the -wal and -shm files after the last connection closes, so a reader that may not
    // create files in the state directory can still open the database read-only.
    int persist = 1;
    sqlite3_file_control(database.db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  } else if (auto probe = database.exec("SELECT count(*) FROM sqlite_schema"); !probe) {
    // A WAL database closed without its -wal/-shm files cannot be opened read-only by someone
    // who may not create them. With no -wal file the main file holds every commit, so reading
    // it as immutable is exact (as long as no writer starts meanwhile).
    if (std::filesystem::exists(path + "-wal")) {
      return core::fail("cannot read database " + path + ": " + probe.error().message);
    }
    auto immutable = openHandle(immutableUri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    if (!immutable) return immutable.error();
    database = Database(*immutable);
    database.read_only_ = true;
    if (auto again = database.exec("SELECT count(*) FROM sqlite_schema"); !again) {
      return core::fail("cannot read database " + path + ": " + again.error().message);
    }
  }
  // 64 MiB of page cache (allocated as used): the indexes of a ledger with millions of
  // decisions stay in memory instead of being re-read for every append or review.
  if (auto r = database.exec("PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;"); !r) {
    return r.error();
  }
  return database;
}

Database::Database(sqlite3* db) : db_(db), rollbacks_(std::make_unique<std::uint64_t>(0)) {
  sqlite3_rollback_hook(
      db_, [](void* counter) { ++*static_cast<std::uint64_t*>(counter); }, rollbacks_.get());
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      depth_(std::exchange(other.depth_, 0)),
      read_only_(other.read_only_),
      rollbacks_(std::move(other.rollbacks_)),
      after_commit_(std::move(other.after_commit_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    depth_ = std::exchange(other.depth_, 0);
    read_only_ = other.read_only_;
    rollbacks_ = std::move(other.rollbacks_);
    after_commit_ = std::move(other.after_commit_);
  }
  return *this;
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

Result<void> Database::exec(std::string_view sql) {
  std::string owned(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    core::Error e{std::string("sqlite: ") + (message ? message : "error")};
    sqlite3_free(message);
    return e;
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return sqliteError(db_, "sqlite prepare");
  }
  return Statement(db_, stmt);
}

Result<int> Database::schemaVersion(std::string_view component) {
  if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_versions ("
                    "component TEXT PRIMARY KEY, version INTEGER NOT NULL)");
      !r)
    return r.error();
  auto q = prepare("SELECT version FROM schema_versions WHERE component = ?1");
  if (!q) return q.error();
  q->bind(1, component);
  auto row = q->step();
  if (!row) return row.error();
  return *row ? static_cast<int>(q->int64(0)) : 0;
}

Result<void> Database::migrate(std::string_view component,
                               std::span<const std::string_view> steps) {
  auto current = schemaVersion(component);
  if (!current) return current.error();
  if (*current > static_cast<int>(steps.size())) {
    return core::fail("schema of " + std::string(component) + " is at version " +
                      std::to_string(*current) + ", newer than this program knows (" +
                      std::to_string(steps.size()) + ")");
  }
  for (int v = *current; v < static_cast<int>(steps.size()); ++v) {
    Transaction tx(*this);
    if (!tx.begun()) return tx.error();
    if (auto r = exec(steps[static_cast<std::size_t>(v)]); !r) {
      return core::fail("migrating " + std::string(component) + " to version " +
                        std::to_string(v + 1) + ": " + r.error().message);
    }
    auto up = prepare(
        "INSERT INTO schema_versions(component, version) VALUES(?1, ?2) "
        "ON CONFLICT(component) DO UPDATE SET version = excluded.version");
    if (!up) return up.error();
    up->bind(1, component).bind(2, v + 1);
    if (auto r = up->run(); !r) return r.error();
    if (auto r = tx.commit(); !r) return r.error();
  }
  return {};
}

Result<bool> Database::hasTable(std::string_view name) {
  auto q = prepare("SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?1");
  if (!q) return q.error();
  q->bind(1, name);
  auto row = q->step();
  if (!row) return row.error();
  return *row;
}

void Database::afterCommit(std::function<void()> fn) {
  if (after_commit_.empty()) {
    fn();
    return;
  }
  after_commit_.back().push_back(std::move(fn));
}

void Database::beginLevel() {
  ++depth_;
  after_commit_.emplace_back();
}

void Database::releaseLevel() {
  // A released savepoint's callbacks now wait for the enclosing level.
  auto done = std::move(after_commit_.back());
  after_commit_.pop_back();
  --depth_;
  auto& parent = after_commit_.back();
  for (auto& fn : done)
    parent.push_back(std::move(fn));
}

void Database::discardLevel() {
  after_commit_.pop_back();
  --depth_;
  ++*rollbacks_;
}

void Database::commitOuter() {
  auto done = std::move(after_commit_.back());
  after_commit_.pop_back();
  --depth_;
  // Run after the bookkeeping so a callback may open a transaction of its own.
  for (auto& fn : done)
    fn();
}

std::int64_t Database::lastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}
int Database::changes() const {
  return sqlite3_changes(db_);
}

Transaction::Transaction(Database& db) : db_(db) {
  const std::string sql =
      db_.depth_ == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT sp" + std::to_string(db_.depth_);
  if (auto r = db_.exec(sql); !r) {
    error_ = r.error();
    return;
  }
  begun_ = true;
  db_.beginLevel();
}

Result<void> Transaction::commit() {
  if (!begun_ || done_) return core::fail("transaction not active");
  const int level = db_.depth_ - 1;
  const std::string sql = level == 0 ? "COMMIT" : "RELEASE sp" + std::to_string(level);
  if (auto r = db_.exec(sql); !r) return r;
  done_ = true;
  if (level == 0) {
    db_.commitOuter();
  } else {
    db_.releaseLevel();
  }
  return {};
}

Transaction::~Transaction() {
  if (!begun_ || done_) return;
  const int level = db_.depth_ - 1;
  if (level == 0) {
    (void)db_.exec("ROLLBACK");
  } else {
    const std::string sp = "sp" + std::to_string(level);
    (void)db_.exec("ROLLBACK TO " + sp + "; RELEASE " + sp);
  }
  db_.discardLevel();
}

}  // namespace steward::ledger
