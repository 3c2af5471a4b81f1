# SPDX-License-Identifier: Apache-2.0
"""myrmex images / image ls: Docker's columns, JSON fields, templates, filters."""

import json
import re
import unittest

from harness import MyrmexTestCase

DOCKER_IMAGE_FIELDS = {"Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                       "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"}
HEADER = "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE"


def columns(header):
    """Start offsets of the header's column titles (titles may hold one space)."""
    return [m.start() for m in re.finditer(r"(?:(?<=\s\s)|^)\S+(?: \S+)?", header)]


class TestImagesEmpty(MyrmexTestCase):
    def test_empty_store_prints_header_only(self):
        out = self.mx.run("images").stdout
        self.assertEqual(out, HEADER + "\n")

    def test_empty_json_prints_nothing(self):
        self.assertEqual(self.mx.run("images", "--format", "json").stdout, "")

    def test_quiet_empty(self):
        self.assertEqual(self.mx.run("images", "-q").stdout, "")


class TestImages(MyrmexTestCase):
    def setUp(self):
        super().setUp()
        self.id = self.mx.import_busybox("busybox:latest")
        self.assertRegex(self.id, r"^sha256:[0-9a-f]{64}$")
        self.short = self.id[7:19]

    def test_table_row(self):
        lines = self.mx.run("images").stdout.splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith("REPOSITORY   TAG       IMAGE ID       CREATED"),
                        lines[0])
        cells = re.split(r"\s{2,}", lines[1].strip())
        self.assertEqual(cells[0], "busybox")
        self.assertEqual(cells[1], "latest")
        self.assertEqual(cells[2], self.short)
        self.assertRegex(cells[3], r"^(Less than a second|\d+ seconds|About a minute) ago$")
        self.assertRegex(cells[4], r"^\d+(\.\d+)?MB$")
        # every cell starts under its header
        for col, cell in zip(columns(lines[0]), cells):
            self.assertEqual(lines[1][col:col + len(cell)], cell)

    def test_json_lines_have_docker_fields(self):
        rows = self.mx.json_lines("images", "--format", "json")
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(set(row), DOCKER_IMAGE_FIELDS)
        self.assertEqual(row["ID"], self.short)
        self.assertEqual(row["Repository"], "busybox")
        self.assertEqual(row["Tag"], "latest")
        self.assertRegex(row["CreatedAt"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$")
        self.assertRegex(row["Digest"], r"^sha256:[0-9a-f]{64}$")
        self.assertEqual(row["Size"], row["VirtualSize"])
        # keys sorted as Docker's {{json .}} prints them
        line = self.mx.run("images", "--format", "json").stdout.splitlines()[0]
        self.assertEqual(list(json.loads(line)), sorted(DOCKER_IMAGE_FIELDS))

    def test_size_is_docker_human_size(self):
        row = self.mx.json_lines("images", "--format", "json")[0]
        inspect = json.loads(self.mx.run("inspect", "busybox").stdout)[0]
        size = inspect["Size"]
        for unit, div in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
            if row["Size"].endswith(unit) and not row["Size"].endswith("B" + unit):
                value = float(row["Size"][:-len(unit)])
                self.assertAlmostEqual(value, float("%.3g" % (size / div)))
                break
        else:
            self.fail("unexpected size %r" % row["Size"])

    def test_quiet_and_no_trunc(self):
        self.assertEqual(self.mx.out("images", "-q"), self.short)
        self.assertEqual(self.mx.out("images", "-q", "--no-trunc"), self.id)
        row = self.mx.json_lines("images", "--no-trunc", "--format", "json")[0]
        self.assertEqual(row["ID"], self.id)

    def test_templates(self):
        self.assertEqual(self.mx.out("images", "--format", "{{.Repository}}:{{.Tag}}"),
                         "busybox:latest")
        out = self.mx.run("images", "--format", r"table {{.ID}}\t{{.Size}}").stdout
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("IMAGE ID       SIZE"), lines[0])
        self.assertTrue(lines[1].startswith(self.short + "   "), lines[1])
        self.assertEqual(self.mx.out("images", "--format", "{{json .Repository}}"),
                         '"busybox"')
        self.assertEqual(self.mx.out("images", "--format", "{{lower .Tag | upper}}"), "LATEST")

    def test_bad_template_is_usage_error(self):
        cp = self.mx.run("images", "--format", "{{.ID", check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("myrmex: error:", cp.stderr)
        cp = self.mx.run("images", "--format", "{{nosuchfunc .ID}}", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("nosuchfunc", cp.stderr)

    def test_one_row_per_tag_familiar_names(self):
        self.mx.run("tag", "busybox", "myrepo/bb:1.0")
        self.mx.run("tag", "busybox", "localhost:5000/x/y:2")
        self.mx.run("tag", "busybox", "docker.io/library/busybox:musl")
        rows = self.mx.json_lines("images", "--format", "json")
        got = sorted((r["Repository"], r["Tag"]) for r in rows)
        self.assertEqual(got, [("busybox", "latest"), ("busybox", "musl"),
                               ("localhost:5000/x/y", "2"), ("myrepo/bb", "1.0")])
        self.assertEqual({r["ID"] for r in rows}, {self.short})
        self.assertEqual(self.mx.out("images", "-q").split(), [self.short] * 4)

    def test_repository_argument_and_reference_filter(self):
        self.mx.run("tag", "busybox", "myrepo/bb:1.0")
        self.mx.run("tag", "busybox", "myrepo/bb:2.0")
        fmt = ("--format", "{{.Repository}}:{{.Tag}}")
        self.assertEqual(self.mx.out("images", "myrepo/bb", *fmt).split(),
                         ["myrepo/bb:1.0", "myrepo/bb:2.0"])
        self.assertEqual(self.mx.out("images", "myrepo/bb:2.0", *fmt), "myrepo/bb:2.0")
        self.assertEqual(self.mx.out("images", "busybox", *fmt), "busybox:latest")
        self.assertEqual(self.mx.out("images", "nosuch", *fmt), "")
        self.assertEqual(self.mx.out("images", "--filter", "reference=my*/*", *fmt).split(),
                         ["myrepo/bb:1.0", "myrepo/bb:2.0"])
        self.assertEqual(self.mx.out("images", "-f", "reference=*/*:1.0", *fmt),
                         "myrepo/bb:1.0")
        # as Docker's path.Match: '*' does not cross '/'
        self.assertEqual(self.mx.out("images", "-f", "reference=*:1.0", *fmt), "")

    def test_dangling(self):
        dangling = self.mx.import_busybox(None, variant="dangling")
        rows = self.mx.json_lines("images", "--format", "json")
        self.assertEqual(len(rows), 2)
        none = [r for r in rows if r["Repository"] == "<none>"]
        self.assertEqual(len(none), 1)
        self.assertEqual(none[0]["Tag"], "<none>")
        self.assertEqual(none[0]["ID"], dangling[7:19])
        self.assertEqual(self.mx.out("images", "-q", "--filter", "dangling=true"),
                         dangling[7:19])
        self.assertEqual(self.mx.out("images", "-q", "--filter", "dangling=false"), self.short)
        cp = self.mx.run("images", "--filter", "dangling=maybe", check=False)
        self.assertEqual(cp.returncode, 2)
        cp = self.mx.run("images", "--filter", "color=blue", check=False)
        self.assertEqual(cp.returncode, 2)

    def test_aliases(self):
        self.assertEqual(self.mx.run("image", "ls").stdout, self.mx.run("images").stdout)
        self.assertEqual(self.mx.run("image", "list", "-q").stdout,
                         self.mx.run("images", "-q").stdout)

    def test_digests_column(self):
        lines = self.mx.run("images", "--digests").stdout.splitlines()
        self.assertIn("DIGEST", lines[0])
        self.assertRegex(lines[1], r"\ssha256:[0-9a-f]{64}\s")

    def test_pipe_closed_early_is_quiet(self):
        import subprocess
        for i in range(30):
            self.mx.run("tag", "busybox", "many/tag:%d" % i)
        p = subprocess.Popen(self.mx.command("images", "--format", "json"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.mx.env)
        p.stdout.close()
        err = p.stderr.read()
        p.wait(60)
        p.stderr.close()
        self.assertEqual(err, b"")
        self.assertIn(p.returncode, (0, 1))
        self.assertGreaterEqual(p.returncode, 0, "killed by a signal")


if __name__ == "__main__":
    unittest.main()
