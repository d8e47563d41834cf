// Lookups over the parsed policy; see policy.hpp.
#include "policy/policy.hpp"

#include <algorithm>

namespace steward::policy {

std::string_view toString(PurchasingMode mode) {
  switch (mode) {
    case PurchasingMode::automatic:
      return "auto";
    case PurchasingMode::approveAll:
      return "approve-all";
    case PurchasingMode::paused:
      return "paused";
  }
  return "?";
}

std::string_view toString(RequestKind kind) {
  switch (kind) {
    case RequestKind::purchase:
      return "purchase";
    case RequestKind::service:
      return "service";
    case RequestKind::meterReport:
      return "meter-report";
  }
  return "?";
}

bool Retailer::serves(std::string_view category) const {
  return std::find(categories.begin(), categories.end(), category) != categories.end();
}

bool TimeWindow::contains(std::chrono::local_time<std::chrono::milliseconds> t) const {
  namespace chrono = std::chrono;
  const auto day = chrono::floor<chrono::days>(t);
  const int minute = static_cast<int>(chrono::duration_cast<chrono::minutes>(t - day).count());
  const unsigned today =
      chrono::weekday{chrono::sys_days{day.time_since_epoch()}}.iso_encoding() - 1;  // Mon = 0
  const unsigned yesterday = (today + 6) % 7;
  const auto on = [this](unsigned d) { return (days >> d) & 1u; };
  if (start_minute < end_minute) return on(today) && minute >= start_minute && minute < end_minute;
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday's window.
  return (on(today) && minute >= start_minute) || (on(yesterday) && minute < end_minute);
}

namespace {
template <class Map>
const typename Map::mapped_type* find(const Map& m, std::string_view key) {
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}
bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

const Budget* Policy::budget(std::string_view category) const {
  return find(budgets, category);
}
const Retailer* Policy::retailer(std::string_view id) const {
  return find(retailers, id);
}
const Item* Policy::item(std::string_view id) const {
  return find(items, id);
}
const DeviceOverride* Policy::device(std::string_view id) const {
  return find(devices, id);
}

bool Policy::deviceDisabled(std::string_view device_id) const {
  const auto* d = device(device_id);
  return d && d->disabled;
}

const Item* Policy::findItem(std::string_view device_id, std::string_view device_kind,
                             std::string_view key) const {
  const Item* byKind = nullptr;
  const Item* any = nullptr;
  for (const auto& [id, item] : items) {
    if (item.key != key) continue;
    if (!device_id.empty() && contains(item.devices, device_id)) return &item;
    if (!item.devices.empty()) continue;  // listed devices only
    if (item.device_kinds.empty()) {
      if (!any) any = &item;
    } else if (!device_kind.empty() && contains(item.device_kinds, device_kind) && !byKind) {
      byKind = &item;
    }
  }
  return byKind ? byKind : any;
}

std::string Policy::categoryFor(std::string_view device_id, const Item* item,
                                std::string_view fallback) const {
  if (const auto* d = device(device_id); d && !d->category.empty()) return d->category;
  if (item) return item->category;
  return std::string(fallback);
}

std::vector<const Retailer*> Policy::retailersFor(const Item& item) const {
  std::vector<const Retailer*> out;
  for (const auto& [id, r] : retailers) {
    if (!r.serves(item.category)) continue;
    if (!item.retailers.empty() && !contains(item.retailers, id)) continue;
    out.push_back(&r);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Retailer* a, const Retailer* b) { return a->rating > b->rating; });
  return out;
}

}  // namespace steward::policy
