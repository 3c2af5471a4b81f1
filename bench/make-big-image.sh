#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Build (once, cached) the ~500 MB multi-layer OCI image the unpack benchmark uses:
# a debootstrap bookworm (minbase + python3, gcc, git) split into layers by umoci, an
# independent tool, with one layer of deletions so the image carries real whiteouts.
#
#   bench/make-big-image.sh            prints the layout path (DIR, tag "big")
#
# Cache: ${MYRMEX_CACHE:-/var/cache/myrmex-test}/bench-big/{rootfs,oci}. Delete it to rebuild.
# Needs root, debootstrap, umoci, and the Debian mirror apt already uses.
set -eu

CACHE=${MYRMEX_CACHE:-/var/cache/myrmex-test}/bench-big
ROOTFS=$CACHE/rootfs
OCI=$CACHE/oci
TAG=big

if [ -f "$OCI/.complete" ]; then
        echo "$OCI"
        exit 0
fi
mkdir -p "$CACHE"

mirror() {
        m=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
                grep -v security | head -n1 | awk '{print $1}')
        if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
                m=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
        fi
        echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -f "$ROOTFS/.complete" ]; then
        rm -rf "$ROOTFS"
        MIRROR=$(mirror)
        echo "debootstrap bookworm from $MIRROR (a few minutes)" >&2
        debootstrap --variant=minbase --include=python3,gcc,git bookworm "$ROOTFS" "$MIRROR" >&2
        rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*_* 
        touch "$ROOTFS/.complete"
fi

rm -rf "$OCI" "$CACHE/bundle"
umoci init --layout "$OCI" >&2
umoci new --image "$OCI:$TAG" >&2
umoci unpack --image "$OCI:$TAG" "$CACHE/bundle" >/dev/null
R="$CACHE/bundle/rootfs"

copy() { # copy [--exclude=X ...] PATH...: from the debootstrap tree into the bundle
        (cd "$ROOTFS" && tar --xattrs --xattrs-include='*' -cf - "$@") |
                (cd "$R" && tar --xattrs --xattrs-include='*' --numeric-owner -xpf -)
}
repack() {
        umoci repack --refresh-bundle --image "$OCI:$TAG" --history.created_by "$1" "$CACHE/bundle" >&2
}

# 1: the base system without the compiler and python's standard library
copy --exclude=./usr/lib/gcc --exclude=./usr/libexec --exclude=./usr/lib/python3.11 \
        --exclude=./.complete .
repack "base system"
# 2: python's standard library
copy ./usr/lib/python3.11
repack "python3"
# 3: the compiler
copy ./usr/lib/gcc ./usr/libexec
repack "gcc"
# 4: deletions: documentation, manual pages, locales and python's test suites
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/info" "$R/usr/share/locale"
find "$R/usr/lib/python3.11" -type d -name __pycache__ -prune -exec rm -rf {} +
repack "remove docs and caches"
# 5: a small configuration change on top
echo big > "$R/etc/hostname"
mkdir -p "$R/srv/app" && cp "$R/etc/os-release" "$R/srv/app/release"
repack "configure"
umoci gc --layout "$OCI" >&2
rm -rf "$CACHE/bundle"
touch "$OCI/.complete"
echo "$OCI"
