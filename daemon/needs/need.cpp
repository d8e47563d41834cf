// See need.hpp: names of states and kinds as stored and shown, and the lifecycle's legal moves.
#include "needs/need.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "needs/gate.hpp"

namespace steward::needs {
namespace {

constexpr std::array<std::pair<NeedState, std::string_view>, 7> kStates{{
    {NeedState::open, "open"},
    {NeedState::sourcing, "sourcing"},
    {NeedState::awaitingApproval, "awaiting-approval"},
    {NeedState::ordered, "ordered"},
    {NeedState::fulfilled, "fulfilled"},
    {NeedState::cancelled, "cancelled"},
    {NeedState::expired, "expired"},
}};

template <class E, std::size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, std::string_view>, N>& table,
                         std::string_view name) {
  for (const auto& [v, n] : table)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace

std::string_view toString(NeedState s) {
  return nameOf(kStates, s);
}
std::optional<NeedState> parseNeedState(std::string_view s) {
  return valueOf(kStates, s);
}

std::string_view toString(Verdict v) {
  switch (v) {
    case Verdict::allow:
      return "allow";
    case Verdict::needsApproval:
      return "needs-approval";
    case Verdict::deny:
      return "deny";
  }
  return "?";
}

bool isLive(NeedState s) {
  return s == NeedState::open || s == NeedState::sourcing || s == NeedState::awaitingApproval ||
         s == NeedState::ordered;
}

bool canMove(NeedState from, NeedState to) {
  using S = NeedState;
  switch (from) {
    case S::open:
      return to == S::sourcing || to == S::fulfilled || to == S::cancelled || to == S::expired;
    case S::sourcing:
      // Back to open: no acceptable offer came.
      return to == S::open || to == S::awaitingApproval || to == S::ordered || to == S::fulfilled ||
             to == S::cancelled || to == S::expired;
    case S::awaitingApproval:
      // Back to sourcing: the owner approved a basket before its offers were asked for.
      return to == S::open || to == S::sourcing || to == S::ordered || to == S::fulfilled ||
             to == S::cancelled || to == S::expired;
    case S::ordered:
      // Back to open: the order failed or was cancelled but the household still needs the item.
      return to == S::open || to == S::fulfilled || to == S::cancelled;
    case S::fulfilled:
    case S::cancelled:
    case S::expired:
      return false;
  }
  return false;
}

const NeedSource* Need::source(std::string_view device_id, std::string_view key) const {
  for (const auto& s : sources)
    if (s.device_id == device_id && s.key == key) return &s;
  return nullptr;
}

NeedSource* Need::source(std::string_view device_id, std::string_view key) {
  for (auto& s : sources)
    if (s.device_id == device_id && s.key == key) return &s;
  return nullptr;
}

std::size_t Need::activeSources() const {
  std::size_t n = 0;
  for (const auto& s : sources)
    n += s.active ? 1 : 0;
  return n;
}

std::optional<core::Money> Need::estimate() const {
  if (!unit_price || quantity < 0 || unit_price->minor > INT64_MAX / std::max(quantity, 1))
    return std::nullopt;
  return core::Money{unit_price->minor * quantity, unit_price->currency};
}

}  // namespace steward::needs
