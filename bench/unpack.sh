#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Unpack benchmark, side by side in one run: the ~450 MB debootstrap image made by
# make-big-image.sh (an OCI layout written by umoci) into a complete root filesystem on disk,
# by `umoci unpack` and by myrmex (bench/unpack-bench.c over libmyrmex), caches dropped
# before each run (or equally warm when that is not permitted). Wall time and peak RSS from
# /usr/bin/time, RUNS runs each, interleaved; prints medians and ratios against umoci.
#
#   BUILD=build RUNS=5 bench/unpack.sh
#
# myrmex variants:
#   overlay  per-layer directories unpacked in parallel threads + a read-only overlay mount
#            (what the store and containers use)
#   flat     the same per-layer directories, then copied into one plain tree
#   apply    every layer applied in order into one directory (one thread)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build}
RUNS=${RUNS:-3}
WORK=${BENCH_WORK:-/var/tmp/myrmex-bench}
BENCH=$BUILD/bench/myrmex-unpack-bench
VARIANTS=${VARIANTS:-"umoci overlay flat apply"}

[ -x "$BENCH" ] || { echo "build first: ninja -C $BUILD bench/myrmex-unpack-bench" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci is missing (apt-get install umoci)" >&2; exit 1; }
LAYOUT=$("$here/make-big-image.sh")

mkdir -p "$WORK"
RESULTS=$WORK/unpack-results.txt
: > "$RESULTS"

clean() {
        for m in "$WORK"/run/rootfs; do
                mountpoint -q "$m" 2>/dev/null && umount "$m"
        done
        rm -rf "$WORK/run"
}

drop_caches() {
        sync
        if [ -w /proc/sys/vm/drop_caches ]; then
                echo 3 > /proc/sys/vm/drop_caches
                echo dropped
        else
                # equally warm: read every blob once before each run
                cat "$LAYOUT"/blobs/sha256/* > /dev/null
                echo warm
        fi
}

run_one() { # run_one NAME
        clean
        cache=$(drop_caches)
        case $1 in
        umoci) set -- umoci unpack --image "$LAYOUT:big" "$WORK/run" ;;
        *) set -- "$BENCH" "$1" "$LAYOUT" big "$WORK/run" ;;
        esac
        /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" > "$WORK/out.txt" 2>&1 ||
                { cat "$WORK/out.txt" >&2; exit 1; }
        # the work is on disk (umoci does not sync either; count the flush for both)
        start=$(date +%s.%N)
        sync
        flush=$(echo "$(date +%s.%N) - $start" | bc)
        read -r wall rss user sys < "$WORK/time.txt"
        echo "$name $wall $rss $flush $user $sys $cache" >> "$RESULTS"
        printf '  %-8s %6.2f s  %6d KB peak RSS  cpu %5.2f user %5.2f sys  (+%.2f s sync, caches %s)\n' \
                "$name" "$wall" "$rss" "$user" "$sys" "$flush" "$cache"
}

echo "image: $LAYOUT ($(du -sh "$LAYOUT" | cut -f1) compressed), $RUNS runs, $(nproc) CPUs," \
        "load $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$RUNS" ]; do
        echo "run $i"
        for name in $VARIANTS; do
                run_one "$name"
        done
        i=$((i + 1))
done
clean

python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, wall, rss, flush, user, sys_, _ in rows:
    by.setdefault(name, []).append((float(wall), int(rss), float(flush), float(user) + float(sys_)))
med = {n: (statistics.median(x[0] for x in v), max(x[1] for x in v),
           statistics.median(x[0] + x[2] for x in v), min(x[0] for x in v),
           statistics.median(x[3] for x in v)) for n, v in by.items()}
base = med.get("umoci")
print("\n%-8s %9s %9s %13s %9s %13s %12s %12s" % ("tool", "wall med", "wall min", "wall+sync med",
      "cpu med", "peak RSS MB", "wall ratio", "cpu ratio"))
for n, (w, r, ws, wmin, cpu) in med.items():
    wr = "%.2fx" % (base[0] / w) if base and n != "umoci" else "-"
    cr = "%.2fx" % (base[4] / cpu) if base and n != "umoci" else "-"
    print("%-8s %9.2f %9.2f %13.2f %9.2f %13.1f %12s %12s" % (n, w, wmin, ws, cpu, r / 1024, wr, cr))
PY
