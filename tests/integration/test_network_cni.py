# SPDX-License-Identifier: Apache-2.0
"""Networks through the real CNI plugins, without a container runtime.

Each "container" is a network namespace the test makes with `ip netns add`, attached with
`myrmex network connect --netns`; a busybox httpd started inside it plays the service. The
tests check what a user sees (HTTP through a published port on loopback and on the host's
own address, peers reaching each other) and what must not be left behind (veths, iptables
rules, host-local leases), also after the "container" was killed.

Only loopback, the host's own address and namespaces made here are ever contacted.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest
import urllib.request

from harness import MyrmexTestCase, free_port, require_binary, require_root

CNI_DIR = "/usr/lib/cni"
_seq = [0]


def sh(*args, check=True, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check,
                          **kw)


def host_address():
    """The host's own IPv4 address (first global one), or None."""
    out = sh("ip", "-4", "-o", "addr", "show", "scope", "global").stdout
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def iptables_rules():
    """All iptables rules and chains, counters stripped, as a sorted list."""
    rules = []
    for table in ("filter", "nat", "mangle"):
        out = sh("iptables-save", "-t", table, check=False).stdout
        for line in out.splitlines():
            if line.startswith(("-A", ":")):
                rules.append(table + " " + re.sub(r"\[\d+:\d+\]", "", line).strip())
    return sorted(rules)


def veths():
    out = sh("ip", "-o", "link", "show", "type", "veth").stdout
    return sorted(re.findall(r"^\d+: ([^:@]+)", out, re.M))


def http_get(url, timeout=5.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError as e:  # the server may still be starting
            last = e
            time.sleep(0.1)
    raise AssertionError("GET %s failed: %s" % (url, last))


class NetworkTestCase(MyrmexTestCase):
    def setUp(self):
        require_root()
        require_binary("ip")
        require_binary("iptables-save")
        require_binary("busybox")
        if not os.access(os.path.join(CNI_DIR, "bridge"), os.X_OK):
            raise unittest.SkipTest("containernetworking-plugins is not installed in " + CNI_DIR)
        super().setUp()
        _seq[0] += 1
        self.tag = "%d-%d" % (os.getpid() % 100000, _seq[0])
        self.octet = 100 + (os.getpid() + _seq[0] * 7) % 100
        self.www = os.path.join(self.tmp, "www")
        os.makedirs(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("hello from %s\n" % self.tag)
        self.net = "it%s" % self.tag.replace("-", "x")
        self.mx.run("network", "create", "--subnet", "10.%d.%d.0/24" % (190, self.octet),
                    self.net)
        self.addCleanup(self._remove_network)
        self.procs = []
        self.holders = {}
        self.addCleanup(self._stop_procs)

    def _remove_network(self):
        # what the test left attached is stale by now (processes and namespaces gone):
        # the next command cleans it, then the network can go with its bridge
        self.mx.run("network", "ls", check=False)
        self.mx.run("network", "rm", self.net, check=False)

    def _stop_procs(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def netns(self, name):
        """A namespace with a process in it, as a container has (its init)."""
        full = "mxit-%s-%s" % (self.tag, name)
        sh("ip", "netns", "add", full)
        self.addCleanup(sh, "ip", "netns", "del", full, check=False)
        p = subprocess.Popen(["ip", "netns", "exec", full, "sleep", "3600"])
        self.procs.append(p)
        self.holders["/run/netns/" + full] = p
        return full, "/run/netns/" + full

    def connect(self, cid, path, *extra):
        self.mx.run("network", "connect", "--netns", path, "--owner-pid",
                    self.holders[path].pid, "--name", cid, *extra, self.net, cid)

    def httpd(self, ns):
        p = subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "80",
                              "-h", self.www], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def ip_in(self, ns):
        out = sh("ip", "netns", "exec", ns, "ip", "-4", "-o", "addr", "show", "eth0").stdout
        return re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out).group(1)

    def leases(self):
        d = os.path.join(self.mx.root, "networks", "ipam", self.net)
        if not os.path.isdir(d):
            return []
        return sorted(f for f in os.listdir(d) if re.match(r"^\d+\.\d+\.\d+\.\d+$", f))

    def warm_up(self):
        """One attach/detach so the plugins' shared chains exist before the baseline."""
        ns, path = self.netns("warm")
        self.connect("warm" + self.tag.replace("-", ""), path)
        self.mx.run("network", "disconnect", self.net, "warm" + self.tag.replace("-", ""))
        return iptables_rules(), veths()


class TestPublishedPort(NetworkTestCase):
    def test_http_on_loopback_and_host_address_then_nothing_left(self):
        rules0, veths0 = self.warm_up()
        ns, path = self.netns("web")
        port = free_port()
        self.connect("web1", path, "-p", "%d:80" % port)
        self.assertEqual(len(self.leases()), 1)
        self.assertEqual(len(veths()), len(veths0) + 1)
        self.httpd(ns)
        body = "hello from %s\n" % self.tag
        self.assertEqual(http_get("http://127.0.0.1:%d/" % port), body)
        addr = host_address()
        if addr:
            self.assertEqual(http_get("http://%s:%d/" % (addr, port)), body)
        self.assertEqual(self.mx.out("port", "web1").strip(), "80/tcp -> 0.0.0.0:%d" % port)
        self.assertEqual(self.mx.out("port", "web1", "80").strip(), "0.0.0.0:%d" % port)

        self.mx.run("network", "disconnect", self.net, "web1")
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual(iptables_rules(), rules0)
        # the namespace was the test's: still there, only without eth0
        self.assertTrue(os.path.exists(path))
        cp = sh("ip", "netns", "exec", ns, "ip", "link", "show", "eth0", check=False)
        self.assertNotEqual(cp.returncode, 0)

    def test_loopback_only_publish(self):
        ns, path = self.netns("lo")
        port = free_port()
        self.connect("lo1", path, "-p", "127.0.0.1:%d:80" % port)
        self.httpd(ns)
        self.assertIn("hello", http_get("http://127.0.0.1:%d/" % port))
        self.assertEqual(self.mx.out("port", "lo1").strip(), "80/tcp -> 127.0.0.1:%d" % port)

    def test_port_taken_is_refused(self):
        ns, path = self.netns("a")
        ns2, path2 = self.netns("b")
        port = free_port()
        self.connect("pa", path, "-p", "%d:80" % port)
        cp = self.mx.run("network", "connect", "--netns", path2, "-p", "%d:80" % port, self.net,
                         "pb", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("already in use", cp.stderr)
        self.assertEqual(len(self.leases()), 1)  # nothing left of the refused attach


class TestPeers(NetworkTestCase):
    def test_two_namespaces_reach_each_other(self):
        a, pa = self.netns("a")
        b, pb = self.netns("b")
        self.connect("peer-a", pa)
        self.connect("peer-b", pb)
        ip_a, ip_b = self.ip_in(a), self.ip_in(b)
        self.assertNotEqual(ip_a, ip_b)
        self.assertTrue(ip_a.startswith("10.190.%d." % self.octet))
        self.httpd(b)
        deadline = time.time() + 5
        while True:
            # (busybox-static's wget crashes on this host; Python is the client instead)
            cp = sh("ip", "netns", "exec", a, "python3", "-c",
                    "import sys, urllib.request as u; sys.stdout.write(u.urlopen("
                    "'http://%s/', timeout=2).read().decode())" % ip_b, check=False)
            if cp.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(cp.stdout, "hello from %s\n" % self.tag)
        cp = sh("ip", "netns", "exec", b, "busybox", "ping", "-c", "1", "-W", "2", ip_a,
                check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        # network rm refuses while they are attached
        cp = self.mx.run("network", "rm", self.net, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("attached", cp.stderr)


class TestStaleCleanup(NetworkTestCase):
    def test_killed_container_is_cleaned_by_next_command(self):
        rules0, veths0 = self.warm_up()
        ns, path = self.netns("k")
        port = free_port()
        self.connect("killed1", path, "-p", "%d:80" % port)
        p = self.httpd(ns)
        self.assertIn("hello", http_get("http://127.0.0.1:%d/" % port))
        ip_before = self.ip_in(ns)
        # while the httpd lives in the namespace, nothing is stale
        self.mx.run("network", "ls")
        self.assertEqual(len(self.leases()), 1)
        for proc in (p, self.holders[path]):  # the container dies: all its processes
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        deadline = time.time() + 5
        while sh("ip", "netns", "pids", ns).stdout.strip() and time.time() < deadline:
            time.sleep(0.05)
        self.mx.run("network", "ls")  # the next command cleans up
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual(iptables_rules(), rules0)
        # the same "container" started again gets its address back
        self.holders[path] = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "3600"])
        self.procs.append(self.holders[path])
        self.connect("killed1", path)
        self.assertEqual(self.ip_in(ns), ip_before)
        self.mx.run("network", "disconnect", self.net, "killed1")

    def test_namespace_gone_is_cleaned_too(self):
        rules0, veths0 = self.warm_up()
        full, path = self.netns("gone")
        self.connect("gone1", path, "-p", "%d:80" % free_port())
        holder = self.holders[path]
        holder.kill()
        holder.wait()
        sh("ip", "netns", "del", full)  # the sandbox vanished with its veth end
        self.mx.run("network", "ls")
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual(iptables_rules(), rules0)


class TestParallel(NetworkTestCase):
    def test_parallel_connects_and_disconnects(self):
        rules0, veths0 = self.warm_up()
        spaces = [self.netns("par%d" % i) for i in range(8)]
        procs = [subprocess.Popen(self.mx.command(
            "network", "connect", "--netns", path, "--owner-pid", self.holders[path].pid,
            "-p", "%d:80" % free_port(), self.net, "par%d" % i),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i, (ns, path) in enumerate(spaces)]
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
        ips = [self.ip_in(ns) for ns, _ in spaces]
        self.assertEqual(len(set(ips)), 8)  # no address given twice
        self.assertEqual(sorted(self.leases()), sorted(ips))
        n = json.loads(self.mx.out("network", "inspect", self.net))[0]
        self.assertEqual(len(n["Containers"]), 8)  # no record lost
        procs = [subprocess.Popen(self.mx.command("network", "disconnect", self.net,
                                                  "par%d" % i),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(8)]
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual(iptables_rules(), rules0)


class TestCrashes(NetworkTestCase):
    """A client killed at each durable step of connect and disconnect (MYRMEX_FAULT_AT):
    the next command leaves nothing behind, and the namespace can be attached again."""

    def fault_points(self, *args):
        log = os.path.join(self.tmp, "points.log")
        self.mx.run(*args, env={"MYRMEX_FAULT_LOG": log})
        with open(log) as f:
            points = [line.split()[1] for line in f]
        os.unlink(log)
        return points

    def assert_clean(self, rules0, veths0):
        self.mx.run("network", "ls")  # the next command cleans up
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual(iptables_rules(), rules0)

    def test_connect_killed_at_every_step(self):
        rules0, veths0 = self.warm_up()
        # a created, not yet started container: its namespace holds no process
        full = "mxit-%s-crash" % self.tag
        sh("ip", "netns", "add", full)
        self.addCleanup(sh, "ip", "netns", "del", full, check=False)
        path = "/run/netns/" + full
        args = ("network", "connect", "--netns", path, "-p", "%d:80" % free_port(), self.net,
                "crash1")
        points = self.fault_points(*args)
        self.assertEqual(points, ["network-attach-recorded", "cni-add-plugin", "cni-add-plugin",
                                  "cni-add-plugin", "network-cni-added", "network-attached"])
        self.mx.run("network", "disconnect", self.net, "crash1")
        for n in range(1, len(points) + 1):
            log = os.path.join(self.tmp, "at%d.log" % n)
            cp = self.mx.run(*args, check=False,
                             env={"MYRMEX_FAULT_AT": str(n), "MYRMEX_FAULT_LOG": log})
            self.assertEqual(cp.returncode, -signal.SIGKILL, "step %d: %s" % (n, cp.stderr))
            with open(log) as f:
                self.assertEqual(f.read().split()[-1], points[n - 1])
            self.assert_clean(rules0, veths0)
        # and after all that, a normal attach works and its removal is clean
        self.mx.run(*args)
        self.assertEqual(len(self.leases()), 1)
        self.mx.run("network", "disconnect", self.net, "crash1")
        self.assert_clean(rules0, veths0)

    def test_disconnect_killed_at_every_step(self):
        rules0, veths0 = self.warm_up()
        ns, path = self.netns("dcrash")
        connect = ("network", "connect", "--netns", path, "--owner-pid",
                   self.holders[path].pid, "-p", "%d:80" % free_port(), self.net, "dcrash1")
        self.mx.run(*connect)
        points = self.fault_points("network", "disconnect", self.net, "dcrash1")
        self.assertEqual(points[:4], ["cni-del-plugin"] * 3 + ["network-detached"])
        for n in range(1, 5):
            self.mx.run(*connect)
            cp = self.mx.run("network", "disconnect", self.net, "dcrash1", check=False,
                             env={"MYRMEX_FAULT_AT": str(n)})
            self.assertEqual(cp.returncode, -signal.SIGKILL)
            # the disconnect can simply be run again
            self.mx.run("network", "disconnect", self.net, "dcrash1")
            self.assert_clean(rules0, veths0)


if __name__ == "__main__":
    unittest.main()
