// See avahi_poll.hpp. Each watch waits on its own dup() of Avahi's descriptor: libdbus keeps a read
// watch and a write watch on one socket, and epoll accepts a descriptor only once, while two dups
// register independently. The dup is ours to close; Avahi's descriptor is left alone.
#include "discovery/avahi_poll.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>

namespace steward::discovery {

struct AsioAvahiPoll::Watch : std::enable_shared_from_this<Watch> {
  Watch(AsioAvahiPoll& poll, int avahi_fd) : owner(poll), fd(avahi_fd), waiter(poll.executor_) {}

  AsioAvahiPoll& owner;
  int fd;                                        // Avahi's descriptor, reported back to it
  boost::asio::posix::stream_descriptor waiter;  // on our dup of `fd`
  AvahiWatchEvent wanted = static_cast<AvahiWatchEvent>(0);
  AvahiWatchEvent happened = static_cast<AvahiWatchEvent>(0);  // during a callback only
  AvahiWatchCallback callback = nullptr;
  void* userdata = nullptr;
  bool read_pending = false;
  bool write_pending = false;
  bool freed = false;
};

struct AsioAvahiPoll::Timeout : std::enable_shared_from_this<Timeout> {
  explicit Timeout(AsioAvahiPoll& poll) : owner(poll), timer(poll.executor_) {}

  AsioAvahiPoll& owner;
  boost::asio::steady_timer timer;
  AvahiTimeoutCallback callback = nullptr;
  void* userdata = nullptr;
  // Bumped on every update and on expiry, so a handler already queued for an older deadline
  // (cancel() cannot recall it) sees that it is stale.
  std::uint64_t generation = 0;
  bool freed = false;
};

namespace {

constexpr short kDirectionMask = POLLIN | POLLOUT;

// Detaches the waiter from our dup and closes the dup. release() deregisters from epoll
// explicitly (close() alone would not, while Avahi's descriptor keeps the socket open) and
// completes pending waits with operation_aborted.
template <class W>
void detach(W& watch) {
  watch.freed = true;
  if (!watch.waiter.is_open()) return;
  boost::system::error_code ignored;
  watch.waiter.cancel(ignored);
  const int dup_fd = watch.waiter.release();
  if (dup_fd >= 0) ::close(dup_fd);
}

// Avahi passes absolute wall-clock times (gettimeofday, see avahi_elapse_time); turn one into a
// delay for the steady timer. This is Avahi's own clock, not the hub's domain time.
std::chrono::steady_clock::duration delayUntil(const struct timeval& tv) {
  using namespace std::chrono;
  const auto target = system_clock::time_point{seconds{tv.tv_sec} + microseconds{tv.tv_usec}};
  const auto delay = target - system_clock::now();
  if (delay <= system_clock::duration::zero()) return steady_clock::duration::zero();
  return duration_cast<steady_clock::duration>(delay);
}

template <class W>
void arm(const std::shared_ptr<W>& watch);

// One wait finished: ask poll() what is actually ready (epoll folds error and hang-up into
// readiness) and hand Avahi exactly that, then wait again for whatever it still wants.
template <class W>
void onReady(const std::weak_ptr<W>& weak, bool read, const boost::system::error_code& ec) {
  const auto watch = weak.lock();
  if (!watch || watch->freed) return;
  (read ? watch->read_pending : watch->write_pending) = false;
  if (ec == boost::asio::error::operation_aborted) return;

  short revents = 0;
  if (ec) {
    revents = POLLERR;  // a wait error is not expected; tell Avahi once, don't spin on it
  } else {
    pollfd p{watch->waiter.native_handle(), static_cast<short>(watch->wanted & kDirectionMask), 0};
    if (::poll(&p, 1, 0) > 0) revents = p.revents;
    if (revents & POLLNVAL) revents = POLLERR;
  }
  const auto events =
      static_cast<AvahiWatchEvent>(revents & (watch->wanted | AVAHI_WATCH_ERR | AVAHI_WATCH_HUP));
  if (events != 0) {
    watch->happened = events;
    watch->callback(reinterpret_cast<::AvahiWatch*>(watch.get()), watch->fd, events,
                    watch->userdata);
    if (watch->freed) return;  // Avahi freed it from inside the callback
    watch->happened = static_cast<AvahiWatchEvent>(0);
  }
  if (!ec) arm(watch);
}

template <class W>
void arm(const std::shared_ptr<W>& watch) {
  if (watch->freed) return;
  const std::weak_ptr<W> weak = watch;
  if ((watch->wanted & AVAHI_WATCH_IN) && !watch->read_pending) {
    watch->read_pending = true;
    watch->waiter.async_wait(
        boost::asio::posix::stream_descriptor::wait_read,
        [weak](const boost::system::error_code& ec) { onReady(weak, true, ec); });
  }
  if ((watch->wanted & AVAHI_WATCH_OUT) && !watch->write_pending) {
    watch->write_pending = true;
    watch->waiter.async_wait(
        boost::asio::posix::stream_descriptor::wait_write,
        [weak](const boost::system::error_code& ec) { onReady(weak, false, ec); });
  }
}

template <class T>
void startTimer(const std::shared_ptr<T>& timeout, const struct timeval* tv) {
  ++timeout->generation;
  timeout->timer.cancel();
  if (tv == nullptr) return;  // disabled until the next update
  timeout->timer.expires_after(delayUntil(*tv));
  const std::weak_ptr<T> weak = timeout;
  const auto generation = timeout->generation;
  timeout->timer.async_wait([weak, generation](const boost::system::error_code& ec) {
    const auto t = weak.lock();
    if (!t || t->freed || t->generation != generation || ec) return;
    ++t->generation;  // expired: disabled until Avahi updates it again
    t->callback(reinterpret_cast<::AvahiTimeout*>(t.get()), t->userdata);
  });
}

}  // namespace

AsioAvahiPoll::AsioAvahiPoll(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)) {
  api_.userdata = this;
  api_.watch_new = &AsioAvahiPoll::watchNew;
  api_.watch_update = &AsioAvahiPoll::watchUpdate;
  api_.watch_get_events = &AsioAvahiPoll::watchGetEvents;
  api_.watch_free = &AsioAvahiPoll::watchFree;
  api_.timeout_new = &AsioAvahiPoll::timeoutNew;
  api_.timeout_update = &AsioAvahiPoll::timeoutUpdate;
  api_.timeout_free = &AsioAvahiPoll::timeoutFree;
}

AsioAvahiPoll::~AsioAvahiPoll() {
  for (auto& [raw, watch] : watches_)
    detach(*watch);
  for (auto& [raw, timeout] : timeouts_) {
    timeout->freed = true;
    timeout->timer.cancel();
  }
}

::AvahiWatch* AsioAvahiPoll::watchNew(const ::AvahiPoll* api, int fd, AvahiWatchEvent events,
                                      AvahiWatchCallback callback, void* userdata) {
  auto* self = static_cast<AsioAvahiPoll*>(api->userdata);
  const int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return nullptr;  // Avahi reports the failure (out of descriptors)
  auto watch = std::make_shared<Watch>(*self, fd);
  boost::system::error_code ec;
  watch->waiter.assign(dup_fd, ec);
  if (ec) {
    ::close(dup_fd);
    return nullptr;
  }
  watch->wanted = events;
  watch->callback = callback;
  watch->userdata = userdata;
  self->watches_.emplace(watch.get(), watch);
  arm(watch);
  return reinterpret_cast<::AvahiWatch*>(watch.get());
}

void AsioAvahiPoll::watchUpdate(::AvahiWatch* raw, AvahiWatchEvent events) {
  auto* watch = reinterpret_cast<Watch*>(raw);
  watch->wanted = events;
  // A wait that is no longer wanted stays queued; when it fires, nothing is reported for it and
  // it is not renewed.
  arm(watch->shared_from_this());
}

AvahiWatchEvent AsioAvahiPoll::watchGetEvents(::AvahiWatch* raw) {
  return reinterpret_cast<Watch*>(raw)->happened;
}

void AsioAvahiPoll::watchFree(::AvahiWatch* raw) {
  auto* watch = reinterpret_cast<Watch*>(raw);
  detach(*watch);
  // The map holds the owning reference; a handler inside this watch's callback holds another, so
  // the object lives until that handler has returned and seen `freed`.
  watch->owner.watches_.erase(watch);
}

::AvahiTimeout* AsioAvahiPoll::timeoutNew(const ::AvahiPoll* api, const struct timeval* tv,
                                          AvahiTimeoutCallback callback, void* userdata) {
  auto* self = static_cast<AsioAvahiPoll*>(api->userdata);
  auto timeout = std::make_shared<Timeout>(*self);
  timeout->callback = callback;
  timeout->userdata = userdata;
  self->timeouts_.emplace(timeout.get(), timeout);
  startTimer(timeout, tv);
  return reinterpret_cast<::AvahiTimeout*>(timeout.get());
}

void AsioAvahiPoll::timeoutUpdate(::AvahiTimeout* raw, const struct timeval* tv) {
  startTimer(reinterpret_cast<Timeout*>(raw)->shared_from_this(), tv);
}

void AsioAvahiPoll::timeoutFree(::AvahiTimeout* raw) {
  auto* timeout = reinterpret_cast<Timeout*>(raw);
  timeout->freed = true;
  timeout->timer.cancel();
  timeout->owner.timeouts_.erase(timeout);
}

}  // namespace steward::discovery
