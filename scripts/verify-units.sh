#!/usr/bin/env bash
# Checks every unit under systemd/ with `systemd-analyze verify`, failing on any warning
# too (an unknown or misspelt setting is only a warning to systemd). The units name
# /usr/bin/modelvault, which need not exist here: each is verified as a copy that names the
# binary given instead, as an instance ("models") where it is a template.
#
# usage: scripts/verify-units.sh MODELVAULT_BINARY
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 MODELVAULT_BINARY (an executable)" >&2
  exit 2
fi
binary=$(realpath "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for unit in "$here"/systemd/*.service "$here"/systemd/*.mount "$here"/systemd/*.target; do
  [ -e "$unit" ] || continue
  name=$(basename "$unit")
  name=${name/@./@models.}
  sed "s|/usr/bin/modelvault|$binary|g" "$unit" >"$work/$name"
  # The man page is installed with the package, not in a build tree.
  if ! out=$(systemd-analyze verify --man=no "$work/$name" 2>&1) || [ -n "$out" ]; then
    echo "FAIL $(basename "$unit")" >&2
    echo "$out" >&2
    status=1
  else
    echo "ok   $(basename "$unit")"
  fi
done
exit $status
