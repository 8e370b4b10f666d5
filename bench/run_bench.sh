#!/usr/bin/env bash
# Compares modelvault with the plain backing disk, a plaintext FUSE passthrough (bindfs) and
# gocryptfs, in one run on one machine, and prints a Markdown table (docs/PERFORMANCE.md).
# Needs root (FUSE mounts, drop_caches). Each measurement is one bench/fsbench run, one timed
# loop (see the top of bench/fsbench.cc); the table shows the best of BENCH_REPEAT passes and,
# apart, the least CPU time (fsbench plus the FUSE daemon) each workload took, which a busy
# machine disturbs far less than the wall-clock rates.
#
# Environment (all optional):
#   BENCH_SIZE_MB          size of the big file in MiB (default 2048; 256 for a quick run)
#   BENCH_RAND_READS       random 4 KiB reads per file system (default 20000)
#   BENCH_TREE_FILES       small files in the tree test (default 5000, in 50 directories)
#   BENCH_REPEAT           passes over all workloads; the table shows each best (default 3)
#   BENCH_NICE             niceness for the daemons and fsbench (default 0; e.g. -5 on a
#                          machine that is busy with other work)
#   BENCH_DIR              work directory on a real disk (default /var/tmp/modelvault-bench)
#   BENCH_OUT              where the Markdown table goes (default /tmp/modelvault-bench.md)
#   MODELVAULT             modelvault binary (default: build it with the `default` preset)
#   FSBENCH                fsbench binary (default: next to MODELVAULT's build, else g++)
#   MODELVAULT_BLOCK_SIZES extra modelvault block sizes to measure, e.g. "16384 262144"
#   MODELVAULT_SHARED      1: also a store mounted for several users (column mv-shared)
#
# The file systems are mounted side by side and each workload runs on all of them in turn,
# so a change in the machine's load during the run hits every column alike.
set -euo pipefail

die() {
  echo "run_bench.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (FUSE mounts and drop_caches)"
root=$(cd "$(dirname "$0")/.." && pwd)
size_mb=${BENCH_SIZE_MB:-2048}
rand_reads=${BENCH_RAND_READS:-20000}
tree_files=${BENCH_TREE_FILES:-5000}
tree_dirs=50
tree_kb=4
work=${BENCH_DIR:-/var/tmp/modelvault-bench}
out=${BENCH_OUT:-/tmp/modelvault-bench.md}
# The stores are throwaway; so is the memory of their header generations.
export MODELVAULT_STATE_FILE=$work/state.json
extra_block_sizes=${MODELVAULT_BLOCK_SIZES:-}
repeat=${BENCH_REPEAT:-3}
nice="nice -n ${BENCH_NICE:-0}"

# --- tools -------------------------------------------------------------------------------

install_missing() {
  local missing=() cmd pkg
  for pair in gocryptfs:gocryptfs bindfs:bindfs fusermount3:fuse3; do
    cmd=${pair%%:*} pkg=${pair##*:}
    command -v "$cmd" >/dev/null || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

find_binaries() {
  if [ -z "${MODELVAULT:-}" ]; then
    "$root/scripts/install-deps.sh"
    (cd "$root" && cmake --preset default >/dev/null &&
      cmake --build --preset default --target modelvault fsbench)
    MODELVAULT=$root/build/default/cli/modelvault
  fi
  [ -x "$MODELVAULT" ] || die "no modelvault binary at $MODELVAULT"
  if [ -z "${FSBENCH:-}" ]; then
    FSBENCH=$(dirname "$(dirname "$MODELVAULT")")/bench/fsbench
    if [ ! -x "$FSBENCH" ]; then
      FSBENCH=$work/fsbench
      g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$FSBENCH" "$root/bench/fsbench.cc"
    fi
  fi
  [ -x "$FSBENCH" ] || die "no fsbench binary at $FSBENCH"
}

# --- mounts ------------------------------------------------------------------------------

# Columns in table order; for each: its directory and its kind (plain, fuse or modelvault).
columns=()
declare -A dir_of=() kind_of=() daemon_of=()

cleanup() {
  local c
  set +e
  for c in "${columns[@]}"; do
    local dir=${dir_of[$c]}
    mountpoint -q "$dir" || continue
    case ${kind_of[$c]} in
      modelvault) "$MODELVAULT" umount "$dir" >/dev/null 2>&1 ;;
      fuse) fusermount3 -u "$dir" >/dev/null 2>&1 ;;
    esac
    mountpoint -q "$dir" && umount -l "$dir"
  done
  # Only what this script made: the data it wrote can be many GiB.
  rm -rf "${work:?}/plain" "${work:?}/mnt" "${work:?}/back" "${work:?}/keys"
}

add_column() {  # NAME DIR KIND
  columns+=("$1")
  dir_of[$1]=$2
  kind_of[$1]=$3
}

# The daemon serving a mount: the one process with the mountpoint as a whole argument.
find_daemon() {  # NAME
  local pids
  pids=$(pgrep -f -- " ${dir_of[$1]}( |\$)") || die "no daemon found for $1"
  [ "$(wc -w <<<"$pids")" = 1 ] || die "several processes mention ${dir_of[$1]}: $pids"
  daemon_of[$1]=$pids
}

# CPU seconds (user + system, all threads) a process has used so far; 0 for no process.
cpu_of() {  # PID
  [ -n "$1" ] || {
    echo 0
    return
  }
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / tck }' \
    "/proc/$1/stat"
}

# Mounts left behind by a run that was killed outright (no trap runs on SIGKILL).
unmount_stale() {
  local target
  while read -r target; do
    case $target in
      "$work"/mnt/*) fusermount3 -u "$target" 2>/dev/null || umount -l "$target" ;;
    esac
  done < <(findmnt -rn -o TARGET)
}

mount_all() {
  mkdir -p "$work/plain" "$work/mnt" "$work/back" "$work/keys"
  add_column plain "$work/plain" plain

  mkdir -p "$work/back/bindfs" "$work/mnt/bindfs"
  add_column bindfs "$work/mnt/bindfs" fuse
  $nice bindfs "$work/back/bindfs" "$work/mnt/bindfs"
  find_daemon bindfs

  mkdir -p "$work/back/gocryptfs" "$work/mnt/gocryptfs"
  printf 'modelvault-bench\n' >"$work/keys/gocryptfs.pass"
  gocryptfs -init -quiet -scryptn 10 -passfile "$work/keys/gocryptfs.pass" "$work/back/gocryptfs"
  add_column gocryptfs "$work/mnt/gocryptfs" fuse
  $nice gocryptfs -quiet -passfile "$work/keys/gocryptfs.pass" "$work/back/gocryptfs" \
    "$work/mnt/gocryptfs"
  find_daemon gocryptfs

  "$MODELVAULT" keygen "$work/keys/modelvault.key" >/dev/null
  local bs name
  # "default" is a store made without --block-size: the column the ratios compare.
  for bs in default $extra_block_sizes; do
    name=modelvault
    [ "$bs" = default ] || name="modelvault-$((bs / 1024))k"
    [ -z "${dir_of[$name]:-}" ] || continue
    mkdir -p "$work/back/$name" "$work/mnt/$name"
    local size_flag=()
    [ "$bs" = default ] || size_flag=(--block-size "$bs")
    "$MODELVAULT" init "$work/back/$name" --keyfile "$work/keys/modelvault.key" \
      "${size_flag[@]}" >/dev/null
    add_column "$name" "$work/mnt/$name" modelvault
    $nice "$MODELVAULT" mount "$work/back/$name" "$work/mnt/$name" \
      --keyfile "$work/keys/modelvault.key" >/dev/null
    find_daemon "$name"
  done

  # The default store again, mounted for several users: the access gate then keeps the
  # kernel from caching directory entries (docs/ACCESS.md), which this column prices.
  if [ "${MODELVAULT_SHARED:-0}" = 1 ]; then
    name=mv-shared
    mkdir -p "$work/back/$name" "$work/mnt/$name"
    "$MODELVAULT" init "$work/back/$name" --keyfile "$work/keys/modelvault.key" >/dev/null
    add_column "$name" "$work/mnt/$name" modelvault
    $nice "$MODELVAULT" mount "$work/back/$name" "$work/mnt/$name" \
      --keyfile "$work/keys/modelvault.key" --allow-uid root --allow-uid nobody >/dev/null
    find_daemon "$name"
  fi
}

# --- workloads ---------------------------------------------------------------------------

drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

declare -A result=() runs=() unit_of=() cpu=()
rows=()

# measure ROW UNIT COLUMN FSBENCH-ARGS... : one fsbench run, keeping the column's best value
# so far and the least CPU time (fsbench's own, which includes the kernel's side of its FUSE
# requests, plus the daemon's) any pass took. "@" in the arguments stands for the column's
# directory.
measure() {
  local row=$1 unit=$2 c=$3 line value client before after total
  shift 3
  [ -n "${unit_of[$row]:-}" ] || rows+=("$row")
  unit_of[$row]=$unit
  local args=("${@//@/"${dir_of[$c]}"}")
  before=$(cpu_of "${daemon_of[$c]:-}")
  line=$($nice "$FSBENCH" "${args[@]}" 2>>"$work/fsbench.log") ||
    die "fsbench ${args[*]} failed on $c (see $work/fsbench.log)"
  after=$(cpu_of "${daemon_of[$c]:-}")
  read -r value client <<<"$line"
  runs[$row,$c]="${runs[$row,$c]:-}${runs[$row,$c]:+ }$value"
  if [ -z "${result[$row,$c]:-}" ] || awk -v a="$value" -v b="${result[$row,$c]}" \
    'BEGIN { exit !(a + 0 > b + 0) }'; then
    result[$row,$c]=$value
  fi
  total=$(awk -v c="$client" -v b="$before" -v a="$after" 'BEGIN { printf "%.2f", c + a - b }')
  if [ -z "${cpu[$row,$c]:-}" ] || awk -v a="$total" -v b="${cpu[$row,$c]}" \
    'BEGIN { exit !(a + 0 < b + 0) }'; then
    cpu[$row,$c]=$total
  fi
  printf '  %-28s %-16s %12s %-8s cpu %6.2f s (daemon %.2f s)\n' "$row" "$c" "$value" "$unit" \
    "$total" "$(awk -v b="$before" -v a="$after" 'BEGIN { print a - b }')"
}

# The columns in this pass's order: each pass starts one column further on, so that no file
# system always runs first after another phase (when the disk may still be busy with it).
order=()
rotate_columns() {  # PASS
  local n=${#columns[@]} i
  order=()
  for ((i = 0; i < n; i++)); do order+=("${columns[$(((i + $1 - 1) % n))]}"); done
}

# run ROW UNIT FSBENCH-ARGS... : the workload on every column in turn, each from cold caches.
run() {
  local row=$1 unit=$2 c
  shift 2
  for c in "${order[@]}"; do
    drop_caches
    measure "$row" "$unit" "$c" "$@"
  done
}

run_all() {
  local big=@/big.bin pass c
  for ((pass = 1; pass <= repeat; pass++)); do
    echo "Pass $pass of $repeat"
    rotate_columns "$pass"
    run "seq write 1 MiB + fsync" MB/s write "$big" "$size_mb" 1024
    # The warm read follows its own cold read at once: the next column's drop_caches would
    # empty the page cache it is about.
    for c in "${order[@]}"; do
      drop_caches
      measure "seq read cold 1 MiB" MB/s "$c" read "$big" 1024
      measure "seq read warm 1 MiB" MB/s "$c" read "$big" 1024
    done
    run "random 4 KiB read cold" IOPS randread "$big" "$rand_reads" 42
    run "mmap read cold" MB/s mmap "$big"
    for c in "${columns[@]}"; do rm -f "${dir_of[$c]}/big.bin"; done
    run "tree create+write" files/s tree-create @/tree "$tree_files" "$tree_dirs" "$tree_kb"
    run "tree read cold" files/s tree-read @/tree
    run "tree delete" files/s tree-delete @/tree
  done
}

# --- report ------------------------------------------------------------------------------

ratio() {  # A B -> A/B with two decimals, or "-" when either is missing
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-";
                                           else printf "%.2f", a / b }'
}

table() {  # ARRAY-NAME
  local -n cells=$1
  local c row line
  line="| workload | unit |"
  for c in "${columns[@]}"; do line+=" $c |"; done
  echo "$line modelvault/gocryptfs | modelvault/plain |"
  line="| --- | --- |"
  for c in "${columns[@]}"; do line+=" ---: |"; done
  echo "$line ---: | ---: |"
  for row in "${rows[@]}"; do
    line="| $row | ${unit_of[$row]} |"
    [ "$1" = result ] || line="| $row | CPU s |"
    for c in "${columns[@]}"; do line+=" ${cells[$row,$c]} |"; done
    line+=" $(ratio "${cells[$row,modelvault]}" "${cells[$row,gocryptfs]}") |"
    line+=" $(ratio "${cells[$row,modelvault]}" "${cells[$row,plain]}") |"
    echo "$line"
  done
}

machine() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM," \
    "kernel $(uname -r)"
  echo "- work dir: $work ($(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }'))"
  echo "- big file: $size_mb MiB; random reads: $rand_reads; tree: $tree_files files of" \
    "$tree_kb KiB in $tree_dirs dirs; best of $repeat passes; niceness ${BENCH_NICE:-0}"
  echo "- versions: modelvault $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')," \
    "$(gocryptfs -version 2>/dev/null | cut -d';' -f1), bindfs $(bindfs --version | awk '{ print $2 }')"
  echo "- load average at start / end: $load_start / $(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
  install_missing
  mkdir -p "$work"
  [ "$(stat -f -c %T "$work")" != tmpfs ] || die "$work is on tmpfs; set BENCH_DIR to a disk"
  find_binaries
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  : >"$work/fsbench.log"
  unmount_stale
  rm -rf "${work:?}/plain" "${work:?}/mnt" "${work:?}/back" "${work:?}/keys"
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  mount_all
  echo "Measuring ${columns[*]} with a $size_mb MiB file (log: $work/fsbench.log)"
  run_all
  {
    machine
    echo
    echo "Throughput (best of $repeat passes; higher is better):"
    echo
    table result
    echo
    echo "CPU seconds per workload, fsbench plus the daemon (least of $repeat passes;" \
      "lower is better):"
    echo
    table cpu
    echo
    echo "Every pass, in order (each pass starts one column further on):"
    echo
    local row c
    for row in "${rows[@]}"; do
      for c in "${columns[@]}"; do echo "- $row, $c: ${runs[$row,$c]}"; done
    done
  } >"$out"
  echo
  cat "$out"
  echo
  echo "Written to $out"
}

main "$@"
