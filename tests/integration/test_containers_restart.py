# SPDX-License-Identifier: Apache-2.0
"""Restart policies observed over time: counters, Docker's back-off, and stop winning."""

import json
import time
import unittest

from test_containers_run import wait_monitors
from harness import MyrmexTestCase, require_root


class TestRestart(MyrmexTestCase):
    def setUp(self):
        require_root()
        super().setUp()
        self.addCleanup(wait_monitors, self.mx.root)
        self.mx.import_busybox("busybox:latest")
        self.addCleanup(self.remove_all)

    def remove_all(self):
        ids = self.mx.run("ps", "-aq", check=False).stdout.split()
        if ids:
            self.mx.run("rm", "-f", *ids, check=False)

    def inspect(self, name):
        return json.loads(self.mx.out("inspect", name))[0]

    def starts(self, name):
        """The times the container's process started, from its own log lines."""
        out = self.mx.run("logs", "-t", name).stdout.splitlines()
        return [l.split()[0] for l in out if l.endswith(" start")]

    def test_on_failure_stops_after_max_with_backoff(self):
        t0 = time.time()
        self.mx.run("run", "-d", "--name", "flaky", "--restart", "on-failure:3", "busybox", "sh",
                    "-c", "echo start; exit 3")
        code = int(self.mx.out("wait", "flaky"))
        # wait returns at the first exit; follow the policy to its end
        end = time.time() + 30
        while time.time() < end:
            c = self.inspect("flaky")
            if c["State"]["Status"] == "exited" and c["RestartCount"] == 3:
                break
            time.sleep(0.05)
        elapsed = time.time() - t0
        c = self.inspect("flaky")
        self.assertEqual(code, 3)
        self.assertEqual(c["RestartCount"], 3)
        self.assertEqual(c["State"]["Status"], "exited")
        self.assertEqual(c["State"]["ExitCode"], 3)
        self.assertEqual(c["HostConfig"]["RestartPolicy"],
                         {"Name": "on-failure", "MaximumRetryCount": 3})
        self.assertEqual(len(self.starts("flaky")), 4)
        # back-off 100 + 200 + 400 ms between the four runs
        self.assertGreaterEqual(elapsed, 0.7)
        # it stays down
        time.sleep(1.0)
        self.assertEqual(self.inspect("flaky")["RestartCount"], 3)

    def test_backoff_doubles(self):
        self.mx.run("run", "-d", "--name", "bo", "--restart", "always", "busybox", "sh", "-c",
                    "echo start; exit 0")
        end = time.time() + 30
        while time.time() < end and len(self.starts("bo")) < 5:
            time.sleep(0.1)
        self.mx.run("stop", "bo")
        starts = [self._parse(t) for t in self.starts("bo")]
        self.assertGreaterEqual(len(starts), 5)
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        # 100, 200, 400, 800 ms (plus the start time of each run)
        for i, want in enumerate((0.1, 0.2, 0.4, 0.8)):
            self.assertGreaterEqual(gaps[i], want * 0.9, gaps)
        self.assertGreater(gaps[3], gaps[0] * 3, gaps)

    @staticmethod
    def _parse(ts):
        import datetime
        base, _, frac = ts.rstrip("Z").partition(".")
        t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        return t + (float("0." + frac) if frac else 0.0)

    def test_always_restarts_until_stopped(self):
        self.mx.run("run", "-d", "--name", "al", "--restart", "always", "busybox", "sh", "-c",
                    "echo start; sleep 0.2; exit 1")
        end = time.time() + 30
        while time.time() < end and self.inspect("al")["RestartCount"] < 2:
            time.sleep(0.05)
        self.assertGreaterEqual(self.inspect("al")["RestartCount"], 2)
        self.mx.run("stop", "-t", "2", "al")
        n = self.inspect("al")["RestartCount"]
        time.sleep(1.5)
        c = self.inspect("al")
        self.assertEqual(c["RestartCount"], n)
        self.assertEqual(c["State"]["Status"], "exited")
        # ps shows it as Docker does
        rows = self.mx.json_lines("ps", "-a", "--format", "json")
        self.assertTrue(rows[0]["Status"].startswith("Exited (1)"), rows)

    def test_unless_stopped_and_kill(self):
        self.mx.run("run", "-d", "--name", "us", "--restart", "unless-stopped", "busybox",
                    "sleep", "1000")
        end = time.time() + 10
        while time.time() < end and self.inspect("us")["State"]["Status"] != "running":
            time.sleep(0.05)
        self.mx.run("kill", "us")
        time.sleep(1.0)
        c = self.inspect("us")
        self.assertEqual(c["State"]["Status"], "exited")
        self.assertEqual(c["RestartCount"], 0)

    def test_no_policy_never_restarts(self):
        self.mx.run("run", "-d", "--name", "np", "busybox", "sh", "-c", "exit 2")
        self.assertEqual(self.mx.out("wait", "np"), "2")
        time.sleep(0.5)
        self.assertEqual(self.inspect("np")["RestartCount"], 0)

    def test_restarting_state_is_visible(self):
        self.mx.run("run", "-d", "--name", "rs", "--restart", "always", "busybox", "sh", "-c",
                    "exit 1")
        seen = set()
        end = time.time() + 10
        while time.time() < end and "restarting" not in seen:
            seen.add(self.inspect("rs")["State"]["Status"])
            time.sleep(0.01)
        self.assertIn("restarting", seen)
        self.mx.run("rm", "-f", "rs")
        self.assertEqual(self.mx.out("ps", "-aq"), "")


if __name__ == "__main__":
    unittest.main()
