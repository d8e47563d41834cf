// Avahi's event-loop table (AvahiPoll) implemented on the hub's Asio loop, so avahi-client runs on
// the one loop thread: descriptor watches wait on a posix::stream_descriptor, timeouts on a timer.
#pragma once

#include <avahi-common/watch.h>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <memory>
#include <unordered_map>

namespace steward::discovery {

// Owns every watch and timeout Avahi creates through api(). Avahi may free a watch or timeout from
// inside its own callback; queued Asio handlers hold only weak references and check a `freed` flag,
// so none of them touches a freed object. Avahi's descriptors are never closed here.
class AsioAvahiPoll {
 public:
  explicit AsioAvahiPoll(boost::asio::any_io_executor executor);
  // Every Avahi object created with api() must be freed first (avahi_client_free); anything left
  // is detached so that no callback runs after this.
  ~AsioAvahiPoll();
  AsioAvahiPoll(const AsioAvahiPoll&) = delete;
  AsioAvahiPoll& operator=(const AsioAvahiPoll&) = delete;

  // The table to hand to avahi_client_new(); valid for this object's lifetime.
  const ::AvahiPoll* api() const { return &api_; }

  std::size_t watchCount() const { return watches_.size(); }
  std::size_t timeoutCount() const { return timeouts_.size(); }

 private:
  struct Watch;
  struct Timeout;

  static ::AvahiWatch* watchNew(const ::AvahiPoll* api, int fd, AvahiWatchEvent events,
                                AvahiWatchCallback callback, void* userdata);
  static void watchUpdate(::AvahiWatch* watch, AvahiWatchEvent events);
  static AvahiWatchEvent watchGetEvents(::AvahiWatch* watch);
  static void watchFree(::AvahiWatch* watch);
  static ::AvahiTimeout* timeoutNew(const ::AvahiPoll* api, const struct timeval* tv,
                                    AvahiTimeoutCallback callback, void* userdata);
  static void timeoutUpdate(::AvahiTimeout* timeout, const struct timeval* tv);
  static void timeoutFree(::AvahiTimeout* timeout);

  boost::asio::any_io_executor executor_;
  ::AvahiPoll api_{};
  std::unordered_map<Watch*, std::shared_ptr<Watch>> watches_;
  std::unordered_map<Timeout*, std::shared_ptr<Timeout>> timeouts_;
};

}  // namespace steward::discovery
