# SPDX-License-Identifier: Apache-2.0
"""Faults between myrmex and a real docker-registry, injected by faultproxy.FaultProxy.

The proxy cuts connections after N bytes, answers 500s and 429s (with Retry-After), or flips
a byte of a blob, and counts the body bytes that cross it. The tests check that myrmex
retries where it should (resuming a cut download with Range), refuses a digest mismatch,
leaves the store consistent (`system check` clean), and that a rerun after a failure -- or
after the process was killed at a fault point -- completes without sending again what was
already done.
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import registry_support as rs  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

LAYER = 1 << 20


class Faults(harness.MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        rs.require_tools("docker-registry", "skopeo")
        cls.reg = harness.Registry().start()
        import tempfile
        cls.layout = tempfile.mkdtemp(prefix="mx-it-faults-")
        cls.layers = rs.random_layers(3, LAYER)
        cls.desc = rs.add_image(cls.layout, cls.layers)
        rs.write_layout(cls.layout, "t", cls.desc)
        cls.src = cls.reg.host + "/faults/img:1"
        rs.skopeo_push_layout(cls.layout, "t", cls.src)
        with open(os.path.join(cls.layout, "blobs", "sha256", cls.desc["digest"][7:])) as f:
            m = json.load(f)
        cls.blobs = [l["digest"] for l in m["layers"]]
        cls.sizes = [l["size"] for l in m["layers"]]

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()
        import shutil
        shutil.rmtree(cls.layout, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.proxy = FaultProxy(self.reg.host).start()
        self.addCleanup(self.proxy.stop)
        self.ref = self.proxy.host + "/faults/img:1"

    def blob_path(self, i):
        return "/v2/faults/img/blobs/" + self.blobs[i]

    def check_store(self, mx=None):
        cp = (mx or self.mx).run("system", "check", "--format", "json", check=False)
        rep = json.loads(cp.stdout)
        self.assertEqual(rep["Problems"], [], cp.stdout)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)

    def has_image(self):
        return any(r.get("Tag") == "1" for r in self.mx.json_lines("images", "--format", "json"))

    def test_cut_download_resumes_with_range(self):
        self.proxy.add_rule(method="GET", path=self.blobs[1], action="cut", after=300000,
                            times=1)
        self.mx.out("pull", "--no-unpack", self.ref)
        # the cut blob crossed once in total: 300000 bytes, then the rest from there
        self.assertEqual(self.proxy.bytes_down[self.blob_path(1)], self.sizes[1])
        gets = [r for r in self.proxy.requests if r[1].endswith(self.blobs[1])]
        self.assertEqual([g[2] for g in gets], [200, 206])
        self.check_store()

    def test_500_and_429_are_retried(self):
        self.proxy.add_rule(method="GET", path="/manifests/", action="status", code=500,
                            times=2)
        self.proxy.add_rule(method="GET", path=self.blobs[0], action="status", code=429,
                            retry_after=1, times=1)
        self.proxy.add_rule(method="GET", path=self.blobs[2], action="status", code=503,
                            times=1)
        t0 = time.monotonic()
        self.mx.out("pull", "--no-unpack", self.ref)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)  # Retry-After honoured
        statuses = [r[2] for r in self.proxy.requests]
        self.assertEqual(statuses.count(500), 2)
        self.assertEqual(statuses.count(429), 1)
        self.assertTrue(self.has_image())
        self.check_store()

    def test_retries_are_bounded(self):
        self.proxy.add_rule(method="GET", path="/manifests/", action="status", code=503,
                            times=None)
        t0 = time.monotonic()
        cp = self.mx.run("pull", "--no-unpack", self.ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("registry error 503 after 5 attempts", cp.stderr)
        self.assertLess(time.monotonic() - t0, 30)

    def test_corrupt_blob_refused_then_rerun_sends_only_the_rest(self):
        self.proxy.add_rule(method="GET", path=self.blobs[2], action="corrupt", times=None)
        cp = self.mx.run("pull", "--no-unpack", "--parallel", "1", self.ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("digest", cp.stderr)
        self.assertIn(self.blobs[2], cp.stderr)
        self.assertFalse(self.has_image())
        self.check_store()
        done_before = {i for i in range(3) if os.path.exists(
            os.path.join(self.mx.root, "blobs", "sha256", self.blobs[i][7:]))}
        self.assertNotIn(2, done_before)
        self.assertTrue(done_before, "no blob was completed before the corrupt one")
        self.proxy.clear_rules()
        self.proxy.reset_counters()
        self.mx.out("pull", "--no-unpack", self.ref)
        for i in range(3):
            moved = self.proxy.bytes_down.get(self.blob_path(i), 0)
            self.assertEqual(moved, 0 if i in done_before else self.sizes[i], i)
        self.assertTrue(self.has_image())
        self.check_store()

    def test_dropped_connections_exhausted_then_rerun(self):
        self.proxy.add_rule(method="GET", path=self.blobs[1], action="cut", after=1000,
                            times=None)
        cp = self.mx.run("pull", "--no-unpack", self.ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("failed after 5 attempts", cp.stderr)
        self.check_store()
        self.proxy.clear_rules()
        self.proxy.reset_counters()
        self.mx.out("pull", "--no-unpack", self.ref)
        self.assertEqual(self.proxy.bytes_down.get(self.blob_path(0), 0), 0)
        self.assertEqual(self.proxy.bytes_down.get(self.blob_path(2), 0), 0)
        self.assertEqual(self.proxy.bytes_down[self.blob_path(1)], self.sizes[1])
        self.check_store()

    def test_killed_pull_resumes(self):
        log = os.path.join(self.tmp, "faults.log")
        cp = self.mx.run("pull", "--no-unpack", "--parallel", "1", self.ref,
                         env={"MYRMEX_FAULT_LOG": log}, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(log) as f:
            points = [l.split() for l in f if l.strip()]
        firsts = [int(n) for n, name in points if name == "registry-pull-blob-committed"]
        self.assertEqual(len(firsts), 4)  # config + 3 layers
        # again on a fresh store, killed right after the second blob is committed
        mx2 = harness.Myrmex()
        self.addCleanup(mx2.cleanup)
        self.proxy.reset_counters()
        cp = mx2.run("pull", "--no-unpack", "--parallel", "1", self.ref,
                     env={"MYRMEX_FAULT_AT": str(firsts[1])}, check=False)
        self.assertEqual(cp.returncode, -9, cp.stderr)  # SIGKILL at the fault point
        self.check_store(mx2)
        present = {d for d in self.blobs if os.path.exists(
            os.path.join(mx2.root, "blobs", "sha256", d[7:]))}
        self.proxy.reset_counters()
        mx2.out("pull", "--no-unpack", self.ref)
        for i, d in enumerate(self.blobs):
            moved = self.proxy.bytes_down.get(self.blob_path(i), 0)
            self.assertEqual(moved, 0 if d in present else self.sizes[i], (i, present))
        self.check_store(mx2)

    def test_blobs_committed_while_others_still_download(self):
        # the last layer is held back 3 s; the process is killed at the second blob commit,
        # which comes while that layer is still on its way: what finished is kept
        self.proxy.add_rule(method="GET", path=self.blobs[2], action="delay", seconds=3,
                            times=None)
        # a probe run numbers the durable steps (the store's and ours)
        probe = harness.Myrmex()
        self.addCleanup(probe.cleanup)
        log = os.path.join(self.tmp, "f.log")
        probe.run("pull", "--no-unpack", self.ref, env={"MYRMEX_FAULT_LOG": log})
        with open(log) as f:
            points = [l.split() for l in f if l.strip()]
        commits = [int(n) for n, name in points if name == "registry-pull-blob-committed"]
        self.assertEqual(len(commits), 4)
        t0 = time.monotonic()
        cp = self.mx.run("pull", "--no-unpack", self.ref,
                         env={"MYRMEX_FAULT_AT": str(commits[1])}, check=False)
        self.assertEqual(cp.returncode, -9, cp.stderr)
        self.assertLess(time.monotonic() - t0, 2.5)  # killed before the held layer came
        have = [os.path.exists(os.path.join(self.mx.root, "blobs", "sha256", d[7:]))
                for d in self.blobs]
        self.assertFalse(have[2])
        self.assertTrue(have[0] or have[1], have)
        self.check_store()
        self.proxy.clear_rules()
        self.proxy.reset_counters()
        self.mx.out("pull", "--no-unpack", self.ref)
        for i in range(3):
            self.assertEqual(self.proxy.bytes_down.get(self.blob_path(i), 0),
                             0 if have[i] else self.sizes[i], i)

    def test_killed_push_resumes(self):
        self.mx.out("pull", "--no-unpack", self.reg.host + "/faults/img:1")
        src = self.reg.host + "/faults/img:1"
        log = os.path.join(self.tmp, "push-faults.log")
        self.mx.run("push", src, self.proxy.host + "/faults/probe:1",
                    env={"MYRMEX_FAULT_LOG": log})
        with open(log) as f:
            points = [l.split() for l in f if l.strip()]
        sent = [int(n) for n, name in points if name == "registry-push-blobs-sent"]
        self.assertEqual(len(sent), 1)
        # killed once every blob is up but before the manifest: the rerun sends no blob
        dest = self.proxy.host + "/faults/killed:1"
        cp = self.mx.run("push", src, dest, env={"MYRMEX_FAULT_AT": str(sent[0])},
                         check=False)
        self.assertEqual(cp.returncode, -9, cp.stderr)
        self.assertEqual(rs.run("skopeo", "inspect", "--tls-verify=false",
                                "docker://" + self.reg.host + "/faults/killed:1",
                                check=False).returncode != 0, True)
        self.proxy.reset_counters()
        out = self.mx.out("push", src, dest)
        self.assertIn("Digest: " + self.desc["digest"], out)
        self.assertFalse(any("/blobs/uploads/" in k and v for k, v in self.proxy.bytes_up.items()),
                         dict(self.proxy.bytes_up))
        self.assertTrue(any("/manifests/" in k and v for k, v in self.proxy.bytes_up.items()))

    def test_two_thread_pull_with_faults(self):
        # an image over 8 MB is downloaded by two threads (two clients, two store handles)
        layout = os.path.join(self.tmp, "bigger")
        layers = rs.random_layers(4, 3 * LAYER, seed=7)
        desc = rs.add_image(layout, layers)
        rs.write_layout(layout, "t", desc)
        rs.skopeo_push_layout(layout, "t", self.reg.host + "/faults/bigger:1")
        with open(os.path.join(layout, "blobs", "sha256", desc["digest"][7:])) as f:
            m = json.load(f)
        digests = [l["digest"] for l in m["layers"]]
        self.proxy.add_rule(method="GET", path=digests[0], action="cut", after=500000, times=1)
        self.proxy.add_rule(method="GET", path=digests[3], action="corrupt", times=None)
        ref = self.proxy.host + "/faults/bigger:1"
        cp = self.mx.run("pull", ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn(digests[3], cp.stderr)
        self.check_store()
        for d in digests[:3]:
            self.assertTrue(os.path.exists(os.path.join(self.mx.root, "blobs", "sha256",
                                                        d[7:])), d)
        self.proxy.clear_rules()
        self.proxy.reset_counters()
        out = self.mx.out("pull", ref)
        self.assertIn("Digest: " + desc["digest"], out)
        moved = {k: v for k, v in self.proxy.bytes_down.items() if "/blobs/" in k and v}
        self.assertEqual(list(moved), ["/v2/faults/bigger/blobs/" + digests[3]], moved)
        self.check_store()

    def test_push_faults_and_rerun(self):
        self.mx.out("pull", "--no-unpack", self.reg.host + "/faults/img:1")
        dest = self.proxy.host + "/faults/pushed:1"
        # a POST answered 500 and a PUT cut half way: both retried, the push completes
        self.proxy.add_rule(method="POST", path="/blobs/uploads/", action="status", code=500,
                            times=1)
        self.proxy.add_rule(method="PUT", path="digest=" + self.blobs[0], action="cut",
                            after=200000, times=1)
        out = self.mx.out("push", self.reg.host + "/faults/img:1", dest)
        self.assertIn("Digest: " + self.desc["digest"], out)
        self.assertEqual(rs.skopeo_inspect(self.reg.host + "/faults/pushed:1")["Digest"],
                         self.desc["digest"])
        # a blob that cannot be sent fails the push; the rerun sends only what is missing
        dest2 = self.proxy.host + "/faults/pushed2:1"
        self.proxy.clear_rules()
        self.proxy.add_rule(method="PUT", path="digest=" + self.blobs[2], action="cut",
                            after=1000, times=None)
        cp = self.mx.run("push", "--parallel", "1", self.reg.host + "/faults/img:1", dest2,
                         check=False)
        self.assertEqual(cp.returncode, 1)
        self.proxy.clear_rules()
        self.proxy.reset_counters()
        self.mx.out("push", self.reg.host + "/faults/img:1", dest2)
        ups = {k: v for k, v in self.proxy.bytes_up.items() if "/blobs/uploads/" in k and v}
        self.assertEqual(sum(ups.values()), self.sizes[2], ups)


if __name__ == "__main__":
    unittest.main()
