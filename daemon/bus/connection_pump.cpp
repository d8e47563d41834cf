// See connection_pump.hpp. sd-bus reports what it wants as poll(2) events plus an absolute
// CLOCK_MONOTONIC deadline (UINT64_MAX: none; 0 or past: now). steady_clock is CLOCK_MONOTONIC
// on Linux, so the deadline maps straight onto the timer. Processing always runs until sd-bus
// says nothing is left before a wait is armed, so no readiness edge can be missed.
#include "bus/connection_pump.hpp"

#include <poll.h>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <limits>

namespace steward::bus {

namespace asio = boost::asio;

namespace {
// Requests handled per turn before yielding to the rest of the loop (fairness under a flood).
constexpr int kRequestsPerTurn = 64;
}  // namespace

ConnectionPump::ConnectionPump(asio::any_io_executor executor, sdbus::IConnection& connection,
                               core::Logger& log, std::function<void()> on_lost)
    : executor_(executor),
      connection_(connection),
      log_(log),
      on_lost_(std::move(on_lost)),
      descriptor_(executor),
      timer_(executor) {}

ConnectionPump::~ConnectionPump() {
  *alive_ = false;
  stop();
}

void ConnectionPump::start() {
  if (running_) return;
  try {
    fd_ = connection_.getEventLoopPollData().fd;
  } catch (const sdbus::Error& e) {
    log_.error("dbus.poll_data_failed", {{"error", e.getMessage()}});
    return;
  }
  boost::system::error_code ec;
  descriptor_.assign(fd_, ec);
  if (ec) {
    log_.error("dbus.watch_failed", {{"error", ec.message()}});
    return;
  }
  running_ = true;
  process();
}

void ConnectionPump::stop() {
  if (!running_) return;
  running_ = false;
  boost::system::error_code ec;
  descriptor_.cancel(ec);
  timer_.cancel();
  // The fd belongs to sd-bus: hand it back instead of closing it.
  descriptor_.release();
  read_armed_ = write_armed_ = false;
}

void ConnectionPump::kick() {
  if (!running_ || process_posted_) return;
  process_posted_ = true;
  asio::post(executor_, [this, alive = alive_] {
    if (!*alive) return;
    process_posted_ = false;
    if (running_) process();
  });
}

void ConnectionPump::process() {
  try {
    for (int i = 0; i < kRequestsPerTurn; ++i) {
      if (!running_) return;
      if (!connection_.processPendingRequest()) {
        arm();
        return;
      }
    }
  } catch (const sdbus::Error& e) {
    // sd_bus_process fails only when the connection is broken (ECONNRESET, ENOTCONN).
    log_.error("dbus.connection_lost", {{"error", e.getMessage()}});
    stop();
    if (on_lost_) on_lost_();
    return;
  }
  // Still busy after a full turn: let other work run, then continue.
  kick();
}

void ConnectionPump::arm() {
  sdbus::IConnection::PollData poll;
  try {
    poll = connection_.getEventLoopPollData();
  } catch (const sdbus::Error& e) {
    log_.error("dbus.connection_lost", {{"error", e.getMessage()}});
    stop();
    if (on_lost_) on_lost_();
    return;
  }

  if ((poll.events & POLLIN) && !read_armed_) {
    read_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, alive = alive_](const boost::system::error_code& ec) {
                             if (!*alive) return;
                             read_armed_ = false;
                             if (ec == asio::error::operation_aborted || !running_) return;
                             process();
                           });
  }
  if ((poll.events & POLLOUT) && !write_armed_) {
    write_armed_ = true;
    descriptor_.async_wait(asio::posix::stream_descriptor::wait_write,
                           [this, alive = alive_](const boost::system::error_code& ec) {
                             if (!*alive) return;
                             write_armed_ = false;
                             if (ec == asio::error::operation_aborted || !running_) return;
                             process();
                           });
  }

  if (poll.timeout_usec == std::numeric_limits<std::uint64_t>::max()) {
    timer_.cancel();
    return;
  }
  const auto deadline = std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::microseconds(poll.timeout_usec)));
  if (deadline <= std::chrono::steady_clock::now()) {
    kick();
    return;
  }
  // Re-arming replaces the previous deadline; the cancelled wait completes as aborted.
  timer_.expires_at(deadline);
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted || !running_) return;
    process();
  });
}

}  // namespace steward::bus
