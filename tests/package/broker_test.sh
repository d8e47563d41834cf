#!/usr/bin/env bash
# steward-broker against a real mosquitto on free loopback ports, in a temporary directory:
#  - `enable` refuses, changing nothing, when the owner's configuration already has listeners
#    or authentication, and on a stock configuration keeps what the owner's clients had
#    (local connections without a password) while adding Steward's listener;
#  - a plugin's user may publish its own device's topics and nothing else (deny by default);
#  - a wrong password, or no user, is refused on Steward's listener; `remove` takes a user away.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
helper=$root/packaging/mosquitto/steward-broker
for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd python3; do
  command -v "$tool" >/dev/null || { echo "broker_test: $tool is missing (scripts/deps)" >&2; exit 1; }
done
PATH=$PATH:/usr/sbin

work=$(mktemp -d)
chmod 755 "$work" # mosquitto reads its files after switching to its own user
broker_pid=""
cleanup() {
  [[ -n $broker_pid ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

local_port=$(free_port)
plugin_port=$(free_port)
mkdir -p "$work/mosquitto/conf.d" "$work/steward"
export STEWARD_BROKER_MOSQUITTO_DIR=$work/mosquitto
export STEWARD_BROKER_STATE_DIR=$work/steward/mosquitto
export STEWARD_BROKER_TEMPLATE=$root/packaging/mosquitto/steward-listener.conf
export STEWARD_BROKER_STEWARDD_TOML=$work/steward/stewardd.toml
export STEWARD_BROKER_LOCAL_PORT=$local_port

# An owner who already runs listeners with passwords: nothing is touched.
printf 'listener 1883\npassword_file /etc/mosquitto/passwd\ninclude_dir %s/mosquitto/conf.d\n' "$work" \
  >"$work/mosquitto/mosquitto.conf"
if "$helper" enable --port "$plugin_port" >"$work/refused.log" 2>&1; then
  fail "enable accepted a configuration with its own listener"
fi
grep -q "nothing was changed" "$work/refused.log" || fail "enable did not say why: $(cat "$work/refused.log")"
[[ ! -e $work/mosquitto/conf.d/steward.conf && ! -e $work/steward/mosquitto ]] || fail "a refused enable wrote files"

# Debian's stock configuration (no listener, no authentication).
printf 'persistence false\nlog_dest stderr\ninclude_dir %s/mosquitto/conf.d\n' "$work" >"$work/mosquitto/mosquitto.conf"
"$helper" enable --port "$plugin_port" || fail "enable refused the stock configuration"
"$helper" enable --port abc >/dev/null 2>&1 && fail "enable accepted a bad port"
"$helper" add-plugin 'bad user' p1-meter >/dev/null 2>&1 && fail "add-plugin accepted a bad user name"
"$helper" add-plugin steward-dsmr 'p1/#' >/dev/null 2>&1 && fail "add-plugin accepted a wildcard device id"
password=$("$helper" add-plugin steward-dsmr p1-meter | sed -n 's/^Its password (shown once): //p')
[[ -n $password ]] || fail "add-plugin printed no password"
"$helper" add-plugin steward-printer printer-office >/dev/null
"$helper" list | grep -q '^steward-dsmr: steward/device/p1-meter/#(readwrite)' || fail "list: $("$helper" list)"
[[ $(stat -c %a "$work/steward/mosquitto/passwd") == 640 ]] || fail "the password file is not 0640"
mosquitto_user_dir() { stat -c %a "$work/steward/mosquitto"; }
[[ $(mosquitto_user_dir) == 750 ]] || fail "the state directory is not 0750"
chmod 755 "$work/steward"

mosquitto -c "$work/mosquitto/mosquitto.conf" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 50); do
  mosquitto_pub -h 127.0.0.1 -p "$local_port" -t probe -m x 2>/dev/null && break
  sleep 0.1
done

# The owner's clients: local, anonymous, any topic, as before.
mosquitto_pub -h 127.0.0.1 -p "$local_port" -t zigbee2mqtt/bridge/state -m online ||
  fail "an anonymous local client was locked out"

# What the plugin may and may not publish, seen by an anonymous subscriber on the owner's port.
mosquitto_sub -h 127.0.0.1 -p "$local_port" -t 'steward/device/#' -v -W 4 >"$work/seen" 2>/dev/null &
sub=$!
sleep 0.5
pub() { mosquitto_pub -h 127.0.0.1 -p "$plugin_port" -q 1 "$@"; }
pub -u steward-dsmr -P "$password" -t steward/device/p1-meter/hello -m own || fail "the plugin could not publish its own topic"
pub -u steward-dsmr -P "$password" -t steward/device/printer-office/hello -m forged 2>/dev/null || true
pub -u steward-dsmr -P "$password" -t homeassistant/sensor/x/config -m forged 2>/dev/null || true
if pub -u steward-dsmr -P wrong -t steward/device/p1-meter/hello -m wrong 2>/dev/null; then
  fail "a wrong password was accepted"
fi
if pub -t steward/device/p1-meter/hello -m anonymous 2>/dev/null; then
  fail "an anonymous client was accepted on Steward's listener"
fi
wait "$sub" || true
grep -qx 'steward/device/p1-meter/hello own' "$work/seen" || fail "the plugin's own message did not arrive: $(cat "$work/seen")"
if grep -q forged "$work/seen"; then fail "a plugin spoke for another device: $(cat "$work/seen")"; fi

# Removing a user takes effect on mosquitto's next reload.
"$helper" remove steward-dsmr >/dev/null
kill -HUP "$broker_pid"
sleep 0.5
if pub -u steward-dsmr -P "$password" -t steward/device/p1-meter/hello -m gone 2>/dev/null; then
  fail "a removed user could still connect"
fi
"$helper" remove steward-dsmr >/dev/null 2>&1 && fail "removing an unknown user succeeded"

"$helper" disable >/dev/null
[[ ! -e $work/mosquitto/conf.d/steward.conf ]] || fail "disable left the listener"
echo PASS
