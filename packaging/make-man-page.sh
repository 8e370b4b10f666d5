#!/bin/sh
# Writes modelvault(1), gzipped, from the built binary's help: help2man makes the page from
# `modelvault --help` and `--version`, and a COMMANDS section holds the --help of every
# subcommand at every depth, found by walking the "Subcommands:" lists. A command added to
# the CLI therefore appears in the page without editing this file.
#
# Usage: make-man-page.sh BINARY HELP2MAN GZIP OUTPUT.gz
set -eu

bin=$1
help2man=$2
gzip=$3
out=$4

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The names listed under "Subcommands:" in `modelvault ARGS... --help`.
subcommands() {
  "$bin" "$@" --help | awk '/^Subcommands:$/ { s = 1; next } s && /^$/ { s = 0 } s && /^  [^ ]/ { print $1 }'
}

# Every command path below ARGS..., depth first, one per line ("keyslot add").
walk() {
  for c in $(subcommands "$@"); do
    echo "$* $c" | sed 's/^ //'
    walk "$@" "$c"
  done
}

# Help text as roff that prints it verbatim: backslashes escaped, and no line taken as a
# request because it starts with a dot or a quote.
as_roff() {
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

{
  echo "[COMMANDS]"
  echo "Each command's own help, as printed by"
  echo ".B modelvault"
  echo ".I COMMAND"
  echo ".BR --help ."
  walk | while read -r path; do
    echo ".SS \"modelvault $path\""
    echo ".nf"
    # shellcheck disable=SC2086 # the words of the path are separate arguments
    "$bin" $path --help | as_roff
    echo ".fi"
  done
  cat <<'EOF'
[FILES]
.TP
.I /etc/modelvault/
Key files, PINs and mount configurations (for
.BR "modelvault mount --config" ).
.TP
.I /var/lib/modelvault/state.json
The header generations seen by root's mounts, to refuse a rolled-back store
(\fBMODELVAULT_STATE_FILE\fR overrides it).
.TP
.I /lib/systemd/system/modelvault@.service
One instance per store.
.TP
.I /usr/share/doc/modelvault/examples/modelvault-example.yaml
An example mount configuration.
[SEE ALSO]
.BR fusermount3 (1),
.BR mount.fuse3 (8),
.BR tpm2_pcrread (1)
EOF
} > "$tmp/sections.h2m"

"$help2man" --no-info --section=1 \
  --name="keep ML model stores encrypted and signed at rest, mounted with FUSE" \
  --include="$tmp/sections.h2m" --output="$tmp/modelvault.1" "$bin"
"$gzip" -9n < "$tmp/modelvault.1" > "$out.tmp"
mv "$out.tmp" "$out"
