#!/usr/bin/env bash
# The cost of reading a signed directory with its signature checked (mount --trust), against
# the same bytes read without checking, through read-only mounts of one store on this
# machine. Prints a Markdown table (docs/PERFORMANCE.md, "Reading signed directories").
# Needs root (FUSE mounts, drop_caches).
#
# The cases, each read through a fresh mount (so the plaintext is not in the page cache):
#   hot       the backing file is in the host's page cache: the read is CPU-bound
#   cold      drop_caches first: the read comes from disk
#   cold@N    as cold, with the daemon's reads of the backing disk held to N MB/s (a blkio
#             cgroup throttle), as from a network volume or a slower disk: storage-bound
#
# Environment (all optional):
#   BENCH_SIZE_MB   size of the signed file in MiB (default 1024)
#   BENCH_REPEAT    runs of each case (default 4); the table shows the median and the range
#   BENCH_LIMITS    disk rates in MB/s for the cold@N cases (default "500 1000"; "" for none).
#                   Needs the backing directory on a block device and a blkio (cgroup v1) or
#                   io (cgroup v2) controller; without them these cases are left out
#   BENCH_DIR       work directory on a real disk (default /var/tmp/modelvault-signed-bench)
#   MODELVAULT      modelvault binary (default: build it with the `default` preset)
set -euo pipefail

die() {
  echo "signed_read.sh: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (FUSE mounts and drop_caches)"
root=$(cd "$(dirname "$0")/.." && pwd)
size_mb=${BENCH_SIZE_MB:-1024}
repeat=${BENCH_REPEAT:-4}
work=${BENCH_DIR:-/var/tmp/modelvault-signed-bench}
export MODELVAULT_STATE_FILE=$work/state.json

if [ -z "${MODELVAULT:-}" ]; then
  (cd "$root" && cmake --preset default >/dev/null && cmake --build --preset default --target modelvault)
  MODELVAULT=$root/build/default/cli/modelvault
fi
mv=$MODELVAULT

cgroup=""  # the throttled cgroup's directory, once made

cleanup() {
  set +e
  mountpoint -q "$work/mnt" && "$mv" umount "$work/mnt" >/dev/null 2>&1
  mountpoint -q "$work/mnt" && umount -l "$work/mnt"
  [ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null
  rm -rf "${work:?}"
}
trap cleanup EXIT
cleanup
mkdir -p "$work/back" "$work/mnt"

echo "Making a store with a signed ${size_mb} MiB file..." >&2
"$mv" keygen "$work/store.key" >/dev/null
"$mv" init "$work/back" --keyfile "$work/store.key" --no-recovery-key >/dev/null
"$mv" signing-key generate "$work/publisher.pem" "$work/publisher.pub.pem" >/dev/null
"$mv" mount "$work/back" "$work/mnt" --keyfile "$work/store.key" >/dev/null
mkdir "$work/mnt/model"
head -c "$((size_mb << 20))" /dev/urandom >"$work/mnt/model/weights.bin"
"$mv" sign "$work/mnt/model" --signing-key "$work/publisher.pem" >/dev/null 2>&1
"$mv" umount "$work/mnt" >/dev/null
backing_file=$(find "$work/back" -type f -size +$((size_mb / 2))M | head -n 1)
[ -n "$backing_file" ] || die "cannot find the signed file's backing file"

# The whole disk holding the backing directory, as MAJOR:MINOR (a partition's parent:
# throttles apply to disks); nothing if it is not on a block device.
backing_disk() {
  local dev sys
  dev=$(stat -c '%Hd:%Ld' "$work/back")
  sys=/sys/dev/block/$dev
  [ -e "$sys" ] || return 0
  [ -e "$sys/partition" ] && dev=$(cat "$(readlink -f "$sys")/../dev")
  echo "$dev"
}

# Makes the cgroup that holds the daemon for the cold@N cases; prints nothing and makes
# nothing where the machine has no way to throttle reads.
make_cgroup() {
  local disk=$1
  if [ -d /sys/fs/cgroup/blkio ]; then
    cgroup=/sys/fs/cgroup/blkio/modelvault-signed-bench
    mkdir -p "$cgroup" && echo "$disk 0" >"$cgroup/blkio.throttle.read_bps_device" && return
  elif grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    echo +io >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
    cgroup=/sys/fs/cgroup/modelvault-signed-bench
    mkdir -p "$cgroup" && echo "$disk rbps=max" >"$cgroup/io.max" && return
  fi
  [ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null
  cgroup=""
}

# Puts process PID under a read limit of MBPS MB/s on the backing disk.
throttle() {  # PID MBPS
  local bps=$(($2 * 1000000))
  if [ -e "$cgroup/blkio.throttle.read_bps_device" ]; then
    echo "$disk $bps" >"$cgroup/blkio.throttle.read_bps_device"
  else
    echo "$disk rbps=$bps" >"$cgroup/io.max"
  fi
  echo "$1" >"$cgroup/cgroup.procs"
}

# One read of the whole file through a fresh read-only mount; prints MB/s.
read_once() {  # CASE (hot|cold|cold@N) MODE (unsigned|verified)
  local trust=()
  [ "$2" = verified ] && trust=(--trust "$work/publisher.pub.pem")
  "$mv" mount "$work/back" "$work/mnt" --keyfile "$work/store.key" --read-only "${trust[@]}" \
    >/dev/null
  sync
  echo 3 >/proc/sys/vm/drop_caches
  [ "$1" = hot ] && cat "$backing_file" >/dev/null
  local start end daemon cpu0 cpu1 dd_cpu
  daemon=$(pgrep -f -- " $work/mnt( |\$)")
  # Every thread of the daemon moves, so each backing read it makes counts against the limit.
  case $1 in cold@*) throttle "$daemon" "${1#cold@}" ;; esac
  cpu0=$(cpu_of "$daemon")
  start=$(date +%s.%N)
  dd_cpu=$( { /usr/bin/time -f "%U %S" dd if="$work/mnt/model/weights.bin" of=/dev/null bs=1M \
    status=none; } 2>&1 | awk '{ print $1 + $2 }')
  end=$(date +%s.%N)
  cpu1=$(cpu_of "$daemon")
  "$mv" umount "$work/mnt" >/dev/null
  # MB/s, then CPU seconds per GiB (the daemon's and the reader's, which includes the kernel's
  # side of the FUSE requests): the second barely moves with other load on the machine.
  awk -v s="$start" -v e="$end" -v mb="$size_mb" -v c="$(awk -v a="$cpu0" -v b="$cpu1" \
    -v d="$dd_cpu" 'BEGIN { print b - a + d }')" \
    'BEGIN { printf "%.0f:%.2f", mb * 1.048576 / (e - s), c * 1024 / mb }'
}

# CPU seconds (user + system, all threads) a process has used so far.
cpu_of() {  # PID
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / tck }' \
    "/proc/$1/stat"
}

cases=(hot cold)
disk=$(backing_disk)
if [ -n "${BENCH_LIMITS-500 1000}" ]; then
  [ -n "$disk" ] && make_cgroup "$disk"
  if [ -n "$cgroup" ]; then
    for limit in ${BENCH_LIMITS-500 1000}; do cases+=("cold@$limit"); done
  else
    echo "No way to throttle reads of the backing disk here: leaving out the cold@N cases" >&2
  fi
fi

declare -A runs=()
for ((i = 1; i <= repeat; i++)); do
  for c in "${cases[@]}"; do
    for m in unsigned verified; do  # alternating, so a change in load hits both alike
      runs[$c.$m]+="$(read_once "$c" "$m") "
    done
  done
  echo "run $i/$repeat done" >&2
done

rates() { tr ' ' '\n' | grep . | cut -d: -f1; }
cpus() { tr ' ' '\n' | grep . | cut -d: -f2; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | grep . | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

echo "| case | unsigned MB/s (median, range) | verified MB/s (median, range) | ratio | CPU s/GiB unsigned | CPU s/GiB verified |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for c in "${cases[@]}"; do
  u=$(rates <<<"${runs[$c.unsigned]}" | median)
  v=$(rates <<<"${runs[$c.verified]}" | median)
  echo "| $c | $u ($(rates <<<"${runs[$c.unsigned]}" | range)) | $v ($(rates <<<"${runs[$c.verified]}" | range)) |" \
    "$(awk -v u="$u" -v v="$v" 'BEGIN { printf "%.2f", v / u }') |" \
    "$(cpus <<<"${runs[$c.unsigned]}" | median) | $(cpus <<<"${runs[$c.verified]}" | median) |"
done
