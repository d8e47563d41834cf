// A D-Bus client for tests that shares the test's io_context with the service under test: calls
// are asynchronous and the loop runs until the reply arrives, so one thread serves both ends.
#pragma once

#include <sdbus-c++/sdbus-c++.h>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "bus/connection_pump.hpp"
#include "bus/dbus_service.hpp"
#include "bus/names.hpp"

namespace steward::test {

// Runs `io` until `done()` holds; false on timeout.
template <class F>
bool runUntil(boost::asio::io_context& io, F&& done,
              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

template <class... Results>
struct CallResult {
  bool done = false;
  std::string error_name;  // "" on success
  std::string error_message;
  std::tuple<Results...> values;
  bool ok() const { return done && error_name.empty(); }
  template <std::size_t I = 0>
  const auto& value() const {
    return std::get<I>(values);
  }
};

class BusClient {
 public:
  BusClient(boost::asio::io_context& io, const std::string& address, core::Logger& log) : io_(io) {
    auto connection = bus::openConnection(address);
    if (!connection) throw std::runtime_error(connection.error().message);
    connection_ = std::move(*connection);
    proxy_ = sdbus::createProxy(*connection_, bus::kBusName, bus::kObjectPath);
    pump_ = std::make_unique<bus::ConnectionPump>(io.get_executor(), *connection_, log);
  }
  ~BusClient() {
    pump_.reset();
    proxy_.reset();
  }

  sdbus::IProxy& proxy() { return *proxy_; }
  // Call after registering signal handlers on proxy().
  void start() {
    proxy_->finishRegistration();
    pump_->start();
  }

  template <class... Results, class... Args>
  CallResult<Results...> callOn(const std::string& interface, const std::string& member,
                                Args&&... args) {
    CallResult<Results...> result;
    auto invoker = proxy_->callMethodAsync(member);
    invoker.onInterface(interface);
    if constexpr (sizeof...(Args) > 0) invoker.withArguments(std::forward<Args>(args)...);
    auto pending = invoker.uponReplyInvoke([&result](const sdbus::Error* error, Results... values) {
      if (error) {
        result.error_name = error->getName();
        result.error_message = error->getMessage();
      } else {
        result.values = std::tuple<Results...>(std::move(values)...);
      }
      result.done = true;
    });
    pump_->kick();
    if (!runUntil(io_, [&] { return result.done; })) result.error_name = "test.Timeout";
    return result;
  }

  template <class... Results, class... Args>
  CallResult<Results...> call(const std::string& member, Args&&... args) {
    return callOn<Results...>(bus::kInterface, member, std::forward<Args>(args)...);
  }

  template <class T>
  CallResult<T> property(const std::string& name) {
    auto r = callOn<sdbus::Variant>("org.freedesktop.DBus.Properties", "Get",
                                    std::string(bus::kInterface), name);
    CallResult<T> out;
    out.done = r.done;
    out.error_name = r.error_name;
    out.error_message = r.error_message;
    if (r.ok()) out.values = std::tuple<T>(r.template value<0>().template get<T>());
    return out;
  }

 private:
  boost::asio::io_context& io_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> proxy_;
  std::unique_ptr<bus::ConnectionPump> pump_;
};

}  // namespace steward::test
