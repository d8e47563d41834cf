// Owned coroutines on the hub's loop. Multi-step network work (a vendor conversation, an order
// being tracked) runs as an asio::awaitable spawned into a TaskGroup, which gives each task a
// cancellation slot; stop() cancels them all and reports once every one has finished or a deadline
// has passed, so shutdown is bounded. withDeadline() bounds one step of such a conversation.
//
//   tasks_.spawn("rfq basket:3", [this]() -> asio::awaitable<void> {
//     auto offer = co_await core::withDeadline(client.quote(rfq), 10s);
//     if (!offer) co_return;  // offer.error().code == core::ErrorCode::timeout
//     ...
//   }());
//
// operation_aborted (cancellation) is the normal end of a stopped task and is not logged as an
// error; an exception escaping a task is logged with the task's name.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "core/log.hpp"
#include "core/result.hpp"

namespace steward::core {

class TaskGroup {
 public:
  TaskGroup(boost::asio::any_io_executor executor, Logger& log);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` on the loop. Refused (returns false, task not started) once stop() was called.
  bool spawn(std::string name, boost::asio::awaitable<void> task);

  // Cancels every running task; `done(true)` once all have finished, or `done(false)` when
  // `deadline` passes first (the stragglers are abandoned to the loop's end). Called once.
  void stop(std::chrono::milliseconds deadline, std::function<void(bool all_finished)> done);

  std::size_t running() const { return tasks_.size(); }
  bool stopping() const { return stopping_; }

 private:
  struct Task {
    std::string name;
    boost::asio::cancellation_signal signal;
  };
  void finished(std::uint64_t id, std::exception_ptr error);
  void settle(bool all_finished);

  boost::asio::any_io_executor executor_;
  Logger& log_;
  std::map<std::uint64_t, std::unique_ptr<Task>> tasks_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::function<void(bool)> done_;
  std::unique_ptr<boost::asio::steady_timer> deadline_;
  // Completions that arrive after this group is gone must not touch it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Runs `step` with a deadline: its value, or a timeout error when `limit` passes first (the step
// is cancelled). Cancellation of the caller cancels both.
template <class T>
boost::asio::awaitable<Result<T>> withDeadline(boost::asio::awaitable<T> step,
                                               std::chrono::milliseconds limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, limit);
  auto first = co_await (std::move(step) || timer.async_wait(boost::asio::use_awaitable));
  if (first.index() == 0) co_return Result<T>(std::move(std::get<0>(first)));
  co_return Result<T>(timedOut("no answer within " + std::to_string(limit.count()) + " ms"));
}

}  // namespace steward::core
