// See hub_client.hpp.
#include "stewardctl/hub_client.hpp"

#include "bus/connection.hpp"
#include "bus/names.hpp"

namespace steward::stewardctl {

HubClient::Proxy::Proxy(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, bus::kBusName, bus::kObjectPath) {}

HubClient::HubClient(std::unique_ptr<sdbus::IConnection> connection)
    : connection_(std::move(connection)), proxy_(std::make_unique<Proxy>(*connection_)) {}

core::Result<std::unique_ptr<HubClient>> HubClient::connect(std::string_view address) {
  auto connection = bus::openConnection(address);
  if (!connection) return connection.error();
  try {
    return std::unique_ptr<HubClient>(new HubClient(std::move(*connection)));
  } catch (const sdbus::Error& e) {
    return core::fail("cannot talk to stewardd: " + e.getMessage());
  }
}

}  // namespace steward::stewardctl
