#!/usr/bin/env bash
# Builds the Debian package from build/default, checks what it holds, installs it, runs the
# installed /usr/bin/modelvault through keygen, init, mount, a write and a read, and umount,
# finds its man page, then removes and purges it and checks that nothing is left. Needs
# root (it installs a package); a modelvault package already installed is replaced and
# purged, while /var/lib/modelvault and /etc/modelvault, if the host had them, are put back
# as they were. The mount steps need /dev/fuse: without it they are skipped, unless
# MODELVAULT_REQUIRE_FUSE=1 (CI) makes that a failure. Cleans up on any exit, so it can be
# run again after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E "$0" "$@"; fi
  echo "package-test: needs root to install the package" >&2
  exit 1
fi

build=build/default
work=$(mktemp -d /tmp/modelvault-package-test.XXXXXX)
mv_bin=/usr/bin/modelvault

cleanup() {
  local status=$?
  if mountpoint -q "$work/mnt" 2>/dev/null; then
    "$mv_bin" umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt" || true
  fi
  if dpkg-query -W -f='${Status}' modelvault 2>/dev/null | grep -qv "not-installed"; then
    dpkg --purge modelvault >/dev/null 2>&1 || true
  fi
  # Purging deleted the host's own rollback state and configuration directory: put them back.
  if [ -d "$work/saved/modelvault-state" ] && [ ! -e /var/lib/modelvault ]; then
    cp -a "$work/saved/modelvault-state" /var/lib/modelvault
  fi
  if [ -d "$work/saved/modelvault-etc" ] && [ ! -e /etc/modelvault ]; then
    cp -a "$work/saved/modelvault-etc" /etc/modelvault
  fi
  rm -rf "$work"
  [ $status -eq 0 ] || echo "package-test: FAILED" >&2
  exit $status
}
trap cleanup EXIT

fail() {
  echo "package-test: $*" >&2
  exit 1
}

mkdir "$work/saved"
[ ! -d /var/lib/modelvault ] || cp -a /var/lib/modelvault "$work/saved/modelvault-state"
[ ! -d /etc/modelvault ] || cp -a /etc/modelvault "$work/saved/modelvault-etc"

echo "== Building the package"
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target modelvault man-page
rm -f "$build"/modelvault_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb="$build/modelvault_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no $deb"

echo "== Checking $deb"
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = modelvault ] || fail "Package is not modelvault"
[ "$(field Version)" = "$version" ] || fail "Version $(field Version) is not $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture $(field Architecture) is not $arch"
depends=$(field Depends)
for dep in fuse3 libfuse3-3 libssl3 libtss2-esys libyaml-cpp0.7 libc6; do
  grep -q "\b$dep\b" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
grep -q "postinst" <<<"$info" || fail "no postinst"
grep -q "postrm" <<<"$info" || fail "no postrm"

contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for path in /usr/bin/modelvault /usr/share/man/man1/modelvault.1.gz \
  /lib/systemd/system/modelvault@.service /usr/share/modelvault/default-policy.yaml \
  /usr/share/doc/modelvault/examples/modelvault-example.yaml /etc/modelvault/ \
  /var/lib/modelvault/; do
  grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done
# Only the command itself is executable; no tests, benchmarks, libraries or headers.
unwanted=$(grep -E 'test|bench|gtest|gmock|/include/|\.a$|\.so|\.cmake$' <<<"$contents" || true)
[ -z "$unwanted" ] || fail "the package holds files it should not: $unwanted"
executables=$(dpkg-deb -c "$deb" | awk '$1 ~ /^-..x/ { print $6 }')
[ "$executables" = "./usr/bin/modelvault" ] || fail "unexpected executables: $executables"

echo "== Installing"
if dpkg-query -W -f='${Status}' modelvault 2>/dev/null | grep -qv "not-installed"; then
  echo "Replacing the installed modelvault package"
  dpkg --purge modelvault >/dev/null
fi
# Minimal images may exclude man pages from installs; this package's page is under test.
if ! dpkg --path-include='/usr/share/man/man1/modelvault*' -i "$deb"; then
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq --no-install-recommends
fi
dpkg-query -W -f='${Status}' modelvault | grep -q "install ok installed" || fail "not installed"

echo "== Running the installed modelvault"
[ "$(command -v modelvault)" = "$mv_bin" ] || fail "modelvault on PATH is $(command -v modelvault)"
format=$(sed -n 's/.*kFormatVersion = \([0-9]*\);.*/\1/p' volume/volume_header.h)
[ "$("$mv_bin" --version)" = "modelvault $version (format $format)" ] ||
  fail "--version printed: $("$mv_bin" --version)"
[ "$(man -w modelvault)" = /usr/share/man/man1/modelvault.1.gz ] || fail "man -w finds no page"
page=$(MANWIDTH=100 man -P cat modelvault 2>/dev/null)
grep -q "modelvault keyslot add" <<<"$page" || fail "the man page lacks keyslot add"

export MODELVAULT_STATE_FILE="$work/state.json"
"$mv_bin" keygen "$work/store.key"
"$mv_bin" init "$work/store" --keyfile "$work/store.key" --no-recovery-key >/dev/null
"$mv_bin" info "$work/store" >/dev/null
if [ -c /dev/fuse ]; then
  mkdir "$work/mnt"
  "$mv_bin" mount "$work/store" "$work/mnt" --keyfile "$work/store.key"
  head -c 200000 /dev/urandom >"$work/plain"
  cp "$work/plain" "$work/mnt/model.bin"
  cmp "$work/plain" "$work/mnt/model.bin" || fail "read back differs from what was written"
  "$mv_bin" umount "$work/mnt"
  mountpoint -q "$work/mnt" && fail "still mounted after umount"
  [ "$(find "$work/store" -name model.bin | wc -l)" -eq 0 ] || fail "file name in the clear"
elif [ "${MODELVAULT_REQUIRE_FUSE:-0}" = 1 ]; then
  fail "no /dev/fuse, and MODELVAULT_REQUIRE_FUSE=1"
else
  echo "SKIPPED the mount: no /dev/fuse"
fi

echo "== Removing"
dpkg -r modelvault >/dev/null
[ ! -e "$mv_bin" ] || fail "$mv_bin is left after dpkg -r"
[ ! -e /usr/share/man/man1/modelvault.1.gz ] || fail "the man page is left after dpkg -r"
dpkg --purge modelvault >/dev/null
dpkg-query -W -f='${Status}' modelvault 2>/dev/null | grep -q "install ok installed" &&
  fail "still installed after purge"
[ ! -e /var/lib/modelvault ] || fail "/var/lib/modelvault is left after purge"
echo "package-test: OK ($deb)"
