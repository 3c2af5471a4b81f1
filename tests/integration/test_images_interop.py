# SPDX-License-Identifier: Apache-2.0
"""Interop of myrmex load/save with skopeo and umoci, both ways.

A two-layer test image is built with umoci from busybox-static (a hardlink, symlinks, an
xattr, a setuid file, a file owned by 1000:1000, and a second layer that deletes a file of
the first, i.e. a whiteout). skopeo copies it to an OCI layout, a docker-archive and an
oci-archive, and myrmex loads each with the same digests; myrmex saves it as an OCI layout
that skopeo inspects and umoci unpacks into the same tree myrmex mounts.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

IGNORED_XATTR_PREFIXES = ("trusted.overlay.", "security.selinux")


def run(*args, **kw):
    cp = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if cp.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, args)), cp.returncode, cp.stdout, cp.stderr))
    return cp.stdout


def snapshot(root):
    """Everything the interop promise covers about a tree, keyed by relative path."""
    entries = {}
    inodes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {
                "type": stat.S_IFMT(st.st_mode),
                "mode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
                "mtime": int(st.st_mtime),
            }
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    e["sha256"] = hashlib.sha256(f.read()).hexdigest()
                e["size"] = st.st_size
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = st.st_rdev
            xattrs = {}
            for k in os.listxattr(p, follow_symlinks=False):
                if k.startswith(IGNORED_XATTR_PREFIXES):
                    continue
                xattrs[k] = os.getxattr(p, k, follow_symlinks=False)
            if xattrs:
                e["xattrs"] = xattrs
            entries[rel] = e
    links = sorted(tuple(sorted(v)) for v in inodes.values() if len(v) > 1)
    return entries, links


class TreeCompareMixin:
    def assertSameTree(self, a, b):
        ea, la = snapshot(a)
        eb, lb = snapshot(b)
        self.assertEqual(sorted(set(ea) - set(eb)), [], "only in %s" % a)
        self.assertEqual(sorted(set(eb) - set(ea)), [], "only in %s" % b)
        diffs = ["%s: %s != %s" % (k, ea[k], eb[k]) for k in sorted(ea) if ea[k] != eb[k]]
        self.assertEqual(diffs, [], "entries differ")
        self.assertEqual(la, lb, "hardlink groups differ")
        return ea, la


def build_umoci_image(tmp):
    """An OCI layout at tmp/A with tag 't': two layers made by umoci repack."""
    layout = os.path.join(tmp, "A")
    bundle = os.path.join(tmp, "bundle")
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", layout + ":t")
    run("umoci", "unpack", "--image", layout + ":t", bundle)
    rootfs = os.path.join(bundle, "rootfs")
    src = harness.busybox_rootfs()
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(rootfs, name)
        if os.path.isdir(s) and not os.path.islink(s):
            shutil.copytree(s, d, symlinks=True)
        else:
            shutil.copy2(s, d, follow_symlinks=False)
    os.link(os.path.join(rootfs, "bin", "busybox"), os.path.join(rootfs, "bin", "busybox.hl"))
    with open(os.path.join(rootfs, "etc", "motd"), "w") as f:
        f.write("welcome\n")
    os.symlink("motd", os.path.join(rootfs, "etc", "motd.link"))
    os.setxattr(os.path.join(rootfs, "etc", "motd"), "user.myrmex", b"interop")
    su = os.path.join(rootfs, "bin", "setuid-tool")
    with open(su, "w") as f:
        f.write("#!/bin/sh\necho setuid\n")
    os.chmod(su, 0o4755)
    owned = os.path.join(rootfs, "home", "user", "data")
    os.makedirs(os.path.dirname(owned))
    with open(owned, "w") as f:
        f.write("mine\n")
    os.chown(owned, 1000, 1000)
    os.chown(os.path.dirname(owned), 1000, 1000)
    with open(os.path.join(rootfs, "etc", "remove-me"), "w") as f:
        f.write("gone in layer 2\n")
    fix_mtimes(rootfs, harness.FIXED_MTIME)
    run("umoci", "repack", "--refresh-bundle", "--image", layout + ":t", bundle)
    os.remove(os.path.join(rootfs, "etc", "remove-me"))
    with open(os.path.join(rootfs, "etc", "layer2"), "w") as f:
        f.write("second layer\n")
    # Layer 2 gets its own times: the merged tree must show its etc/, not layer 1's.
    fix_mtimes(rootfs, harness.FIXED_MTIME + 100, only=("etc", "etc/layer2"))
    run("umoci", "repack", "--image", layout + ":t", bundle)
    return layout


def fix_mtimes(rootfs, when, only=None):
    """Fixed mtimes, so the test does not depend on the second it runs in."""
    paths = [os.path.join(rootfs, p) for p in only] if only else None
    if paths is None:
        paths = [rootfs]
        for dirpath, dirnames, filenames in os.walk(rootfs):
            paths.extend(os.path.join(dirpath, n) for n in dirnames + filenames)
    for p in sorted(paths, key=len, reverse=True):
        os.utime(p, (when, when), follow_symlinks=False)


def layout_manifest(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        idx = json.load(f)
    for d in idx["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            with open(os.path.join(layout, "blobs", *d["digest"].split(":"))) as f:
                return d["digest"], json.load(f)
    raise AssertionError("no tag %r in %s" % (tag, layout))


class ImagesInteropTest(TreeCompareMixin, harness.MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        for b in ("skopeo", "umoci"):
            harness.require_binary(b)
        harness.require_root()

    def setUp(self):
        super().setUp()
        self.layout = build_umoci_image(self.tmp)
        self.man_digest, self.manifest = layout_manifest(self.layout, "t")
        with open(os.path.join(self.layout, "blobs",
                               *self.manifest["config"]["digest"].split(":"))) as f:
            self.config = json.load(f)
        self.assertEqual(len(self.manifest["layers"]), 2)

    def inspect(self, ref):
        return json.loads(self.mx.out("inspect", "--type", "image", ref))[0]

    def mount(self, ref):
        path = self.mx.out("image", "mount", ref)
        self.addCleanup(self.mx.run, "image", "unmount", ref, check=False)
        return path

    def test_skopeo_oci_layout_loads_with_same_digests(self):
        b = os.path.join(self.tmp, "B")
        run("skopeo", "copy", "oci:%s:t" % self.layout, "oci:%s:t" % b)
        out = self.mx.out("load", "-q", "-i", b)
        # ref.name "t" is a bare tag: loaded by ID
        self.assertEqual(out, "Loaded image ID: " + self.manifest["config"]["digest"])
        self.mx.run("tag", self.manifest["config"]["digest"], "test/oci:t")
        info = self.inspect("test/oci:t")
        b_digest, b_manifest = layout_manifest(b, "t")
        self.assertEqual(info["RepoDigests"], ["test/oci@" + b_digest])
        self.assertEqual(info["RootFS"]["Layers"], self.config["rootfs"]["diff_ids"])
        # and the layers: save back and compare manifests byte for byte
        out_dir = os.path.join(self.tmp, "out")
        self.mx.run("save", "--format", "oci-dir", "-o", out_dir, "test/oci:t")
        o_digest, o_manifest = layout_manifest(out_dir, "t")
        self.assertEqual(o_digest, b_digest)
        self.assertEqual([l["digest"] for l in o_manifest["layers"]],
                         [l["digest"] for l in b_manifest["layers"]])
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_skopeo_docker_archive_loads_with_same_diff_ids_and_config(self):
        f = os.path.join(self.tmp, "da.tar")
        run("skopeo", "copy", "oci:%s:t" % self.layout, "docker-archive:%s:test/da:v1" % f)
        out = self.mx.out("load", "-q", "-i", f)
        self.assertEqual(out, "Loaded image: docker.io/test/da:v1")
        info = self.inspect("test/da:v1")
        self.assertEqual(info["Id"], self.manifest["config"]["digest"])
        self.assertEqual(info["RootFS"]["Layers"], self.config["rootfs"]["diff_ids"])
        # the same from stdin
        other = harness.Myrmex()
        self.addCleanup(other.cleanup)
        with open(f, "rb") as fh:
            cp = other.run("load", "-q", input=fh.read())
        self.assertEqual(cp.stdout.decode().strip(), "Loaded image: docker.io/test/da:v1")

    def test_skopeo_oci_archive_loads_with_same_digests(self):
        f = os.path.join(self.tmp, "oa.tar")
        run("skopeo", "copy", "oci:%s:t" % self.layout, "oci-archive:%s:v2" % f)
        out = self.mx.out("load", "-q", "-i", f)
        self.assertEqual(out, "Loaded image ID: " + self.manifest["config"]["digest"])
        self.mx.run("tag", self.manifest["config"]["digest"], "test/oa:v2")
        info = self.inspect("test/oa:v2")
        self.assertEqual(info["RepoDigests"], ["test/oa@" + self.man_digest])

    def test_myrmex_oci_dir_is_read_by_skopeo_and_umoci(self):
        self.mx.run("load", "-q", "-i", self.layout)
        self.mx.run("tag", self.manifest["config"]["digest"], "test/img:t")
        out_dir = os.path.join(self.tmp, "out")
        self.mx.run("save", "--format", "oci-dir", "-o", out_dir, "test/img:t")
        insp = json.loads(run("skopeo", "inspect", "oci:%s:t" % out_dir))
        self.assertEqual(insp["Digest"], self.man_digest)
        self.assertEqual(insp["Layers"], [l["digest"] for l in self.manifest["layers"]])
        with open(os.path.join(out_dir, "index.json")) as f:
            idx_desc = json.load(f)["manifests"][0]
        self.assertEqual(idx_desc["annotations"], {
            "io.containerd.image.name": "docker.io/test/img:t",
            "org.opencontainers.image.ref.name": "t"})
        bundle = os.path.join(self.tmp, "umoci-bundle")
        run("umoci", "unpack", "--image", "%s:t" % out_dir, bundle)
        mounted = self.mount("test/img:t")
        entries, links = self.assertSameTree(os.path.join(bundle, "rootfs"), mounted)
        # the test image really has what the comparison is about
        self.assertIn("etc/layer2", entries)
        self.assertNotIn("etc/remove-me", entries)
        self.assertEqual(entries["bin/setuid-tool"]["mode"], 0o4755)
        self.assertEqual(entries["etc/motd"]["xattrs"], {"user.myrmex": b"interop"})
        self.assertEqual(entries["etc/motd.link"]["target"], "motd")
        self.assertEqual(entries["home/user/data"]["uid"], 1000)
        self.assertIn(("bin/busybox", "bin/busybox.hl"), links)

    def test_imported_busybox_round_trips_through_umoci_and_skopeo(self):
        image_id = self.mx.import_busybox("bb:1", gz=True)
        self.assertTrue(image_id.startswith("sha256:"))
        out_dir = os.path.join(self.tmp, "bb")
        self.mx.run("save", "--format", "oci-dir", "-o", out_dir, "bb:1")
        bundle = os.path.join(self.tmp, "bb-bundle")
        run("umoci", "unpack", "--image", "%s:1" % out_dir, bundle)
        self.assertSameTree(os.path.join(bundle, "rootfs"), self.mount("bb:1"))
        # docker-archive and oci-archive: skopeo reads both, and they load back unchanged
        da = os.path.join(self.tmp, "bb.tar")
        oa = os.path.join(self.tmp, "bb-oci.tar")
        self.mx.run("save", "-o", da, "bb:1")
        self.mx.run("save", "--format", "oci-archive", "-o", oa, "bb:1")
        insp = json.loads(run("skopeo", "inspect", "docker-archive:" + da))
        self.assertEqual(insp["RepoTags"], [])
        run("skopeo", "copy", "docker-archive:" + da, "oci:%s:x" % os.path.join(self.tmp, "X"))
        run("skopeo", "copy", "oci-archive:%s:1" % oa, "oci:%s:y" % os.path.join(self.tmp, "Y"))
        other = harness.Myrmex()
        self.addCleanup(other.cleanup)
        self.assertEqual(other.out("load", "-q", "-i", da), "Loaded image: docker.io/library/bb:1")
        self.assertEqual(json.loads(other.out("inspect", "bb:1"))[0]["Id"], image_id)
        # saving twice gives the same bytes
        da2 = os.path.join(self.tmp, "bb2.tar")
        self.mx.run("save", "-o", da2, "bb:1")
        with open(da, "rb") as f1, open(da2, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())


if __name__ == "__main__":
    unittest.main()
