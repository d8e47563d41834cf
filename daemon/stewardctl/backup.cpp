// See backup.hpp. The copy is written to a temporary file beside the destination, made
// self-contained (rollback journal instead of WAL), checked, synced and only then renamed.
#include "stewardctl/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ledger/database.hpp"

namespace steward::stewardctl {
namespace {

namespace fs = std::filesystem;

// SQLite handles opened here, closed on every path.
struct Handle {
  sqlite3* db = nullptr;
  ~Handle() { sqlite3_close_v2(db); }
};

core::Result<void> syncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return core::fail("cannot open " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return core::fail("cannot sync " + path + ": " + std::strerror(saved));
  return {};
}

std::string message(sqlite3* db) {
  return db ? sqlite3_errmsg(db) : "out of memory";
}

// The whole database in one backup step: one read snapshot, so a write by the running hub
// cannot make the copy restart. A busy source (a checkpoint in progress) is retried for a while.
core::Result<void> copyPages(sqlite3* from, sqlite3* to) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (!backup) return core::fail("cannot start the backup: " + message(to));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int rc = SQLITE_OK;
  while (true) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE)
    return core::fail(std::string("the backup did not complete: ") + sqlite3_errstr(rc));
  return {};
}

core::Result<void> checkIntegrity(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK)
    return core::fail("cannot check the copy: " + message(db));
  std::string first;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    first = text ? reinterpret_cast<const char*>(text) : "";
  }
  sqlite3_finalize(stmt);
  if (first != "ok") return core::fail("the copy fails SQLite's integrity check: " + first);
  return {};
}

core::Result<BackupReport> writeCopy(const std::string& source, const std::string& temporary) {
  Handle from;
  if (sqlite3_open_v2(source.c_str(), &from.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return core::fail("cannot open " + source + " read-only: " + message(from.db));
  sqlite3_busy_timeout(from.db, 5000);
  {
    Handle to;
    if (sqlite3_open_v2(temporary.c_str(), &to.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK)
      return core::fail("cannot create " + temporary + ": " + message(to.db));
    if (auto copied = copyPages(from.db, to.db); !copied) return copied.error();
    // A single file that needs no -wal or -shm beside it; the hub turns WAL back on when it
    // opens a restored copy.
    if (sqlite3_exec(to.db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return core::fail("cannot finish the copy: " + message(to.db));
    if (auto ok = checkIntegrity(to.db); !ok) return ok.error();
  }

  auto copy = ledger::Database::open(temporary, ledger::OpenMode::readOnly);
  if (!copy) return core::fail("cannot read the copy back: " + copy.error().message);
  auto chain = ledger::verify(*copy);
  if (!chain) return core::fail(source + " is not a Steward ledger: " + chain.error().message);
  BackupReport report;
  report.chain = std::move(*chain);
  std::error_code ec;
  report.bytes = static_cast<std::int64_t>(fs::file_size(temporary, ec));
  return report;
}

}  // namespace

core::Result<BackupReport> backupDatabase(const std::string& source,
                                          const std::string& destination) {
  std::error_code ec;
  if (destination.empty()) return core::fail("backup needs a file name to write the copy to");
  if (fs::exists(fs::symlink_status(destination, ec)))
    return core::fail(destination +
                      " already exists; backups are never overwritten, choose a new name");
  if (!fs::exists(source, ec)) return core::fail("there is no database at " + source);
  const fs::path target = fs::absolute(destination, ec);
  fs::path directory = target.parent_path();
  if (!fs::is_directory(directory, ec))
    return core::fail("cannot write " + destination + ": " + directory.string() +
                      " is not a directory");

  const std::string temporary =
      (directory / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid())))
          .string();
  auto cleanup = [&] {
    fs::remove(temporary, ec);
    fs::remove(temporary + "-journal", ec);
  };
  auto report = writeCopy(source, temporary);
  if (!report) {
    cleanup();
    return report.error();
  }
  if (auto synced = syncPath(temporary, O_RDONLY); !synced) {
    cleanup();
    return synced.error();
  }
  // A file that appeared at the destination meanwhile is not replaced. File systems without
  // RENAME_NOREPLACE (FAT on a USB stick) get a check just before a plain rename.
  int renamed =
      ::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
  if (renamed != 0 && (errno == EINVAL || errno == ENOSYS)) {
    if (fs::exists(fs::symlink_status(target, ec))) {
      errno = EEXIST;
    } else {
      renamed = ::rename(temporary.c_str(), target.c_str());
    }
  }
  if (renamed != 0) {
    const int saved = errno;
    cleanup();
    return core::fail("cannot name the copy " + destination + ": " + std::strerror(saved));
  }
  if (auto synced = syncPath(directory.string(), O_RDONLY | O_DIRECTORY); !synced)
    return synced.error();
  return report;
}

}  // namespace steward::stewardctl
