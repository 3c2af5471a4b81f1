#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Compression benchmark: one uncompressed layer tar (the base layer of the
# make-big-image.sh image, first 128 MB) compressed by zlib -6 (streaming deflate, what
# most tools do), zlib -1, myrmex's gzip (libdeflate on parallel 1 MiB members) at several
# levels, and zstd; plus `gzip -6` and `pigz -6` as the tools a user would pick. Prints
# MB/s of input and the compression ratio.
#
#   BUILD=build bench/compress.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build}
WORK=${BENCH_WORK:-/var/tmp/myrmex-bench}
BENCH=$BUILD/bench/myrmex-compress-bench
SIZE_MB=${SIZE_MB:-128}

[ -x "$BENCH" ] || { echo "build first: ninja -C $BUILD bench/myrmex-compress-bench" >&2; exit 1; }
LAYOUT=$("$here/make-big-image.sh")
mkdir -p "$WORK"
IN=$WORK/compress-input.tar
if [ ! -s "$IN" ]; then
        biggest=$(ls -S "$LAYOUT"/blobs/sha256/* | head -n1)
        gzip -dc "$biggest" | head -c $((SIZE_MB * 1000 * 1000)) > "$IN"
fi
insize=$(stat -c %s "$IN")
cat "$IN" > /dev/null # warm

echo "input: $((insize / 1000000)) MB of a layer tar, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s %10s %8s\n' method "MB/s" "out MB" ratio
row() { # row LABEL SECONDS OUTBYTES
        awk -v l="$1" -v s="$2" -v o="$3" -v i="$insize" \
                'BEGIN { printf "%-34s %10.1f %10.1f %8.3f\n", l, i / 1e6 / s, o / 1e6, o / i }'
}
bench() { # bench LABEL METHOD LEVEL
        set -- "$1" $("$BENCH" "$2" "$3" "$IN" "$WORK/compress-out")
        row "$1" "$6" "$5"
        case $2 in zlib | gzip) gzip -t "$WORK/compress-out" ;; zstd) zstd -qt "$WORK/compress-out" ;; esac
}
tool() { # tool LABEL COMMAND...
        label=$1
        shift
        start=$(date +%s.%N)
        "$@" < "$IN" > "$WORK/compress-out"
        secs=$(echo "$(date +%s.%N) - $start" | bc)
        row "$label" "$secs" "$(stat -c %s "$WORK/compress-out")"
}

bench "zlib -6 (baseline, 1 thread)" zlib 6
bench "zlib -1 (1 thread)" zlib 1
bench "myrmex gzip 1 (libdeflate, parallel)" gzip 1
bench "myrmex gzip default (4)" gzip 0
bench "myrmex gzip 6" gzip 6
bench "myrmex gzip 9" gzip 9
bench "myrmex zstd 1 (multithreaded)" zstd 1
bench "myrmex zstd default (3)" zstd 0
bench "myrmex zstd 9" zstd 9
tool "gzip -6 (the gzip tool)" gzip -6 -c
command -v pigz >/dev/null && tool "pigz -6 ($(nproc) threads)" pigz -6 -c
rm -f "$WORK/compress-out"
