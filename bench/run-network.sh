#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# `run --rm IMAGE true` on the default bridge, side by side in one run:
#   myrmex run --rm busybox true                      (default network: bridge, crun)
#   myrmex run --rm --network none busybox true       (the same without a network)
#   podman run --rm localhost/busybox true            (podman's default bridge)
#   podman run --rm --network none localhost/busybox true
# and beside them the CNI calls alone: one ADD+DEL of the store's default-bridge conflist
# through the plugins (bench/network-run-cni.py), what any CNI-driven runtime pays.
# podman as ANCHORS.md configures it (runc, cgroupfs, file events; netavark here).
#
#   bench/run-network.sh [BUILD_DIR]          RUNS=20 by default
#
# Needs root, hyperfine, crun or runc, containernetworking-plugins; podman + buildah
# optional (skipped when absent).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
MX=$(cd "$BUILD" && pwd)/src/cli/myrmex
RUNS=${RUNS:-20}
WORK=$(mktemp -d /var/tmp/mx-netbench-XXXXXX)
ROOT=$WORK/store
NS=mxnetbench$$
export MYRMEX_ROOT=$ROOT
cleanup() {
        ids=$("$MX" ps -aq 2>/dev/null || true)
        [ -n "$ids" ] && "$MX" rm -f $ids >/dev/null 2>&1 || true
        ip netns del $NS 2>/dev/null || true
        grep " $WORK/" /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

RFS=$WORK/rootfs
mkdir -p "$RFS/bin" "$RFS/etc" "$RFS/tmp"
cp /bin/busybox "$RFS/bin/busybox"
for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$RFS/bin/$a"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$RFS/etc/passwd"
echo "root:x:0:" > "$RFS/etc/group"
tar -C "$RFS" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
        -cf "$WORK/busybox.tar" .
"$MX" import "$WORK/busybox.tar" busybox:latest >/dev/null
"$MX" run --rm busybox true # creates the default network and its bridge

PODMAN=
if command -v podman >/dev/null && command -v buildah >/dev/null &&
        [ -f /etc/containers/containers.conf ] && [ -f /etc/containers/storage.conf ]; then
        if ! podman image exists localhost/busybox; then
                b=$(buildah from scratch)
                buildah copy "$b" "$RFS" / >/dev/null
                buildah config --cmd /bin/sh "$b" >/dev/null
                buildah commit "$b" localhost/busybox >/dev/null
                buildah rm "$b" >/dev/null
        fi
        podman run --rm localhost/busybox true
        PODMAN=podman
fi

echo
echo "== run --rm IMAGE true, default bridge and none ($RUNS runs each)"
set -- "$MX run --rm busybox true" "$MX run --rm --network none busybox true"
[ -n "$PODMAN" ] && set -- "$@" "podman run --rm localhost/busybox true" \
        "podman run --rm --network none localhost/busybox true"
hyperfine -w 3 -r "$RUNS" -N --export-json "$WORK/run.json" "$@"

echo
echo "== the same, spaced: 0.4 s between runs, so the previous container's DEL (which runs in"
echo "   its monitor after the exit is reported) no longer competes with the next ADD"
hyperfine -w 2 -r "$RUNS" -N --prepare "sleep 0.4" "$MX run --rm busybox true" \
        "$MX run --rm --network none busybox true"

echo
echo "== the CNI calls alone (the store's default-bridge conflist, one ADD+DEL)"
ip netns add $NS
python3 "$HERE/network-run-cni.py" "$ROOT/networks/bridge.conflist" /run/netns/$NS "$RUNS"

echo
echo "== ratios (mean times)"
python3 - "$WORK" <<'PY'
import json, sys
res = json.load(open(sys.argv[1] + "/run.json"))["results"]
m = {r["command"]: r["mean"] * 1000 for r in res}
base = res[0]["mean"] * 1000
for r in res:
    print("%-60.60s %8.1f ms  %5.2fx of the first" % (r["command"], r["mean"] * 1000,
                                                      r["mean"] * 1000 / base))
k = list(m)
print("myrmex bridge - none: %.1f ms" % (m[k[0]] - m[k[1]]))
if len(k) >= 4:
    print("podman bridge - none: %.1f ms" % (m[k[2]] - m[k[3]]))
    print("podman bridge / myrmex bridge: %.2fx" % (m[k[2]] / m[k[0]]))
PY
