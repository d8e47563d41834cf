#!/usr/bin/env bash
# The Debian packages as a homeowner meets them: build them (scripts/package, lintian included),
# make a fresh Debian 12 root with `debootstrap --variant=minbase` in a temporary directory, and
# inside it
#   1. `apt-get install ./steward_*.deb ./steward-plugins_*.deb`, resolving dependencies (and
#      recommends: mosquitto, avahi-daemon) from the mirror this machine uses;
#   2. check files, modes and owners, the steward user and steward-admin group, the conffiles,
#      `stewardd --check-config` (as the steward user) and `stewardctl policy check`, the
#      installed units with `systemd-analyze verify` (no output allowed), the unit being enabled,
#      and steward-broker against the stock mosquitto configuration;
#   3. run stewardd as the steward user (private D-Bus, the chroot's mosquitto on a free loopback
#      port, the DSMR plugin publishing a meter) so that the ledger holds real decisions, and
#      back it up with `stewardctl backup`;
#   4. upgrade to the same sources built as a newer version: the edited policy.toml is kept
#      without a question, the ledger is migrated by the new stewardd and still verifies;
#   5. `apt-get purge`: no Steward file is left anywhere in the root (the steward user and
#      group are kept on purpose, see packaging/debian/README.Debian).
# systemd is not PID 1 here, so units are verified, not started.
#
# Needs root (debootstrap, chroot, mount) and the Debian mirror; exits 77 (skipped), saying
# why, without them. The minbase root and the downloaded .debs are cached in
# build/package/cache/ so later runs need the network only for the index.
# shellcheck disable=SC2016  # dpkg-query and apt-get formats are not shell expansions
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }

((EUID == 0)) || skip "the install test needs root (debootstrap, chroot, mount); CI runs it as root"
for tool in debootstrap dpkg-buildpackage lintian wget; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/deps installs it)"
done

suite=bookworm
# The mirror this machine's apt uses for bookworm.
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
  awk -v s="$suite" '$2 == s { print $1; exit }')
mirror=${STEWARD_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian/}}
if ! wget -q -T 20 -t 2 -O /dev/null "${mirror%/}/dists/$suite/Release"; then
  skip "cannot reach the Debian mirror $mirror (debootstrap needs it)"
fi

arch=$(dpkg --print-architecture)
cache=${STEWARD_INSTALL_TEST_CACHE:-$root/build/package/cache}
mkdir -p "$cache/archives"
work=$(mktemp -d /tmp/steward-install-test.XXXXXX)
chroot_dir=$work/root
mounted=()
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

t_all=$SECONDS
phase() { printf '\n== %s\n' "$*"; t_phase=$SECONDS; }
took() { echo "took: $1: $((SECONDS - t_phase)) s"; timings+=("$1 $((SECONDS - t_phase)) s"); }
timings=()
fail() { echo "FAIL: $*" >&2; exit 1; }
in_root() { chroot "$chroot_dir" "$@"; }

# --- packages ---------------------------------------------------------------------------------
phase "building the packages"
# The packages are kept in the cache; STEWARD_INSTALL_TEST_REUSE=1 re-runs the checks on them
# without building again.
new_version="$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)+upgradetest1"
if [[ ${STEWARD_INSTALL_TEST_REUSE:-0} == 1 && -n $(ls "$cache"/v1/*.deb "$cache"/v2/*.deb 2>/dev/null) ]]; then
  echo "reusing the packages in $cache/v1 and $cache/v2"
else
  rm -rf "$cache/v1" "$cache/v2"
  "$root/scripts/package" --out "$cache/v1"
  "$root/scripts/package" --no-lintian --version "$new_version" --out "$cache/v2"
fi
mkdir -p "$work/v1" "$work/v2"
cp "$cache"/v1/*.deb "$work/v1/"
cp "$cache"/v2/*.deb "$work/v2/"
took "package build (both versions, lintian)"

# --- the root ---------------------------------------------------------------------------------
phase "making a $suite minbase root from $mirror"
base=$cache/$suite-$arch-minbase.tar
if [[ ! -s $base ]]; then
  debootstrap --variant=minbase --arch="$arch" "$suite" "$work/base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap failed (see above)"; }
  tar -C "$work/base" -cf "$base.new" . && mv "$base.new" "$base"
  rm -rf --one-file-system "$work/base"
fi
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" -xf "$base"
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
# Nothing is started inside the root: invoke-rc.d asks policy-rc.d (systemd is not running).
printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d"
chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
mount -t proc proc "$chroot_dir/proc" && mounted+=("$chroot_dir/proc")
cp "$cache"/archives/*.deb "$chroot_dir/var/cache/apt/archives/" 2>/dev/null || true
export DEBIAN_FRONTEND=noninteractive
in_root apt-get update -qq
took "minbase root"

# --- install ----------------------------------------------------------------------------------
phase "apt-get install ./steward_*.deb ./steward-plugins_*.deb"
mkdir -p "$chroot_dir/tmp/v1" "$chroot_dir/tmp/v2"
cp "$work"/v1/*.deb "$chroot_dir/tmp/v1/"
cp "$work"/v2/*.deb "$chroot_dir/tmp/v2/"
in_root sh -c 'cd /tmp/v1 && apt-get install -y -q ./steward_*.deb ./steward-plugins_*.deb' \
  >"$work/install.log" 2>&1 || { tail -40 "$work/install.log"; fail "installing the packages failed"; }
echo "installed: $(grep '^Setting up ' "$work/install.log" | awk '{print $3}' | sort -u | tr '\n' ' ')"
cp "$chroot_dir"/var/cache/apt/archives/*.deb "$cache/archives/" 2>/dev/null || true
took "install with dependencies"

phase "checking the installed files"
expect_mode() { # path mode owner:group
  local got
  got=$(in_root stat -c '%a %U:%G' "$1" 2>/dev/null) || fail "$1 is missing" # the root's names
  [[ $got == "$2 $3" ]] || fail "$1: expected mode $2 owned by $3, got $got"
}
expect_mode /usr/sbin/stewardd 755 root:root
expect_mode /usr/bin/stewardctl 755 root:root
expect_mode /usr/sbin/steward-broker 755 root:root
expect_mode /usr/bin/steward-dsmr 755 root:root
expect_mode /usr/bin/steward-printer 755 root:root
expect_mode /lib/systemd/system/stewardd.service 644 root:root
expect_mode /usr/lib/sysusers.d/steward.conf 644 root:root
expect_mode /usr/share/dbus-1/system.d/org.stewardhub.Steward1.conf 644 root:root
expect_mode /usr/share/dbus-1/interfaces/org.stewardhub.Steward1.xml 644 root:root
expect_mode /etc/steward 755 root:root
expect_mode /etc/steward/stewardd.toml 640 root:steward
expect_mode /etc/steward/policy.toml 644 root:root
expect_mode /etc/steward/policy.d 755 root:root
expect_mode /etc/steward/credentials 700 root:root
expect_mode /usr/share/steward/policy.schema.json 644 root:root
expect_mode /usr/share/steward/mosquitto/steward-listener.conf 644 root:root
expect_mode /usr/share/man/man8/stewardd.8.gz 644 root:root
expect_mode /usr/share/man/man1/stewardctl.1.gz 644 root:root
expect_mode /usr/share/man/man5/steward-policy.5.gz 644 root:root
expect_mode /usr/share/man/man8/steward-broker.8.gz 644 root:root
expect_mode /usr/share/bash-completion/completions/stewardctl 644 root:root
[[ -e $chroot_dir/usr/share/doc/steward/policy.schema.json ]] || fail "the schema is not linked from /usr/share/doc/steward"
ls "$chroot_dir"/usr/share/doc/steward/examples/*.toml >/dev/null || fail "no policy examples in /usr/share/doc/steward/examples"
[[ -L $chroot_dir/etc/systemd/system/multi-user.target.wants/stewardd.service ]] ||
  fail "stewardd.service is not enabled"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' steward)
for f in /etc/steward/stewardd.toml /etc/steward/policy.toml; do
  grep -q " $f " <<<"$conffiles " || fail "$f is not a conffile: $conffiles"
done

passwd=$(in_root getent passwd steward) || fail "no steward user"
IFS=: read -r _ _ uid gid _ home shell <<<"$passwd"
as_steward=(chroot --userspec="$uid:$gid" "$chroot_dir") # numeric: the host has no steward user
((uid < 1000)) || fail "steward is not a system user (uid $uid)"
[[ $home == /var/lib/steward && $shell == /usr/sbin/nologin ]] || fail "steward user: $passwd"
in_root getent group steward-admin >/dev/null || fail "no steward-admin group"

"${as_steward[@]}" stewardd --check-config || fail "stewardd --check-config failed as the steward user"
in_root stewardd --version | grep -q "^stewardd " || fail "stewardd --version"
in_root stewardctl policy check || fail "stewardctl policy check failed on the installed policy"

for unit in "$chroot_dir"/lib/systemd/system/steward*.service; do
  name=$(basename "$unit")
  [[ $name == *@.service ]] && continue
  # --man=no: man-db is not in a minimal root; the pages themselves are checked above, and
  # scripts/check-units resolves every Documentation= page against them.
  out=$(in_root systemd-analyze verify --man=no "/lib/systemd/system/$name" 2>&1 || true)
  [[ -z $out ]] || fail "systemd-analyze verify $name says: $out"
done

# The broker set-up against Debian's stock mosquitto configuration.
in_root steward-broker enable >/dev/null || fail "steward-broker enable refused the stock configuration"
in_root steward-broker add-plugin steward-dsmr p1-meter >/dev/null || fail "steward-broker add-plugin"
expect_mode /etc/steward/mosquitto/passwd 640 root:mosquitto
grep -q '^topic readwrite steward/device/p1-meter/#$' "$chroot_dir/etc/steward/mosquitto/acl" ||
  fail "the ACL does not hold the plugin's topics"
took "checks"

# --- a populated ledger -----------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run_hub() { # label: runs stewardd as steward until the DSMR plugin's needs are recorded
  local broker_port hub_pid bus_pid mosq_pid
  broker_port=$(free_port)
  in_root install -d -o steward -g steward -m 0750 /var/lib/steward # what StateDirectory= does
  cat >"$chroot_dir/tmp/bus.conf" <<BUS
<busconfig><type>session</type><listen>unix:path=/tmp/steward-bus</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/><allow own="*"/></policy>
<auth>EXTERNAL</auth></busconfig>
BUS
  rm -f "$chroot_dir/tmp/steward-bus"
  "${as_steward[@]}" dbus-daemon --config-file=/tmp/bus.conf --nofork \
    >"$work/bus.log" 2>&1 &
  bus_pid=$!
  pids+=("$bus_pid")
  chroot "$chroot_dir" mosquitto -p "$broker_port" >"$work/mosquitto.log" 2>&1 &
  mosq_pid=$!
  pids+=("$mosq_pid")
  printf '[daemon]\nbus_address = "unix:path=/tmp/steward-bus"\n[broker]\nurl = "mqtt://127.0.0.1:%s"\n[discovery]\navahi = false\n' \
    "$broker_port" >"$chroot_dir/tmp/hub.toml"
  chmod 644 "$chroot_dir/tmp/hub.toml"
  sleep 0.5
  "${as_steward[@]}" env STATE_DIRECTORY=/var/lib/steward \
    CONFIGURATION_DIRECTORY=/etc/steward stewardd --config /tmp/hub.toml >"$work/hub-$1.log" 2>&1 &
  hub_pid=$!
  pids+=("$hub_pid")
  cp "$root/plugins/dsmr/examples/dsmr42-kaifa.txt" "$chroot_dir/tmp/"
  local ok=0
  for _ in $(seq 1 200); do
    if grep -q 'hub.ready' "$work/hub-$1.log"; then ok=1; break; fi
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.2
  done
  ((ok)) || {
    cat "$work/hub-$1.log" "$work/bus.log" "$work/mosquitto.log"
    fail "stewardd ($1) did not become ready"
  }
  in_root steward-dsmr --file /tmp/dsmr42-kaifa.txt --once --broker "127.0.0.1:$broker_port" --id p1-meter \
    >"$work/dsmr.log" 2>&1 || { cat "$work/dsmr.log"; fail "steward-dsmr could not publish"; }
  sleep 3
  kill -TERM "$hub_pid"
  wait "$hub_pid" || { cat "$work/hub-$1.log"; fail "stewardd ($1) did not stop cleanly"; }
  kill -TERM "$mosq_pid" "$bus_pid"
  wait "$mosq_pid" "$bus_pid" 2>/dev/null || true
}
ledger_records() {
  in_root stewardctl --db /var/lib/steward/steward.db verify --json >"$work/verify.json" ||
    { cat "$work/verify.json"; fail "the ledger does not verify"; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["intact"]; print(d["records"])' "$work/verify.json"
}

phase "running stewardd to fill the ledger"
run_hub v1
records_v1=$(ledger_records)
in_root stewardctl --db /var/lib/steward/steward.db log --kind device.admitted | grep -q p1-meter ||
  fail "the DSMR plugin's meter was not admitted"
in_root stewardctl --db /var/lib/steward/steward.db backup /root/steward-backup.db | tee "$work/backup.log"
grep -q "verifies" "$work/backup.log" || fail "stewardctl backup in the installed system"
echo "ledger: $records_v1 decisions"
took "ledger"

# --- upgrade ----------------------------------------------------------------------------------
phase "upgrading to $new_version"
sed -i 's/^name = .*/name = "The Test House"/' "$chroot_dir/etc/steward/policy.toml"
printf '\n# An owner edit that must survive upgrades.\n' >>"$chroot_dir/etc/steward/policy.toml"
cp "$chroot_dir/etc/steward/policy.toml" "$work/policy.edited"
in_root sh -c 'cd /tmp/v2 && apt-get install -y -q ./steward_*.deb ./steward-plugins_*.deb' \
  </dev/null >"$work/upgrade.log" 2>&1 || { tail -40 "$work/upgrade.log"; fail "the upgrade failed"; }
[[ $(in_root dpkg-query -W -f='${Version}' steward) == "$new_version" ]] || fail "steward was not upgraded"
cmp -s "$work/policy.edited" "$chroot_dir/etc/steward/policy.toml" || fail "the upgrade changed the edited policy.toml"
[[ ! -e $chroot_dir/etc/steward/policy.toml.dpkg-dist ]] || fail "the upgrade asked about policy.toml"
expect_mode /etc/steward/stewardd.toml 640 root:steward
in_root stewardctl policy check >/dev/null || fail "policy check after the upgrade"
run_hub v2
records_v2=$(ledger_records)
((records_v2 > records_v1)) || fail "the upgraded stewardd did not add to the ledger ($records_v1 -> $records_v2)"
echo "ledger: $records_v1 -> $records_v2 decisions, intact"
took "upgrade"

# --- purge ------------------------------------------------------------------------------------
phase "apt-get purge"
rm -rf "$chroot_dir/tmp/v1" "$chroot_dir/tmp/v2" "$chroot_dir/tmp/dsmr42-kaifa.txt" "$chroot_dir/root/steward-backup.db"
in_root apt-get purge -y -q steward steward-plugins >"$work/purge.log" 2>&1 ||
  { tail -40 "$work/purge.log"; fail "apt-get purge failed"; }
left=$(cd "$chroot_dir" && { find . -path ./proc -prune -o \( -iname '*steward*' -print \) | grep -v '^\./tmp/steward-bus$' || true; })
[[ -z $left ]] || fail "purge left these behind: $left"
[[ ! -e $chroot_dir/etc/mosquitto/conf.d/steward.conf ]] || fail "purge left the broker listener enabled"
! in_root dpkg-statoverride --list | grep -q steward || fail "purge left a dpkg-statoverride"
in_root getent passwd steward >/dev/null || fail "the steward user was removed (it is meant to be kept)"
took "purge"

echo
echo "timings:"
printf '  %s\n' "${timings[@]}"
echo "  total: $((SECONDS - t_all)) s"
echo "PASS"
