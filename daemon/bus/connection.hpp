// Opening a D-Bus connection, shared by the hub's service and stewardctl's client.
#pragma once

#include <memory>
#include <string_view>

#include <sdbus-c++/IConnection.h>

#include "core/result.hpp"

namespace steward::bus {

// Opens a bus connection without requesting any name. `address` "system" (or "") is the system
// bus; anything else is a D-Bus address such as "unix:path=/run/steward-test/bus".
core::Result<std::unique_ptr<sdbus::IConnection>> openConnection(std::string_view address);

}  // namespace steward::bus
