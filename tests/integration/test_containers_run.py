# SPDX-License-Identifier: Apache-2.0
"""myrmex run and the lifecycle verbs on the real OCI runtime (crun, runc) with a busybox
image: output, exit codes, signals, a real pty, logs, ps, exec and the rest."""

import json
import os
import pty
import select
import signal
import subprocess
import time
import unittest

from harness import MyrmexTestCase, require_root


def wait_monitors(root, timeout=10):
    """Wait until no container monitor of the store at root runs. A monitor finishes after
    the exit it reports (the runtime's delete, the unmount, a --rm container's network);
    a store removed under it would leave that undone (a lease in the host-wide pool)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if b"__monitor" not in f.read():
                        continue
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
                # `run` forks its monitor without exec: its environment is the client's
                # (the store may be --root); it holds the store's database open either way
                fds = os.listdir("/proc/%s/fd" % pid)
                mine = ("MYRMEX_ROOT=" + root).encode() in env
                for fd in fds if not mine else ():
                    try:
                        if os.readlink("/proc/%s/fd/%s" % (pid, fd)).startswith(root + "/"):
                            mine = True
                            break
                    except OSError:
                        pass
            except OSError:
                continue
            if mine:
                busy = True
                break
        if not busy:
            return
        time.sleep(0.05)


def runtimes():
    out = []
    for name in ("crun", "runc"):
        for d in ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"):
            if os.access(os.path.join(d, name), os.X_OK):
                out.append(name)
                break
    return out


class ContainerCase(MyrmexTestCase):
    runtime = None

    def setUp(self):
        require_root()
        super().setUp()
        if self.runtime and self.runtime not in runtimes():
            raise unittest.SkipTest("%s is not installed" % self.runtime)
        if self.runtime:
            self.mx.env["MYRMEX_RUNTIME"] = self.runtime
        self.mx.import_busybox("busybox:latest")
        self.addCleanup(wait_monitors, self.mx.root)
        self.addCleanup(self.remove_all)

    def remove_all(self):
        ids = self.mx.run("ps", "-aq", check=False).stdout.split()
        if ids:
            self.mx.run("rm", "-f", *ids, check=False)

    def inspect(self, name):
        return json.loads(self.mx.out("inspect", "--type", "container", name))[0]

    def wait_state(self, name, want, timeout=10):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.inspect(name)["State"]["Status"]
            if st == want:
                return
            time.sleep(0.05)
        self.fail("container %s stayed %s, wanted %s" % (name, st, want))


class RunBasics:
    """Tests run once per runtime (the subclasses below pick crun or runc)."""

    def test_run_rm_echo(self):
        cp = self.mx.run("run", "--rm", "--network", "none", "busybox", "echo", "hi")
        self.assertEqual(cp.stdout, "hi\n")
        self.assertEqual(self.mx.out("ps", "-aq"), "")

    def test_exit_code_stdout_stderr_separate(self):
        cp = self.mx.run("run", "--rm", "busybox", "sh", "-c",
                         "echo to-out; echo to-err >&2; exit 3", check=False)
        self.assertEqual(cp.returncode, 3)
        self.assertEqual(cp.stdout, "to-out\n")
        self.assertEqual(cp.stderr, "to-err\n")

    def test_not_found_is_127_and_not_executable_is_126(self):
        cp = self.mx.run("run", "--rm", "busybox", "/no/such/program", check=False)
        self.assertEqual(cp.returncode, 127, cp.stderr)
        cp = self.mx.run("run", "--rm", "busybox", "/etc/passwd", check=False)
        self.assertEqual(cp.returncode, 126, cp.stderr)

    def test_signal_reaches_the_container(self):
        p = subprocess.Popen(self.mx.command(
            "run", "--rm", "busybox", "sh", "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.mx.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 42, err)
        self.assertEqual(out, b"got-term\n")

    def test_killed_by_signal_is_128_plus(self):
        # the host kills the container's process: the exit code is 128 + the signal
        p = subprocess.Popen(self.mx.command("run", "--name", "victim", "busybox", "sh", "-c",
                                             "echo ready; exec sleep 1000"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.mx.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        pid = self.inspect("victim")["State"]["Pid"]
        self.assertGreater(pid, 0)
        os.kill(pid, signal.SIGKILL)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, 137)
        self.assertEqual(self.inspect("victim")["State"]["ExitCode"], 137)


class TestRunCrun(ContainerCase, RunBasics):
    runtime = "crun"

    def test_info_reports_runtime_and_cgroup_mode(self):
        info = json.loads(self.mx.out("info", "--format", "{{json .}}"))
        self.assertEqual(info["DefaultRuntime"], "crun")
        self.assertIn(info["RuntimeCgroupMode"], ("v1", "v2", "hybrid"))
        with open("/proc/self/mountinfo") as f:
            hybrid = any(" /sys/fs/cgroup/unified " in l and " cgroup2 " in l for l in f)
        if hybrid:
            with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
                listed = f.read().strip() != ""
            self.assertEqual(info["CrunHybridCgroupWorkaround"], listed)


    def test_bare_crun_needs_the_workaround_here(self):
        # the reason for the private mount namespace: crun alone refuses this host's layout
        with open("/proc/self/mountinfo") as f:
            hybrid = any(" /sys/fs/cgroup/unified " in l and " - cgroup2 " in l for l in f)
        if not hybrid:
            self.skipTest("not a hybrid cgroup host")
        with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
            if not f.read().strip():
                self.skipTest("the cgroup2 mount lists no controller: crun accepts it")
        cid = self.mx.out("create", "--name", "bare", "--network", "none", "busybox", "true")
        bundle = os.path.join(self.mx.root, "containers", cid)
        state = os.path.join(self.tmp, "crun-state")
        cp = subprocess.run(["crun", "--root", state, "run", "-b", bundle, "bare-" + cid[:8]],
                            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("hybrid", cp.stderr)
        cp = self.mx.run("start", "-a", "bare")
        self.assertEqual(cp.returncode, 0)


class TestRunRunc(ContainerCase, RunBasics):
    runtime = "runc"


class TestVerbs(ContainerCase):
    def test_pty_with_python_pty(self):
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(self.mx.env)
            os.execv(self.mx.binary, self.mx.command(
                "run", "-it", "--rm", "busybox", "sh", "-c",
                "test -t 0 && test -t 1 && echo IS-A-TTY; stty size; read line; "
                "echo got:$line; exit 5"))
        out = b""
        sent = False
        end = time.time() + 30
        status = None
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            if b"IS-A-TTY" in out and not sent:
                os.write(fd, b"hello\r")
                sent = True
            wp, st = os.waitpid(pid, os.WNOHANG)
            if wp == pid:
                status = st
                break
        if status is None:
            _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertIn(b"IS-A-TTY", out)
        self.assertIn(b"got:hello", out)
        self.assertEqual(os.waitstatus_to_exitcode(status), 5)

    def test_exec_tty_with_python_pty(self):
        self.mx.run("run", "-d", "--name", "xt", "busybox", "sleep", "1000")
        self.wait_state("xt", "running")
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(self.mx.env)
            os.execv(self.mx.binary, self.mx.command("exec", "-it", "xt", "sh", "-c",
                                                     "test -t 0 && echo EXEC-TTY; exit 3"))
        out = b""
        while True:
            r, _, _ = select.select([fd], [], [], 10)
            if not r:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertIn(b"EXEC-TTY", out)
        self.assertEqual(os.waitstatus_to_exitcode(status), 3)

    def test_attach_follows_the_output(self):
        self.mx.run("run", "-d", "--name", "at", "busybox", "sh", "-c",
                    "sleep 0.5; for i in 1 2 3; do echo tick$i; sleep 0.2; done; exit 6")
        cp = self.mx.run("attach", "at", check=False, timeout=30)
        self.assertEqual(cp.returncode, 6)
        self.assertTrue(cp.stdout.endswith("tick3\n"), cp.stdout)

    def test_interactive_stdin_pipe(self):
        cp = self.mx.run("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo end",
                         input="line1\nline2\n")
        self.assertEqual(cp.stdout, "line1\nline2\nend\n")

    def test_detached_logs_ps_stop_rm(self):
        cid = self.mx.out("run", "-d", "--name", "web", "--label", "tier=front", "busybox", "sh",
                          "-c", "echo out1; echo err1 >&2; sleep 0.3; echo out2; exec sleep 1000")
        self.assertRegex(cid, r"^[0-9a-f]{64}$")
        self.wait_state("web", "running")
        rows = self.mx.json_lines("ps", "--format", "json")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["ID"], cid[:12])
        self.assertEqual(rows[0]["Names"], "web")
        self.assertEqual(rows[0]["State"], "running")
        self.assertEqual(set(rows[0]), {"Command", "CreatedAt", "ID", "Image", "Labels",
                                        "LocalVolumes", "Mounts", "Names", "Networks", "Ports",
                                        "RunningFor", "Size", "State", "Status"})
        self.assertEqual(self.mx.out("ps", "-q", "--filter", "label=tier=front"), cid[:12])
        self.assertEqual(self.mx.out("ps", "-q", "--filter", "label=tier=back"), "")
        self.assertTrue(self.mx.run("ps").stdout.startswith("CONTAINER ID   IMAGE"))
        end = time.time() + 10
        while time.time() < end and "out2" not in self.mx.run("logs", "web").stdout:
            time.sleep(0.05)
        cp = self.mx.run("logs", "web")
        self.assertEqual(cp.stdout, "out1\nout2\n")
        self.assertEqual(cp.stderr, "err1\n")
        self.assertEqual(self.mx.run("logs", "--tail", "1", "web").stdout, "out2\n")
        ts = self.mx.run("logs", "-t", "web").stdout.splitlines()[0]
        self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z out1$")
        self.assertEqual(self.mx.run("logs", "--since", "2099-01-01T00:00:00Z", "web").stdout, "")
        cp = self.mx.run("rm", "web", check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("stop the container before removing", cp.stderr)
        t0 = time.time()
        self.mx.run("stop", "-t", "1", "web")
        self.assertLess(time.time() - t0, 8)
        st = self.inspect("web")["State"]
        self.assertEqual(st["Status"], "exited")
        self.assertEqual(st["ExitCode"], 137)  # sleep ignores nothing: SIGTERM ends it ...
        self.mx.run("rm", "web")
        self.assertEqual(self.mx.out("ps", "-aq"), "")

    def test_logs_follow_ends_with_the_container(self):
        self.mx.run("run", "-d", "--name", "fo", "busybox", "sh", "-c",
                    "for i in 1 2 3; do echo n$i; sleep 0.2; done")
        cp = self.mx.run("logs", "-f", "fo", timeout=30)
        self.assertEqual(cp.stdout, "n1\nn2\nn3\n")

    def test_log_rotation_by_size_and_count(self):
        cid = self.mx.out("run", "-d", "--name", "rot", "--log-opt", "max-size=2k",
                          "--log-opt", "max-file=3", "busybox", "sh", "-c",
                          "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done")
        self.assertEqual(self.mx.out("wait", "rot"), "0")
        base = os.path.join(self.mx.root, "containers", cid, cid + "-json.log")
        self.assertTrue(os.path.exists(base + ".1"))
        self.assertTrue(os.path.exists(base + ".2"))
        self.assertFalse(os.path.exists(base + ".3"))
        for p in (base, base + ".1", base + ".2"):
            self.assertLess(os.path.getsize(p), 2048 + 200)
        lines = self.mx.run("logs", "rot").stdout.splitlines()
        self.assertEqual(lines[-1], "line-299")
        nums = [int(l.split("-")[1]) for l in lines]
        self.assertEqual(nums, list(range(nums[0], 300)))  # in order, nothing lost inside
        self.assertGreater(nums[0], 0)  # the oldest went away
        self.assertEqual(self.mx.run("logs", "--tail", "5", "rot").stdout.split(),
                         ["line-%d" % i for i in range(295, 300)])

    def test_options_reach_the_process(self):
        envf = os.path.join(self.tmp, "env")
        with open(envf, "w") as f:
            f.write("# comment\nFROMFILE=yes\n")
        vol = os.path.join(self.tmp, "vol")
        os.makedirs(vol)
        with open(os.path.join(vol, "f"), "w") as f:
            f.write("host-data\n")
        cp = self.mx.run(
            "run", "--rm", "-e", "A=1", "--env-file", envf, "-w", "/tmp", "-u", "65534:65534",
            "--hostname", "boxy", "--add-host", "db:10.1.2.3", "-v", vol + ":/data:ro",
            "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
            "echo $A $FROMFILE; pwd; id -u; id -g; hostname; grep -w db /etc/hosts; "
            "cat /data/f; touch /data/x 2>/dev/null && echo rw || echo ro; "
            "mount | grep ' /scratch ' | cut -d' ' -f5")
        self.assertEqual(cp.stdout.splitlines(), [
            "1 yes", "/tmp", "65534", "65534", "boxy", "10.1.2.3\tdb", "host-data", "ro",
            "tmpfs"])

    def test_read_only_and_entrypoint(self):
        cp = self.mx.run("run", "--rm", "--read-only", "busybox", "sh", "-c",
                         "touch /x 2>/dev/null && echo wrote || echo refused")
        self.assertEqual(cp.stdout, "refused\n")
        cp = self.mx.run("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint")
        self.assertEqual(cp.stdout, "via entrypoint\n")

    def test_exec(self):
        self.mx.run("run", "-d", "--name", "ex", "busybox", "sleep", "1000")
        self.wait_state("ex", "running")
        cp = self.mx.run("exec", "-e", "X=7", "-w", "/etc", "-u", "65534", "ex", "sh", "-c",
                         "echo $X; pwd; id -u; exit 9", check=False)
        self.assertEqual(cp.returncode, 9)
        self.assertEqual(cp.stdout.splitlines(), ["7", "/etc", "65534"])
        self.assertEqual(self.mx.run("exec", "ex", "nosuchprog", check=False).returncode, 127)
        self.assertEqual(self.mx.run("exec", "-i", "ex", "cat", input="fed\n").stdout, "fed\n")
        self.assertEqual(self.mx.run("exec", "ex", "cat", input="ignored\n").stdout, "")
        top = self.mx.out("top", "ex")
        self.assertIn("sleep 1000", top)

    def test_pause_unpause_kill_wait_restart(self):
        self.mx.run("run", "-d", "--name", "pu", "busybox", "sh", "-c",
                    "trap 'exit 11' USR1; while :; do sleep 0.05; done")
        self.wait_state("pu", "running")
        self.mx.run("pause", "pu")
        self.assertEqual(self.inspect("pu")["State"]["Status"], "paused")
        self.assertIn("(Paused)", self.mx.run("ps").stdout)
        self.mx.run("unpause", "pu")
        self.assertEqual(self.inspect("pu")["State"]["Status"], "running")
        self.mx.run("kill", "-s", "USR1", "pu")
        self.assertEqual(self.mx.out("wait", "pu"), "11")
        self.mx.run("restart", "pu")
        self.wait_state("pu", "running")
        self.mx.run("kill", "pu")
        self.assertEqual(self.mx.out("wait", "pu"), "137")

    def test_cp_both_ways(self):
        self.mx.run("run", "-d", "--name", "cc", "busybox", "sleep", "1000")
        src = os.path.join(self.tmp, "in.txt")
        with open(src, "w") as f:
            f.write("copied in\n")
        self.mx.run("cp", src, "cc:/tmp/")
        self.assertEqual(self.mx.run("exec", "cc", "cat", "/tmp/in.txt").stdout, "copied in\n")
        self.mx.run("exec", "cc", "sh", "-c", "echo from-ctr > /tmp/out.txt")
        dst = os.path.join(self.tmp, "out.txt")
        self.mx.run("cp", "cc:/tmp/out.txt", dst)
        with open(dst) as f:
            self.assertEqual(f.read(), "from-ctr\n")
        # a symlink inside cannot lead the copy out of the container
        self.mx.run("exec", "cc", "ln", "-s", "/../../../../etc/shadow", "/tmp/escape")
        self.mx.run("cp", "cc:/tmp/escape", os.path.join(self.tmp, "esc"), check=False)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "esc")) and
                         os.path.isfile(os.path.join(self.tmp, "esc")) and
                         open(os.path.join(self.tmp, "esc")).read().startswith("root:"))

    def test_create_start_attach_and_prune(self):
        cid = self.mx.out("create", "--name", "cs", "busybox", "sh", "-c", "echo started; exit 4")
        self.assertEqual(self.inspect("cs")["State"]["Status"], "created")
        cp = self.mx.run("start", "-a", "cs", check=False)
        self.assertEqual(cp.returncode, 4)
        self.assertEqual(cp.stdout, "started\n")
        self.mx.run("create", "--name", "other", "busybox", "true")
        out = self.mx.out("container", "prune", "-f")
        self.assertIn(cid, out)
        self.assertEqual(self.mx.out("ps", "-aq"), "")

    def test_refusals(self):
        cp = self.mx.run("run", "--rm", "-p", "notaport", "busybox", "true", check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("notaport", cp.stderr)
        cp = self.mx.run("run", "--rm", "--network", "nosuchnet", "busybox", "true",
                         check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("nosuchnet", cp.stderr)
        cp = self.mx.run("run", "--rm", "--pull", "never", "nosuchimage", "true", check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("nosuchimage", cp.stderr)
        cp = self.mx.run("run", "--rm", "--ulimit", "nofile=1:99999999", "busybox", "true",
                         check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("CAP_SYS_RESOURCE", cp.stderr)
        self.mx.run("create", "--name", "dup", "busybox", "true")
        cp = self.mx.run("create", "--name", "dup", "busybox", "true", check=False)
        self.assertEqual(cp.returncode, 125)
        self.assertIn("already in use", cp.stderr)

    def test_init_runs_a_reaper_as_pid_1(self):
        if not os.path.exists("/usr/bin/tini-static"):
            self.skipTest("tini is not installed (apt-get install tini)")
        cp = self.mx.run("run", "--rm", "--init", "busybox", "sh", "-c",
                         "cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 6", check=False)
        self.assertEqual(cp.returncode, 6)
        self.assertTrue(cp.stdout.startswith("/sbin/docker-init -- sh"), cp.stdout)


if __name__ == "__main__":
    unittest.main()
