#!/usr/bin/env bash
# Installs what is missing, builds modelvault and runs every test: the release build with
# GCC, a compile with Clang, and the whole suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer. FUSE tests need root and /dev/fuse; without them they skip,
# unless MODELVAULT_REQUIRE_FUSE=1 (as in CI) turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)

echo "== GCC build and tests"
cmake --preset default -DMODELVAULT_TESTS=ON >/dev/null
cmake --build --preset default -j "$jobs"
ctest --preset default -j "$jobs"

echo "== Clang build"
cmake --preset clang >/dev/null
cmake --build --preset clang -j "$jobs"

echo "== ASan + UBSan build and tests"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j "$jobs"
ctest --preset sanitize -j "$jobs"
