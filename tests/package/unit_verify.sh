#!/bin/sh
# systemd-analyze verify on the package's unit, its ExecStart pointed at the
# built binary (the unit names /usr/bin/ringside, which exists only once the
# package is installed; tests/package/deb_test.sh verifies it there).
#   tests/package/unit_verify.sh packaging/ringside.service build/src/app/ringside
# Fails on any complaint about the unit: verify itself exits 0 when it only
# ignores an unknown or misplaced key.
set -eu
unit=$1
bin=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/bin/ringside#$bin#g" "$unit" >"$dir/ringside.service"
status=0
out=$(systemd-analyze verify "$dir/ringside.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || printf '%s\n' "$out" | grep -q "ringside.service"; then
  printf '%s\n' "$out"
  echo "FAIL: systemd-analyze verify $unit"
  exit 1
fi
echo "PASS: systemd-analyze verify $unit"
