// See registry.hpp. Every state-changing path works on a copy, writes it to the database with its
// ledger decision in one transaction, and only then swaps it in and tells the listeners, so a
// failed write leaves memory and disk agreeing on the old state.
#include "discovery/registry.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include "discovery/json_util.hpp"

namespace steward::discovery {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxIdentifiers = 32;
constexpr std::size_t kMaxEndpoints = 16;

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE devices (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  manufacturer  TEXT NOT NULL,
  model         TEXT NOT NULL,
  sources       TEXT NOT NULL,   -- JSON array of "<source>:<id>"
  identifiers   TEXT NOT NULL,   -- JSON array, see identifiers.hpp
  endpoints     TEXT NOT NULL,   -- JSON array of URLs
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL,
  availability  TEXT NOT NULL,   -- online, offline, unknown
  levels        TEXT NOT NULL    -- JSON object: key -> {"value": n, "unit": "%"}
);
CREATE TABLE device_needs (
  device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  need_key   TEXT NOT NULL,      -- "<kind>/<key>"
  kind       TEXT NOT NULL,
  signal     TEXT NOT NULL,      -- JSON of the NeedSignal that opened or last changed it
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (device_id, need_key)
);
)sql",
};

std::string toJsonArray(const std::vector<std::string>& items) {
  bj::array a;
  for (const auto& i : items)
    a.emplace_back(i);
  return bj::serialize(a);
}

std::vector<std::string> fromJsonArray(std::string_view text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const bj::value v = bj::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& i : v.get_array())
    if (i.is_string()) out.emplace_back(i.get_string());
  return out;
}

bool sameSignal(const NeedSignal& a, const NeedSignal& b) {
  return a.kind == b.kind && a.key == b.key && a.level == b.level && a.unit == b.unit &&
         a.low_threshold == b.low_threshold && a.low == b.low && a.cleared == b.cleared &&
         a.severity == b.severity && a.description == b.description &&
         a.product_hint == b.product_hint;
}

template <class T>
bool addUnique(std::vector<T>& list, const T& item, std::size_t cap) {
  if (std::find(list.begin(), list.end(), item) != list.end() || list.size() >= cap) return false;
  list.push_back(item);
  return true;
}

// The single steward plugin that owns a device, if any: a plugin may speak only for itself, so
// two plugins' devices never merge.
std::optional<std::string> pluginOf(const Device& d) {
  for (const auto& s : d.sources)
    if (s.source == "steward") return s.id;
  return std::nullopt;
}

Rejection storageError(const std::string& what, const core::Error& e) {
  return Rejection{Reject::storage, what + ": " + e.message};
}

}  // namespace

std::string signalToJson(const NeedSignal& s) {
  bj::object o;
  o["kind"] = toString(s.kind);
  o["key"] = s.key;
  if (s.level) o["level"] = *s.level;
  if (!s.unit.empty()) o["unit"] = s.unit;
  if (s.low_threshold) o["low_threshold"] = *s.low_threshold;
  o["low"] = s.low;
  if (s.cleared) o["cleared"] = true;
  o["severity"] = toString(s.severity);
  if (!s.description.empty()) o["description"] = s.description;
  if (!s.product_hint.empty()) o["product"] = s.product_hint;
  o["observed_at_ms"] = core::toUnixMillis(s.observed_at);
  if (!s.source.empty()) o["source"] = s.source;
  return bj::serialize(o);
}

std::optional<NeedSignal> signalFromJson(std::string_view text) {
  boost::system::error_code ec;
  const bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  NeedSignal s;
  auto str = [&](std::string_view k) -> std::string {
    const auto* f = o.if_contains(k);
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  const auto kind = parseSignalKind(str("kind"));
  if (!kind) return std::nullopt;
  s.kind = *kind;
  s.key = str("key");
  if (const auto* f = o.if_contains("level")) s.level = json::number(*f);
  s.unit = str("unit");
  if (const auto* f = o.if_contains("low_threshold")) s.low_threshold = json::number(*f);
  if (const auto* f = o.if_contains("low"); f && f->is_bool()) s.low = f->get_bool();
  if (const auto* f = o.if_contains("cleared"); f && f->is_bool()) s.cleared = f->get_bool();
  s.severity = parseSeverity(str("severity")).value_or(Severity::info);
  s.description = str("description");
  s.product_hint = str("product");
  s.source = str("source");
  if (const auto* f = o.if_contains("observed_at_ms"); f && f->is_int64())
    s.observed_at = core::fromUnixMillis(f->get_int64());
  return s;
}

std::string levelsToJson(const std::map<std::string, Level>& levels) {
  bj::object o;
  for (const auto& [k, l] : levels)
    o[k] = bj::object{{"value", l.value}, {"unit", l.unit}};
  return bj::serialize(o);
}

std::map<std::string, Level> levelsFromJson(std::string_view text) {
  std::map<std::string, Level> out;
  boost::system::error_code ec;
  const bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [k, l] : v.get_object()) {
    const auto* lo = l.if_object();
    if (!lo) continue;
    Level level;
    if (const auto* f = lo->if_contains("value")) level.value = json::number(*f).value_or(0);
    if (const auto* f = lo->if_contains("unit"); f && f->is_string()) level.unit = f->get_string();
    out.emplace(std::string(k), std::move(level));
  }
  return out;
}

Registry::Registry(ledger::Ledger& ledger, const core::Clock& clock, Options options)
    : ledger_(ledger), clock_(clock), options_(options) {}

core::Result<void> Registry::load() {
  auto& db = ledger_.database();
  if (auto r = db.migrate("registry", kSchema); !r) return r;
  devices_.clear();
  by_source_.clear();
  by_identifier_.clear();
  dirty_.clear();
  auto q = db.prepare(
      "SELECT id, name, kind, manufacturer, model, sources, identifiers, endpoints, "
      "first_seen_ms, last_seen_ms, availability, levels FROM devices");
  if (!q) return q.error();
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    Device d;
    d.id = q->text(0);
    d.name = q->text(1);
    d.kind = q->text(2);
    d.manufacturer = q->text(3);
    d.model = q->text(4);
    for (const auto& s : fromJsonArray(q->textView(5))) {
      const auto colon = s.find(':');
      if (colon != std::string::npos)
        d.sources.push_back({s.substr(0, colon), s.substr(colon + 1)});
    }
    d.identifiers = fromJsonArray(q->textView(6));
    d.endpoints = fromJsonArray(q->textView(7));
    d.first_seen = core::fromUnixMillis(q->int64(8));
    d.last_seen = core::fromUnixMillis(q->int64(9));
    d.availability = parseAvailability(q->textView(10));
    d.levels = levelsFromJson(q->textView(11));
    devices_.emplace(d.id, std::move(d));
  }
  auto n = db.prepare("SELECT device_id, need_key, signal FROM device_needs");
  if (!n) return n.error();
  for (;;) {
    auto row = n->step();
    if (!row) return row.error();
    if (!*row) break;
    auto it = devices_.find(n->textView(0));
    auto s = signalFromJson(n->textView(2));
    if (it == devices_.end() || !s) continue;
    s->device_id = it->first;
    it->second.needs[n->text(1)] = std::move(*s);
  }
  for (const auto& [id, d] : devices_)
    index(d);
  loaded_ = true;
  return {};
}

const Device* Registry::find(std::string_view id) const {
  auto it = devices_.find(id);
  return it == devices_.end() ? nullptr : &it->second;
}

const Device* Registry::findBySource(const SourceRef& ref) const {
  auto it = by_source_.find(ref.str());
  return it == by_source_.end() ? nullptr : find(it->second);
}

std::vector<const Device*> Registry::devices() const {
  std::vector<const Device*> out;
  out.reserve(devices_.size());
  for (const auto& [id, d] : devices_)
    out.push_back(&d);
  return out;
}

void Registry::index(const Device& d) {
  for (const auto& s : d.sources)
    by_source_[s.str()] = d.id;
  for (const auto& i : d.identifiers)
    by_identifier_.emplace(i, d.id);
}

void Registry::unindex(const Device& d) {
  for (const auto& s : d.sources) {
    auto it = by_source_.find(s.str());
    if (it != by_source_.end() && it->second == d.id) by_source_.erase(it);
  }
  for (const auto& i : d.identifiers) {
    auto it = by_identifier_.find(i);
    if (it != by_identifier_.end() && it->second == d.id) by_identifier_.erase(it);
  }
}

Device* Registry::lookup(const DeviceUpdate& u, std::vector<std::string>& others) {
  Device* dev = nullptr;
  if (auto it = by_source_.find(u.ref.str()); it != by_source_.end())
    dev = &devices_.find(it->second)->second;
  for (const auto& i : u.identifiers) {
    auto it = by_identifier_.find(i);
    if (it == by_identifier_.end()) continue;
    if (!dev) {
      dev = &devices_.find(it->second)->second;
    } else if (it->second != dev->id &&
               std::find(others.begin(), others.end(), it->second) == others.end()) {
      others.push_back(it->second);
    }
  }
  return dev;
}

bool Registry::mergeFields(Device& d, DeviceUpdate& u) const {
  // The first source to describe a device names it; later sources fill gaps only, so two
  // sources with different names for one device do not flip it back and forth.
  const bool primary = d.sources.empty() || d.sources.front() == u.ref;
  bool changed = false;
  auto take = [&](std::string& field, const std::optional<std::string>& value) {
    if (!value || value->empty() || field == *value) return;
    if (!field.empty() && !primary) return;
    field = value->substr(0, 128);
    changed = true;
  };
  take(d.name, u.name);
  take(d.kind, u.kind);
  take(d.manufacturer, u.manufacturer);
  take(d.model, u.model);
  for (const auto& i : u.identifiers)
    changed |= addUnique(d.identifiers, i, kMaxIdentifiers);
  for (const auto& e : u.endpoints)
    changed |= addUnique(d.endpoints, e, kMaxEndpoints);
  return changed;
}

std::optional<Rejection> Registry::applySignals(Device& d, std::vector<NeedSignal>& signals,
                                                Effects& fx, bool dry) const {
  std::size_t new_needs = 0, new_levels = 0;
  for (auto& s : signals) {
    s.device_id = d.id;
    if (s.cleared) {
      bool had = false;
      for (auto it = d.needs.begin(); it != d.needs.end();) {
        if (it->second.key == s.key) {
          had = true;
          s.kind = it->second.kind;
          fx.needs_changed = true;
          if (!dry) {
            it = d.needs.erase(it);
            continue;
          }
        }
        ++it;
      }
      if (auto l = d.levels.find(s.key); l != d.levels.end()) {
        had = true;
        fx.levels_changed = true;
        if (!dry) d.levels.erase(l);
      }
      if (had) fx.emit.push_back(s);
      continue;
    }
    const std::string nk = needKey(s);
    const auto it = d.needs.find(nk);
    if (isOpenNeed(s)) {
      const bool fresh = it == d.needs.end();
      if (fresh || !sameSignal(it->second, s)) {
        new_needs += fresh ? 1 : 0;
        fx.needs_changed = true;
        fx.emit.push_back(s);
        if (!dry) d.needs[nk] = s;
      } else if (s.level) {
        fx.emit.push_back(s);  // the same low level again: still a reading for the forecast
      }
    } else if (it != d.needs.end()) {
      // It was a need and is not any more (battery replaced, toner refilled): closed.
      fx.needs_changed = true;
      fx.emit.push_back(s);
      if (!dry) d.needs.erase(it);
    } else if (s.level) {
      const auto l = d.levels.find(s.key);
      if (l == d.levels.end() || l->second.value != *s.level || l->second.unit != s.unit)
        fx.levels_changed = true;
      // Every reading goes on with its own time, changed or not: the forecast needs to see how
      // long a level stayed put (a whole-percent sensor repeats each value many times).
      fx.emit.push_back(s);
    }
    if (s.level) {
      const auto l = d.levels.find(s.key);
      if (l == d.levels.end()) ++new_levels;
      if (!dry) d.levels[s.key] = Level{*s.level, s.unit};
    }
  }
  if (new_needs > 0 && d.needs.size() + new_needs > options_.max_needs_per_device) {
    return Rejection{
        Reject::need_cap,
        d.id + ": more than " + std::to_string(options_.max_needs_per_device) + " open needs"};
  }
  if (new_levels > 0 && d.levels.size() + new_levels > 2 * options_.max_needs_per_device) {
    return Rejection{
        Reject::need_cap,
        d.id + ": more than " + std::to_string(2 * options_.max_needs_per_device) + " levels"};
  }
  return std::nullopt;
}

std::optional<Rejection> Registry::persist(const Device* d, const std::vector<std::string>& deleted,
                                           const ledger::Decision* decision) {
  auto& db = ledger_.database();
  ledger::Transaction tx(db);
  if (!tx.begun()) return storageError("registry", tx.error());
  for (const auto& id : deleted) {
    auto del = db.prepare("DELETE FROM devices WHERE id = ?1");
    if (!del) return storageError("registry", del.error());
    del->bind(1, id);
    if (auto r = del->run(); !r) return storageError("registry", r.error());
  }
  if (d) {
    std::vector<std::string> sources;
    for (const auto& s : d->sources)
      sources.push_back(s.str());
    auto up = db.prepare(
        "INSERT INTO devices(id, name, kind, manufacturer, model, sources, identifiers, endpoints, "
        "first_seen_ms, last_seen_ms, availability, levels) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) ON CONFLICT(id) DO UPDATE SET "
        "name=excluded.name, kind=excluded.kind, manufacturer=excluded.manufacturer, "
        "model=excluded.model, sources=excluded.sources, identifiers=excluded.identifiers, "
        "endpoints=excluded.endpoints, last_seen_ms=excluded.last_seen_ms, "
        "availability=excluded.availability, levels=excluded.levels");
    if (!up) return storageError("registry", up.error());
    up->bind(1, d->id)
        .bind(2, d->name)
        .bind(3, d->kind)
        .bind(4, d->manufacturer)
        .bind(5, d->model)
        .bind(6, toJsonArray(sources))
        .bind(7, toJsonArray(d->identifiers))
        .bind(8, toJsonArray(d->endpoints))
        .bind(9, static_cast<std::int64_t>(core::toUnixMillis(d->first_seen)))
        .bind(10, static_cast<std::int64_t>(core::toUnixMillis(d->last_seen)))
        .bind(11, toString(d->availability))
        .bind(12, levelsToJson(d->levels));
    if (auto r = up->run(); !r) return storageError("registry", r.error());
    auto clear = db.prepare("DELETE FROM device_needs WHERE device_id = ?1");
    if (!clear) return storageError("registry", clear.error());
    clear->bind(1, d->id);
    if (auto r = clear->run(); !r) return storageError("registry", r.error());
    auto ins = db.prepare(
        "INSERT INTO device_needs(device_id, need_key, kind, signal, updated_ms) "
        "VALUES(?1,?2,?3,?4,?5)");
    if (!ins) return storageError("registry", ins.error());
    for (const auto& [key, s] : d->needs) {
      ins->bind(1, d->id)
          .bind(2, key)
          .bind(3, toString(s.kind))
          .bind(4, signalToJson(s))
          .bind(5, static_cast<std::int64_t>(core::toUnixMillis(s.observed_at)));
      if (auto r = ins->run(); !r) return storageError("registry", r.error());
    }
  }
  if (decision) {
    if (auto r = ledger_.record(*decision); !r) return storageError("ledger", r.error());
  }
  if (auto r = tx.commit(); !r) return storageError("registry", r.error());
  return std::nullopt;
}

void Registry::emit(DeviceEventType type, const Device& d, const std::string& merged_into) {
  const DeviceEvent event{type, d, merged_into};
  for (const auto& h : device_handlers_)
    h(event);
}

void Registry::emitSignals(const std::vector<NeedSignal>& signals) {
  for (const auto& s : signals)
    for (const auto& h : signal_handlers_)
      h(s);
}

std::optional<Rejection> Registry::apply(DeviceUpdate u) {
  if (!loaded_) return Rejection{Reject::storage, "registry: not loaded"};
  const core::TimePoint now = clock_.now();
  for (auto& s : u.signals) {
    s.observed_at = now;
    s.source = u.ref.source;
  }
  std::vector<std::string> others;
  Device* dev = lookup(u, others);
  const std::string ref = u.ref.str();

  if (u.removed) {
    if (!dev || !dev->hasSource(u.ref)) return std::nullopt;
    Device next = *dev;
    std::erase(next.sources, u.ref);
    if (!next.sources.empty()) {
      if (auto r = persist(&next, {}, nullptr)) return r;
      unindex(*dev);
      *dev = std::move(next);
      index(*dev);
      emit(DeviceEventType::changed, *dev);
      return std::nullopt;
    }
    ledger::Decision decision{"device.removed",
                              "device:" + dev->id,
                              bj::object{{"source", ref}},
                              "removed",
                              {ref + " withdrew the device"},
                              "",
                              {}};
    if (auto r = persist(nullptr, {dev->id}, &decision)) return r;
    Device gone = std::move(*dev);
    unindex(gone);
    dirty_.erase(gone.id);
    devices_.erase(gone.id);
    std::vector<NeedSignal> cleared;
    for (auto& [k, s] : gone.needs) {
      NeedSignal c = s;
      c.cleared = true;
      c.observed_at = now;
      cleared.push_back(std::move(c));
    }
    emitSignals(cleared);
    emit(DeviceEventType::gone, gone);
    return std::nullopt;
  }

  if (!dev) {
    if (!u.may_admit) {
      return Rejection{Reject::unknown_device,
                       ref + ": unknown device" +
                           (u.ref.source == "steward" ? " (a plugin must say hello first)" : "")};
    }
    if (devices_.size() >= options_.max_devices) {
      return Rejection{Reject::device_cap,
                       ref + ": device cap (" + std::to_string(options_.max_devices) + ") reached"};
    }
    Device d;
    d.id = ref;
    d.first_seen = d.last_seen = now;
    d.sources.push_back(u.ref);
    if (u.availability) d.availability = *u.availability;
    mergeFields(d, u);
    Effects fx;
    if (auto r = applySignals(d, u.signals, fx, true)) return r;
    fx = {};
    (void)applySignals(d, u.signals, fx, false);
    bj::object input{{"source", ref},
                     {"identifiers", bj::value_from(d.identifiers)},
                     {"name", d.name},
                     {"kind", d.kind},
                     {"manufacturer", d.manufacturer},
                     {"model", d.model}};
    ledger::Decision decision{"device.admitted",
                              "device:" + d.id,
                              std::move(input),
                              "admitted",
                              {"first message from " + ref},
                              "",
                              {}};
    if (auto r = persist(&d, {}, &decision)) return r;
    auto [it, inserted] = devices_.emplace(d.id, std::move(d));
    index(it->second);
    emit(DeviceEventType::appeared, it->second);
    emitSignals(fx.emit);
    return std::nullopt;
  }

  // A known device. Plugins speak only for themselves: never fold two plugins into one device.
  {
    std::optional<std::string> plugin = pluginOf(*dev);
    auto claim = [&](const std::optional<std::string>& p) -> bool {
      if (!p) return true;
      if (plugin && *plugin != *p) return false;
      plugin = p;
      return true;
    };
    bool ok =
        claim(u.ref.source == "steward" ? std::optional<std::string>(u.ref.id) : std::nullopt);
    for (const auto& o : others)
      ok = ok && claim(pluginOf(devices_.find(o)->second));
    if (!ok) {
      return Rejection{
          Reject::spoofed,
          ref + ": identifiers belong to a device of another plugin (" + dev->id + ")"};
    }
  }

  Effects probe;
  if (auto r = applySignals(*dev, u.signals, probe, true)) return r;
  const bool availability_changed = u.availability && *u.availability != dev->availability;
  bool structural = !others.empty() || !dev->hasSource(u.ref) || availability_changed;
  if (!structural) {
    Device fields_probe;  // only the identity fields, to see whether the update changes them
    fields_probe.name = dev->name;
    fields_probe.kind = dev->kind;
    fields_probe.manufacturer = dev->manufacturer;
    fields_probe.model = dev->model;
    fields_probe.sources = {dev->sources.front()};
    fields_probe.identifiers = dev->identifiers;
    fields_probe.endpoints = dev->endpoints;
    structural = mergeFields(fields_probe, u);
  }

  if (!structural && !probe.needs_changed) {
    // The hot path: same device, same identity, at most new levels. Batched.
    Effects fx;
    (void)applySignals(*dev, u.signals, fx, false);
    dev->last_seen = now;
    dirty_.insert(dev->id);
    emitSignals(fx.emit);
    return std::nullopt;
  }

  Device next = *dev;
  std::vector<std::pair<Device, std::string>> merged;  // (old device, merged into)
  std::vector<NeedSignal> moved;
  for (const auto& oid : others) {
    const Device& o = devices_.find(oid)->second;
    for (const auto& s : o.sources)
      addUnique(next.sources, s, kMaxIdentifiers);
    for (const auto& i : o.identifiers)
      addUnique(next.identifiers, i, kMaxIdentifiers);
    for (const auto& e : o.endpoints)
      addUnique(next.endpoints, e, kMaxEndpoints);
    if (next.name.empty()) next.name = o.name;
    if (next.kind.empty()) next.kind = o.kind;
    if (next.manufacturer.empty()) next.manufacturer = o.manufacturer;
    if (next.model.empty()) next.model = o.model;
    next.first_seen = std::min(next.first_seen, o.first_seen);
    for (const auto& [k, l] : o.levels)
      next.levels.emplace(k, l);
    for (const auto& [k, s] : o.needs) {
      if (next.needs.contains(k)) continue;
      NeedSignal re = s;
      re.device_id = next.id;
      next.needs.emplace(k, re);
      moved.push_back(re);
      NeedSignal old = s;
      old.cleared = true;
      old.observed_at = now;
      moved.push_back(old);
    }
  }
  if (next.needs.size() > options_.max_needs_per_device)
    return Rejection{Reject::need_cap, ref + ": merging would exceed the open-needs cap"};
  mergeFields(next, u);
  addUnique(next.sources, u.ref, kMaxIdentifiers);
  if (u.availability) next.availability = *u.availability;
  Effects fx;
  (void)applySignals(next, u.signals, fx, false);
  next.last_seen = now;

  std::optional<ledger::Decision> decision;
  if (!others.empty()) {
    bj::array ids;
    for (const auto& o : others)
      ids.emplace_back(o);
    decision = ledger::Decision{"device.merged",
                                "device:" + next.id,
                                bj::object{{"source", ref}, {"merged", ids}},
                                "merged",
                                {"identifiers shared with " + ref},
                                "",
                                {}};
  }
  if (auto r = persist(&next, others, decision ? &*decision : nullptr)) return r;

  for (const auto& oid : others) {
    auto it = devices_.find(oid);
    unindex(it->second);
    dirty_.erase(oid);
    merged.emplace_back(std::move(it->second), next.id);
    devices_.erase(it);
  }
  unindex(*dev);
  *dev = std::move(next);
  index(*dev);
  dirty_.erase(dev->id);
  for (const auto& [old, into] : merged)
    emit(DeviceEventType::gone, old, into);
  emit(DeviceEventType::changed, *dev);
  emitSignals(moved);
  emitSignals(fx.emit);
  return std::nullopt;
}

core::Result<void> Registry::flush() {
  if (dirty_.empty()) return {};
  auto& db = ledger_.database();
  ledger::Transaction tx(db);
  if (!tx.begun()) return tx.error();
  auto up = db.prepare("UPDATE devices SET last_seen_ms = ?1, levels = ?2 WHERE id = ?3");
  if (!up) return up.error();
  for (const auto& id : dirty_) {
    const Device* d = find(id);
    if (!d) continue;
    up->bind(1, static_cast<std::int64_t>(core::toUnixMillis(d->last_seen)))
        .bind(2, levelsToJson(d->levels))
        .bind(3, id);
    if (auto r = up->run(); !r) return r;
  }
  if (auto r = tx.commit(); !r) return r;
  dirty_.clear();
  return {};
}

}  // namespace steward::discovery
