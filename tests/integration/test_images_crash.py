# SPDX-License-Identifier: Apache-2.0
"""Crash safety of `myrmex load` (and of unpacking for `image mount`).

The load runs once under MYRMEX_FAULT_LOG to list the durable steps it passes; then for each
step N a fresh store sees the same load killed with SIGKILL at step N (MYRMEX_FAULT_AT=N).
After every kill `system check` must be clean and the image wholly there (inspect works,
every blob is verified by the check, the image mounts) or wholly absent; a second load then
succeeds.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ARCHIVE = os.path.join(harness.REPO, "tests", "data", "archives", "good",
                       "docker-three-layers.tar")
REF = "example.com/crash:v3"


def fault_points(mx, *args):
    log = os.path.join(mx.root, "..", os.path.basename(mx.root) + ".faults")
    try:
        mx.run(*args, env={"MYRMEX_FAULT_LOG": log})
        with open(log) as f:
            return [line.split()[1] for line in f if line.strip()]
    finally:
        if os.path.exists(log):
            os.unlink(log)


class LoadCrashTest(unittest.TestCase):
    def new_store(self):
        mx = harness.Myrmex()
        self.addCleanup(mx.cleanup)
        return mx

    def assert_consistent(self, mx, n, name):
        cp = mx.run("system", "check", check=False)
        self.assertEqual(cp.returncode, 0, "after a kill at %d (%s): %s%s"
                         % (n, name, cp.stdout, cp.stderr))
        present = mx.run("inspect", "--type", "image", REF, check=False).returncode == 0
        if present:
            path = mx.out("image", "mount", REF)
            try:
                with open(os.path.join(path, "srv", "data")) as f:
                    self.assertEqual(f.read(), "x" * 3000)
                with open(os.path.join(path, "etc", "version")) as f:
                    self.assertEqual(f.read(), "2\n")
                self.assertFalse(os.path.exists(os.path.join(path, "etc", "motd")))
            finally:
                mx.run("image", "unmount", REF)
        else:
            self.assertEqual(mx.out("images", "-q"), "",
                             "after a kill at %d (%s) an image is half there" % (n, name))
        return present

    def test_load_killed_at_every_durable_step(self):
        points = fault_points(self.new_store(), "load", "-q", "-i", ARCHIVE)
        self.assertGreaterEqual(len(points), 20, points)
        seen_present = seen_absent = 0
        for n in range(1, len(points) + 1):
            with self.subTest(step=n, point=points[n - 1]):
                mx = self.new_store()
                cp = mx.run("load", "-q", "-i", ARCHIVE, check=False,
                            env={"MYRMEX_FAULT_AT": str(n)})
                self.assertEqual(cp.returncode, -signal.SIGKILL,
                                 "step %d (%s) was not reached: %s" % (n, points[n - 1], cp.stderr))
                if self.assert_consistent(mx, n, points[n - 1]):
                    seen_present += 1
                else:
                    seen_absent += 1
                self.assertEqual(mx.out("load", "-q", "-i", ARCHIVE), "Loaded image: " + REF)
                self.assert_consistent(mx, n, "rerun")
                mx.cleanup()
        # the kills fell on both sides of the commit point
        self.assertGreater(seen_present, 0)
        self.assertGreater(seen_absent, 0)

    def test_mount_killed_at_every_durable_step(self):
        harness.require_root()
        base = self.new_store()
        base.run("load", "-q", "-i", ARCHIVE)
        points = fault_points(base, "image", "mount", REF)
        base.run("image", "unmount", REF)
        self.assertGreaterEqual(len(points), 3, points)
        for n in range(1, len(points) + 1):
            with self.subTest(step=n, point=points[n - 1]):
                mx = self.new_store()
                mx.run("load", "-q", "-i", ARCHIVE)
                cp = mx.run("image", "mount", REF, check=False, env={"MYRMEX_FAULT_AT": str(n)})
                self.assertEqual(cp.returncode, -signal.SIGKILL, cp.stderr)
                cp = mx.run("system", "check", check=False)
                self.assertEqual(cp.returncode, 0, "after a kill at %d (%s): %s%s"
                                 % (n, points[n - 1], cp.stdout, cp.stderr))
                # mounting again completes the view, and two unmounts (the killed mount may
                # have counted) leave nothing mounted
                self.assertTrue(self.assert_consistent(mx, n, points[n - 1]))
                mx.run("image", "unmount", "--all")
                with open("/proc/self/mounts") as f:
                    self.assertNotIn(mx.root + "/", f.read())
                mx.cleanup()


if __name__ == "__main__":
    unittest.main()
