// A NOTIFY_SOCKET for tests: binds the datagram socket systemd would, and collects what the
// daemon sends (READY=1, STOPPING=1, WATCHDOG=1, ...) with the time each datagram arrived.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace steward::test {

class NotifySocket {
 public:
  explicit NotifySocket(std::string path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  struct Datagram {
    std::string text;
    std::chrono::steady_clock::time_point at;
  };

  // Waits up to `timeout` for the next datagram.
  std::optional<Datagram> receive(std::chrono::milliseconds timeout);
  // Receives until a datagram containing the line `line` (e.g. "READY=1") arrives; everything
  // received on the way is appended to `seen` when given.
  std::optional<Datagram> waitForLine(const std::string& line, std::chrono::milliseconds timeout,
                                      std::vector<Datagram>* seen = nullptr);

 private:
  std::string path_;
  int fd_ = -1;
};

bool hasLine(const std::string& text, const std::string& line);

}  // namespace steward::test
