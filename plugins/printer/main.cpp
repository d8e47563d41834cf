// steward-printer: a Steward plugin for network printers. It asks the printer over IPP
// (Get-Printer-Attributes, through CUPS's `ipptool`) for its supply levels — printer-supply
// (PWG 5100.13) or CUPS's marker-names/marker-levels/marker-low-levels — and its state reasons,
// and publishes them over MQTT (plugins/PROTOCOL.md): one consumable need per supply (toner, ink,
// drum, waste box: room left), one fault need per -error/-warning state reason, cleared when the
// printer no longer reports it. A printer that does not answer is marked offline.
//
// Only printers on the local network are contacted: the host must resolve to loopback, a private
// (RFC 1918) or link-local address, or an IPv6 unique-local one; ipptool is then given that
// address, so a name cannot resolve elsewhere between the check and the request.
//
//   steward-printer --uri ipp://printer.local:631/ipp/print --id office-printer
//                   [--name "Office printer"] [--broker mqtt://127.0.0.1:1883] [--interval 5m]
//   steward-printer --config /etc/steward/plugins/printer-office.toml
//
// Needs `ipptool` (Debian: cups-ipp-utils).
#include <netdb.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "ipp_status.hpp"
#include "plugin.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;

struct Settings {
  std::string uri;
  std::chrono::milliseconds interval{300'000};
  bool once = false;
};

// The host's addresses, all of which must be local; returns the first one as text, or "" with
// `error`.
std::string localAddressOf(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return {};
  }
  std::string first;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN + 16] = {};
    getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
    if (!steward::printer::isLocalAddress(a->ai_addr)) {
      error = host + " is at " + text +
              ", which is not on the local network: printers are only contacted there";
      first.clear();
      break;
    }
    if (first.empty()) first = text;
  }
  freeaddrinfo(res);
  return first;
}

class PrinterPlugin {
 public:
  PrinterPlugin(asio::io_context& io, const Settings& s, steward::printer::IppUri uri,
                std::string test_file, steward::sdk::Link& link, steward::sdk::Log& log)
      : io_(io),
        s_(s),
        uri_(std::move(uri)),
        test_file_(std::move(test_file)),
        link_(link),
        log_(log),
        timer_(io) {}

  // Polls now and then every interval; `done` after the first poll when --once.
  void start(std::function<void()> done) {
    done_ = std::move(done);
    poll();
  }
  void stop() {
    stopped_ = true;
    timer_.cancel();
    if (pipe_) pipe_->close();
    if (child_ > 0) ::kill(child_, SIGTERM);
  }

 private:
  void poll() {
    if (stopped_) return;
    std::string error;
    const std::string address = localAddressOf(uri_.host, error);
    if (address.empty()) {
      failed(error);
      return;
    }
    runIpptool(uri_.withHost(address));
  }

  void runIpptool(const std::string& uri) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      failed(std::string("pipe: ") + std::strerror(errno));
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    const char* argv[] = {"ipptool", "-T", "20", "-t", uri.c_str(), test_file_.c_str(), nullptr};
    const int rc =
        posix_spawnp(&child_, "ipptool", &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      child_ = -1;
      failed(std::string("cannot run ipptool (cups-ipp-utils): ") + std::strerror(rc));
      return;
    }
    output_.clear();
    pipe_.emplace(io_, out[0]);
    readOutput();
  }

  void readOutput() {
    pipe_->async_read_some(asio::buffer(buf_), [this](auto ec, std::size_t n) {
      if (!ec) {
        if (output_.size() < 1'000'000) output_.append(buf_.data(), n);
        readOutput();
        return;
      }
      pipe_.reset();
      int status = 0;
      while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
      }
      child_ = -1;
      if (stopped_) return;
      answered();
    });
  }

  void failed(const std::string& why) {
    if (why != last_error_) log_.warning(s_.uri + ": " + why);
    last_error_ = why;
    link_.setAvailable(false);
    next();
  }

  void answered() {
    std::string error;
    const auto status = steward::printer::parseIpptoolOutput(output_, error);
    if (!status) {
      failed(error);
      return;
    }
    last_error_.clear();
    auto d = link_.device();
    if (d.name.empty()) d.name = status->make_and_model;
    d.model = status->make_and_model;
    d.capabilities = {"consumables", "faults"};
    d.endpoints = {s_.uri};
    if (!status->uuid.empty()) d.identifiers = {"uuid:" + status->uuid};
    link_.setDevice(std::move(d));
    link_.setAvailable(true);

    std::set<std::string> now;
    for (const auto& sup : status->supplies) {
      now.insert(sup.key);
      const auto err = link_.setNeed(sup.key, {{"kind", "consumable"},
                                               {"level", sup.remaining},
                                               {"unit", "%"},
                                               {"low_threshold", sup.low_threshold},
                                               {"description", sup.description}});
      if (!err.empty()) log_.warning(err);
    }
    for (const auto& f : status->faults) {
      if (f.severity == "info") continue;  // reports are not calls for service
      now.insert(f.key);
      const auto err = link_.setNeed(
          f.key, {{"kind", "fault"}, {"severity", f.severity}, {"description", f.key}});
      if (!err.empty()) log_.warning(err);
    }
    std::vector<std::string> gone;
    for (const auto& [key, payload] : link_.needs())
      if (!now.contains(key)) gone.push_back(key);
    for (const auto& key : gone)
      link_.clearNeed(key);  // resolved
    next();
  }

  void next() {
    if (s_.once) {
      if (done_) done_();
      return;
    }
    timer_.expires_after(s_.interval);
    timer_.async_wait([this](auto ec) {
      if (!ec) poll();
    });
  }

  asio::io_context& io_;
  const Settings& s_;
  steward::printer::IppUri uri_;
  std::string test_file_;
  steward::sdk::Link& link_;
  steward::sdk::Log& log_;
  asio::steady_timer timer_;
  std::optional<asio::posix::stream_descriptor> pipe_;
  std::array<char, 4096> buf_{};
  std::string output_, last_error_;
  pid_t child_ = -1;
  bool stopped_ = false;
  std::function<void()> done_;
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  steward::sdk::BrokerSettings broker;
  steward::sdk::DeviceInfo device;
  device.kind = "printer";
  steward::sdk::Options o(
      "steward-printer", "a network printer's supplies and faults over IPP as Steward needs",
      "  steward-printer --uri ipp://printer.local:631/ipp/print --id office-printer");
  o.text("uri", "URI", "the printer, ipp://HOST[:PORT]/PATH or ipps://... (local network only)",
         s.uri);
  o.duration("interval", "how often to ask the printer (default 5m)", s.interval, 1s, 24h);
  o.flag("once", "ask once, publish, and exit", s.once);
  steward::sdk::addBrokerOptions(o, broker, device);
  if (auto rc = o.parse(argc, argv)) return *rc;
  std::string error;
  auto uri = steward::printer::parseIppUri(s.uri, error);
  if (!uri) error = s.uri.empty() ? "--uri is required" : "--uri: " + error;
  if (error.empty() && device.id.empty()) error = "--id is required";
  if (error.empty()) error = broker.finish();
  // An address given literally is checked now: a URI outside the local network is a usage error.
  if (error.empty()) {
    in6_addr a6{};
    in_addr a4{};
    sockaddr_storage ss{};
    if (inet_pton(AF_INET, uri->host.c_str(), &a4) == 1) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      in->sin_addr = a4;
    } else if (inet_pton(AF_INET6, uri->host.c_str(), &a6) == 1) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = a6;
    }
    if (ss.ss_family != 0 && !steward::printer::isLocalAddress(reinterpret_cast<sockaddr*>(&ss)))
      error =
          "--uri: " + uri->host + " is not on the local network: printers are only contacted there";
  }
  if (!error.empty()) {
    std::fprintf(stderr, "steward-printer: %s\n", error.c_str());
    return 2;
  }
  if (o.checkOnly()) {
    std::printf("steward-printer: the configuration is valid\n");
    return 0;
  }
  steward::sdk::Log log("steward-printer", broker.log_level);

  // ipptool reads its request from a file: write ours once, remove it on the way out.
  const char* tmp = std::getenv("RUNTIME_DIRECTORY");
  std::string path = std::string(tmp ? tmp : "/tmp") + "/steward-printer-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    log.error("cannot create the ipptool request file: " + std::string(std::strerror(errno)));
    return 1;
  }
  const std::string test = steward::printer::ipptoolTestFile();
  const bool written = write(fd, test.data(), test.size()) == static_cast<ssize_t>(test.size());
  close(fd);
  if (!written) {
    unlink(path.c_str());
    return 1;
  }

  asio::io_context io;
  steward::sdk::Link link(io.get_executor(), broker, device, log);
  link.setAvailable(false);  // online once the printer answers
  PrinterPlugin plugin(io, s, *uri, path, link, log);
  // With --once: leave when the broker has it (waiting up to 30 s for it), like a SIGTERM.
  plugin.start([&] { link.stop([&] { io.stop(); }, 30s); });
  steward::sdk::runUntilStopped(io, link, [&] { plugin.stop(); });
  unlink(path.c_str());
  return 0;
}
