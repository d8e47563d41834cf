// DNS-SD through Avahi: the AsioAvahiPoll adapter against pipes and timers, then AvahiBrowser
// against a real avahi-daemon (and a real IPP printer) inside a private network namespace.
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <avahi-common/strlst.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "discovery/avahi_browser.hpp"
#include "discovery/avahi_poll.hpp"
#include "discovery/browser.hpp"
#include "support/avahi_netns.hpp"
#include "support/process.hpp"

namespace steward::discovery {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// Turns the loop until `done` holds or `timeout` passes. The timeout is a deadline for a real
// daemon to answer, not a speed assertion.
template <class F>
bool runUntil(boost::asio::io_context& io, F&& done, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    if (io.run_for(10ms) == 0) {
      struct timespec ts {
        0, 2'000'000
      };
      nanosleep(&ts, nullptr);
    }
  }
  return true;
}

void runFor(boost::asio::io_context& io, std::chrono::milliseconds span) {
  runUntil(
      io, [] { return false; }, span);
}

timeval wallClockIn(std::chrono::milliseconds delay) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  const long long usec = tv.tv_usec + std::chrono::microseconds(delay).count();
  tv.tv_sec += static_cast<time_t>(usec / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(usec % 1'000'000);
  return tv;
}

bool descriptorOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

// ---------------------------------------------------------------------------------------------
// AsioAvahiPoll: the table Avahi drives, exercised directly.

struct Pipe {
  Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  void put() const { EXPECT_EQ(::write(fds[1], "x", 1), 1); }
  void drain() const {
    char buffer[64];
    while (::read(fds[0], buffer, sizeof buffer) > 0) {
    }
  }
  int fds[2] = {-1, -1};
};

struct WatchLog {
  const AvahiPoll* api = nullptr;
  std::vector<AvahiWatchEvent> events;   // as passed to the callback
  std::vector<AvahiWatchEvent> queried;  // as watch_get_events() said inside it
  std::vector<int> fds;
  std::function<void(AvahiWatch*)> also;
};

void recordWatch(AvahiWatch* w, int fd, AvahiWatchEvent event, void* userdata) {
  auto* log = static_cast<WatchLog*>(userdata);
  log->events.push_back(event);
  log->queried.push_back(log->api->watch_get_events(w));
  log->fds.push_back(fd);
  if (log->also) log->also(w);
}

TEST(AsioAvahiPoll, ReportsReadableDescriptorAndNeverClosesIt) {
  boost::asio::io_context io;
  Pipe pipe;
  WatchLog log;
  {
    AsioAvahiPoll poll(io.get_executor());
    log.api = poll.api();
    log.also = [&](AvahiWatch*) { pipe.drain(); };
    AvahiWatch* w = log.api->watch_new(log.api, pipe.fds[0], AVAHI_WATCH_IN, &recordWatch, &log);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(poll.watchCount(), 1u);

    runFor(io, 30ms);
    EXPECT_THAT(log.events, IsEmpty()) << "nothing was readable yet";

    pipe.put();
    ASSERT_TRUE(runUntil(io, [&] { return log.events.size() == 1; }));
    EXPECT_EQ(log.events[0], AVAHI_WATCH_IN);
    EXPECT_EQ(log.queried[0], AVAHI_WATCH_IN);
    EXPECT_EQ(log.fds[0], pipe.fds[0]) << "Avahi gets its own descriptor back, not our dup";

    pipe.put();  // level-triggered like poll(): readable again, reported again
    ASSERT_TRUE(runUntil(io, [&] { return log.events.size() == 2; }));

    log.api->watch_free(w);
    EXPECT_EQ(poll.watchCount(), 0u);
    EXPECT_TRUE(descriptorOpen(pipe.fds[0])) << "the watch must not close Avahi's descriptor";
    pipe.put();
    runFor(io, 30ms);
    EXPECT_EQ(log.events.size(), 2u) << "a freed watch reports nothing";
  }
  EXPECT_TRUE(descriptorOpen(pipe.fds[0]));
}

TEST(AsioAvahiPoll, WatchFreedInsideItsOwnCallbackIsNeverTouchedAgain) {
  boost::asio::io_context io;
  AsioAvahiPoll poll(io.get_executor());
  Pipe pipe;
  // Two watches on one descriptor (as libdbus makes a read and a write watch on one socket),
  // both ready in the same loop turn. The first callback frees both: the second's completion
  // is already queued and must see that its watch is gone (ASan would catch a touch).
  struct Both {
    const AvahiPoll* api;
    AvahiWatch* a = nullptr;
    AvahiWatch* b = nullptr;
    int calls = 0;
  } both{poll.api()};
  const auto freeBoth = [](AvahiWatch*, int, AvahiWatchEvent, void* userdata) {
    auto* s = static_cast<Both*>(userdata);
    ++s->calls;
    if (s->a) s->api->watch_free(std::exchange(s->a, nullptr));
    if (s->b) s->api->watch_free(std::exchange(s->b, nullptr));
  };
  both.a = both.api->watch_new(both.api, pipe.fds[0], AVAHI_WATCH_IN, freeBoth, &both);
  both.b = both.api->watch_new(both.api, pipe.fds[0], AVAHI_WATCH_IN, freeBoth, &both);
  ASSERT_NE(both.a, nullptr);
  ASSERT_NE(both.b, nullptr);
  pipe.put();
  ASSERT_TRUE(runUntil(io, [&] { return both.calls >= 1; }));
  runFor(io, 50ms);
  EXPECT_EQ(both.calls, 1);
  EXPECT_EQ(poll.watchCount(), 0u);
  EXPECT_TRUE(descriptorOpen(pipe.fds[0]));
}

TEST(AsioAvahiPoll, WatchUpdateSwitchesDirectionFromInsideTheCallback) {
  boost::asio::io_context io;
  AsioAvahiPoll poll(io.get_executor());
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  WatchLog log;
  log.api = poll.api();
  // Writable at once; the callback then asks for input only, as dbus does once its queue is out.
  log.also = [&](AvahiWatch* w) {
    log.api->watch_update(w, AVAHI_WATCH_IN);
    char buffer[16];
    while (::read(pair[0], buffer, sizeof buffer) > 0) {
    }
  };
  AvahiWatch* w = log.api->watch_new(log.api, pair[0], AVAHI_WATCH_OUT, &recordWatch, &log);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(runUntil(io, [&] { return log.events.size() == 1; }));
  EXPECT_EQ(log.events[0], AVAHI_WATCH_OUT);
  runFor(io, 30ms);
  EXPECT_EQ(log.events.size(), 1u) << "no longer interested in writability";
  ASSERT_EQ(::write(pair[1], "ping", 4), 4);
  ASSERT_TRUE(runUntil(io, [&] { return log.events.size() == 2; }));
  EXPECT_EQ(log.events[1], AVAHI_WATCH_IN);
  log.api->watch_free(w);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(AsioAvahiPoll, HangUpIsReported) {
  boost::asio::io_context io;
  AsioAvahiPoll poll(io.get_executor());
  Pipe pipe;
  WatchLog log;
  log.api = poll.api();
  AvahiWatch* w = nullptr;
  log.also = [&](AvahiWatch* self) {
    log.api->watch_free(self);  // as Avahi does when its peer is gone
    w = nullptr;
  };
  w = log.api->watch_new(log.api, pipe.fds[0], AVAHI_WATCH_IN, &recordWatch, &log);
  ::close(std::exchange(pipe.fds[1], -1));
  ASSERT_TRUE(runUntil(io, [&] { return !log.events.empty(); }));
  EXPECT_TRUE(log.events[0] & AVAHI_WATCH_HUP);
  EXPECT_EQ(w, nullptr);
}

struct Named {
  std::vector<std::string>* fired;
  const char* name;
};

void recordTimeout(AvahiTimeout*, void* userdata) {
  auto* n = static_cast<Named*>(userdata);
  n->fired->push_back(n->name);
}

TEST(AsioAvahiPoll, TimeoutsFireOnceInDeadlineOrderAndCanBeDisabled) {
  boost::asio::io_context io;
  AsioAvahiPoll poll(io.get_executor());
  const AvahiPoll* api = poll.api();
  std::vector<std::string> fired;
  Named late_name{&fired, "late"}, early_name{&fired, "early"}, off_name{&fired, "disabled"};

  const timeval late_at = wallClockIn(60ms);
  const timeval early_at = wallClockIn(5ms);
  const timeval now = wallClockIn(0ms);
  AvahiTimeout* late = api->timeout_new(api, &late_at, &recordTimeout, &late_name);
  AvahiTimeout* early = api->timeout_new(api, &early_at, &recordTimeout, &early_name);
  AvahiTimeout* off = api->timeout_new(api, &now, &recordTimeout, &off_name);
  api->timeout_update(off, nullptr);  // disabled before the loop ever saw it
  EXPECT_EQ(poll.timeoutCount(), 3u);

  ASSERT_TRUE(runUntil(io, [&] { return fired.size() == 2; }));
  runFor(io, 50ms);
  EXPECT_THAT(fired, ElementsAre("early", "late")) << "each once, the earlier deadline first";

  const timeval again = wallClockIn(0ms);
  api->timeout_update(late, &again);  // re-armed after expiry
  ASSERT_TRUE(runUntil(io, [&] { return fired.size() == 3; }));
  EXPECT_EQ(fired.back(), "late");

  api->timeout_free(late);
  api->timeout_free(early);
  api->timeout_free(off);
  EXPECT_EQ(poll.timeoutCount(), 0u);
}

TEST(AsioAvahiPoll, TimeoutRearmedThenFreedInsideItsOwnCallback) {
  boost::asio::io_context io;
  AsioAvahiPoll poll(io.get_executor());
  struct Count {
    const AvahiPoll* api;
    int calls = 0;
  } count{poll.api()};
  const auto cb = [](AvahiTimeout* t, void* userdata) {
    auto* c = static_cast<Count*>(userdata);
    if (++c->calls < 3) {
      const timeval now = wallClockIn(0ms);
      c->api->timeout_update(t, &now);
    } else {
      c->api->timeout_free(t);
    }
  };
  const timeval now = wallClockIn(0ms);
  ASSERT_NE(count.api->timeout_new(count.api, &now, cb, &count), nullptr);
  ASSERT_TRUE(runUntil(io, [&] { return count.calls == 3; }));
  runFor(io, 30ms);
  EXPECT_EQ(count.calls, 3);
  EXPECT_EQ(poll.timeoutCount(), 0u);
}

TEST(AsioAvahiPoll, DestroyedInsideACallbackRunsNothingElse) {
  boost::asio::io_context io;
  Pipe pipe;
  pipe.put();
  // Two watches and a timeout all become ready in one loop turn; the first callback to run
  // destroys the poll with the others' completions already queued. They must run nothing.
  struct Context {
    std::unique_ptr<AsioAvahiPoll> poll;
    int calls = 0;
  } context{std::make_unique<AsioAvahiPoll>(io.get_executor())};
  const auto watch_cb = [](AvahiWatch*, int, AvahiWatchEvent, void* c) {
    auto* x = static_cast<Context*>(c);
    ++x->calls;
    x->poll.reset();
  };
  const auto timeout_cb = [](AvahiTimeout*, void* c) {
    auto* x = static_cast<Context*>(c);
    ++x->calls;
    x->poll.reset();
  };
  const auto* api = context.poll->api();
  ASSERT_NE(api->watch_new(api, pipe.fds[0], AVAHI_WATCH_IN, watch_cb, &context), nullptr);
  ASSERT_NE(api->watch_new(api, pipe.fds[0], AVAHI_WATCH_IN, watch_cb, &context), nullptr);
  const timeval now = wallClockIn(0ms);
  ASSERT_NE(api->timeout_new(api, &now, timeout_cb, &context), nullptr);
  ASSERT_TRUE(runUntil(io, [&] { return context.calls >= 1; }));
  runFor(io, 50ms);
  EXPECT_EQ(context.calls, 1);
  EXPECT_EQ(context.poll, nullptr);
  EXPECT_TRUE(descriptorOpen(pipe.fds[0]));
}

// ---------------------------------------------------------------------------------------------
// Service keys and option validation: no daemon needed.

TEST(StableServiceKey, PrefersAnnouncedIdentifiers) {
  Service printer;
  printer.name = "Office";
  printer.type = "_ipps._tcp";
  printer.domain = "local";
  printer.txt["uuid"] = "urn:uuid:68C644BE-C56E-37AB-7E45-4C1C0F32C4FF";
  EXPECT_EQ(stableServiceKey(printer), "uuid:68c644be-c56e-37ab-7e45-4c1c0f32c4ff");
  printer.txt["uuid"] = "not-a-uuid";
  EXPECT_EQ(stableServiceKey(printer), "dnssd:_ipps._tcp/local/Office");

  Service device;
  device.name = "Pantry sensor";
  device.type = "_steward-device._tcp";
  device.domain = "local";
  device.txt["id"] = "pantry-1";
  EXPECT_EQ(stableServiceKey(device), "steward-device:pantry-1");
  device.txt["id"] = "pantry 1; drop";  // not a plain id: not trusted as a key
  EXPECT_EQ(stableServiceKey(device), "dnssd:_steward-device._tcp/local/Pantry sensor");
  device.txt["id"] = std::string(65, 'a');
  EXPECT_EQ(stableServiceKey(device), "dnssd:_steward-device._tcp/local/Pantry sensor");

  Service other = device;
  other.type = "_http._tcp";
  other.txt["id"] = "pantry-1";  // only _steward-device services speak for their id
  EXPECT_EQ(stableServiceKey(other), "dnssd:_http._tcp/local/Pantry sensor");
}

TEST(AvahiBrowser, RejectsMalformedOptionsAndStartsNothing) {
  boost::asio::io_context io;
  core::Logger log(core::LogLevel::debug);
  const auto startWith = [&](AvahiBrowserOptions options) {
    AvahiBrowser browser(io.get_executor(), std::move(options), log);
    auto started = browser.start();
    EXPECT_FALSE(browser.connected());
    EXPECT_THAT(browser.services(), IsEmpty());
    return started.ok() ? std::string() : started.error().message;
  };
  AvahiBrowserOptions bad_type;
  bad_type.service_types = {"_ipp._tcp", "ipp"};
  EXPECT_EQ(startWith(bad_type),
            "discovery.service_types: \"ipp\" is not a DNS-SD service type like \"_ipp._tcp\"");
  AvahiBrowserOptions twice;
  twice.service_types = {"_ipp._tcp", "_ipp._tcp"};
  EXPECT_THAT(startWith(twice), HasSubstr("\"_ipp._tcp\" is listed twice"));
  AvahiBrowserOptions bad_txt;
  bad_txt.hub_txt = {"=nokey"};
  EXPECT_THAT(startWith(bad_txt), HasSubstr("hub TXT \"=nokey\""));
  AvahiBrowserOptions long_name;
  long_name.hub_name = std::string(64, 'x');
  EXPECT_THAT(startWith(long_name), HasSubstr("is not a DNS-SD instance name"));
  EXPECT_EQ(io.poll(), 0u) << "a rejected start leaves nothing queued on the loop";
}

TEST(AvahiBrowser, DisabledByConfigDoesNothing) {
  boost::asio::io_context io;
  core::Logger log(core::LogLevel::debug);
  DiscoveryConfig config;
  config.avahi = false;
  AvahiBrowser browser(io.get_executor(), config, log);
  ASSERT_TRUE(browser.start().ok());
  EXPECT_EQ(io.poll(), 0u);
  EXPECT_FALSE(browser.connected());
}

// ---------------------------------------------------------------------------------------------
// Against a real avahi-daemon in a private network namespace.

struct Seen {
  std::string kind;
  Service service;
};

// A second Avahi client on the same loop, publishing one service whose TXT the test changes.
class TxtPublisher {
 public:
  explicit TxtPublisher(boost::asio::any_io_executor executor) : poll_(executor) {
    int error = 0;
    client_ =
        avahi_client_new(poll_.api(), static_cast<AvahiClientFlags>(0), &onClient, this, &error);
  }
  ~TxtPublisher() {
    if (group_) avahi_entry_group_free(group_);
    if (client_) avahi_client_free(client_);
  }
  bool running() const { return client_state_ == AVAHI_CLIENT_S_RUNNING; }
  bool established() const { return group_state_ == AVAHI_ENTRY_GROUP_ESTABLISHED; }

  int publish(const std::string& name, const std::string& type, std::uint16_t port,
              const std::vector<std::string>& txt) {
    name_ = name;
    type_ = type;
    group_ = avahi_entry_group_new(client_, &onGroup, this);
    if (!group_) return avahi_client_errno(client_);
    auto* list = makeList(txt);
    int rc = avahi_entry_group_add_service_strlst(group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                  static_cast<AvahiPublishFlags>(0), name.c_str(),
                                                  type.c_str(), nullptr, nullptr, port, list);
    avahi_string_list_free(list);
    return rc < 0 ? rc : avahi_entry_group_commit(group_);
  }

  int updateTxt(const std::vector<std::string>& txt) {
    auto* list = makeList(txt);
    const int rc = avahi_entry_group_update_service_txt_strlst(
        group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, static_cast<AvahiPublishFlags>(0),
        name_.c_str(), type_.c_str(), nullptr, list);
    avahi_string_list_free(list);
    return rc;
  }

 private:
  static AvahiStringList* makeList(const std::vector<std::string>& txt) {
    AvahiStringList* list = nullptr;
    for (const auto& s : txt)
      list = avahi_string_list_add(list, s.c_str());
    return avahi_string_list_reverse(list);
  }
  static void onClient(AvahiClient*, AvahiClientState state, void* self) {
    static_cast<TxtPublisher*>(self)->client_state_ = state;
  }
  static void onGroup(AvahiEntryGroup*, AvahiEntryGroupState state, void* self) {
    static_cast<TxtPublisher*>(self)->group_state_ = state;
  }

  AsioAvahiPoll poll_;
  AvahiClient* client_ = nullptr;
  AvahiEntryGroup* group_ = nullptr;
  int client_state_ = -1;
  int group_state_ = -1;
  std::string name_, type_;
};

class AvahiNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = test::AvahiNetns::create();
    if (!made) GTEST_SKIP() << "no private network namespace for Avahi: " << made.error().message;
    ns_ = std::move(made.value());
    // Multicast can only reach what this namespace has: loopback, nothing of the host's.
    ASSERT_THAT(test::AvahiNetns::interfaces(), ElementsAre("lo"));
  }

  void startDaemon() {
    ns_->startAvahi();
    ASSERT_TRUE(ns_->waitAvahiRunning(20s)) << ns_->avahiLog();
  }

  AvahiBrowserOptions options(std::vector<std::string> types, bool publish_hub) {
    AvahiBrowserOptions o;
    o.service_types = std::move(types);
    o.publish_hub = publish_hub;
    o.hub_name = "Steward test";
    o.hub_port = 8080;
    o.hub_txt = {"id=hub-1"};
    o.retry_min = 50ms;
    o.retry_max = 500ms;
    o.resync_settle = 500ms;
    return o;
  }

  AvahiBrowser& startBrowser(AvahiBrowserOptions o) {
    browser_ = std::make_unique<AvahiBrowser>(io_.get_executor(), std::move(o), log_);
    browser_->onServiceAppeared([this](const Service& s) { seen_.push_back({"appeared", s}); });
    browser_->onServiceChanged([this](const Service& s) { seen_.push_back({"changed", s}); });
    browser_->onServiceGone([this](const Service& s) { seen_.push_back({"gone", s}); });
    const auto started = browser_->start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
    return *browser_;
  }

  bool until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    return runUntil(io_, done, timeout);
  }

  int count(const std::string& kind, const std::string& name) const {
    return static_cast<int>(std::count_if(seen_.begin(), seen_.end(), [&](const Seen& s) {
      return s.kind == kind && s.service.name == name;
    }));
  }

  const Service* last(const std::string& kind, const std::string& name) const {
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it)
      if (it->kind == kind && it->service.name == name) return &it->service;
    return nullptr;
  }

  std::vector<std::string> knownNames() const {
    std::vector<std::string> names;
    for (const auto& s : browser_->services())
      names.push_back(s.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  // avahi-browse inside the namespace, while the hub's loop keeps turning; its \DDD escapes
  // (decimal, as in "Steward\032test") are decoded.
  std::string browse(const std::string& type) {
    const std::string raw = ns_->run({"avahi-browse", "-rtp", type}, 15s, [this] {
      io_.restart();
      io_.run_for(10ms);
    });
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size() &&
          std::isdigit(static_cast<unsigned char>(raw[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(raw[i + 2])) &&
          std::isdigit(static_cast<unsigned char>(raw[i + 3]))) {
        out += static_cast<char>(std::stoi(raw.substr(i + 1, 3)));
        i += 3;
      } else {
        out += raw[i];
      }
    }
    return out;
  }

  const Service* lastOfType(const std::string& kind, const std::string& type) const {
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it)
      if (it->kind == kind && it->service.type == type) return &it->service;
    return nullptr;
  }

  test::Process publish(const std::string& log_name, std::vector<std::string> args) {
    args.insert(args.begin(), "avahi-publish");
    return ns_->spawn(std::move(args), log_name);
  }

  boost::asio::io_context io_;
  core::Logger log_{core::LogLevel::debug};
  std::unique_ptr<test::AvahiNetns> ns_;
  std::vector<Seen> seen_;
  std::unique_ptr<AvahiBrowser> browser_;  // last: stops before the daemon and the loop go
};

TEST_F(AvahiNetnsTest, SeesPublishedServiceAppearWithItsDataAndGo) {
  startDaemon();
  auto& browser = startBrowser(options({"_steward-device._tcp"}, false));
  auto pantry = publish("pantry", {"-s", "Pantry sensor", "_steward-device._tcp", "7000",
                                   "id=pantry-1", "Level=80", "dup=first", "dup=second", "flag"});
  ASSERT_TRUE(until([&] { return count("appeared", "Pantry sensor") == 1; })) << ns_->avahiLog();
  EXPECT_TRUE(browser.connected());

  const Service s = *last("appeared", "Pantry sensor");
  EXPECT_EQ(s.type, "_steward-device._tcp");
  EXPECT_EQ(s.domain, "local");
  EXPECT_EQ(s.host_name, std::string(test::AvahiNetns::kHostName) + ".local");
  EXPECT_EQ(s.port, 7000);
  EXPECT_THAT(s.addresses, ElementsAre("127.0.0.1"));
  EXPECT_EQ(s.interface, "lo");
  EXPECT_TRUE(s.local);
  EXPECT_EQ(s.txt.at("id"), "pantry-1");
  EXPECT_EQ(s.txt.at("level"), "80") << "TXT keys are case-insensitive: kept lower-case";
  EXPECT_EQ(s.txt.at("dup"), "first") << "the first of duplicate keys wins (RFC 6763 6.4)";
  EXPECT_EQ(s.txt.at("flag"), "");
  EXPECT_EQ(stableServiceKey(s), "steward-device:pantry-1");
  EXPECT_THAT(knownNames(), ElementsAre("Pantry sensor"));

  pantry.stop();
  ASSERT_TRUE(until([&] { return count("gone", "Pantry sensor") == 1; }));
  EXPECT_EQ(*last("gone", "Pantry sensor"), s);
  EXPECT_THAT(browser.services(), IsEmpty());
  EXPECT_EQ(count("changed", "Pantry sensor"), 0);
}

TEST_F(AvahiNetnsTest, HearsTxtChangesThroughTheKeptResolver) {
  startDaemon();
  startBrowser(options({"_steward-device._tcp"}, false));
  TxtPublisher thermostat(io_.get_executor());
  ASSERT_TRUE(until([&] { return thermostat.running(); }));
  ASSERT_EQ(thermostat.publish("Hall thermostat", "_steward-device._tcp", 7100,
                               {"id=hall-1", "battery=80"}),
            0);
  ASSERT_TRUE(until([&] { return count("appeared", "Hall thermostat") == 1; }));
  EXPECT_EQ(last("appeared", "Hall thermostat")->txt.at("battery"), "80");
  ASSERT_TRUE(until([&] { return thermostat.established(); }));

  ASSERT_EQ(thermostat.updateTxt({"id=hall-1", "battery=20"}), 0);
  ASSERT_TRUE(until([&] { return count("changed", "Hall thermostat") >= 1; }));
  const Service changed = *last("changed", "Hall thermostat");
  EXPECT_EQ(changed.txt.at("battery"), "20");
  EXPECT_EQ(changed.port, 7100);
  EXPECT_EQ(count("appeared", "Hall thermostat"), 1);
  EXPECT_EQ(count("gone", "Hall thermostat"), 0);
  EXPECT_EQ(browser_->services().at(0).txt.at("battery"), "20");
}

TEST_F(AvahiNetnsTest, SeesARealIppPrinterAndItsEnd) {
  if (test::findProgram("ippeveprinter").empty())
    GTEST_SKIP() << "ippeveprinter (cups-ipp-utils) is not installed";
  startDaemon();
  startBrowser(options({"_ipp._tcp", "_ipps._tcp"}, false));
  const auto port = test::freeTcpPort();
  const std::string spool = ns_->dir().file("spool"), keys = ns_->dir().file("keys");
  ::mkdir(spool.c_str(), 0700);
  ::mkdir(keys.c_str(), 0700);
  auto printer = ns_->spawn({"ippeveprinter", "-p", std::to_string(port), "-d", spool, "-K", keys,
                             "-M", "Steward", "-m", "Test Printer", "Office printer"},
                            "ippeveprinter");
  ASSERT_TRUE(until([&] { return lastOfType("appeared", "_ipp._tcp") != nullptr; }, 30s))
      << test::readFile(ns_->dir().file("ippeveprinter.log"));
  const Service ipp = *lastOfType("appeared", "_ipp._tcp");
  EXPECT_EQ(ipp.name, "Office printer");
  EXPECT_EQ(ipp.type, "_ipp._tcp");
  EXPECT_EQ(ipp.host_name, std::string(test::AvahiNetns::kHostName) + ".local");
  EXPECT_EQ(ipp.port, port);
  EXPECT_THAT(ipp.addresses, Contains("127.0.0.1"));
  EXPECT_EQ(ipp.txt.at("rp"), "ipp/print");
  EXPECT_EQ(ipp.txt.at("ty"), "Steward Test Printer");
  ASSERT_TRUE(ipp.txt.contains("uuid"));
  EXPECT_THAT(stableServiceKey(ipp), StartsWith("uuid:"));
  for (const auto& s : browser_->services()) {
    if (s.type == "_ipps._tcp") {  // the same printer over TLS files under the same key
      EXPECT_EQ(stableServiceKey(s), stableServiceKey(ipp));
    }
  }

  printer.signal(SIGKILL);  // no goodbye from the printer; avahi-daemon withdraws for it
  ASSERT_TRUE(printer.wait(10s).has_value());
  ASSERT_TRUE(until([&] { return lastOfType("gone", "_ipp._tcp") != nullptr; }));
  EXPECT_EQ(*lastOfType("gone", "_ipp._tcp"), ipp);
  ASSERT_TRUE(until([&] { return browser_->services().empty(); }));
}

TEST_F(AvahiNetnsTest, StartsBeforeTheDaemonAndCatchesUpWhenItArrives) {
  auto& browser = startBrowser(options({"_steward-device._tcp"}, true));
  runFor(io_, 200ms);
  EXPECT_FALSE(browser.connected());
  EXPECT_EQ(browser.publishedName(), "");
  // A device that, like the hub, waits for the daemon (-f).
  auto porch =
      publish("porch", {"-f", "-s", "Porch light", "_steward-device._tcp", "7200", "id=porch-1"});

  startDaemon();
  ASSERT_TRUE(until([&] {
    return browser.connected() && browser.publishedName() == "Steward test" &&
           count("appeared", "Porch light") == 1;
  })) << ns_->avahiLog();
  const std::string announced = browse("_steward._tcp");
  EXPECT_THAT(announced,
              HasSubstr(";Steward test;_steward._tcp;local;steward-test.local;127.0.0.1;8080;"));
  EXPECT_THAT(announced, HasSubstr("\"id=hub-1\""));
  EXPECT_THAT(announced, HasSubstr("\"version=" STEWARD_VERSION "\""));
  EXPECT_EQ(browser.stats().connects, 1u);
}

TEST_F(AvahiNetnsTest, FollowsADaemonRestartWithoutLosingWhatIsStillThere) {
  startDaemon();
  auto& browser = startBrowser(options({"_steward-device._tcp"}, true));
  auto pantry = publish(
      "pantry", {"-f", "-s", "Pantry sensor", "_steward-device._tcp", "7000", "id=pantry-1"});
  auto lamp = publish("lamp", {"-s", "Old lamp", "_steward-device._tcp", "7001", "id=lamp-1"});
  ASSERT_TRUE(until([&] {
    return count("appeared", "Pantry sensor") == 1 && count("appeared", "Old lamp") == 1 &&
           browser.publishedName() == "Steward test";
  }));

  ns_->stopAvahi(SIGKILL);  // a crash: no goodbyes
  ASSERT_TRUE(until([&] { return !browser.connected() && browser.stats().stale == 2; }));
  EXPECT_THAT(knownNames(), ElementsAre("Old lamp", "Pantry sensor"))
      << "kept while the daemon is away";
  EXPECT_EQ(count("gone", "Pantry sensor") + count("gone", "Old lamp"), 0);
  ASSERT_TRUE(lamp.wait(10s).has_value()) << "avahi-publish without -f ends with the daemon";

  // The daemon comes back; the pantry's publisher re-registers with it before the hub's loop
  // turns again, so the order of events is fixed.
  startDaemon();
  ASSERT_THAT(browse("_steward-device._tcp"), HasSubstr(";Pantry sensor;"));
  ASSERT_TRUE(until([&] {
    return browser.connected() && browser.stats().stale == 0 &&
           browser.publishedName() == "Steward test";
  })) << ns_->avahiLog();
  EXPECT_EQ(browser.stats().connects, 2u);
  EXPECT_EQ(count("gone", "Old lamp"), 1) << "not seen by the returned daemon";
  EXPECT_EQ(count("gone", "Pantry sensor"), 0) << "seen again: no flapping";
  EXPECT_EQ(count("appeared", "Pantry sensor"), 1);
  EXPECT_THAT(knownNames(), ElementsAre("Pantry sensor"));
  EXPECT_THAT(browse("_steward._tcp"), HasSubstr(";Steward test;_steward._tcp;")) << "re-published";

  // Browsing and resolving are live again: new services appear, old ones can go.
  auto hall =
      publish("hall", {"-s", "Hall thermostat", "_steward-device._tcp", "7100", "id=hall-1"});
  ASSERT_TRUE(until([&] { return count("appeared", "Hall thermostat") == 1; }));
  pantry.stop();
  ASSERT_TRUE(until([&] { return count("gone", "Pantry sensor") == 1; }));
}

TEST_F(AvahiNetnsTest, ServicesOfADaemonThatNeverReturnsGoAfterTheGrace) {
  startDaemon();
  auto o = options({"_steward-device._tcp"}, false);
  o.stale_grace = 300ms;
  auto& browser = startBrowser(o);
  auto pantry =
      publish("pantry", {"-s", "Pantry sensor", "_steward-device._tcp", "7000", "id=pantry-1"});
  ASSERT_TRUE(until([&] { return count("appeared", "Pantry sensor") == 1; }));
  ns_->stopAvahi(SIGKILL);
  ASSERT_TRUE(until([&] { return count("gone", "Pantry sensor") == 1; }));
  EXPECT_FALSE(browser.connected());
  EXPECT_THAT(browser.services(), IsEmpty());
  EXPECT_EQ(browser.stats().stale, 0u);
}

TEST_F(AvahiNetnsTest, RenamesItsAnnouncementWhenTheNameIsTaken) {
  startDaemon();
  auto squatter = publish("squatter", {"-s", "Steward test", "_steward._tcp", "9999"});
  ASSERT_THAT(browse("_steward._tcp"), HasSubstr(";Steward test;"));
  auto& browser = startBrowser(options({}, true));
  ASSERT_TRUE(until([&] { return browser.publishedName() == "Steward test #2"; }));
  const std::string announced = browse("_steward._tcp");
  EXPECT_THAT(announced,
              HasSubstr(";Steward test;_steward._tcp;local;steward-test.local;127.0.0.1;9999;"));
  EXPECT_THAT(announced,
              HasSubstr(";Steward test #2;_steward._tcp;local;steward-test.local;127.0.0.1;8080;"));
}

TEST_F(AvahiNetnsTest, DoesNotDiscoverItself) {
  startDaemon();
  auto& browser = startBrowser(options({"_steward._tcp"}, true));
  auto other = publish("other", {"-s", "Other hub", "_steward._tcp", "8081"});
  ASSERT_TRUE(until([&] {
    return browser.publishedName() == "Steward test" && count("appeared", "Other hub") == 1;
  }));
  browse("_steward._tcp");  // a second of the loop turning with both announced
  EXPECT_THAT(knownNames(), ElementsAre("Other hub"));
  EXPECT_EQ(count("appeared", "Steward test"), 0);
}

TEST_F(AvahiNetnsTest, IgnoresServicesBeyondItsCap) {
  startDaemon();
  auto o = options({"_steward-device._tcp"}, false);
  o.max_services = 2;
  auto& browser = startBrowser(o);
  std::vector<test::Process> devices;
  for (int i = 0; i < 3; ++i)
    devices.push_back(publish(
        "device" + std::to_string(i),
        {"-s", "Device " + std::to_string(i), "_steward-device._tcp", std::to_string(7300 + i)}));
  ASSERT_TRUE(
      until([&] { return browser.stats().dropped >= 1 && browser.services().size() == 2; }));
  runFor(io_, 100ms);
  EXPECT_EQ(browser.services().size(), 2u);
  EXPECT_EQ(static_cast<int>(std::count_if(seen_.begin(), seen_.end(),
                                           [](const Seen& s) { return s.kind == "appeared"; })),
            2);
}

}  // namespace
}  // namespace steward::discovery
