// See avahi_browser.hpp. Every Avahi callback only updates state and queues events; Avahi objects
// are freed and the client rebuilt from posted handlers, never inside Avahi's own callbacks, and
// the module's handlers run from a posted drain, so none of them re-enters the library.
#include "discovery/avahi_browser.hpp"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/address.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <net/if.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "discovery/avahi_poll.hpp"

namespace steward::discovery {
namespace {

constexpr const char* kHubType = "_steward._tcp";
constexpr std::size_t kMaxTxtEntries = 64;  // a TXT record is at most ~9 KB; keep what is useful
constexpr int kMaxRenames = 32;             // alternative names tried for one local collision

struct ServiceKey {
  std::string name;
  std::string type;  // as configured (the browser's type), so sweeps match exactly
  std::string domain;
  auto operator<=>(const ServiceKey&) const = default;
};

struct InstanceKey {
  AvahiIfIndex interface;
  AvahiProtocol protocol;
  auto operator<=>(const InstanceKey&) const = default;
};

struct Resolved {
  std::string host_name;
  std::string address;
  std::string interface;
  std::uint16_t port = 0;
  std::map<std::string, std::string> txt;
};

// One (interface, protocol) on which a service was seen, with its resolver kept open for changes.
struct Instance {
  AvahiServiceResolver* resolver = nullptr;
  bool local = false;
  std::optional<Resolved> resolved;
};

struct Entry {
  std::map<InstanceKey, Instance> instances;
  std::optional<Service> reported;  // what the handlers were last told
  bool stale = false;               // known before the daemon went away, not seen since
};

enum class EventKind { appeared, changed, gone };

struct Event {
  EventKind kind;
  Service service;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string interfaceName(AvahiIfIndex index) {
  if (index < 0) return {};
  char buffer[IF_NAMESIZE] = {};
  if (::if_indextoname(static_cast<unsigned>(index), buffer) != nullptr) return buffer;
  return std::to_string(index);
}

std::string addressText(const AvahiAddress* address, const std::string& interface) {
  if (address == nullptr) return {};
  char buffer[AVAHI_ADDRESS_STR_MAX] = {};
  if (avahi_address_snprint(buffer, sizeof buffer, address) == nullptr) return {};
  std::string text = buffer;
  // A link-local IPv6 address means nothing without its interface.
  const auto& v6 = address->data.ipv6.address;
  if (address->proto == AVAHI_PROTO_INET6 && v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80 &&
      !interface.empty())
    text += "%" + interface;
  return text;
}

// avahi-client hands TXT strings over in wire order; DNS-SD says the first occurrence of a key
// wins (RFC 6763 §6.4).
std::map<std::string, std::string> parseTxt(AvahiStringList* list) {
  std::map<std::string, std::string> txt;
  for (auto* l = list; l != nullptr && txt.size() < kMaxTxtEntries;
       l = avahi_string_list_get_next(l)) {
    const std::string_view text(reinterpret_cast<const char*>(avahi_string_list_get_text(l)),
                                avahi_string_list_get_size(l));
    const auto eq = text.find('=');
    const auto key = text.substr(0, eq);
    if (key.empty()) continue;  // "=value" carries no key: ignored
    txt.emplace(lower(key),
                eq == std::string_view::npos ? std::string() : std::string(text.substr(eq + 1)));
  }
  return txt;
}

// Cuts a name to DNS-SD's 63-byte label limit without splitting a UTF-8 sequence.
std::string fitLabel(std::string name) {
  if (name.size() <= 63) return name;
  std::size_t n = 63;
  while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xc0) == 0x80)
    --n;
  name.resize(n);
  return name;
}

bool validTxtString(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  const auto key = s.substr(0, s.find('='));
  if (key.empty()) return false;
  for (unsigned char c : key)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

}  // namespace

struct AvahiBrowser::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::any_io_executor ex, AvahiBrowserOptions opts, bool is_enabled,
       core::Logger& logger)
      : executor(ex),
        options(std::move(opts)),
        enabled(is_enabled),
        log(logger),
        poll(ex),
        retry_timer(ex),
        stale_timer(ex),
        settle_timer(ex),
        retry_delay(options.retry_min) {}

  // Frees the client before `poll` (a member) goes.
  ~Impl() { teardown(); }

  // --- lifecycle ---------------------------------------------------------------------------

  void connect() {
    int error = 0;
    AvahiClient* made =
        avahi_client_new(poll.api(), AVAHI_CLIENT_NO_FAIL, &Impl::clientCallback, this, &error);
    if (made == nullptr) {
      // Anything the callback created on the way went with the half-made client.
      client = nullptr;
      group = nullptr;
      browsers.clear();
      resolvers.clear();
      ++generation;
      log.warning("avahi.unavailable",
                  {{"error", avahi_strerror(error)}, {"retry_ms", retry_delay.count()}});
      scheduleRetry();
      return;
    }
    client = made;
  }

  // Frees every Avahi object, resolvers first and the client last. Never called from inside an
  // Avahi callback. Entries keep their reported state; their instances are dropped by the caller.
  void teardown() {
    for (auto& [resolver, keys] : resolvers)
      avahi_service_resolver_free(resolver);
    resolvers.clear();
    for (auto& [browser, type] : browsers)
      avahi_service_browser_free(browser);
    browsers.clear();
    if (group != nullptr) avahi_entry_group_free(group);  // withdraws the hub if connected
    group = nullptr;
    if (client != nullptr) avahi_client_free(client);
    client = nullptr;
    ++generation;
    connected = false;
    reached = false;
    published_name.clear();
    hub_name.clear();  // try the configured name again next time
    settle_timer.cancel();
    settled = true;
    looked.clear();
  }

  // Rebuilds the client from the loop, outside the callback that noticed the trouble: at once
  // when the daemon merely went away (NO_FAIL then waits for it), after a back-off otherwise.
  void scheduleReconnect(bool immediately) {
    boost::asio::post(executor, [weak = weak_from_this(), gen = generation, immediately] {
      const auto self = weak.lock();
      if (!self || !self->running || gen != self->generation) return;
      self->teardown();
      self->markStale();
      if (immediately)
        self->connect();
      else
        self->scheduleRetry();
    });
  }

  void scheduleRetry() {
    retry_timer.expires_after(retry_delay);
    retry_delay = std::min(retry_delay * 2, options.retry_max);
    retry_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      const auto self = weak.lock();
      if (ec || !self || !self->running) return;
      self->connect();
    });
  }

  // --- client --------------------------------------------------------------------------------

  static void clientCallback(AvahiClient* c, AvahiClientState state, void* userdata) {
    auto* self = static_cast<Impl*>(userdata);
    self->guarded("client", [&] { self->onClientState(c, state); });
  }

  void onClientState(AvahiClient* c, AvahiClientState state) {
    switch (state) {
      case AVAHI_CLIENT_S_RUNNING:
        connected = true;
        retry_delay = options.retry_min;
        if (!reached) {  // RUNNING again after a host name change is not a new connection
          reached = true;
          ++stats.connects;
          log.notice("avahi.running", {{"host", nonNull(avahi_client_get_host_name_fqdn(c))}});
        }
        if (browsers.empty()) startSettling();
        createBrowsers(c);
        publishHub(c);
        break;
      case AVAHI_CLIENT_S_REGISTERING:
      case AVAHI_CLIENT_S_COLLISION:
        log.debug("avahi.registering", {{"state", static_cast<int>(state)}});
        // The daemon is (re)establishing its host name and has dropped our records; they go
        // back when it is RUNNING again, under the new host name.
        if (group != nullptr) avahi_entry_group_reset(group);
        published_name.clear();
        break;
      case AVAHI_CLIENT_CONNECTING:
        connected = false;
        log.notice("avahi.waiting", {{"reason", "avahi-daemon is not running"}});
        break;
      case AVAHI_CLIENT_FAILURE: {
        connected = false;
        published_name.clear();
        const int error = avahi_client_errno(c);
        log.warning("avahi.disconnected", {{"error", avahi_strerror(error)}});
        scheduleReconnect(error == AVAHI_ERR_DISCONNECTED);
        break;
      }
    }
  }

  void createBrowsers(AvahiClient* c) {
    if (!browsers.empty()) return;
    for (const auto& type : options.service_types) {
      AvahiServiceBrowser* b =
          avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, type.c_str(), nullptr,
                                    static_cast<AvahiLookupFlags>(0), &Impl::browseCallback, this);
      if (b == nullptr) {
        log.error("avahi.browse_failed",
                  {{"type", type}, {"error", avahi_strerror(avahi_client_errno(c))}});
        scheduleReconnect(false);
        return;
      }
      browsers.emplace(b, type);
    }
  }

  // --- browsing ------------------------------------------------------------------------------

  static void browseCallback(AvahiServiceBrowser* b, AvahiIfIndex interface, AvahiProtocol protocol,
                             AvahiBrowserEvent event, const char* name, const char* type,
                             const char* domain, AvahiLookupResultFlags flags, void* userdata) {
    auto* self = static_cast<Impl*>(userdata);
    self->guarded("browser", [&] {
      self->onBrowse(b, interface, protocol, event, name, type, domain, flags);
    });
  }

  void onBrowse(AvahiServiceBrowser* b, AvahiIfIndex interface, AvahiProtocol protocol,
                AvahiBrowserEvent event, const char* name, const char* type, const char* domain,
                AvahiLookupResultFlags flags) {
    const auto found = browsers.find(b);
    const std::string browse_type = found != browsers.end() ? found->second : nonNull(type);
    switch (event) {
      case AVAHI_BROWSER_NEW:
        if ((flags & AVAHI_LOOKUP_RESULT_OUR_OWN) != 0) return;  // the hub's own announcement
        addInstance(b, {nonNull(name), browse_type, nonNull(domain)}, {interface, protocol},
                    nonNull(type), (flags & AVAHI_LOOKUP_RESULT_LOCAL) != 0);
        break;
      case AVAHI_BROWSER_REMOVE:
        removeInstance({nonNull(name), browse_type, nonNull(domain)}, {interface, protocol});
        break;
      case AVAHI_BROWSER_ALL_FOR_NOW:
        looked.insert(browse_type);
        if (settled) sweepStale(browse_type);
        break;
      case AVAHI_BROWSER_CACHE_EXHAUSTED:
        break;
      case AVAHI_BROWSER_FAILURE:
        log.error(
            "avahi.browse_failed",
            {{"type", browse_type},
             {"error", avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(b)))}});
        scheduleReconnect(false);
        break;
    }
  }

  void addInstance(AvahiServiceBrowser* b, ServiceKey key, InstanceKey where,
                   const std::string& wire_type, bool local) {
    if (const auto it = entries.find(key);
        it != entries.end() && it->second.instances.contains(where))
      return;
    if (instance_count >= options.max_services) {
      ++stats.dropped;
      if (!cap_reported) {
        cap_reported = true;
        log.warning("dnssd.service_ignored", {{"name", key.name},
                                              {"type", key.type},
                                              {"reason", "max_services reached"},
                                              {"max_services", options.max_services}});
      }
      return;
    }
    AvahiServiceResolver* r = avahi_service_resolver_new(
        avahi_service_browser_get_client(b), where.interface, where.protocol, key.name.c_str(),
        wire_type.c_str(), key.domain.c_str(), where.protocol, static_cast<AvahiLookupFlags>(0),
        &Impl::resolveCallback, this);
    if (r == nullptr) {
      log.warning(
          "avahi.resolve_failed",
          {{"name", key.name},
           {"type", key.type},
           {"error", avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(b)))}});
      return;
    }
    auto& entry = entries[key];
    entry.stale = false;
    entry.instances[where] = Instance{r, local, std::nullopt};
    resolvers.emplace(r, std::make_pair(std::move(key), where));
    ++instance_count;
  }

  void removeInstance(const ServiceKey& key, InstanceKey where) {
    const auto it = entries.find(key);
    if (it == entries.end()) return;
    auto& entry = it->second;
    const auto instance = entry.instances.find(where);
    if (instance == entry.instances.end()) return;
    resolvers.erase(instance->second.resolver);
    avahi_service_resolver_free(instance->second.resolver);
    entry.instances.erase(instance);
    --instance_count;
    if (instance_count < options.max_services) cap_reported = false;
    if (!entry.instances.empty()) {
      update(it->first, entry);
      return;
    }
    if (entry.reported) emit(EventKind::gone, std::move(*entry.reported));
    entries.erase(it);
  }

  static void resolveCallback(AvahiServiceResolver* r, AvahiIfIndex interface,
                              AvahiProtocol /*protocol*/, AvahiResolverEvent event,
                              const char* /*name*/, const char* /*type*/, const char* /*domain*/,
                              const char* host_name, const AvahiAddress* address, uint16_t port,
                              AvahiStringList* txt, AvahiLookupResultFlags /*flags*/,
                              void* userdata) {
    auto* self = static_cast<Impl*>(userdata);
    self->guarded("resolver",
                  [&] { self->onResolve(r, interface, event, host_name, address, port, txt); });
  }

  void onResolve(AvahiServiceResolver* r, AvahiIfIndex interface, AvahiResolverEvent event,
                 const char* host_name, const AvahiAddress* address, uint16_t port,
                 AvahiStringList* txt) {
    const auto found = resolvers.find(r);
    if (found == resolvers.end()) return;
    const auto& [key, where] = found->second;
    auto& entry = entries.at(key);
    if (event == AVAHI_RESOLVER_FAILURE) {
      // Usually a timeout; the resolver stays open and reports the service once it answers.
      log.debug(
          "avahi.resolve_pending",
          {{"name", key.name},
           {"type", key.type},
           {"error", avahi_strerror(avahi_client_errno(avahi_service_resolver_get_client(r)))}});
      return;
    }
    Resolved resolved;
    resolved.host_name = nonNull(host_name);
    resolved.interface = interfaceName(interface);
    resolved.address = addressText(address, resolved.interface);
    resolved.port = port;
    resolved.txt = parseTxt(txt);
    entry.instances.at(where).resolved = std::move(resolved);
    update(key, entry);
  }

  // Folds the instances into one Service; the primary instance (lowest interface, then protocol)
  // gives host, port, TXT and interface, every instance adds its address.
  static std::optional<Service> merge(const ServiceKey& key, const Entry& entry) {
    const Resolved* primary = nullptr;
    bool local = false;
    std::set<std::string> addresses;
    for (const auto& [where, instance] : entry.instances) {
      local = local || instance.local;
      if (!instance.resolved) continue;
      if (primary == nullptr) primary = &*instance.resolved;
      if (!instance.resolved->address.empty()) addresses.insert(instance.resolved->address);
    }
    if (primary == nullptr) return std::nullopt;
    Service s;
    s.name = key.name;
    s.type = key.type;
    s.domain = key.domain;
    s.host_name = primary->host_name;
    s.addresses.assign(addresses.begin(), addresses.end());
    s.port = primary->port;
    s.txt = primary->txt;
    s.interface = primary->interface;
    s.local = local;
    return s;
  }

  void update(const ServiceKey& key, Entry& entry) {
    auto merged = merge(key, entry);
    if (!merged) return;
    if (!entry.reported) {
      entry.reported = merged;
      emit(EventKind::appeared, std::move(*merged));
    } else if (*entry.reported != *merged) {
      entry.reported = merged;
      emit(EventKind::changed, std::move(*merged));
    }
  }

  // After teardown: services already reported wait (stale) for the daemon to come back and see
  // them again; the rest are forgotten quietly.
  void markStale() {
    std::size_t stale = 0;
    for (auto it = entries.begin(); it != entries.end();) {
      it->second.instances.clear();
      if (it->second.reported) {
        it->second.stale = true;
        ++stale;
        ++it;
      } else {
        it = entries.erase(it);
      }
    }
    instance_count = 0;
    cap_reported = false;
    if (stale == 0) return;
    stale_timer.expires_after(options.stale_grace);
    stale_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      const auto self = weak.lock();
      if (ec || !self || !self->running) return;
      self->log.notice("dnssd.stale_expired", {{"reason", "avahi-daemon did not come back"}});
      self->sweepStale(std::nullopt);
    });
  }

  // Back after a restart: kept services get resync_settle to be seen again before any sweep.
  void startSettling() {
    looked.clear();
    settled =
        std::none_of(entries.begin(), entries.end(), [](const auto& e) { return e.second.stale; });
    if (settled) return;
    settle_timer.expires_after(options.resync_settle);
    settle_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      const auto self = weak.lock();
      if (ec || !self || !self->running) return;
      self->settled = true;
      for (const auto& type : std::set<std::string>(self->looked))
        self->sweepStale(type);
    });
  }

  // Reports gone every stale service (of `type`, when given): the daemon has had its first look
  // and did not see it again.
  void sweepStale(const std::optional<std::string>& type) {
    bool any_left = false;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->second.stale && (!type || it->first.type == *type)) {
        emit(EventKind::gone, std::move(*it->second.reported));
        it = entries.erase(it);
      } else {
        any_left = any_left || it->second.stale;
        ++it;
      }
    }
    if (!any_left) stale_timer.cancel();
  }

  // --- publishing ----------------------------------------------------------------------------

  void publishHub(AvahiClient* c) {
    if (!options.publish_hub) return;
    if (group == nullptr) {
      group = avahi_entry_group_new(c, &Impl::groupCallback, this);
      if (group == nullptr) {
        log.error("avahi.publish_failed", {{"error", avahi_strerror(avahi_client_errno(c))}});
        scheduleReconnect(false);
        return;
      }
    }
    if (!avahi_entry_group_is_empty(group)) return;
    if (hub_name.empty()) {
      const char* host = avahi_client_get_host_name(c);
      hub_name = !options.hub_name.empty() ? options.hub_name
                                           : fitLabel(std::string("Steward on ") + nonNull(host));
    }
    AvahiStringList* txt = avahi_string_list_new("version=" STEWARD_VERSION, nullptr);
    for (const auto& s : options.hub_txt)
      txt = avahi_string_list_add(txt, s.c_str());
    txt = avahi_string_list_reverse(txt);  // announce them in the order given
    int rc = 0;
    for (int attempt = 0;; ++attempt) {
      rc = avahi_entry_group_add_service_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                static_cast<AvahiPublishFlags>(0), hub_name.c_str(),
                                                kHubType, nullptr, nullptr, options.hub_port, txt);
      if (rc != AVAHI_ERR_COLLISION || attempt >= kMaxRenames) break;
      renameHub("taken by another service on this host");
    }
    avahi_string_list_free(txt);
    if (rc >= 0) rc = avahi_entry_group_commit(group);
    if (rc < 0) {
      log.error("avahi.publish_failed", {{"name", hub_name}, {"error", avahi_strerror(rc)}});
      scheduleReconnect(false);
    }
  }

  void renameHub(std::string_view reason) {
    char* alternative = avahi_alternative_service_name(hub_name.c_str());
    if (alternative == nullptr) return;
    log.notice("avahi.hub_renamed", {{"from", hub_name}, {"to", alternative}, {"reason", reason}});
    hub_name = alternative;
    avahi_free(alternative);
  }

  static void groupCallback(AvahiEntryGroup* g, AvahiEntryGroupState state, void* userdata) {
    auto* self = static_cast<Impl*>(userdata);
    self->guarded("entry group", [&] { self->onGroupState(g, state); });
  }

  void onGroupState(AvahiEntryGroup* g, AvahiEntryGroupState state) {
    if (group == nullptr) group = g;  // first call comes from inside avahi_entry_group_new()
    switch (state) {
      case AVAHI_ENTRY_GROUP_ESTABLISHED:
        published_name = hub_name;
        log.info("avahi.hub_published",
                 {{"name", hub_name}, {"type", kHubType}, {"port", options.hub_port}});
        break;
      case AVAHI_ENTRY_GROUP_COLLISION:
        published_name.clear();
        renameHub("taken on the network");
        avahi_entry_group_reset(g);
        publishHub(avahi_entry_group_get_client(g));
        break;
      case AVAHI_ENTRY_GROUP_FAILURE:
        published_name.clear();
        log.error("avahi.publish_failed",
                  {{"name", hub_name},
                   {"error", avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g)))}});
        scheduleReconnect(false);
        break;
      case AVAHI_ENTRY_GROUP_UNCOMMITED:
      case AVAHI_ENTRY_GROUP_REGISTERING:
        break;
    }
  }

  // --- events --------------------------------------------------------------------------------

  void emit(EventKind kind, Service service) {
    static constexpr const char* kNames[] = {"dnssd.service_appeared", "dnssd.service_changed",
                                             "dnssd.service_gone"};
    log.info(kNames[static_cast<int>(kind)], {{"name", service.name},
                                              {"type", service.type},
                                              {"host", service.host_name},
                                              {"port", service.port}});
    events.push_back({kind, std::move(service)});
    if (drain_posted) return;
    drain_posted = true;
    boost::asio::post(executor, [weak = weak_from_this()] {
      if (const auto self = weak.lock()) self->drain();
    });
  }

  void drain() {
    drain_posted = false;
    const auto keep_alive = shared_from_this();  // a handler may destroy the AvahiBrowser
    while (running && !events.empty()) {
      Event event = std::move(events.front());
      events.pop_front();
      // A copy: the handler may replace itself.
      const ServiceHandler handler = event.kind == EventKind::appeared  ? on_appeared
                                     : event.kind == EventKind::changed ? on_changed
                                                                        : on_gone;
      if (!handler) continue;
      try {
        handler(event.service);
      } catch (const std::exception& e) {
        log.error("dnssd.handler_failed", {{"name", event.service.name}, {"error", e.what()}});
      }
    }
  }

  // C callbacks must not let an exception through into Avahi.
  template <class F>
  void guarded(std::string_view what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      log.error("avahi.callback_failed", {{"callback", what}, {"error", e.what()}});
    }
  }

  static std::string nonNull(const char* s) { return s != nullptr ? s : ""; }

  // --- state ---------------------------------------------------------------------------------

  boost::asio::any_io_executor executor;
  AvahiBrowserOptions options;
  bool enabled;
  core::Logger& log;
  AsioAvahiPoll poll;
  boost::asio::steady_timer retry_timer;
  boost::asio::steady_timer stale_timer;   // stale_grace: the daemon stays away
  boost::asio::steady_timer settle_timer;  // resync_settle: the daemon is back
  std::chrono::milliseconds retry_delay;

  bool running = false;
  bool connected = false;
  bool reached = false;          // this client has been RUNNING
  std::uint64_t generation = 0;  // bumped per torn-down client; stale posts check it
  AvahiClient* client = nullptr;
  AvahiEntryGroup* group = nullptr;
  std::string hub_name;        // current name, perhaps an alternative after a collision
  std::string published_name;  // set once the announcement is established
  std::map<AvahiServiceBrowser*, std::string> browsers;  // -> configured type
  std::map<AvahiServiceResolver*, std::pair<ServiceKey, InstanceKey>> resolvers;
  std::map<ServiceKey, Entry> entries;
  std::size_t instance_count = 0;
  bool cap_reported = false;
  bool settled = true;           // stale services may be swept
  std::set<std::string> looked;  // types whose browser said ALL_FOR_NOW since the last connect
  Stats stats;

  ServiceHandler on_appeared;
  ServiceHandler on_changed;
  ServiceHandler on_gone;
  std::deque<Event> events;
  bool drain_posted = false;
};

namespace {

AvahiBrowserOptions optionsFrom(const DiscoveryConfig& config, std::uint16_t hub_port) {
  AvahiBrowserOptions options;
  options.service_types = config.service_types;
  options.publish_hub = config.publish_hub;
  options.hub_port = hub_port;
  return options;
}

}  // namespace

AvahiBrowser::AvahiBrowser(boost::asio::any_io_executor executor, const DiscoveryConfig& config,
                           core::Logger& log, std::uint16_t hub_port)
    : impl_(std::make_shared<Impl>(std::move(executor), optionsFrom(config, hub_port), config.avahi,
                                   log)) {}

AvahiBrowser::AvahiBrowser(boost::asio::any_io_executor executor, AvahiBrowserOptions options,
                           core::Logger& log)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), true, log)) {}

AvahiBrowser::~AvahiBrowser() {
  stop();
}

core::Result<void> AvahiBrowser::start() {
  auto& impl = *impl_;
  if (impl.running) return {};
  if (!impl.enabled) {
    impl.log.info("avahi.disabled", {{"reason", "discovery.avahi = false"}});
    return {};
  }
  auto& options = impl.options;
  std::set<std::string> seen;
  for (const auto& type : options.service_types) {
    if (!avahi_is_valid_service_type_strict(type.c_str()))
      return core::fail("discovery.service_types: \"" + type +
                        "\" is not a DNS-SD service type like \"_ipp._tcp\"");
    if (!seen.insert(type).second)
      return core::fail("discovery.service_types: \"" + type + "\" is listed twice");
  }
  if (options.publish_hub) {
    if (!options.hub_name.empty() && !avahi_is_valid_service_name(options.hub_name.c_str()))
      return core::fail("hub name \"" + options.hub_name +
                        "\" is not a DNS-SD instance name (1-63 bytes of UTF-8)");
    for (const auto& s : options.hub_txt)
      if (!validTxtString(s))
        return core::fail("hub TXT \"" + s +
                          "\" is not a \"key=value\" string of at most 255 bytes");
  }
  if (options.max_services == 0) return core::fail("max_services must be at least 1");
  impl.running = true;
  impl.retry_delay = options.retry_min;
  impl.connect();
  return {};
}

void AvahiBrowser::stop() {
  auto& impl = *impl_;
  if (!impl.running) return;
  impl.running = false;
  impl.retry_timer.cancel();
  impl.stale_timer.cancel();
  impl.teardown();  // also stops settling
  impl.entries.clear();
  impl.instance_count = 0;
  impl.events.clear();
}

void AvahiBrowser::onServiceAppeared(ServiceHandler handler) {
  impl_->on_appeared = std::move(handler);
}
void AvahiBrowser::onServiceChanged(ServiceHandler handler) {
  impl_->on_changed = std::move(handler);
}
void AvahiBrowser::onServiceGone(ServiceHandler handler) {
  impl_->on_gone = std::move(handler);
}

std::vector<Service> AvahiBrowser::services() const {
  std::vector<Service> out;
  for (const auto& [key, entry] : impl_->entries)
    if (entry.reported) out.push_back(*entry.reported);
  return out;
}

bool AvahiBrowser::connected() const {
  return impl_->connected;
}

std::string AvahiBrowser::publishedName() const {
  return impl_->published_name;
}

AvahiBrowser::Stats AvahiBrowser::stats() const {
  Stats s = impl_->stats;
  s.stale = static_cast<std::size_t>(std::count_if(impl_->entries.begin(), impl_->entries.end(),
                                                   [](const auto& e) { return e.second.stale; }));
  return s;
}

}  // namespace steward::discovery
