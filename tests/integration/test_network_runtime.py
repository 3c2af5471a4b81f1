# SPDX-License-Identifier: Apache-2.0
"""Real containers (the runtime's `run -d`) joined to CNI networks with `network connect`.

Until the runtime attaches networks itself at `run`, `network connect NET CONTAINER` joins a
running container's namespace; this shows the pieces working together: a published port
serving HTTP from busybox httpd in a container, on loopback and on the host's address, two
containers reaching each other, and nothing left once the containers are removed.
"""

import json
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import MyrmexTestCase, free_port, require_root
from test_network_cni import host_address, http_get, iptables_rules, veths

CNI_DIR = "/usr/lib/cni"


class TestRuntimeContainers(MyrmexTestCase):
    def setUp(self):
        require_root()
        if not (shutil.which("crun") or shutil.which("runc")):
            raise unittest.SkipTest("no OCI runtime (crun or runc) installed")
        if not os.access(os.path.join(CNI_DIR, "bridge"), os.X_OK):
            raise unittest.SkipTest("containernetworking-plugins is not installed in " + CNI_DIR)
        super().setUp()
        self.mx.import_busybox("busybox:latest")
        self.net = "rt%d" % (os.getpid() % 100000)
        octet = 100 + os.getpid() % 100
        self.mx.run("network", "create", "--subnet", "10.192.%d.0/24" % octet, self.net)
        self.addCleanup(self.cleanup_network)

    def cleanup_network(self):
        self.mx.run("network", "ls", check=False)
        self.mx.run("network", "rm", self.net, check=False)

    def run_container(self, name, *cmd):
        self.mx.run("run", "-d", "--name", name, "--network", "none", "busybox", *cmd)
        self.addCleanup(self.mx.run, "rm", "-f", name, check=False)

    def leases(self):
        d = os.path.join(self.mx.root, "networks", "ipam", self.net)
        return sorted(f for f in os.listdir(d) if re.match(r"^\d+\.", f)) if os.path.isdir(d) \
            else []

    def test_published_port_then_removal_leaves_nothing(self):
        rules0, veths0 = iptables_rules(), veths()
        self.run_container("web", "httpd", "-f", "-p", "80", "-h", "/bin")
        port = free_port()
        self.mx.run("network", "connect", "-p", "%d:80" % port, self.net, "web")
        n = json.loads(self.mx.out("network", "inspect", self.net))[0]
        self.assertEqual([c["Name"] for c in n["Containers"].values()], ["web"])
        self.assertEqual(self.mx.out("port", "web").strip(), "80/tcp -> 0.0.0.0:%d" % port)
        # busybox httpd serves the files of /bin: the busybox binary itself
        size = os.path.getsize("/bin/busybox")
        for host in ["127.0.0.1"] + ([host_address()] if host_address() else []):
            deadline = time.time() + 5
            while True:
                cp = subprocess.run(["python3", "-c",
                                     "import urllib.request as u, sys; sys.stdout.write(str("
                                     "len(u.urlopen('http://%s:%d/busybox', timeout=2).read())))"
                                     % (host, port)], capture_output=True, text=True)
                if cp.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(cp.stdout, str(size), cp.stderr)
        self.mx.run("rm", "-f", "web")
        self.mx.run("network", "ls")  # the next command cleans up after the container
        self.assertEqual(self.leases(), [])
        self.assertEqual(veths(), veths0)
        self.assertEqual([r for r in iptables_rules() if r not in rules0], [])

    def test_two_containers_talk(self):
        self.run_container("srv", "httpd", "-f", "-p", "80", "-h", "/bin")
        self.run_container("cli", "sleep", "600")
        self.mx.run("network", "connect", self.net, "srv")
        self.mx.run("network", "connect", self.net, "cli")
        n = json.loads(self.mx.out("network", "inspect", self.net))[0]
        ips = {c["Name"]: c["IPv4Address"].split("/")[0] for c in n["Containers"].values()}
        self.assertEqual(sorted(ips), ["cli", "srv"])
        deadline = time.time() + 5
        while True:
            cp = self.mx.run("exec", "cli", "ping", "-c", "1", "-W", "2", ips["srv"],
                             check=False)
            if cp.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("1 packets received", cp.stdout)
        # and a TCP connection to the server's httpd, from the other container
        cp = self.mx.run("exec", "cli", "sh", "-c",
                         "printf 'HEAD /busybox HTTP/1.0\\r\\n\\r\\n' | nc %s 80 | head -n 1" % ips["srv"],
                         check=False)
        self.assertIn("200 OK", cp.stdout, cp.stderr)
        # by name: each container's /etc/hosts names its peers, kept current in place
        hosts = self.mx.out("exec", "cli", "cat", "/etc/hosts")
        self.assertIn("%s\tsrv " % ips["srv"], hosts)
        self.assertIn("127.0.0.1\tlocalhost", hosts)  # the runtime's own lines stay
        cp = self.mx.run("exec", "cli", "ping", "-c", "1", "-W", "2", "srv", check=False)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("(%s)" % ips["srv"], cp.stdout)
        cp = self.mx.run("exec", "cli", "sh", "-c",
                         "printf 'HEAD / HTTP/1.0\\r\\n\\r\\n' | nc srv 80 | head -n 1",
                         check=False)
        self.assertTrue(cp.stdout.startswith("HTTP/1."), cp.stdout + cp.stderr)
        # srv leaves the network: cli's hosts file forgets it
        self.mx.run("network", "disconnect", self.net, "srv")
        self.assertNotIn("srv", self.mx.out("exec", "cli", "cat", "/etc/hosts"))

if __name__ == "__main__":
    unittest.main()
