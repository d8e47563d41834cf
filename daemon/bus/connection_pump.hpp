// Drives one sdbus-c++ 1.2 connection from the hub's Asio loop: the bus fd is watched with a
// non-owning posix::stream_descriptor and sd-bus's own deadline with a timer; whenever either
// fires, pending requests are processed and the watch is re-armed. No library thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>

#include "core/log.hpp"

namespace sdbus {
class IConnection;
}

namespace steward::bus {

class ConnectionPump {
 public:
  // `connection` must outlive the pump. `on_lost` runs once if the connection fails for good
  // (bus daemon gone); the pump then stops watching.
  ConnectionPump(boost::asio::any_io_executor executor, sdbus::IConnection& connection,
                 core::Logger& log, std::function<void()> on_lost = {});
  ~ConnectionPump();
  ConnectionPump(const ConnectionPump&) = delete;
  ConnectionPump& operator=(const ConnectionPump&) = delete;

  // Starts watching. Idempotent.
  void start();
  // Something was queued on the connection from outside a callback (a signal was emitted):
  // process and re-arm soon, so queued output is flushed and POLLOUT is watched if needed.
  void kick();
  // Stops watching; the connection stays usable for blocking calls. Idempotent.
  void stop();

  bool running() const { return running_; }

 private:
  void process();
  void arm();

  boost::asio::any_io_executor executor_;
  sdbus::IConnection& connection_;
  core::Logger& log_;
  std::function<void()> on_lost_;
  boost::asio::posix::stream_descriptor descriptor_;
  boost::asio::steady_timer timer_;
  int fd_ = -1;
  bool running_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool process_posted_ = false;
  // Completion handlers check this, so a pump destroyed with waits outstanding is never touched.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::bus
