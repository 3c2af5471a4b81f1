# SPDX-License-Identifier: Apache-2.0
"""run --pull: an image missing from the store comes from a registry (Debian's
docker-registry on loopback) through the registry module; never refuses; always re-pulls."""

import unittest

import harness
from harness import Myrmex, MyrmexTestCase, require_root


class TestRunPull(MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.reg = harness.Registry().start()
        # a second store publishes busybox to the registry
        pub = Myrmex()
        try:
            pub.import_busybox("busybox:latest")
            cls.ref = cls.reg.host + "/rt/busybox:1"
            pub.run("push", "busybox:latest", cls.ref)
        finally:
            pub.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def tearDown(self):
        ids = self.mx.run("ps", "-aq", check=False).stdout.split()
        if ids:
            self.mx.run("rm", "-f", *ids, check=False)
        super().tearDown()

    def test_pull_never_refuses_a_missing_image(self):
        cp = self.mx.run("run", "--rm", "--pull", "never", self.ref, "true", check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("no such image", cp.stderr)
        self.assertEqual(self.mx.out("images", "-q"), "")

    def test_missing_image_is_pulled_then_run(self):
        cp = self.mx.run("run", "--rm", self.ref, "echo", "pulled and ran")
        self.assertEqual(cp.stdout, "pulled and ran\n")
        self.assertIn("Unable to find image", cp.stderr)
        self.assertNotEqual(self.mx.out("images", "-q"), "")
        # present now: no pull message the second time
        cp = self.mx.run("run", "--rm", self.ref, "true")
        self.assertNotIn("Unable to find image", cp.stderr)
        cp = self.mx.run("run", "--rm", "--pull", "always", self.ref, "echo", "again")
        self.assertEqual(cp.stdout, "again\n")


if __name__ == "__main__":
    unittest.main()
