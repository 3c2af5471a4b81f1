#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the hostile and broken layer blobs under tests/data/hostile/ (layer-*).

Run from anywhere: python3 tests/data/hostile/make-layer-hostile.py
The outputs are committed; the unit test test-image-layer-hostile.c says what each must do.
Absolute names point at /tmp/mx-hostile-canary*, which the test checks never appears.
"""
import gzip
import io
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CANARY = "/tmp/mx-hostile-canary"


def info(name, kind=tarfile.REGTYPE, size=0, link="", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.linkname = link
    ti.mode = mode
    ti.mtime = 1700000000
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: list of (TarInfo, data-bytes-or-None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return buf.getvalue()


def f(name, data=b"x\n", mode=0o644):
    return (info(name, mode=mode), data)


def d(name):
    return (info(name, tarfile.DIRTYPE, mode=0o755), None)


def sym(name, target):
    return (info(name, tarfile.SYMTYPE, link=target, mode=0o777), None)


def hard(name, target):
    return (info(name, tarfile.LNKTYPE, link=target), None)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as out:
        out.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def main():
    write("layer-dotdot.tar", tar_bytes([f("ok"), f("../escaped")]))
    write("layer-dotdot-mid.tar", tar_bytes([d("a/"), f("a/../../escaped")]))
    write("layer-absolute.tar", tar_bytes([f(CANARY + "-abs"), d("/etc/"), f("/etc/abs-file")]))
    write("layer-symlink-escape.tar", tar_bytes([sym("l", "/etc"), f("l/passwd", b"pwned\n")]))
    write("layer-symlink-escape-rel.tar",
          tar_bytes([sym("l", "../../../../../../../../tmp"), f("l/mx-hostile-canary-rel")]))
    write("layer-symlink-parent.tar", tar_bytes([d("sub/"), sym("s", "sub"), f("s/x")]))
    write("layer-symlink-overwrite.tar",
          tar_bytes([sym("l", CANARY + "-over"), f("l", b"replaced, not followed\n")]))
    write("layer-hardlink-escape-rel.tar", tar_bytes([hard("h", "../../etc/passwd")]))
    write("layer-hardlink-escape-abs.tar", tar_bytes([hard("h", "/etc/passwd")]))
    write("layer-hardlink-missing.tar", tar_bytes([hard("h", "nothing-here")]))
    write("layer-hardlink-via-symlink.tar",
          tar_bytes([sym("l", "/etc"), hard("h", "l/passwd")]))
    # A symlink replaced by a directory in a later layer (apply both, in order).
    write("layer-replace-1.tar", tar_bytes([sym("d", CANARY + "-dir")]))
    write("layer-replace-2.tar", tar_bytes([d("d/"), f("d/f", b"inside\n")]))
    write("layer-replace-2-noparent.tar", tar_bytes([f("d/f", b"through the link?\n")]))
    base = tar_bytes([d("dir/"), f("dir/file", b"hello\n" * 1000)])
    g = gz(base)
    write("layer-truncated.tar.gz", g[: len(g) // 2])
    write("layer-garbage-after.tar.gz", g + b"this is not gzip\n" * 4)
    write("layer-diffid-mismatch.tar", base)  # the test expects a different diffID
    # Header declares ~1 TB, the data stops after a few blocks.
    hdr = info("huge", size=1 << 40).tobuf(tarfile.PAX_FORMAT)
    write("layer-absurd-size.tar", hdr + b"\0" * 4096)
    dev = info("dev/null", tarfile.CHRTYPE, mode=0o666)
    dev.devmajor, dev.devminor = 1, 3
    write("layer-device.tar", tar_bytes([d("dev/"), (dev, None)]))
    deep, path = [], ""
    for _ in range(10000):
        path += "a/"
        deep.append(d(path))
    write("layer-deep.tar.gz", gz(tar_bytes(deep)))
    write("layer-whiteout-empty.tar", tar_bytes([d("a/"), f("a/.wh.")]))
    write("layer-not-a-tar.tar", b"PK\x03\x04 this is a zip header, not a tar" + b"\0" * 600)


if __name__ == "__main__":
    main()
