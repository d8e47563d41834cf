// stewardctl's side of org.stewardhub.Steward1: the generated proxy on a blocking connection
// (no signal handlers, no event loop) and D-Bus errors turned into values the CLI can judge.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bus/generated/steward1_proxy.hpp"
#include "core/result.hpp"

namespace steward::stewardctl {

template <class T>
struct Reply {
  std::optional<T> value;
  std::string error_name;  // the D-Bus error name when the call failed
  std::string error_message;

  bool ok() const { return value.has_value(); }
  // No bus, or nobody owns the name: the daemon is not running (a read-only command may then
  // read the database file instead).
  bool unreachable() const {
    return error_name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           error_name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
           error_name == "org.freedesktop.DBus.Error.NoServer" ||
           error_name == "org.freedesktop.DBus.Error.Disconnected";
  }
};

class HubClient {
 public:
  // "system" or "" is the system bus; otherwise a D-Bus address.
  static core::Result<std::unique_ptr<HubClient>> connect(std::string_view address);

  class Proxy final : public sdbus::ProxyInterfaces<org::stewardhub::Steward1_proxy> {
   public:
    explicit Proxy(sdbus::IConnection& connection);
    ~Proxy() = default;

   private:
    // stewardctl does not listen to signals; the proxy is never registered for them.
    void onDecisionRecorded(const int64_t&, const std::string&, const std::string&,
                            const std::string&, const std::string&) override {}
    void onApprovalRequested(const std::string&, const std::string&) override {}
    void onBudgetChanged(const std::string&, const int64_t&, const int64_t&,
                         const std::string&) override {}
  };

  // Runs `f(proxy)`; a D-Bus error becomes the Reply's error.
  template <class T, class F>
  Reply<T> call(F&& f) {
    Reply<T> reply;
    try {
      reply.value = f(*proxy_);
    } catch (const sdbus::Error& e) {
      reply.error_name = e.getName();
      reply.error_message = e.getMessage();
    }
    return reply;
  }

 private:
  explicit HubClient(std::unique_ptr<sdbus::IConnection> connection);

  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<Proxy> proxy_;
};

}  // namespace steward::stewardctl
