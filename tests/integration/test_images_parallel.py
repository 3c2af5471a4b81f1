# SPDX-License-Identifier: Apache-2.0
"""Parallel safety: 8 concurrent myrmex processes on one store.

Six workers loop over load / tag / rmi of their previous tag; a seventh keeps loading and
deleting an image that shares layer blobs with theirs (so blobs lose and gain references
under the others' feet); an eighth loads and prunes dangling images (garbage collection while the others write blobs
that are not yet committed). At the end every tag each worker last wrote is there, and
`system check` is clean.
"""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GOOD = os.path.join(harness.REPO, "tests", "data", "archives", "good")
ARCHIVES = [
    ("docker25-layout.tar", "example.com/d25:latest"),
    ("oci-containerd-name.tar", "example.com/oci/app:2"),
    ("docker-three-layers.tar", "example.com/crash:v3"),
    ("oci-two-images.tar.gz", "example.com/multi:two"),
]
ROUNDS = 6


class ParallelTest(unittest.TestCase):
    def test_eight_processes_load_tag_rmi(self):
        mx = harness.Myrmex()
        self.addCleanup(mx.cleanup)
        mx.run("images")  # create the store before the race
        last = {}
        errors = []

        def tagger(i):
            prev = None
            for k in range(ROUNDS):
                archive, name = ARCHIVES[(i + k) % len(ARCHIVES)]
                tag = "example.com/p%d:k%d" % (i, k)
                cp = mx.run("load", "-q", "-i", os.path.join(GOOD, archive), check=False)
                if cp.returncode != 0:
                    errors.append("load %s: %s" % (archive, cp.stderr))
                    return
                cp = mx.run("tag", name, tag, check=False)
                if cp.returncode != 0:
                    errors.append("tag %s %s: %s" % (name, tag, cp.stderr))
                    return
                last[i] = tag
                if prev:
                    cp = mx.run("rmi", prev, check=False)
                    if cp.returncode != 0:
                        errors.append("rmi %s: %s" % (prev, cp.stderr))
                prev = tag

        def remover():
            # its image shares layer blobs with the others' images
            for _ in range(ROUNDS * 2):
                for args in (("load", "-q", "-i", os.path.join(GOOD, "docker-basic.tar")),
                             ("rmi", "example.com/app:v1")):
                    cp = mx.run(*args, check=False)
                    if cp.returncode != 0:
                        errors.append("%s: %s" % (" ".join(args), cp.stderr))

        def pruner():
            for k in range(ROUNDS):
                cp = mx.run("load", "-q", "-i", os.path.join(GOOD, "docker-notag.tar"),
                            check=False)
                if cp.returncode != 0:
                    errors.append("load docker-notag.tar: %s" % cp.stderr)
                mx.run("image", "prune", "-f", check=False)

        threads = [threading.Thread(target=tagger, args=(i,)) for i in range(6)]
        threads += [threading.Thread(target=remover), threading.Thread(target=pruner)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(last), 6)
        for i, tag in sorted(last.items()):
            self.assertEqual(tag, "example.com/p%d:k%d" % (i, ROUNDS - 1))
            info = mx.run("inspect", "--type", "image", tag, check=False)
            self.assertEqual(info.returncode, 0, "tag %s is lost: %s" % (tag, info.stderr))
        # earlier tags of each worker are gone (its rmi worked)
        tags = mx.out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
        for i in range(6):
            mine = [t for t in tags if t.startswith("example.com/p%d:" % i)]
            self.assertEqual(mine, ["example.com/p%d:k%d" % (i, ROUNDS - 1)])
        cp = mx.run("system", "check", check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        # and what is left still saves and loads
        out = os.path.join(mx.root, "..", os.path.basename(mx.root) + "-all.tar")
        self.addCleanup(lambda: os.path.exists(out) and os.unlink(out))
        mx.run("save", "-o", out, *sorted(last.values()))
        other = harness.Myrmex()
        self.addCleanup(other.cleanup)
        loaded = other.out("load", "-q", "-i", out).splitlines()
        self.assertEqual(len(loaded), 6)

    def test_concurrent_mounts_unpack_each_layer_once(self):
        harness.require_root()
        mx = harness.Myrmex()
        self.addCleanup(mx.cleanup)
        ref = "example.com/crash:v3"
        mx.run("load", "-q", "-i", os.path.join(GOOD, "docker-three-layers.tar"))
        results = []

        def mount():
            results.append(mx.run("image", "mount", ref, check=False))

        threads = [threading.Thread(target=mount) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([cp.returncode for cp in results], [0] * 4,
                         [cp.stderr for cp in results])
        paths = set(cp.stdout.strip() for cp in results)
        self.assertEqual(len(paths), 1)
        with open(os.path.join(paths.pop(), "srv", "data")) as f:
            self.assertEqual(len(f.read()), 3000)
        self.assertEqual(len(os.listdir(os.path.join(mx.root, "layers"))), 3)
        for _ in range(4):
            mx.run("image", "unmount", ref)
        self.assertNotEqual(mx.run("image", "unmount", ref, check=False).returncode, 0)
        cp = mx.run("system", "check", check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)


if __name__ == "__main__":
    unittest.main()
