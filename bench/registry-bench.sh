#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Registry benchmark: myrmex versus skopeo (and umoci, and curl for the registry's ingest
# limit) against one local docker-registry, side by side in one run, for the ~500 MB
# multi-layer image of bench/make-big-image.sh and a small busybox image.
#
#   bench/registry-bench.sh [BUILD_DIR]      (default: build)
#
# Every side starts with an empty destination and ends with every blob verified and on
# disk: a fresh store (myrmex) or a fresh OCI directory (skopeo) for pulls; a repository
# name never used before for pushes (the registry links no blob into it, so every byte is
# sent again; its global blob store deduplicates only after receiving them). "runnable"
# adds unpacking every layer (myrmex pull vs skopeo copy + umoci unpack).
# Prints hyperfine's tables and peak RSS (GNU time); needs root, docker-registry, skopeo,
# umoci, hyperfine, curl.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
MX=$(cd "$BUILD" && pwd)/src/cli/myrmex
[ -x "$MX" ] || MX=$(cd "$BUILD" && pwd)/myrmex
RUNS=${RUNS:-5}
WORK=$(mktemp -d /var/tmp/mx-regbench-XXXXXX)
trap '[ -f "$WORK/reg/pid" ] && kill "$(cat "$WORK/reg/pid")" 2>/dev/null; rm -rf "$WORK"' EXIT

BIG=$("$HERE/make-big-image.sh")

# a small image: busybox-static as one layer, made with umoci
SMALL=$WORK/small-oci
umoci init --layout "$SMALL"
umoci new --image "$SMALL:small"
umoci unpack --image "$SMALL:small" "$WORK/sb" >/dev/null
mkdir -p "$WORK/sb/rootfs/bin"
cp /bin/busybox "$WORK/sb/rootfs/bin/busybox"
for a in sh ls cat echo; do ln -sf busybox "$WORK/sb/rootfs/bin/$a"; done
umoci repack --image "$SMALL:small" "$WORK/sb" >/dev/null
umoci gc --layout "$SMALL"

# the registry, on a free port that is not 5000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
[ "$PORT" = 5000 ] && PORT=5001
mkdir -p "$WORK/reg"
cat > "$WORK/reg/config.yml" <<EOC
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/reg/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
EOC
H=127.0.0.1:$PORT
# (re)start the registry on empty storage: pushes begin with an empty destination
cat > "$WORK/reg-reset.sh" <<EOC
#!/bin/sh
[ -f $WORK/reg/pid ] && kill \$(cat $WORK/reg/pid) 2>/dev/null && sleep 0.2
rm -rf $WORK/reg/data
docker-registry serve $WORK/reg/config.yml >>$WORK/reg/log 2>&1 &
echo \$! > $WORK/reg/pid
until curl -fsS http://$H/v2/ >/dev/null 2>&1; do sleep 0.05; done
EOC
chmod +x "$WORK/reg-reset.sh"
"$WORK/reg-reset.sh"

skopeo copy -q --dest-tls-verify=false "oci:$BIG:big" "docker://$H/bench/big:src"
skopeo copy -q --dest-tls-verify=false "oci:$SMALL:small" "docker://$H/bench/small:src"

# a store holding both images, for the pushes
SRCSTORE=$WORK/src-store
"$MX" --root "$SRCSTORE" pull -q --no-unpack "$H/bench/big:src" >/dev/null
"$MX" --root "$SRCSTORE" pull -q --no-unpack "$H/bench/small:src" >/dev/null

# curl: the registry's own ingest rate for the same blobs (POST, then PUT with the digest;
# the layers in parallel as the clients send them)
cat > "$WORK/curl-push.sh" <<'EOC'
#!/bin/sh
# curl-push.sh HOST REPO OCI_DIR: upload every blob of the layout's image
set -eu
H=$1; R=$2; D=$3
up() {
        loc=$(curl -fsS -X POST -D - -o /dev/null "http://$H/v2/$R/blobs/uploads/" |
                tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
        case "$loc" in *\?*) sep='&' ;; *) sep='?' ;; esac
        curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$D/blobs/sha256/$1" \
                "$loc${sep}digest=sha256:$1" -o /dev/null
}
pids=""
for b in $(ls "$D/blobs/sha256"); do up "$b" & pids="$pids $!"; done
for p in $pids; do wait "$p"; done
EOC
chmod +x "$WORK/curl-push.sh"

bench() { # bench NAME PREPARE CMD-MYRMEX CMD-OTHER [CMD-THIRD]
        name=$1
        prep=$2
        shift 2
        echo "== $name"
        hyperfine -N --runs "$RUNS" --warmup 1 --export-markdown "$WORK/$name.md" \
                --prepare "sh -c 'rm -rf $WORK/dst $WORK/dst-oci $WORK/dst-bundle; $prep sync'" \
                "$@" 2>&1 | grep -v '^ *$' || true
        cat "$WORK/$name.md"
}

for img in big small; do
        REF=$H/bench/$img:src
        [ $img = big ] && LAYOUT=$BIG:big && DIR=$BIG || { LAYOUT=$SMALL:small; DIR=$SMALL; }
        bench "pull-store-$img" "" \
                "$MX --root $WORK/dst pull -q --no-unpack $REF" \
                "skopeo copy -q --src-tls-verify=false docker://$REF oci:$WORK/dst-oci:x"
        bench "pull-runnable-$img" "" \
                "$MX --root $WORK/dst pull -q $REF" \
                "sh -c 'skopeo copy -q --src-tls-verify=false docker://$REF oci:$WORK/dst-oci:x && umoci unpack --image $WORK/dst-oci:x $WORK/dst-bundle >/dev/null'"
        # pushes: every run starts on a fresh, empty registry
        bench "push-$img" "$WORK/reg-reset.sh;" \
                "$MX --root $SRCSTORE push -q $REF $H/push/mx:$img" \
                "skopeo copy -q --dest-tls-verify=false oci:$LAYOUT docker://$H/push/sk:$img" \
                "$WORK/curl-push.sh $H push/curl $DIR"
        "$WORK/reg-reset.sh"
        skopeo copy -q --dest-tls-verify=false "oci:$BIG:big" "docker://$H/bench/big:src"
        skopeo copy -q --dest-tls-verify=false "oci:$SMALL:small" "docker://$H/bench/small:src"
done

echo "== peak memory (max RSS, KB), big image"
rm -rf "$WORK/dst" "$WORK/dst-oci" "$WORK/dst-bundle"
/usr/bin/time -f "myrmex pull --no-unpack %M" "$MX" --root "$WORK/dst" pull -q --no-unpack "$H/bench/big:src" >/dev/null
/usr/bin/time -f "skopeo copy (pull) %M" skopeo copy -q --src-tls-verify=false "docker://$H/bench/big:src" "oci:$WORK/dst-oci:x"
rm -rf "$WORK/dst"
/usr/bin/time -f "myrmex pull (runnable) %M" "$MX" --root "$WORK/dst" pull -q "$H/bench/big:src" >/dev/null
/usr/bin/time -f "umoci unpack %M" umoci unpack --image "$WORK/dst-oci:x" "$WORK/dst-bundle" >/dev/null
"$WORK/reg-reset.sh"
/usr/bin/time -f "myrmex push %M" "$MX" --root "$SRCSTORE" push -q "$H/bench/big:src" "$H/push/mem-mx:big" >/dev/null
"$WORK/reg-reset.sh"
/usr/bin/time -f "skopeo copy (push) %M" skopeo copy -q --dest-tls-verify=false "oci:$BIG:big" "docker://$H/push/mem-sk:big"
