#!/usr/bin/env bash
# Installs the Ringside .deb into a fresh Debian 12 root and uses it there.
#   tests/package/deb_test.sh ROOT DEB
# ROOT: a Debian 12 minbase tree (debootstrap --variant=minbase bookworm ROOT)
# that this test may change: pass a copy. Needs root (chroot, mounts).
# apt-get installs the package and every runtime dependency from Debian's
# archive inside ROOT; then the installed binary checks the installed config,
# adds a user, takes a backup and checks it, and systemd-analyze verifies the
# installed unit. Prints PASS/FAIL lines; exits 1 if any step failed.
set -uo pipefail

if (($# != 2)); then
  echo "usage: $0 ROOT DEB" >&2
  exit 2
fi
root=$(realpath -e "$1") || exit 2
deb=$(realpath -e "$2") || exit 2
if [[ "$root" == / || ! -f "$root/etc/debian_version" ]]; then
  echo "FAIL: $root is not a Debian root to install into (and never /)" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "FAIL: needs root (chroot and bind mounts)" >&2
  exit 2
fi

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
log=$(mktemp -d /tmp/ringside-deb-test.XXXXXX)

mounted=()
serve_job=
cleanup() {
  local i
  # A serve left running (a failed step, an interrupt) would keep the mounts busy.
  if [[ -n $serve_job ]] && kill -0 "$serve_job" 2>/dev/null; then
    local holder
    holder=$(head -n 1 "$root/var/lib/ringside/ringside.db.lock" 2>/dev/null)
    [[ -n $holder ]] && kill -TERM "$holder" 2>/dev/null
    kill -TERM "$serve_job" 2>/dev/null
    wait "$serve_job" 2>/dev/null
  fi
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null ||
      echo "FAIL: could not unmount ${mounted[i]}" >&2
  done
}
trap cleanup EXIT
mount_in() {  # mount_in TARGET mount-args...
  local target="$root$1"
  shift
  mkdir -p "$target"
  if mount "$@" "$target"; then mounted+=("$target"); else fail "mount $target"; exit 1; fi
}
mount_in /proc -t proc proc
mount_in /sys -t sysfs sysfs
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  LANG=C.UTF-8 HOME=/root "$@"; }
step() {  # step NAME command...: runs in the root, output to the log, PASS/FAIL by exit status
  local name="$1"
  shift
  if in_root "$@" >"$log/$name.log" 2>&1; then
    pass "$name"
    return 0
  fi
  fail "$name (exit $?; last lines below)"
  tail -n 15 "$log/$name.log" | sed 's/^/    /'
  return 1
}

# The network as the host has it: its resolver and the local CA it reaches the archive through.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/usr/local/share/ca-certificates"
for crt in /usr/local/share/ca-certificates/*.crt; do
  [[ -e "$crt" ]] && cp "$crt" "$root/usr/local/share/ca-certificates/"
done
if [[ -x "$root/usr/sbin/update-ca-certificates" ]]; then in_root update-ca-certificates >/dev/null 2>&1; fi

# No service starts inside the chroot (the maintainer scripts check for a running systemd, this makes sure).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

name=$(basename "$deb")
cp "$deb" "$root/tmp/$name"
started=$SECONDS
step apt-update apt-get update || exit 1
if step install-deb apt-get install -y --no-install-recommends "/tmp/$name"; then
  echo "    installed with its dependencies in $((SECONDS - started)) s"
else
  exit 1
fi

conf=/etc/ringside/ringside.toml
for f in /usr/bin/ringside /usr/share/ringside/web/index.html $conf /lib/systemd/system/ringside.service \
  /usr/share/javascript/chart.js/chart.min.js; do
  if [[ -e "$root$f" ]]; then pass "installed $f"; else fail "installed $f: missing"; fi
done
if in_root dpkg-query -W -f='${Conffiles}\n' ringside | grep -q " $conf "; then pass "$conf is a conffile"
else fail "$conf is not a conffile"; fi
if in_root getent passwd ringside >/dev/null; then pass "system user ringside"; else fail "no user ringside"; fi
if [[ $(in_root stat -c %U:%G /var/lib/ringside 2>/dev/null) == ringside:ringside ]]; then
  pass "/var/lib/ringside belongs to ringside"
else
  fail "/var/lib/ringside is not ringside's"
fi

step check-config ringside check-config $conf
step user-add sh -c "echo 'a long password' | runuser -u ringside -- ringside user add --username admin \
  --role admin --password-stdin --config $conf"
if [[ $(in_root stat -c %U /var/lib/ringside/ringside.db 2>/dev/null) == ringside ]]; then
  pass "the database belongs to ringside"
else
  fail "the database does not belong to ringside"
fi
step backup ringside backup --config $conf /root/ringside-backup.db
if grep -q "1 users" "$log/backup.log"; then pass "the backup holds the user"; else fail "the backup lacks the user"; fi
step backup-checks ringside restore --config $conf --dry-run /root/ringside-backup.db
step backup-refuses-existing sh -c "! ringside backup --config $conf /root/ringside-backup.db"
step restore ringside restore --config $conf /root/ringside-backup.db
if [[ $(in_root stat -c %U /var/lib/ringside/ringside.db 2>/dev/null) == ringside ]]; then
  pass "the restored database belongs to ringside"
else
  fail "the restored database does not belong to ringside"
fi
if ls "$root"/var/lib/ringside/ringside.db.before-restore-* >/dev/null 2>&1; then
  pass "the replaced database is kept"
else
  fail "the replaced database was not kept"
fi
step restored-config-ok ringside check-config $conf

# The service as the unit runs it (user ringside, the installed config), on a
# free loopback port; the root shares the host's network.
http_get() {  # http_get PORT PATH: prints the status line's code
  local code
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r _ code _ <&3
  exec 3<&- 3>&-
  echo "$code"
}
port=
for _ in $(seq 20); do
  p=$(shuf -i 20000-60000 -n 1)
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
sed -i "s/^listen = .*/listen = \"127.0.0.1:$port\"/" "$root$conf"
in_root runuser -u ringside -- ringside serve --config $conf >"$log/serve.log" 2>&1 &
serve_job=$!
healthy=
for _ in $(seq 100); do
  [[ $(http_get "$port" /healthz 2>/dev/null) == 200 ]] && { healthy=1; break; }
  sleep 0.1
done
if [[ -n $healthy ]]; then pass "serve answers /healthz as user ringside"; else fail "serve is not healthy"; tail "$log/serve.log"; fi
for path in / /vendor/chart.js; do
  code=$(http_get "$port" "$path" 2>/dev/null)
  if [[ $code == 200 ]]; then pass "GET $path: 200"; else fail "GET $path: ${code:-no answer}"; fi
done
step restore-refused-while-serving sh -c "! ringside restore --config $conf /root/ringside-backup.db 2>/tmp/refused.log && grep -q 'in use by a running ringside serve' /tmp/refused.log"
pid=$(head -n 1 "$root/var/lib/ringside/ringside.db.lock" 2>/dev/null)
if [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$serve_job"; then
  pass "serve stops cleanly on SIGTERM"
else
  fail "serve did not stop cleanly (pid ${pid:-unknown})"
fi
serve_job=
if grep -q $'\e\[' "$log/serve.log"; then fail "the log has terminal colour codes off a terminal"
else pass "the log is plain text off a terminal"; fi
if grep -q "listening on" "$log/serve.log"; then pass "serve logs to stderr"; else fail "serve logged nothing"; fi

if step install-systemd apt-get install -y --no-install-recommends systemd; then
  step systemd-analyze-verify systemd-analyze verify /lib/systemd/system/ringside.service
fi

step remove apt-get remove -y ringside
if [[ -f "$root/var/lib/ringside/ringside.db" ]]; then pass "removal keeps the database"
else fail "removal lost the database"; fi

echo "logs: $log"
if ((failures)); then
  echo "FAIL: $failures step(s) failed"
  exit 1
fi
echo "PASS: the package installs and works in a fresh Debian 12 root"
