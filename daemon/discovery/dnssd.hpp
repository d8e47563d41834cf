// DNS-SD services as devices: what a browsed service (an IPP printer, a Steward device announcing
// itself) tells the registry. The registry then merges it with what MQTT sources say about the
// same device when their identifiers match (a printer's UUID, a Steward device id).
#pragma once

#include "discovery/browser.hpp"
#include "discovery/device.hpp"

namespace steward::discovery {

// The update for a service that appeared or changed (`present`) or went away. A service that
// goes away makes its device offline, not forgotten: a printer switched off is still ours.
DeviceUpdate updateFromService(const Service& service, bool present);

}  // namespace steward::discovery
