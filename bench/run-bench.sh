#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Container runtime benchmark, side by side in one run:
#   1. `myrmex run --rm --network none busybox true` (crun, and --runtime runc) versus bare
#      `crun run` / `runc run` on a prepared bundle with the same config.json myrmex writes
#      (crun through the same private-mount-namespace workaround on hybrid cgroup hosts),
#      and `podman run --rm --network none localhost/busybox true` (podman as ANCHORS.md
#      configures it: runc, cgroupfs, file events);
#   2. `ps -a` with 100 containers: myrmex versus podman;
#   3. `logs` of a 100 MB log to /dev/null: myrmex versus podman.
# Every side is warm (one warm-up run at least) and uses the same busybox image.
#
#   bench/run-bench.sh [BUILD_DIR]          (default: build)
#   RUNS=20 LOG_MB=100 N_PS=100 bench/run-bench.sh
#
# Needs root, hyperfine, crun and/or runc, podman + buildah (skipped when absent).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
MX=$(cd "$BUILD" && pwd)/src/cli/myrmex
[ -x "$MX" ] || MX=$(cd "$BUILD" && pwd)/myrmex
RUNS=${RUNS:-20}
LOG_MB=${LOG_MB:-100}
N_PS=${N_PS:-100}
WORK=$(mktemp -d /var/tmp/mx-runbench-XXXXXX)
ROOT=$WORK/store
export MYRMEX_ROOT=$ROOT
cleanup() {
        ids=$("$MX" ps -aq 2>/dev/null || true)
        [ -n "$ids" ] && "$MX" rm -f $ids >/dev/null 2>&1 || true
        if command -v podman >/dev/null; then
                podman rm -f --filter label=mxbench=1 >/dev/null 2>&1 || true
                podman ps -aq --filter label=mxbench=1 | xargs -r podman rm -f >/dev/null 2>&1 || true
        fi
        grep " $WORK/" /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== runtimes: $(crun --version 2>/dev/null | head -1 || echo no crun); $(runc --version 2>/dev/null | head -1 || echo no runc)"

# ---- the image ---------------------------------------------------------------------------
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

# ---- a prepared bundle with myrmex's own config.json -------------------------------------
BUNDLE=$WORK/bundle
cid=$("$MX" create --network none --name bundle-source busybox true)
mkdir -p "$BUNDLE"
cp -a "$RFS" "$BUNDLE/rootfs"
for f in hosts hostname resolv.conf; do cp "$ROOT/containers/$cid/$f" "$BUNDLE/$f"; done
python3 - "$ROOT/containers/$cid/config.json" "$BUNDLE" "$cid" <<'EOF'
import json, sys
src, bundle, cid = sys.argv[1:]
c = json.load(open(src))
c["root"]["path"] = "rootfs"
for m in c["mounts"]:
    if m["type"] == "bind" and cid in m["source"]:
        m["source"] = bundle + "/" + m["source"].rsplit("/", 1)[1]
c["linux"]["cgroupsPath"] = "/myrmex/bench-bare"
json.dump(c, open(bundle + "/config.json", "w"))
EOF
"$MX" rm bundle-source >/dev/null

CRUN_BARE="crun run -b $BUNDLE bench-crun"
if grep -q " /sys/fs/cgroup/unified .* - cgroup2 " /proc/self/mountinfo 2>/dev/null &&
        [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
        CRUN_BARE="unshare -m --propagation private sh -c 'mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers && exec crun run -b $BUNDLE bench-crun'"
fi

# ---- podman as ANCHORS.md sets it up -----------------------------------------------------
PODMAN=
if command -v podman >/dev/null && command -v buildah >/dev/null; then
        mkdir -p /etc/containers
        if [ ! -f /etc/containers/containers.conf ]; then
                cat > /etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
        fi
        if [ ! -f /etc/containers/storage.conf ]; then
                cat > /etc/containers/storage.conf <<'EOF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
EOF
        fi
        if ! podman image exists localhost/busybox; then
                b=$(buildah from scratch)
                buildah copy "$b" "$RFS" / >/dev/null
                buildah config --cmd /bin/sh "$b" >/dev/null
                buildah commit "$b" localhost/busybox >/dev/null
                buildah rm "$b" >/dev/null
        fi
        PODMAN=podman
fi

# ---- 1. run --rm ---------------------------------------------------------------------------
echo
echo "== 1. run --rm --network none IMAGE true ($RUNS runs each)"
set -- "$MX run --rm --network none busybox true"
command -v crun >/dev/null && set -- "$@" "$CRUN_BARE"
command -v runc >/dev/null && set -- "$@" "$MX run --rm --network none --runtime runc busybox true" \
        "runc run -b $BUNDLE bench-runc"
[ -n "$PODMAN" ] && set -- "$@" "podman run --rm --network none localhost/busybox true"
hyperfine -w 3 -r "$RUNS" -N --export-json "$WORK/run.json" "$@" 2>/dev/null ||
        hyperfine -w 3 -r "$RUNS" --export-json "$WORK/run.json" "$@"

# ---- 2. ps -a with N_PS containers ----------------------------------------------------------
echo
echo "== 2. ps -a with $N_PS containers"
i=0
while [ $i -lt "$N_PS" ]; do
        "$MX" create --label mxbench=1 busybox true >/dev/null
        [ -n "$PODMAN" ] && podman create --label mxbench=1 --network none localhost/busybox true >/dev/null
        i=$((i + 1))
done
set -- "$MX ps -a"
[ -n "$PODMAN" ] && set -- "$@" "podman ps -a"
hyperfine -w 3 -r "$RUNS" -N --export-json "$WORK/ps.json" "$@"
ids=$("$MX" ps -aq)
"$MX" rm $ids >/dev/null
[ -n "$PODMAN" ] && podman ps -aq --filter label=mxbench=1 | xargs -r podman rm >/dev/null

# ---- 3. logs of LOG_MB MB --------------------------------------------------------------------
echo
echo "== 3. logs of a ${LOG_MB} MB log (lines of 100 bytes) to /dev/null"
GEN="yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 | head -c ${LOG_MB}000000"
"$MX" run --name biglog busybox sh -c "$GEN" >/dev/null
ls -l "$ROOT/containers/$("$MX" ps -aq --no-trunc --filter name=biglog)"/*-json.log | awk '{print "myrmex log file:", $5, "bytes"}'
set -- "$MX logs biglog"
if [ -n "$PODMAN" ]; then
        podman run --name mxbench-biglog --label mxbench=1 --network none localhost/busybox sh -c "$GEN" >/dev/null
        set -- "$@" "podman logs mxbench-biglog"
fi
hyperfine -w 1 -r 5 --export-json "$WORK/logs.json" --output=null "$@" 2>/dev/null ||
        hyperfine -w 1 -r 5 --export-json "$WORK/logs.json" "$@"

echo
echo "== ratios (mean times)"
python3 - "$WORK" <<'EOF'
import json, sys
w = sys.argv[1]
for name in ("run", "ps", "logs"):
    res = json.load(open("%s/%s.json" % (w, name)))["results"]
    base = res[0]["mean"]
    for r in res:
        print("%-5s %-100.100s %8.1f ms  %6.2fx of the first" % (
            name, r["command"], r["mean"] * 1000, r["mean"] / base))
EOF
