// Owned coroutines: stop() cancels every task and answers once they have ended, or when its
// deadline passes for a task that does not end; withDeadline() bounds one step.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/tasks.hpp"

namespace steward::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> sleepFor(std::chrono::milliseconds d, bool* finished = nullptr) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  if (finished) *finished = true;
}

// Ignores cancellation: keeps waiting in short steps until `until` passes.
asio::awaitable<void> stubborn(std::chrono::steady_clock::time_point until) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < until) {
    t.expires_after(10ms);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await asio::this_coro::reset_cancellation_state();
  }
}

asio::awaitable<int> answerAfter(std::chrono::milliseconds d, int value) {
  co_await sleepFor(d);
  co_return value;
}

TEST(TaskGroup, StopCancelsRunningTasksAndAnswersWhenTheyHaveEnded) {
  asio::io_context io;
  Logger log(LogLevel::error);
  TaskGroup tasks(io.get_executor(), log);
  bool finished = false;
  ASSERT_TRUE(tasks.spawn("long wait", sleepFor(1h, &finished)));
  ASSERT_TRUE(tasks.spawn("another", sleepFor(1h)));
  std::optional<bool> answer;
  const auto started = std::chrono::steady_clock::now();
  asio::post(io, [&] { tasks.stop(5s, [&](bool all) { answer = all; }); });
  io.run_for(10s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(*answer);
  EXPECT_FALSE(finished) << "the wait was cancelled, not completed";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  EXPECT_EQ(tasks.running(), 0u);
  EXPECT_FALSE(tasks.spawn("late", sleepFor(1ms))) << "a stopping group takes no new work";
}

TEST(TaskGroup, AStragglerIsAbandonedAtTheDeadline) {
  asio::io_context io;
  Logger log(LogLevel::error);
  TaskGroup tasks(io.get_executor(), log);
  ASSERT_TRUE(tasks.spawn("stubborn", stubborn(std::chrono::steady_clock::now() + 3s)));
  std::optional<bool> answer;
  asio::post(io, [&] { tasks.stop(200ms, [&](bool all) { answer = all; }); });
  while (!answer && io.run_one_for(5s)) {
  }
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(*answer);
  EXPECT_EQ(tasks.running(), 1u);
}

TEST(TaskGroup, StopWithNothingRunningAnswersOnTheLoop) {
  asio::io_context io;
  Logger log(LogLevel::error);
  TaskGroup tasks(io.get_executor(), log);
  std::optional<bool> answer;
  tasks.stop(1s, [&](bool all) { answer = all; });
  EXPECT_FALSE(answer.has_value()) << "never from inside the caller";
  io.run_for(1s);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(*answer);
}

TEST(WithDeadline, GivesTheValueInTimeAndATimeoutOtherwise) {
  asio::io_context io;
  std::optional<Result<int>> quick, slow;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        quick = co_await withDeadline(answerAfter(10ms, 7), 1s);
        slow = co_await withDeadline(answerAfter(1h, 8), 50ms);
      },
      asio::detached);
  io.run_for(5s);
  ASSERT_TRUE(quick && *quick);
  EXPECT_EQ(quick->value(), 7);
  ASSERT_TRUE(slow.has_value());
  ASSERT_FALSE(*slow);
  EXPECT_EQ(slow->error().code, ErrorCode::timeout);
}

}  // namespace
}  // namespace steward::core
