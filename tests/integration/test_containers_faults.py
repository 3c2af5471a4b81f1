# SPDX-License-Identifier: Apache-2.0
"""Faults injected deterministically: the monitor, the client and the container's process
each killed at known points, and many clients at once; the next command must tell the truth
and clean up."""

import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import time
import unittest

from test_containers_run import wait_monitors
from harness import MyrmexTestCase, require_root


def alive(pid):
    """True while pid exists and is not a zombie (nobody may reap an orphan here)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def monitor_pid(container_pid):
    """The monitor is the container process's parent (it is a child subreaper)."""
    with open("/proc/%d/stat" % container_pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


class FaultCase(MyrmexTestCase):
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

    def mounts_under_root(self):
        with open("/proc/self/mounts") as f:
            return [l.split()[1] for l in f if l.split()[1].startswith(self.mx.root + "/")]

    def fault_points(self, env, *args):
        log = os.path.join(self.tmp, "faults.log")
        if os.path.exists(log):
            os.unlink(log)
        e = dict(env)
        e["MYRMEX_FAULT_LOG"] = log
        self.mx.run(*args, env=e)
        with open(log) as f:
            return [l.split()[1] for l in f]


class TestMonitorFaults(FaultCase):
    def test_monitor_killed_container_keeps_running_and_is_reported(self):
        self.mx.out("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
        mp = monitor_pid(self.inspect("orphan")["State"]["Pid"])
        with open("/proc/%d/cmdline" % mp, "rb") as f:
            self.assertIn(b"__monitor", f.read())
        os.kill(mp, signal.SIGKILL)
        time.sleep(0.2)
        # the container is alive: ps says so, from the process itself
        self.assertEqual(self.inspect("orphan")["State"]["Status"], "running")
        pid = self.inspect("orphan")["State"]["Pid"]
        os.kill(pid, 0)
        # stop still works without the monitor, and the record ends up truthful
        self.mx.run("stop", "-t", "1", "orphan")
        st = self.inspect("orphan")["State"]
        self.assertEqual(st["Status"], "exited")
        self.assertFalse(alive(pid))
        self.mx.run("rm", "orphan")
        self.assertEqual(self.mounts_under_root(), [])

    def test_monitor_and_container_dead_is_exited_not_running(self):
        self.mx.out("run", "-d", "--name", "gone", "busybox", "sleep", "1000")
        pid = self.inspect("gone")["State"]["Pid"]
        os.kill(monitor_pid(pid), signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        end = time.time() + 5
        while time.time() < end and alive(pid):
            time.sleep(0.02)
        rows = self.mx.json_lines("ps", "-a", "--format", "json")
        self.assertEqual(rows[0]["State"], "exited")
        st = self.inspect("gone")["State"]
        self.assertEqual(st["ExitCode"], 255)
        self.assertIn("monitor", st["Error"])
        self.assertEqual(self.mx.out("ps", "-q"), "")
        self.mx.run("rm", "gone")

    def test_monitor_killed_at_every_point(self):
        points = self.fault_points({}, "run", "--name", "probe", "busybox", "true")
        # the monitor's points, its network attach on the default bridge included
        mon = []
        for p in points[points.index("runtime-monitor-listening"):]:
            if p not in mon:
                mon.append(p)
            if p == "runtime-monitor-exited":
                break
        self.assertEqual(mon, ["runtime-monitor-listening", "network-attach-recorded",
                               "netns-created", "cni-add-plugin", "network-cni-added",
                               "network-attached", "runtime-monitor-network",
                               "runtime-monitor-before-run", "runtime-monitor-running",
                               "cni-del-plugin", "network-detached", "netns-removed",
                               "runtime-monitor-exited"])
        self.mx.run("rm", "probe")
        # the monitor's own points are numbered in its process; find each one's number
        log = os.path.join(self.tmp, "mon.log")
        for target in mon:
            if os.path.exists(log):
                os.unlink(log)
            e = {"MYRMEX_FAULT_LOG": log}
            self.mx.run("run", "-d", "--name", "count", "busybox", "true", env=e)
            self.mx.run("wait", "count")
            self.mx.run("rm", "-f", "count")
            with open(log) as f:
                lines = [l.split() for l in f]
            # lines of the monitor follow its first point; its counter restarts at 1
            start = [i for i, l in enumerate(lines) if l[1] == "runtime-monitor-listening"][0]
            first = int(lines[start][0])
            n = [int(l[0]) for l in lines[start:] if l[1] == target][0]
            self.assertGreaterEqual(n, first)
            e = {"MYRMEX_MONITOR_FAULT_AT": str(n), "MYRMEX_FAULT_LOG": log}
            os.unlink(log)
            cp = self.mx.run("run", "--name", "victim", "busybox", "sh", "-c", "echo hi",
                             env=e, check=False)
            with open(log) as f:
                reached = [l.split()[1] for l in f]
            self.assertIn(target, reached)
            # the next commands report the truth and clean up whatever is left
            time.sleep(0.3)
            st = self.inspect("victim")["State"]
            self.assertIn(st["Status"], ("created", "exited"), (target, st))
            self.assertFalse(st["Running"])
            self.mx.run("rm", "-f", "victim")
            self.assertEqual(self.mx.out("ps", "-aq"), "")
            self.assertEqual(self.mounts_under_root(), [], target)
            # nothing of its network is left: no namespace file, no attachment record
            netns = os.path.join(self.mx.root, "run", "netns")
            self.assertEqual(os.listdir(netns) if os.path.isdir(netns) else [], [], target)
            with sqlite3.connect(os.path.join(self.mx.root, "myrmex.db")) as db:
                self.assertEqual(db.execute("SELECT count(*) FROM net_attachments")
                                 .fetchone()[0], 0, target)
            if target == "runtime-monitor-exited":
                self.assertEqual(cp.returncode, 0)  # recorded before the monitor died
            elif target in ("runtime-monitor-running", "cni-del-plugin", "network-detached",
                            "netns-removed"):
                self.assertEqual(cp.returncode, 255)  # the end was not seen by anyone
            else:
                self.assertEqual(cp.returncode, 125)  # it never started


    def test_monitor_killed_between_rm_record_and_files(self):
        # run --rm removes the record first; a crash before the files leaves an orphan
        log = os.path.join(self.tmp, "rm.log")
        self.mx.run("run", "--rm", "busybox", "true", env={"MYRMEX_FAULT_LOG": log})
        with open(log) as f:
            lines = [l.split() for l in f]
        n = [int(l[0]) for l in lines if l[1] == "runtime-monitor-exited"][0]
        self.mx.run("run", "--rm", "busybox", "true", env={"MYRMEX_MONITOR_FAULT_AT": str(n)},
                    check=False)
        time.sleep(0.3)
        self.assertEqual(self.mx.out("ps", "-aq"), "")
        cdir = os.path.join(self.mx.root, "containers")
        self.assertEqual(len(os.listdir(cdir)), 1)
        self.assertEqual(len(self.mounts_under_root()), 1)
        self.mx.run("container", "prune", "-f")
        self.assertEqual(os.listdir(cdir), [])
        self.assertEqual(self.mounts_under_root(), [])


class TestClientFaults(FaultCase):
    def test_client_killed_at_every_create_point(self):
        # one create first, so the schema and the image's layers exist and every later run
        # goes through the same steps; then kill the client at its 1st, 2nd, ... durable
        # step until one run completes
        self.mx.run("create", "--name", "warm", "busybox", "true")
        self.mx.run("rm", "warm")
        reached = set()
        log = os.path.join(self.tmp, "client.log")
        for n in range(1, 200):
            if os.path.exists(log):
                os.unlink(log)
            cp = self.mx.run("create", "--name", "half", "busybox", "true",
                             env={"MYRMEX_FAULT_AT": str(n), "MYRMEX_FAULT_LOG": log},
                             check=False)
            with open(log) as f:
                lines = [l.split() for l in f]
            if cp.returncode == 0:
                self.mx.run("rm", "half")
                break
            self.assertEqual(cp.returncode, -signal.SIGKILL, n)
            reached.add(lines[-1][1])
            # whatever is left is visible and removable; the name is free again after
            ids = self.mx.run("ps", "-aq").stdout.split()
            self.assertLessEqual(len(ids), 1)
            if ids:
                self.assertEqual(self.inspect("half")["State"]["Status"], "created")
                self.mx.run("rm", "-f", "half")
            self.assertEqual(self.mounts_under_root(), [])
            self.assertEqual(os.listdir(os.path.join(self.mx.root, "containers")), [])
            cid = self.mx.out("create", "--name", "half", "busybox", "true")
            self.assertRegex(cid, "^[0-9a-f]{64}$")
            self.mx.run("rm", "half")
        self.assertIn("runtime-create-recorded", reached)
        self.assertIn("runtime-create-bundle", reached)

    def test_client_killed_mid_run(self):
        p = subprocess.Popen(self.mx.command(
            "run", "--name", "bg", "busybox", "sh", "-c",
            "echo ready; read x < /dev/null; sleep 0.5; echo finished; exit 7"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.mx.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.kill()
        p.wait()
        # the container is not the client's child: it finishes under its monitor
        self.assertEqual(self.mx.out("wait", "bg"), "7")
        self.assertEqual(self.mx.run("logs", "bg").stdout, "ready\nfinished\n")
        self.assertEqual(self.inspect("bg")["State"]["ExitCode"], 7)

    def test_container_process_killed(self):
        self.mx.run("run", "-d", "--name", "kp", "busybox", "sleep", "1000")
        pid = self.inspect("kp")["State"]["Pid"]
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(self.mx.out("wait", "kp"), "137")
        st = self.inspect("kp")["State"]
        self.assertEqual(st["Status"], "exited")
        self.assertFalse(st["OOMKilled"])


class TestParallelClients(FaultCase):
    def test_thirty_parallel_creates_and_removes(self):
        names = ["par%02d" % i for i in range(30)]

        def create(name):
            return self.mx.run("create", "--name", name, "busybox", "true", check=False)

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
            results = list(ex.map(create, names))
        for name, cp in zip(names, results):
            self.assertEqual(cp.returncode, 0, (name, cp.stderr))
        ids = [cp.stdout.strip() for cp in results]
        self.assertEqual(len(set(ids)), 30)
        rows = self.mx.json_lines("ps", "-a", "--no-trunc", "--format", "json")
        self.assertEqual(sorted(r["Names"] for r in rows), names)
        self.assertEqual(sorted(r["ID"] for r in rows), sorted(ids))
        # the same names again at once: every one refused, nothing duplicated
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
            again = list(ex.map(create, names))
        self.assertTrue(all(cp.returncode == 125 for cp in again))
        self.assertEqual(len(self.mx.json_lines("ps", "-a", "--format", "json")), 30)

        def remove(name):
            return self.mx.run("rm", name, check=False)

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
            removed = list(ex.map(remove, names))
        self.assertTrue(all(cp.returncode == 0 for cp in removed), [cp.stderr for cp in removed])
        self.assertEqual(self.mx.out("ps", "-aq"), "")
        self.assertEqual(os.listdir(os.path.join(self.mx.root, "containers")), [])
        self.assertEqual(self.mounts_under_root(), [])


if __name__ == "__main__":
    unittest.main()
