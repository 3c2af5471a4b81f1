# SPDX-License-Identifier: Apache-2.0
"""myrmex inspect and history: Docker's shapes, templates, errors."""

import json
import shutil
import unittest

from harness import MyrmexTestCase, require_root


class TestInspect(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.id = self.mx.import_busybox("busybox:latest")

    def test_array_of_one_object(self):
        out = self.mx.run("inspect", "busybox").stdout
        self.assertTrue(out.startswith("[\n    {\n"), out[:40])
        arr = json.loads(out)
        self.assertIsInstance(arr, list)
        self.assertEqual(len(arr), 1)
        obj = arr[0]
        self.assertEqual(obj["Id"], self.id)
        self.assertEqual(obj["RepoTags"], ["busybox:latest"])
        self.assertEqual(obj["Os"], "linux")
        self.assertEqual(obj["RootFS"]["Type"], "layers")
        self.assertEqual(len(obj["RootFS"]["Layers"]), 1)
        self.assertIsInstance(obj["Size"], int)

    def test_lookups(self):
        for what in ("busybox", "busybox:latest", "docker.io/library/busybox:latest",
                     self.id, self.id[7:], self.id[7:19], self.id[:19]):
            with self.subTest(what=what):
                self.assertEqual(json.loads(self.mx.out("inspect", what))[0]["Id"], self.id)

    def test_alias_and_type(self):
        self.assertEqual(self.mx.run("image", "inspect", "busybox").stdout,
                         self.mx.run("inspect", "busybox").stdout)
        self.assertEqual(self.mx.run("inspect", "--type", "image", "busybox").stdout,
                         self.mx.run("inspect", "busybox").stdout)
        cp = self.mx.run("inspect", "--type", "volume", "busybox", check=False)
        self.assertEqual(cp.returncode, 2)

    def test_missing(self):
        cp = self.mx.run("inspect", "nosuch", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertEqual(json.loads(cp.stdout), [])
        self.assertIn("myrmex: error: no such object: 'nosuch'", cp.stderr)
        cp = self.mx.run("inspect", "busybox", "nosuch", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertEqual([o["Id"] for o in json.loads(cp.stdout)], [self.id])
        cp = self.mx.run("inspect", "--type", "image", "nosuch", check=False)
        self.assertIn("no such image: 'nosuch'", cp.stderr)
        cp = self.mx.run("inspect", check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("Usage:  myrmex inspect", cp.stderr)

    def test_templates(self):
        self.mx.run("tag", "busybox", "other/bb:2")
        f = lambda t: self.mx.out("inspect", "--format", t, "busybox")
        self.assertEqual(f("{{.Id}}"), self.id)
        self.assertEqual(f("{{json .RepoTags}}"), '["busybox:latest","other/bb:2"]')
        self.assertEqual(f('{{join .RepoTags ","}}'), "busybox:latest,other/bb:2")
        self.assertEqual(f("{{index .RepoTags 1}}"), "other/bb:2")
        self.assertEqual(f("{{len .RepoTags}}"), "2")
        self.assertEqual(f("{{range .RepoTags}}[{{.}}]{{end}}"),
                         "[busybox:latest][other/bb:2]")
        self.assertEqual(f("{{.RootFS.Type}}"), "layers")
        self.assertEqual(f("{{if .Parent}}p{{else}}no parent{{end}}"), "no parent")
        self.assertEqual(f("{{upper .Os}}/{{.Architecture}}"),
                         "LINUX/" + json.loads(self.mx.out("inspect", "busybox"))[0]
                         ["Architecture"])
        self.assertEqual(json.loads(f("{{json .RootFS}}"))["Type"], "layers")
        # one line per object
        out = self.mx.out("inspect", "--format", "{{.Id}}", "busybox", "other/bb:2")
        self.assertEqual(out.splitlines(), [self.id, self.id])


class TestInspectContainers(MyrmexTestCase):
    """inspect resolves containers first, then images, as Docker does."""

    def setUp(self):
        super().setUp()
        require_root()
        if not (shutil.which("crun") or shutil.which("runc")):
            self.skipTest("no OCI runtime (apt-get install runc crun)")
        self.image = self.mx.import_busybox("busybox:latest")
        # a container with the image's name
        self.cid = self.mx.out("create", "--name", "busybox", "busybox", "true")
        self.addCleanup(self.mx.run, "rm", "-f", self.cid, check=False)

    def test_container_first_type_chooses(self):
        obj = json.loads(self.mx.out("inspect", "busybox"))[0]
        self.assertEqual(obj["Id"], self.cid)
        self.assertEqual(obj["Name"], "/busybox")
        self.assertEqual(obj["State"]["Status"], "created")
        obj = json.loads(self.mx.out("inspect", "--type", "image", "busybox"))[0]
        self.assertEqual(obj["Id"], self.image)
        obj = json.loads(self.mx.out("inspect", "--type", "container", "busybox"))[0]
        self.assertEqual(obj["Id"], self.cid)
        both = json.loads(self.mx.out("inspect", self.cid[:12], self.image))
        self.assertEqual([o["Id"] for o in both], [self.cid, self.image])
        cp = self.mx.run("inspect", "--type", "container", self.image, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("no such container", cp.stderr)


class TestHistory(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.id = self.mx.import_busybox("busybox:latest")

    def test_table(self):
        lines = self.mx.run("history", "busybox").stdout.splitlines()
        self.assertRegex(lines[0], r"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$")
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].startswith(self.id[7:19] + "   "), lines[1])
        self.assertRegex(lines[1], r"\d+(\.\d+)?[kM]B")
        self.assertIn("Imported from", lines[1])

    def test_json_and_quiet(self):
        rows = self.mx.json_lines("history", "--format", "json", "busybox")
        self.assertEqual(len(rows), 1)
        self.assertEqual(set(rows[0]), {"Comment", "CreatedAt", "CreatedBy", "CreatedSince",
                                        "ID", "Size"})
        self.assertEqual(rows[0]["ID"], self.id[7:19])
        self.assertRegex(rows[0]["CreatedAt"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(self.mx.out("history", "-q", "busybox"), self.id[7:19])
        self.assertEqual(self.mx.out("history", "-q", "--no-trunc", "busybox"), self.id)

    def test_not_human(self):
        size = json.loads(self.mx.out("inspect", "busybox"))[0]["Size"]
        for flag in ("-H=false", "--human=false"):
            rows = self.mx.json_lines("history", flag, "--format", "json", "busybox")
            self.assertRegex(rows[0]["CreatedSince"], r"^\d{4}-\d\d-\d\dT")
            self.assertRegex(rows[0]["Size"], r"^\d+$")
            self.assertLessEqual(abs(int(rows[0]["Size"]) - size), size)

    def test_alias_template_and_errors(self):
        self.assertEqual(self.mx.run("image", "history", "busybox").stdout,
                         self.mx.run("history", "busybox").stdout)
        self.assertEqual(self.mx.out("history", "--format", "{{.ID}}|{{.Comment}}",
                                     "busybox").split("|")[0], self.id[7:19])
        cp = self.mx.run("history", "nosuch", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertRegex(cp.stderr, r"^myrmex: error: .*'nosuch'")
        cp = self.mx.run("history", check=False)
        self.assertEqual(cp.returncode, 2)


if __name__ == "__main__":
    unittest.main()
