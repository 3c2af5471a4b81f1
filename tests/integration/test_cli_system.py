# SPDX-License-Identifier: Apache-2.0
"""myrmex system check/df/prune, info, version, and the command framework itself
(global options, usage errors, aliases, progress lines, error format)."""

import json
import os
import re
import subprocess
import unittest

from harness import Myrmex, MyrmexTestCase


class TestSystemCheck(MyrmexTestCase):
    def test_clean_store(self):
        cp = self.mx.run("system", "check")
        self.assertEqual(cp.returncode, 0)
        self.assertIn("no problems found", cp.stdout)
        self.mx.import_busybox()
        self.assertEqual(self.mx.run("system", "check").returncode, 0)
        report = json.loads(self.mx.out("system", "check", "--format", "json"))
        self.assertTrue(report["Clean"])
        self.assertEqual(report["Problems"], [])
        self.assertEqual(os.path.realpath(report["Root"]), os.path.realpath(self.mx.root))

    def corrupt_config(self, image_id):
        path = os.path.join(self.mx.root, "blobs", "sha256", image_id[7:])
        self.assertTrue(os.path.exists(path), path)
        with open(path, "r+b") as f:
            f.write(b"garbage")
        return path

    def test_corrupt_blob_is_a_problem_until_repaired(self):
        image_id = self.mx.import_busybox()
        self.corrupt_config(image_id)
        cp = self.mx.run("system", "check", check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertRegex(cp.stdout, r"(?m)^problem: .*%s" % image_id[7:19])
        report = json.loads(self.mx.run("system", "check", "--format", "json",
                                        check=False).stdout)
        self.assertFalse(report["Clean"])
        self.assertGreaterEqual(len(report["Problems"]), 1)
        cp = self.mx.run("system", "check", "--repair", check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertRegex(cp.stdout, r"(?m)^repaired: ")
        self.assertEqual(self.mx.run("system", "check").returncode, 0)
        self.assertEqual(self.mx.out("images", "-q"), "")

    def test_usage(self):
        cp = self.mx.run("system", "check", "extra", check=False)
        self.assertEqual(cp.returncode, 2)
        cp = self.mx.run("system", "check", "--format", "yaml", check=False)
        self.assertEqual(cp.returncode, 2)


class TestSystemDf(MyrmexTestCase):
    def test_table_and_json(self):
        lines = self.mx.run("system", "df").stdout.splitlines()
        self.assertRegex(lines[0], r"^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$")
        self.assertEqual([re.split(r"\s{2,}", l)[0] for l in lines[1:]],
                         ["Images", "Containers", "Local Volumes", "Build Cache"])
        self.mx.import_busybox()
        rows = self.mx.json_lines("system", "df", "--format", "json")
        self.assertEqual([r["Type"] for r in rows],
                         ["Images", "Containers", "Local Volumes", "Build Cache"])
        images = rows[0]
        self.assertEqual(set(images), {"Active", "Reclaimable", "Size", "TotalCount", "Type"})
        self.assertEqual(images["TotalCount"], "1")
        self.assertEqual(images["Active"], "0")
        self.assertRegex(images["Size"], r"^\d+(\.\d+)?[kMG]B$")
        self.assertRegex(images["Reclaimable"], r"^\d+(\.\d+)?[kMG]B \(\d+%\)$")
        out = self.mx.out("system", "df", "--format", "{{.Type}}={{.TotalCount}}")
        self.assertEqual(out.splitlines()[0], "Images=1")

    def test_volumes_row(self):
        self.mx.run("volume", "create", "data")
        mountpoint = json.loads(self.mx.out("volume", "inspect", "data"))[0]["Mountpoint"]
        with open(os.path.join(mountpoint, "blob"), "wb") as f:
            f.write(b"x" * 300000)
        rows = {r["Type"]: r for r in self.mx.json_lines("system", "df", "--format", "json")}
        vol = rows["Local Volumes"]
        self.assertEqual(vol["TotalCount"], "1")
        self.assertEqual(vol["Active"], "0")
        self.assertEqual(vol["Size"], "300kB")
        self.assertEqual(vol["Reclaimable"], "300kB (100%)")

    def test_verbose(self):
        image_id = self.mx.import_busybox()
        out = self.mx.run("system", "df", "-v").stdout
        self.assertIn("Images space usage:", out)
        self.assertRegex(out, r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE"
                              r"\s+UNIQUE SIZE\s+CONTAINERS")
        self.assertRegex(out, r"(?m)^busybox\s+latest\s+%s\s" % image_id[7:19])
        self.assertIn("Build cache usage:", out)


class TestSystemPrune(MyrmexTestCase):
    def test_prune(self):
        tagged = self.mx.import_busybox()
        dangling = self.mx.import_busybox(None, variant="d")
        out = self.mx.run("system", "prune", "-f").stdout
        self.assertIn("deleted: " + dangling, out)
        self.assertRegex(out, r"(?m)^Total reclaimed space: ")
        self.assertEqual(self.mx.out("images", "-q", "--no-trunc"), tagged)
        out = self.mx.run("system", "prune", input="n\n").stdout
        self.assertIn("WARNING! This will remove:", out)
        self.assertEqual(self.mx.out("images", "-q", "--no-trunc"), tagged)
        self.mx.run("system", "prune", "-a", "-f")
        self.assertEqual(self.mx.out("images", "-q"), "")
        self.assertEqual(self.mx.run("system", "check").returncode, 0)
        blobs = os.path.join(self.mx.root, "blobs", "sha256")
        self.assertEqual(os.listdir(blobs) if os.path.isdir(blobs) else [], [])


    def test_prune_networks_and_anonymous_volumes(self):
        self.mx.run("network", "create", "prunenet")
        anon = self.mx.out("volume", "create")
        self.mx.run("volume", "create", "keepme")
        out = self.mx.run("system", "prune", "-f").stdout
        self.assertIn("Deleted Networks:\nprunenet\n", out)
        self.assertNotIn("Deleted Volumes", out)
        self.assertIn(anon, self.mx.out("volume", "ls", "-q").split())
        out = self.mx.run("system", "prune", "-f", "--volumes").stdout
        self.assertIn("Deleted Volumes:\n%s\n" % anon, out)
        self.assertEqual(self.mx.out("volume", "ls", "-q").split(), ["keepme"])


class TestInfoVersion(MyrmexTestCase):
    def test_info(self):
        self.mx.import_busybox()
        info = json.loads(self.mx.out("info", "--format", "json"))
        self.assertEqual(os.path.realpath(info["RootDir"]), os.path.realpath(self.mx.root))
        self.assertEqual(info["Images"], 1)
        self.assertIn(info["CgroupVersion"], ("1", "2"))
        self.assertIn(info["CgroupMode"], ("v1", "v2", "hybrid"))
        self.assertEqual(info["OSType"], "linux")
        self.assertGreater(info["NCPU"], 0)
        self.assertGreater(info["StoreSize"]["Blobs"], 0)
        for rt in ("runc", "crun"):
            path = subprocess.run(["sh", "-c", "command -v " + rt], capture_output=True,
                                  text=True).stdout.strip()
            if path:
                self.assertIn(rt, info["Runtimes"])
        self.assertEqual(self.mx.out("info", "--format", "{{.Images}}"), "1")
        text = self.mx.out("info")
        self.assertIn(" Images: 1", text)
        self.assertIn("Root Dir: ", text)

    def test_version(self):
        v = json.loads(self.mx.out("version", "--format", "json"))
        self.assertRegex(v["Version"], r"^\d+\.\d+\.\d+")
        self.assertEqual(v["Os"], "linux")
        self.assertIn("myrmex version " + v["Version"], self.mx.out("version"))
        self.assertEqual(self.mx.out("--version"), "myrmex version " + v["Version"])
        self.assertEqual(self.mx.out("version", "--format", "{{.Version}}"), v["Version"])


class TestFramework(MyrmexTestCase):
    def test_help(self):
        out = self.mx.out("--help")
        for verb in ("images", "inspect", "history", "tag", "rmi", "image prune",
                     "system check", "system df", "system prune", "info", "version"):
            self.assertRegex(out, r"(?m)^  %s\s" % re.escape(verb))
        self.assertNotIn("__", out)
        self.assertIn("Usage:  myrmex images", self.mx.out("images", "--help"))
        self.assertIn("Usage:  myrmex images", self.mx.out("help", "images"))
        self.assertIn("Usage:  myrmex system check", self.mx.out("system", "check", "-h"))
        out = self.mx.out("system")
        self.assertIn("Usage:  myrmex system COMMAND", out)
        self.assertRegex(out, r"(?m)^  check\s")
        self.assertIn("prune", self.mx.out("image", "--help"))

    def test_usage_errors(self):
        for args, needle in ((["nosuchverb"], "unknown command 'nosuchverb'"),
                             (["images", "--bogus"], "unknown flag: --bogus"),
                             (["images", "-Z"], "unknown shorthand flag: 'Z'"),
                             (["images", "--format"], "flag needs an argument"),
                             (["images", "a", "b"], "\"images\" requires at most 1 argument"),
                             (["system", "nosuch"], "unknown command 'system nosuch'"),
                             (["--log-level", "loud", "images"], "invalid log level 'loud'"),
                             (["--bogus"], "unknown flag: --bogus")):
            with self.subTest(args=args):
                cp = self.mx.run(*args, check=False)
                self.assertEqual(cp.returncode, 2, cp.stderr)
                self.assertIn("myrmex: error: " + needle, cp.stderr)
                self.assertEqual(cp.stdout, "")
        cp = self.mx.run("images", "--bogus", check=False)
        self.assertIn("Usage:  myrmex images [OPTIONS]", cp.stderr)

    def test_error_chain_format(self):
        cp = self.mx.run("rmi", "Bad:Ref:x", check=False)
        self.assertEqual(cp.returncode, 1)
        line = cp.stderr.strip().splitlines()[-1]
        self.assertRegex(line, r"^myrmex: error: [^:]+(: [^:]+)*")
        self.assertIn("'Bad:Ref:x'", line)

    def test_root_from_environment(self):
        other = Myrmex()
        self.addCleanup(other.cleanup)
        image_id = other.import_busybox()
        env = dict(os.environ, MYRMEX_ROOT=other.root)
        cp = subprocess.run([self.mx.binary, "images", "-q", "--no-trunc"], env=env,
                            capture_output=True, text=True)
        self.assertEqual(cp.stdout.strip(), image_id)
        # --root wins over MYRMEX_ROOT
        cp = subprocess.run([self.mx.binary, "--root", self.mx.root, "images", "-q"], env=env,
                            capture_output=True, text=True)
        self.assertEqual(cp.stdout.strip(), "")

    def test_log_flags(self):
        for args in (["-v"], ["--verbose"], ["--log-level", "trace"], ["--log-level=error"],
                     ["--log-format", "json", "-v"]):
            with self.subTest(args=args):
                cp = self.mx.run(*(args + ["images", "-q"]))
                self.assertEqual(cp.stdout, "")
                if "json" in args:
                    for line in cp.stderr.splitlines():
                        self.assertIn("level", json.loads(line))
        cp = self.mx.run("--log-format", "xml", "images", check=False)
        self.assertEqual(cp.returncode, 2)

    def test_progress_plain_lines(self):
        self.mx.import_busybox("bb:1")
        archive = os.path.join(self.tmp, "bb.tar")
        self.mx.run("save", "-o", archive, "bb:1")
        other = Myrmex()
        self.addCleanup(other.cleanup)
        cp = other.run("load", "-i", archive)
        self.assertIn("bb:1", cp.stdout)
        lines = [l for l in cp.stderr.splitlines() if l.strip()]
        self.assertTrue(lines, "no progress lines on stderr")
        for l in lines:
            # plain lines, no terminal control sequences, long hex shortened
            self.assertNotIn("\x1b", l)
            self.assertRegex(l, r"^load \S+ (done \d+(\.\d+)?[kMG]?B|already exists)$")
            self.assertNotRegex(l, r"[0-9a-f]{32}")


if __name__ == "__main__":
    unittest.main()
