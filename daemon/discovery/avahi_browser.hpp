// DNS-SD through avahi-daemon on the hub's loop: browses the configured service types, keeps a
// resolver per service to hear its changes, and announces the hub itself as _steward._tcp.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/result.hpp"
#include "discovery/browser.hpp"
#include "discovery/settings.hpp"

namespace steward::discovery {

struct AvahiBrowserOptions {
  std::vector<std::string> service_types = {"_ipp._tcp", "_ipps._tcp", "_steward-device._tcp"};
  bool publish_hub = true;
  std::string hub_name;              // instance name; "" means "Steward on <avahi host name>"
  std::uint16_t hub_port = 0;        // SRV port; 0 announces the hub's presence only
  std::vector<std::string> hub_txt;  // extra "key=value" TXT strings ("version=" is always added)
  // The LAN is untrusted: at most this many service instances are tracked; more are ignored
  // (and counted) until some go.
  std::size_t max_services = 1000;
  // Services known when avahi-daemon vanished are kept this long for it to come back and see
  // them again; then they are reported gone.
  std::chrono::milliseconds stale_grace{60'000};
  // Once the daemon is back, kept services get at least this long to be seen again (local
  // publishers must re-register with it first) before those still unseen are reported gone.
  std::chrono::milliseconds resync_settle{5'000};
  // Back-off between attempts when the system bus is unreachable or Avahi fails.
  std::chrono::milliseconds retry_min{1'000};
  std::chrono::milliseconds retry_max{30'000};
};

// Survives avahi-daemon being absent at start and restarting: the client is made with
// AVAHI_CLIENT_NO_FAIL and rebuilt after a disconnect, browsers and the hub's announcement are
// re-created when the daemon runs again. A restart does not make known services flap: each keeps
// its place until the returned daemon has had its first look (ALL_FOR_NOW, and resync_settle)
// without seeing it.
class AvahiBrowser final : public Browser {
 public:
  struct Stats {
    std::size_t connects = 0;  // times the daemon was reached (RUNNING)
    std::size_t dropped = 0;   // instances ignored because of max_services
    std::size_t stale = 0;     // services kept from before a restart, not yet seen again
  };

  // Browses config.service_types; publishes the hub when config.publish_hub, on `hub_port`.
  AvahiBrowser(boost::asio::any_io_executor executor, const DiscoveryConfig& config,
               core::Logger& log, std::uint16_t hub_port = 0);
  AvahiBrowser(boost::asio::any_io_executor executor, AvahiBrowserOptions options,
               core::Logger& log);
  ~AvahiBrowser() override;
  AvahiBrowser(const AvahiBrowser&) = delete;
  AvahiBrowser& operator=(const AvahiBrowser&) = delete;

  // Validates the options and starts talking to Avahi. Fails, changing nothing, on a malformed
  // service type or hub name. Not being able to reach avahi-daemon or the system bus is not a
  // failure: the browser keeps trying in the background and logs what it is waiting for.
  core::Result<void> start();
  // Withdraws the hub's announcement and forgets every service, without reporting them gone.
  void stop();

  void onServiceAppeared(ServiceHandler handler) override;
  void onServiceChanged(ServiceHandler handler) override;
  void onServiceGone(ServiceHandler handler) override;
  std::vector<Service> services() const override;

  bool connected() const;             // avahi-daemon reachable and running
  std::string publishedName() const;  // the hub's instance name once established, else ""
  Stats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared so queued handlers can hold a weak reference
};

}  // namespace steward::discovery
