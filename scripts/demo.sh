#!/usr/bin/env bash
# Installs what is missing, builds modelvault, and shows it at work: creates a store under
# ./demo, mounts it, copies a sample file in, shows that the backing directory holds only
# ciphertext, and unmounts. Needs root (or sudo) for the FUSE mount.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target modelvault
mv=build/default/cli/modelvault

demo=demo
if mountpoint -q "$demo/mnt" 2>/dev/null; then "$mv" umount "$demo/mnt"; fi
rm -rf "$demo"
mkdir -p "$demo/mnt"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

say "$mv" keygen "$demo/store.key"
say "$mv" init "$demo/store" --keyfile "$demo/store.key"
say "$mv" mount "$demo/store" "$demo/mnt" --keyfile "$demo/store.key"
mkdir -p "$demo/mnt/llama-tiny"
printf '{"model_type": "llama", "hidden_size": 64}\n' > "$demo/mnt/llama-tiny/config.json"
head -c 3000000 /dev/urandom > "$demo/mnt/llama-tiny/model.safetensors"
say ls -l "$demo/mnt/llama-tiny"
say cat "$demo/mnt/llama-tiny/config.json"
echo
echo "The backing directory holds only ciphertext; names are encrypted too:"
say find "$demo/store" -type f -printf '%10s  %p\n'
say od -A d -t x1 -N 64 "$(find "$demo/store" -type f -size -200c ! -name '.*' ! -name 'modelvault.*' | head -1)"
echo
say "$mv" info "$demo/store"
say "$mv" umount "$demo/mnt"
echo
echo "Done. Mount again with: $mv mount $demo/store $demo/mnt --keyfile $demo/store.key"
