# SPDX-License-Identifier: Apache-2.0
"""`myrmex load` refuses every archive of the hostile corpus (tests/data/archives/hostile,
made by tests/data/archives/make-archives.py) with a clear error and a non-zero exit, and
leaves no image, no tag and nothing that `system check` calls a problem."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ARCHIVES = os.path.join(harness.REPO, "tests", "data", "archives")
HOSTILE = os.path.join(ARCHIVES, "hostile")

# What each refusal must say (a word of the message), so a refusal for the wrong reason
# fails the test.
EXPECTED = {
    "docker-config-digest-mismatch.tar": "digest",
    "docker-config-malformed.tar": "not valid JSON",
    "docker-diffid-count.tar": "diff_ids",
    "docker-layer-diffid-mismatch.tar": "diffID",
    "docker-manifest-path-escape.tar": "climbs out",
    "docker-manifestjson-malformed.tar": "manifest.json",
    "docker-missing-layer.tar": "no member",
    "docker-symlink-escape.tar": "outside the archive",
    "docker-traversal-absolute.tar": "absolute name",
    "docker-traversal-dotdot.tar": "climbs out",
    "docker-truncated.tar": "Truncated",
    "docker-truncated.tar.gz": "truncated gzip",
    "empty.tar": "empty",
    "not-an-archive.bin": "Unrecognized archive",
    "oci-config-digest-mismatch.tar": "digest mismatch",
    "oci-config-malformed.tar": "not valid JSON",
    "oci-config-wrong-mediatype.tar": "config media type",
    "oci-index-malformed.tar": "index.json",
    "oci-index-not-object.tar": "not a JSON object",
    "oci-index-wrong-mediatype.tar": "not an image manifest",
    "oci-layer-digest-mismatch.tar": "digest mismatch",
    "oci-layer-wrong-mediatype.tar": "media type",
    "oci-manifest-malformed.tar": "not valid JSON",
    "oci-manifest-size-absurd.tar": "more than",
    "oci-missing-blob.tar": "missing",
    "oci-size-absurd.tar": "more than",
    "oci-size-mismatch.tar": "declares 7 bytes",
    "oci-size-negative.tar": "negative",
    "oci-traversal-blob.tar": "climbs out",
    "tar-size-absurd.tar": "more than",
}


class HostileArchivesTest(harness.MyrmexTestCase):
    def assert_store_clean(self):
        self.assertEqual(self.mx.out("images", "-q", "--no-trunc"), "")
        cp = self.mx.run("system", "check", check=False)
        self.assertEqual(cp.returncode, 0, "system check: %s%s" % (cp.stdout, cp.stderr))

    def test_corpus_is_complete(self):
        self.assertEqual(sorted(os.listdir(HOSTILE)), sorted(EXPECTED))

    def test_corpus_is_reproducible(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, os.path.join(ARCHIVES, "make-archives.py"), d],
                           check=True)
            for name in EXPECTED:
                with open(os.path.join(d, "hostile", name), "rb") as a, \
                        open(os.path.join(HOSTILE, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)

    def test_each_refused_from_file(self):
        for name, word in sorted(EXPECTED.items()):
            with self.subTest(archive=name):
                cp = self.mx.run("load", "-q", "-i", os.path.join(HOSTILE, name), check=False)
                self.assertNotEqual(cp.returncode, 0, "loaded: %s" % cp.stdout)
                self.assertEqual(cp.stdout, "")
                self.assertTrue(cp.stderr.startswith("myrmex: error: "), cp.stderr)
                self.assertIn(word, cp.stderr)
                self.assertEqual(len(cp.stderr.strip().splitlines()), 1, cp.stderr)
                self.assert_store_clean()

    def test_each_refused_from_stdin(self):
        for name, word in sorted(EXPECTED.items()):
            with self.subTest(archive=name):
                with open(os.path.join(HOSTILE, name), "rb") as f:
                    cp = self.mx.run("load", "-q", input=f.read(), check=False)
                self.assertNotEqual(cp.returncode, 0)
                self.assertIn(word.encode(), cp.stderr)
        self.assert_store_clean()

    def test_refusal_keeps_existing_images_and_tags(self):
        good = os.path.join(ARCHIVES, "good", "docker-basic.tar")
        self.assertEqual(self.mx.out("load", "-q", "-i", good),
                         "Loaded image: example.com/app:v1")
        before = self.mx.out("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
        for name in sorted(EXPECTED):
            self.mx.run("load", "-q", "-i", os.path.join(HOSTILE, name), check=False)
        after = self.mx.out("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
        self.assertEqual(before, after)
        self.assertEqual(self.mx.run("system", "check").returncode, 0)
        # blobs the refused loads wrote are garbage, and gc takes them away
        self.mx.run("system", "prune", "-f", check=False)
        self.assertEqual(self.mx.run("system", "check").returncode, 0)


if __name__ == "__main__":
    unittest.main()
