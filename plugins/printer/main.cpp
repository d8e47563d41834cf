// steward-printer: a Steward plugin for network printers. Asks the printer over IPP
// (Get-Printer-Attributes, through CUPS's `ipptool`) for its supply levels and state reasons, and
// publishes them as Steward needs over MQTT (plugins/PROTOCOL.md): one consumable per supply
// (toner, ink, drum, waste box: room left), one fault per error/warning state reason.
//
//   steward-printer --uri ipp://printer.local:631/ipp/print --id office-printer
//                   [--name "Office printer"] [--broker 127.0.0.1:1883] [--interval 300] [--once]
//
// Needs `ipptool` (Debian: cups-ipp-utils). A printer that does not answer is marked offline.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "ipp_status.hpp"
#include "plugin_link.hpp"

extern char** environ;

namespace {

namespace bj = boost::json;
std::atomic<bool> g_stop{false};

struct Options {
  std::string uri, id, name;
  std::string host = "127.0.0.1";
  int port = 1883;
  int interval_s = 300;
  bool once = false;
};

// ipp:// or ipps:// URIs only, from a safe character set: the URI is handed to another program.
bool validUri(const std::string& uri) {
  if (uri.rfind("ipp://", 0) != 0 && uri.rfind("ipps://", 0) != 0) return false;
  if (uri.size() > 512) return false;
  for (char c : uri) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr(":/._-%[]@~", c) != nullptr;
    if (!ok) return false;
  }
  return true;
}

// Runs ipptool and returns what it printed (stdout and stderr), or "" when it could not start.
std::string runIpptool(const std::string& uri, const std::string& test_file) {
  int out[2];
  if (pipe(out) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const char* argv[] = {"ipptool", "-T", "20", "-t", uri.c_str(), test_file.c_str(), nullptr};
  pid_t pid = -1;
  const int rc =
      posix_spawnp(&pid, "ipptool", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0 && text.size() < 1'000'000) text.append(buf, static_cast<std::size_t>(n));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    std::fprintf(stderr, "steward-printer: cannot run ipptool: %s\n", std::strerror(rc));
  }
  close(out[0]);
  return text;
}

class PrinterPlugin {
 public:
  PrinterPlugin(const Options& o, steward::plugin::PluginLink& link) : o_(o), link_(link) {}

  void poll(const std::string& test_file) {
    std::string error;
    const std::string output = runIpptool(o_.uri, test_file);
    const auto status = steward::printer::parseIpptoolOutput(output, error);
    if (!status) {
      std::fprintf(stderr, "steward-printer: %s: %s\n", o_.uri.c_str(), error.c_str());
      if (online_) link_.publish("availability", "offline");
      online_ = false;
      return;
    }
    if (!said_hello_) {
      bj::object hello{{"protocol", 1},
                       {"id", o_.id},
                       {"kind", "printer"},
                       {"name", o_.name.empty() ? status->make_and_model : o_.name},
                       {"model", status->make_and_model},
                       {"capabilities", bj::array{"consumables", "faults"}},
                       {"endpoints", bj::array{o_.uri}}};
      if (!status->uuid.empty()) hello["identifiers"] = bj::array{"uuid:" + status->uuid};
      link_.publish("hello", bj::serialize(hello));
      said_hello_ = true;
    }
    if (!online_) link_.publish("availability", "online");
    online_ = true;

    std::map<std::string, std::string> now;  // need key -> payload
    for (const auto& s : status->supplies) {
      now["need/" + s.key] = bj::serialize(bj::object{{"id", o_.id},
                                                      {"kind", "consumable"},
                                                      {"level", s.remaining},
                                                      {"unit", "%"},
                                                      {"low_threshold", s.low_threshold},
                                                      {"description", s.description}});
    }
    for (const auto& f : status->faults) {
      if (f.severity == "info") continue;  // reports are not calls for service
      now["need/" + f.key] = bj::serialize(bj::object{
          {"id", o_.id}, {"kind", "fault"}, {"severity", f.severity}, {"description", f.key}});
    }
    for (const auto& [leaf, payload] : now)
      if (published_[leaf] != payload) link_.publish(leaf, payload);
    for (const auto& [leaf, payload] : published_)
      if (!now.contains(leaf) && !payload.empty()) link_.publish(leaf, "");  // resolved
    published_ = std::move(now);
  }

 private:
  const Options& o_;
  steward::plugin::PluginLink& link_;
  bool said_hello_ = false, online_ = false;
  std::map<std::string, std::string> published_;
};

int usage() {
  std::fprintf(stderr,
               "usage: steward-printer --uri ipp://HOST[:PORT]/PATH --id ID [--name NAME]\n"
               "                       [--broker HOST[:PORT]] [--interval SECONDS] [--once]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--once") {
      o.once = true;
      continue;
    }
    if (!v) return usage();
    ++i;
    if (a == "--uri") {
      o.uri = v;
    } else if (a == "--id") {
      o.id = v;
    } else if (a == "--name") {
      o.name = v;
    } else if (a == "--interval") {
      o.interval_s = std::atoi(v);
    } else if (a == "--broker") {
      std::string b = v;
      if (auto colon = b.rfind(':'); colon != std::string::npos) {
        o.port = std::atoi(b.c_str() + colon + 1);
        b.resize(colon);
      }
      o.host = b;
    } else {
      return usage();
    }
  }
  if (!validUri(o.uri) || !steward::plugin::PluginLink::validId(o.id) || o.port <= 0 ||
      o.port > 65535 || o.interval_s < 1)
    return usage();

  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  // ipptool reads its request from a file: write ours once, remove it on the way out.
  char path[] = "/tmp/steward-printer-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 1;
  const std::string test = steward::printer::ipptoolTestFile();
  const bool written = write(fd, test.data(), test.size()) == static_cast<ssize_t>(test.size());
  close(fd);
  if (!written) {
    unlink(path);
    return 1;
  }

  steward::plugin::PluginLink link(o.host, o.port, o.id);
  if (!link.connect()) {
    unlink(path);
    return 1;
  }
  PrinterPlugin plugin(o, link);
  while (!g_stop) {
    plugin.poll(path);
    if (o.once) break;
    for (int s = 0; s < o.interval_s && !g_stop; ++s)
      std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  unlink(path);
  link.goodbye();
  return 0;
}
