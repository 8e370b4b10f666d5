#!/usr/bin/env bash
# Installs what is missing, builds modelvault and runs every test: the release build with
# GCC, then a Clang build with AddressSanitizer and UndefinedBehaviorSanitizer that runs the
# whole suite again (so both compilers see every file with -Werror). FUSE tests need root and /dev/fuse; without them they skip,
# unless MODELVAULT_REQUIRE_FUSE=1 (as in CI) turns a skip into a failure. After the GCC
# tests, scripts/package-test.sh builds the Debian package, installs it, uses it and
# removes it again (it needs root, or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)

echo "== GCC build and tests"
cmake --preset default -DMODELVAULT_TESTS=ON >/dev/null
cmake --build --preset default -j "$jobs"
ctest --preset default -j "$jobs"

echo "== Debian package"
scripts/package-test.sh

echo "== Clang + ASan + UBSan build and tests"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j "$jobs"
ctest --preset sanitize -j "$jobs"
