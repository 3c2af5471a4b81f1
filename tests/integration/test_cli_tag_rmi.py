# SPDX-License-Identifier: Apache-2.0
"""myrmex tag, rmi and image prune, with Docker's output lines."""

import json
import os
import unittest

from harness import MyrmexTestCase, require_root


class TestTag(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.id = self.mx.import_busybox("busybox:latest")

    def tags(self):
        return json.loads(self.mx.out("inspect", self.id))[0]["RepoTags"]

    def test_tag_forms(self):
        self.assertEqual(self.mx.run("tag", "busybox", "myrepo/bb:1.0").stdout, "")
        self.mx.run("tag", self.id[7:19], "localhost:5000/a/b")
        self.mx.run("tag", "busybox:latest", "docker.io/other/x:2")
        self.assertEqual(sorted(self.tags()), ["busybox:latest", "localhost:5000/a/b:latest",
                                               "myrepo/bb:1.0", "other/x:2"])
        self.mx.run("image", "tag", "busybox", "viaalias:1")
        self.assertIn("viaalias:1", self.tags())

    def test_tag_moves(self):
        other = self.mx.import_busybox(None, variant="other")
        self.mx.run("tag", other, "busybox:latest")
        self.assertEqual(json.loads(self.mx.out("inspect", "busybox"))[0]["Id"], other)
        self.assertEqual(self.tags(), [])

    def test_tag_errors(self):
        cp = self.mx.run("tag", "busybox", "Bad/Upper", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("myrmex: error:", cp.stderr)
        self.assertIn("Bad/Upper", cp.stderr)
        cp = self.mx.run("tag", "nosuch", "x:1", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("nosuch", cp.stderr)
        cp = self.mx.run("tag", "busybox", check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("Usage:  myrmex tag", cp.stderr)


class TestRmi(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.id = self.mx.import_busybox("busybox:latest")

    def test_untag_one_of_two(self):
        self.mx.run("tag", "busybox", "myrepo/bb:1.0")
        out = self.mx.run("rmi", "myrepo/bb:1.0").stdout
        self.assertEqual(out, "Untagged: myrepo/bb:1.0\n")
        self.assertEqual(self.mx.out("images", "-q"), self.id[7:19])

    def test_delete_last_tag(self):
        lines = self.mx.run("rmi", "busybox").stdout.splitlines()
        self.assertEqual(lines[0], "Untagged: busybox:latest")
        self.assertEqual(lines[1], "Deleted: " + self.id)
        for line in lines[2:]:
            self.assertRegex(line, r"^Deleted: sha256:[0-9a-f]{64}$")
        self.assertEqual(self.mx.out("images", "-q"), "")
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_id_in_several_repositories_needs_force(self):
        self.mx.run("tag", "busybox", "myrepo/bb:1.0")
        cp = self.mx.run("rmi", self.id[7:19], check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("-f", cp.stderr)
        self.assertTrue(cp.stderr.startswith("myrmex: error: "), cp.stderr)
        self.assertEqual(len(self.mx.out("images", "-q").split()), 2)
        lines = self.mx.run("rmi", "-f", self.id[7:19]).stdout.splitlines()
        self.assertEqual(sorted(l for l in lines if l.startswith("Untagged: ")),
                         ["Untagged: busybox:latest", "Untagged: myrepo/bb:1.0"])
        self.assertIn("Deleted: " + self.id, lines)
        self.assertEqual(self.mx.out("images", "-q"), "")

    def test_missing_and_continue(self):
        self.mx.run("tag", "busybox", "keep:1")
        cp = self.mx.run("rmi", "nosuch", "keep:1", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("nosuch", cp.stderr)
        self.assertEqual(cp.stdout, "Untagged: keep:1\n")
        cp = self.mx.run("rmi", check=False)
        self.assertEqual(cp.returncode, 2)

    def test_mounted_image_needs_force(self):
        require_root()
        path = self.mx.out("image", "mount", "busybox")
        self.assertTrue(os.path.isfile(os.path.join(path, "bin", "busybox")))
        cp = self.mx.run("rmi", "busybox", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("mounted", cp.stderr)
        self.assertEqual(self.mx.out("images", "-q", "--no-trunc"), self.id)
        lines = self.mx.run("rmi", "-f", "busybox").stdout.splitlines()
        self.assertEqual(lines[:2], ["Untagged: busybox:latest", "Deleted: " + self.id])
        with open("/proc/self/mounts") as f:
            self.assertNotIn(path, f.read())
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_image_rm_alias(self):
        self.assertEqual(self.mx.run("image", "rm", "busybox").stdout.splitlines()[0],
                         "Untagged: busybox:latest")


class TestImagePrune(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.tagged = self.mx.import_busybox("busybox:latest")
        self.dangling = self.mx.import_busybox(None, gz=True, variant="dangling")

    def ids(self):
        return set(self.mx.out("images", "-q", "--no-trunc").split())

    def test_prune_dangling(self):
        out = self.mx.run("image", "prune", "-f").stdout
        self.assertTrue(out.startswith("Deleted Images:\n"), out)
        self.assertIn("deleted: " + self.dangling, out.splitlines())
        self.assertRegex(out.splitlines()[-1], r"^Total reclaimed space: \d+(\.\d+)?[kMG]?B$")
        self.assertEqual(self.ids(), {self.tagged})
        out = self.mx.run("image", "prune", "-f").stdout
        self.assertEqual(out, "Total reclaimed space: 0B\n")

    def test_prune_all(self):
        out = self.mx.run("image", "prune", "-a", "-f").stdout
        self.assertIn("untagged: busybox:latest", out.splitlines())
        self.assertEqual(self.ids(), set())
        self.assertEqual(self.mx.run("system", "check").returncode, 0)

    def test_confirmation(self):
        out = self.mx.run("image", "prune", input="n\n").stdout
        self.assertIn("WARNING! This will remove all dangling images.", out)
        self.assertIn("Are you sure you want to continue? [y/N]", out)
        self.assertEqual(len(self.ids()), 2)
        self.mx.run("image", "prune", input="")  # end of input is "no"
        self.assertEqual(len(self.ids()), 2)
        out = self.mx.run("image", "prune", input="y\n").stdout
        self.assertIn("deleted: " + self.dangling, out)
        self.assertEqual(self.ids(), {self.tagged})


if __name__ == "__main__":
    unittest.main()
