// See tasks.hpp.
#include "core/tasks.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

namespace steward::core {

namespace asio = boost::asio;

TaskGroup::TaskGroup(asio::any_io_executor executor, Logger& log)
    : executor_(std::move(executor)), log_(log) {}

TaskGroup::~TaskGroup() {
  *alive_ = false;
  for (auto& [id, task] : tasks_)
    task->signal.emit(asio::cancellation_type::terminal);
}

bool TaskGroup::spawn(std::string name, asio::awaitable<void> task) {
  if (stopping_) {
    log_.warning("tasks.refused", {{"task", name}, {"why", "the hub is stopping"}});
    return false;
  }
  const std::uint64_t id = next_id_++;
  auto entry = std::make_unique<Task>();
  entry->name = std::move(name);
  auto& signal = entry->signal;
  tasks_.emplace(id, std::move(entry));
  asio::co_spawn(executor_, std::move(task),
                 asio::bind_cancellation_slot(signal.slot(),
                                              [this, id, alive = alive_](std::exception_ptr error) {
                                                if (*alive) finished(id, error);
                                              }));
  return true;
}

void TaskGroup::finished(std::uint64_t id, std::exception_ptr error) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted)
        log_.error("tasks.failed", {{"task", it->second->name}, {"error", e.what()}});
    } catch (const std::exception& e) {
      log_.error("tasks.failed", {{"task", it->second->name}, {"error", e.what()}});
    } catch (...) {
      log_.error("tasks.failed", {{"task", it->second->name}, {"error", "unknown exception"}});
    }
  }
  tasks_.erase(it);
  if (stopping_ && tasks_.empty()) settle(true);
}

void TaskGroup::stop(std::chrono::milliseconds deadline, std::function<void(bool)> done) {
  if (stopping_) return;
  stopping_ = true;
  done_ = std::move(done);
  if (tasks_.empty()) {
    // Answer on the loop, never from inside the caller.
    asio::post(executor_, [this, alive = alive_] {
      if (*alive) settle(true);
    });
    return;
  }
  deadline_ = std::make_unique<asio::steady_timer>(executor_, deadline);
  deadline_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    for (const auto& [id, task] : tasks_)
      log_.warning("tasks.abandoned", {{"task", task->name}});
    settle(false);
  });
  // Emitting may complete tasks synchronously and erase them: walk a copy of the ids.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, task] : tasks_)
    ids.push_back(id);
  for (auto id : ids)
    if (auto it = tasks_.find(id); it != tasks_.end())
      it->second->signal.emit(asio::cancellation_type::terminal);
}

void TaskGroup::settle(bool all_finished) {
  if (!done_) return;
  if (deadline_) deadline_->cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  done(all_finished);
}

}  // namespace steward::core
