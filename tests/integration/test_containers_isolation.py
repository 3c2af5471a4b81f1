# SPDX-License-Identifier: Apache-2.0
"""What a container cannot do under the default confinement, and limits that hold."""

import json
import os
import socket
import time
import unittest

from test_containers_run import wait_monitors
from harness import MyrmexTestCase, require_root


class TestIsolation(MyrmexTestCase):
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

    def sh(self, script, *opts, check=False):
        return self.mx.run("run", "--rm", *opts, "busybox", "sh", "-c", script, check=check)

    def test_no_host_processes_visible(self):
        cp = self.sh("ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; "
                     "cat /proc/1/cmdline | tr '\\0' ' '")
        pids = [int(p) for p in cp.stdout.split("\n")[0].split()]
        # sh itself (1), and the ls/grep/sort/tr of the pipeline: no host process
        self.assertLessEqual(len(pids), 6, cp.stdout)
        self.assertEqual(pids[0], 1)
        self.assertNotIn(str(os.getpid()), cp.stdout.split())
        self.assertTrue(cp.stdout.split("\n")[1].startswith("sh -c"))

    def test_cannot_mount(self):
        cp = self.sh("mkdir -p /mnt/x; mount -t tmpfs none /mnt/x && echo MOUNTED || "
                     "echo refused")
        self.assertEqual(cp.stdout.strip(), "refused")

    def test_cannot_load_modules(self):
        cp = self.sh("printf '\\177ELF' > /tmp/m.ko; insmod /tmp/m.ko; echo rc=$?")
        self.assertIn("rc=1", cp.stdout)
        self.assertRegex(cp.stderr, "(?i)not permitted|denied|invalid")
        if os.path.exists("/proc/modules"):
            with open("/proc/modules") as f:
                self.assertNotIn("m", [l.split()[0] for l in f])

    def test_cannot_change_the_hosts_hostname(self):
        before = socket.gethostname()
        cp = self.sh("hostname hacked && echo CHANGED || echo refused")
        self.assertEqual(cp.stdout.strip(), "refused")
        self.assertEqual(socket.gethostname(), before)
        # with --network host the UTS namespace is still the container's own
        cp = self.sh("hostname hacked2 && echo CHANGED || echo refused", "--network", "host")
        self.assertEqual(socket.gethostname(), before)

    def test_cannot_write_kernel_paths(self):
        cp = self.sh("echo 1 > /proc/sys/kernel/sysrq && echo WROTE || echo refused; "
                     "echo 1 > /proc/sysrq-trigger && echo WROTE2 || echo refused2; "
                     "cat /proc/kcore | head -c 1 | wc -c")
        lines = cp.stdout.split()
        self.assertEqual(lines[:2], ["refused", "refused2"])
        self.assertEqual(lines[2], "0")  # masked

    def test_cannot_see_host_network_with_none(self):
        cp = self.sh("ls /sys/class/net | tr '\\n' ' '", "--network", "none")
        self.assertEqual(cp.stdout.split(), ["lo"])
        # the default bridge: lo and the container's own end of its veth, nothing of the host
        cp = self.sh("ls /sys/class/net | tr '\\n' ' '")
        self.assertEqual(cp.stdout.split(), ["eth0", "lo"])

    def test_memory_limit_is_enforced_and_oom_reported(self):
        # the container's process allocates (and touches) 96 MB under a 32 MB limit
        cp = self.mx.run("run", "--name", "hog", "-m", "32m", "busybox", "dd", "if=/dev/zero",
                         "of=/dev/null", "bs=96M", "count=1", check=False)
        self.assertEqual(cp.returncode, 137, cp.stdout + cp.stderr)
        st = json.loads(self.mx.out("inspect", "hog"))[0]["State"]
        self.assertTrue(st["OOMKilled"])
        self.assertEqual(st["ExitCode"], 137)
        # under the limit the same work runs fine, and is not reported as OOM
        cp = self.mx.run("run", "--name", "fits", "-m", "64m", "busybox", "dd", "if=/dev/zero",
                         "of=/dev/null", "bs=8M", "count=1")
        st = json.loads(self.mx.out("inspect", "fits"))[0]["State"]
        self.assertFalse(st["OOMKilled"])
        self.assertEqual(st["ExitCode"], 0)

    def test_pids_limit_holds(self):
        # xargs forks 40 sleeps in parallel; the 13th process of the container must fail
        self.mx.run("run", "-d", "--name", "forky", "--pids-limit", "12", "busybox", "sh", "-c",
                    "seq 1 40 | xargs -P 40 -n1 sleep 20; echo xargs-done; sleep 20")
        end = time.time() + 15
        while time.time() < end and "xargs" not in self.mx.run("logs", "forky").stderr:
            time.sleep(0.1)
        self.assertIn("Resource temporarily unavailable", self.mx.run("logs", "forky").stderr)
        procs = json.loads(json.dumps(self.mx.out("top", "forky").splitlines()[1:]))
        self.assertLessEqual(len(procs), 12)
        self.assertGreaterEqual(len(procs), 10)

    def test_cpu_quota_and_limits_are_applied(self):
        cid = self.mx.out("run", "-d", "--cpus", "0.5", "-m", "48m", "--pids-limit", "20",
                          "busybox", "sleep", "100")
        time.sleep(0.2)
        mode = json.loads(self.mx.out("info", "--format", "{{json .}}"))["RuntimeCgroupMode"]
        if mode == "v2":
            with open("/sys/fs/cgroup/myrmex/%s/cpu.max" % cid) as f:
                self.assertEqual(f.read().split(), ["50000", "100000"])
        else:
            with open("/sys/fs/cgroup/cpu/myrmex/%s/cpu.cfs_quota_us" % cid) as f:
                self.assertEqual(f.read().strip(), "50000")
            with open("/sys/fs/cgroup/memory/myrmex/%s/memory.limit_in_bytes" % cid) as f:
                self.assertEqual(int(f.read()), 48 << 20)
            with open("/sys/fs/cgroup/pids/myrmex/%s/pids.max" % cid) as f:
                self.assertEqual(f.read().strip(), "20")

    def test_default_capabilities_are_dockers(self):
        cp = self.sh("grep CapEff /proc/self/status")
        eff = int(cp.stdout.split()[1], 16)
        self.assertEqual(eff, 0xa80425fb)  # Docker's default set
        cp = self.sh("grep CapEff /proc/self/status", "--cap-drop", "ALL")
        self.assertEqual(int(cp.stdout.split()[1], 16), 0)
        cp = self.sh("grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status")
        self.assertEqual(cp.stdout.split(), ["NoNewPrivs:", "1", "Seccomp:", "2"])

    def test_privileged_can_mount(self):
        cp = self.sh("mkdir -p /mnt/x; mount -t tmpfs none /mnt/x && echo MOUNTED",
                     "--privileged")
        self.assertEqual(cp.stdout.strip(), "MOUNTED")


if __name__ == "__main__":
    unittest.main()
