# SPDX-License-Identifier: Apache-2.0
"""`image mount` / `image unmount`: a read-only view of an image, counted per caller as
podman counts it, that `rmi` refuses to pull away without -f; and import/save/load verbs'
command-line behaviour."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def mounted_under(root):
    with open("/proc/self/mounts") as f:
        return [l.split()[1] for l in f if l.split()[1].startswith(root + "/")]


class ImageMountTest(harness.MyrmexTestCase):
    def setUp(self):
        harness.require_root()
        super().setUp()
        self.id = self.mx.import_busybox("bb:1")

    def test_mount_is_read_only_and_counted(self):
        p1 = self.mx.out("image", "mount", "bb:1")
        p2 = self.mx.out("image", "mount", self.id[7:19])
        self.assertEqual(p1, p2)
        self.assertEqual(p1, os.path.join(self.mx.root, "mounts", self.id[7:]))
        self.assertTrue(os.path.islink(os.path.join(p1, "bin", "sh")))
        self.assertTrue(os.path.isfile(os.path.join(p1, "bin", "busybox")))
        with self.assertRaises(OSError):
            open(os.path.join(p1, "etc", "new-file"), "w").close()
        self.assertEqual(mounted_under(self.mx.root), [p1])
        self.assertEqual(self.mx.out("image", "unmount", "bb:1"), "bb:1")
        self.assertEqual(mounted_under(self.mx.root), [p1])  # one holder left
        self.mx.run("image", "unmount", "bb:1")
        self.assertEqual(mounted_under(self.mx.root), [])
        self.assertFalse(os.path.exists(p1))
        cp = self.mx.run("image", "unmount", "bb:1", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("not mounted", cp.stderr)
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_rmi_refuses_a_mounted_image_without_force(self):
        self.mx.run("image", "mount", "bb:1")
        cp = self.mx.run("rmi", "bb:1", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("mounted", cp.stderr)
        self.assertIn(self.id, self.mx.out("images", "-q", "--no-trunc"))
        self.mx.run("rmi", "-f", "bb:1")
        self.assertEqual(mounted_under(self.mx.root), [])
        self.assertEqual(self.mx.out("images", "-q"), "")
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_unmount_all(self):
        other = self.mx.out("load", "-q", "-i", os.path.join(
            harness.REPO, "tests", "data", "archives", "good", "docker-three-layers.tar"))
        self.assertEqual(other, "Loaded image: example.com/crash:v3")
        self.mx.run("image", "mount", "bb:1")
        self.mx.run("image", "mount", "bb:1")
        p = self.mx.out("image", "mount", "example.com/crash:v3")
        with open(os.path.join(p, "etc", "version")) as f:
            self.assertEqual(f.read(), "2\n")
        self.assertFalse(os.path.exists(os.path.join(p, "etc", "motd")))  # whiteout
        self.assertEqual(len(mounted_under(self.mx.root)), 2)
        self.mx.run("image", "unmount", "--all")
        self.assertEqual(mounted_under(self.mx.root), [])

    def test_verb_usage_errors(self):
        cp = self.mx.run("save", "--format", "oci-dir", "bb:1", check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("needs -o", cp.stderr)
        cp = self.mx.run("save", "--format", "zip", "-o", os.path.join(self.tmp, "x"), "bb:1",
                         check=False)
        self.assertEqual(cp.returncode, 2)
        cp = self.mx.run("save", "-o", os.path.join(self.tmp, "x.tar"), "nope:1", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("no such image", cp.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.tar")))
        cp = self.mx.run("import", os.path.join(self.tmp, "missing.tar"), "x:1", check=False)
        self.assertEqual(cp.returncode, 1)
        cp = self.mx.run("import", "-", "x:1", input=b"not a tarball at all" * 40, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn(b"not a tar archive", cp.stderr)
        cp = self.mx.run("image", "mount", check=False)
        self.assertEqual(cp.returncode, 2)

    def test_import_from_stdin_prints_the_id(self):
        with open(harness.busybox_tar(gz=True), "rb") as f:
            cp = self.mx.run("import", "-", "bb:2", input=f.read())
        new_id = cp.stdout.decode().strip()
        self.assertTrue(new_id.startswith("sha256:") and len(new_id) == 71, new_id)
        # the same tarball, gzipped or not, makes the same layer
        layers = lambda ref: json.loads(self.mx.out("inspect", ref))[0]["RootFS"]["Layers"]
        self.assertEqual(layers("bb:2"), layers("bb:1"))
        # and it saves to stdout, which loads back
        cp = self.mx.run("save", "bb:2", text=False)
        other = harness.Myrmex()
        self.addCleanup(other.cleanup)
        self.assertEqual(other.run("load", input=cp.stdout).stdout.decode().splitlines()[-1],
                         "Loaded image: docker.io/library/bb:2")


if __name__ == "__main__":
    unittest.main()
