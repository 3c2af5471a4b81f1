# SPDX-License-Identifier: Apache-2.0
"""myrmex stats on a real container: the seed's ContainerMetrics, CPU under --cpus."""

import json
import shutil
import unittest

from harness import MyrmexTestCase, require_root

SEED_KEYS = ["container_name", "timestamp", "cpu_usage_percent", "memory_usage_mb",
             "memory_limit_mb", "network_rx_mb", "network_tx_mb", "disk_read_mb",
             "disk_write_mb", "uptime_seconds", "restart_count", "health_status",
             "performance_score"]


class TestStats(MyrmexTestCase):
    def setUp(self):
        require_root()
        if not (shutil.which("crun") or shutil.which("runc")):
            raise unittest.SkipTest("no OCI runtime (crun or runc) installed")
        super().setUp()
        self.mx.import_busybox("busybox:latest")

    def test_burner_under_half_a_cpu(self):
        self.mx.run("run", "-d", "--name", "burner", "--network", "none", "--cpus", "0.5",
                    "--memory", "64m", "busybox", "sh", "-c", "while :; do :; done")
        self.addCleanup(self.mx.run, "rm", "-f", "burner", check=False)
        self.mx.run("run", "-d", "--name", "idle", "--network", "none", "busybox", "sleep",
                    "600")
        self.addCleanup(self.mx.run, "rm", "-f", "idle", check=False)
        lines = self.mx.out("stats", "--no-stream", "--format", "json").splitlines()
        self.assertEqual(len(lines), 2)
        by_name = {}
        for line in lines:
            m = json.loads(line)
            self.assertEqual(list(m.keys()), SEED_KEYS)  # the seed's keys, in its order
            by_name[m["container_name"]] = m
        burner, idle = by_name["burner"], by_name["idle"]
        # the quota caps it at 50% of one CPU; a loaded shared host may give it less
        self.assertGreater(burner["cpu_usage_percent"], 5)
        self.assertLess(burner["cpu_usage_percent"], 56)
        self.assertLess(idle["cpu_usage_percent"], 5)
        self.assertAlmostEqual(burner["memory_limit_mb"], 64 * 1024 * 1024 / 1e6, places=3)
        self.assertGreater(burner["uptime_seconds"], 0.5)
        self.assertEqual(burner["restart_count"], 0)
        self.assertEqual(burner["health_status"], "unknown")
        self.assertRegex(burner["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
        # a busy container scores lower than an idle one
        self.assertLess(burner["performance_score"], idle["performance_score"])
        self.assertGreater(idle["performance_score"], 95)
        # one container by name, and the table for people
        one = self.mx.out("stats", "--no-stream", "--format", "json", "idle").splitlines()
        self.assertEqual([json.loads(l)["container_name"] for l in one], ["idle"])
        table = self.mx.out("stats", "--no-stream", "burner").splitlines()
        self.assertIn("CPU %", table[0])
        self.assertIn("burner", table[1])
        self.assertIn("/ 67.1MB", table[1])

    def test_unknown_container(self):
        cp = self.mx.run("stats", "--no-stream", "nosuch", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("nosuch", cp.stderr)


if __name__ == "__main__":
    unittest.main()
