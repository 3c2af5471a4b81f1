# SPDX-License-Identifier: Apache-2.0
"""The network and volume verbs: Docker's output shapes and refusals (no plugins run)."""

import json
import os
import unittest

from harness import MyrmexTestCase


class TestNetworkVerbs(MyrmexTestCase):
    def test_default_network_and_listing(self):
        out = self.mx.out("network", "ls")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"])
        self.assertEqual(lines[1].split()[1:], ["bridge", "bridge", "local"])
        rows = [json.loads(line) for line in
                self.mx.out("network", "ls", "--format", "json").splitlines()]
        self.assertEqual([r["Name"] for r in rows], ["bridge"])
        self.assertEqual(len(rows[0]["ID"]), 12)
        self.assertEqual(self.mx.out("network", "ls", "-q").strip(), rows[0]["ID"])

    def test_create_inspect_rm(self):
        nid = self.mx.out("network", "create", "--subnet", "10.191.3.0/24", "--gateway",
                          "10.191.3.254", "--label", "team=web", "front").strip()
        self.assertRegex(nid, r"^[0-9a-f]{64}$")
        info = json.loads(self.mx.out("network", "inspect", "front"))
        self.assertEqual(len(info), 1)
        n = info[0]
        self.assertEqual(n["Id"], nid)
        self.assertEqual(n["Name"], "front")
        self.assertEqual(n["Driver"], "bridge")
        self.assertEqual(n["IPAM"]["Config"], [{"Subnet": "10.191.3.0/24",
                                                "Gateway": "10.191.3.254"}])
        self.assertEqual(n["Labels"], {"team": "web"})
        self.assertEqual(self.mx.out("network", "inspect", "-f", "{{.Name}}", nid[:8]).strip(),
                         "front")
        conflist = os.path.join(self.mx.root, "networks", "front.conflist")
        with open(conflist) as f:
            plugins = [p["type"] for p in json.load(f)["plugins"]]
        self.assertEqual(plugins, ["bridge", "portmap", "firewall"])
        # a second network gets a subnet of its own
        self.mx.run("network", "create", "back")
        back = json.loads(self.mx.out("network", "inspect", "back"))[0]
        self.assertNotEqual(back["IPAM"]["Config"][0]["Subnet"], "10.191.3.0/24")
        self.assertEqual(self.mx.out("network", "rm", "front").strip(), "front")
        self.assertFalse(os.path.exists(conflist))
        self.assertEqual(self.mx.out("network", "prune", "-f").strip(),
                         "Deleted Networks:\nback")

    def test_refusals(self):
        self.mx.run("network", "create", "dup")
        for args, text in [
                (("network", "create", "dup"), "already exists"),
                (("network", "create", "bad name"), "invalid network name"),
                (("network", "create", "--subnet", "10.1.0.0/33", "x1"), "invalid subnet"),
                (("network", "create", "--driver", "macvlan", "x2"), "not supported"),
                (("network", "rm", "bridge"), "cannot be removed"),
                (("network", "inspect", "nosuch"), "'nosuch' not found"),
                (("network", "connect", "dup", "nosuch"), "no such container"),
                (("network", "connect", "--netns", "/proc/self/ns/net", "dup", "../x"),
                 "invalid container ID")]:
            cp = self.mx.run(*args, check=False)
            self.assertEqual(cp.returncode, 1, args)
            self.assertIn("myrmex: error: ", cp.stderr)
            self.assertIn(text, cp.stderr, args)
        cp = self.mx.run("network", "create", "--subnet",
                         json.loads(self.mx.out("network", "inspect", "dup"))[0]["IPAM"]
                         ["Config"][0]["Subnet"], "overlap", check=False)
        self.assertIn("overlaps", cp.stderr)
        cp = self.mx.run("network", "create", check=False)
        self.assertEqual(cp.returncode, 2)


class TestVolumeVerbs(MyrmexTestCase):
    def test_lifecycle(self):
        self.assertEqual(self.mx.out("volume", "create", "--label", "a=b", "data").strip(),
                         "data")
        anon = self.mx.out("volume", "create").strip()
        self.assertRegex(anon, r"^[0-9a-f]{64}$")
        lines = self.mx.out("volume", "ls").splitlines()
        self.assertEqual(lines[0].split(), ["DRIVER", "VOLUME", "NAME"])
        self.assertEqual(sorted(l.split()[1] for l in lines[1:]), sorted([anon, "data"]))
        v = json.loads(self.mx.out("volume", "inspect", "data"))[0]
        self.assertEqual(v["Name"], "data")
        self.assertEqual(v["Driver"], "local")
        self.assertEqual(v["Labels"], {"a": "b"})
        self.assertEqual(v["Mountpoint"],
                         os.path.join(self.mx.root, "volumes", "data", "_data"))
        self.assertTrue(os.path.isdir(v["Mountpoint"]))
        with open(os.path.join(v["Mountpoint"], "f"), "w") as f:
            f.write("x" * 1000)
        # prune takes the anonymous one only, -a the named one too
        out = self.mx.out("volume", "prune", "-f")
        self.assertIn("Deleted Volumes:\n%s\n" % anon, out)
        self.assertIn("Total reclaimed space:", out)
        self.assertEqual(self.mx.out("volume", "ls", "-q").split(), ["data"])
        out = self.mx.out("volume", "prune", "-a", "-f")
        self.assertIn("data", out)
        self.assertIn("Total reclaimed space: 1kB", out)
        self.assertFalse(os.path.exists(v["Mountpoint"]))

    def test_refusals(self):
        cp = self.mx.run("volume", "inspect", "nope", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("no such volume: 'nope'", cp.stderr)
        cp = self.mx.run("volume", "create", "bad/name", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("invalid volume name", cp.stderr)
        cp = self.mx.run("volume", "create", "-d", "nfs", "v", check=False)
        self.assertIn("not supported", cp.stderr)
        cp = self.mx.run("volume", "rm", "nope", check=False)
        self.assertEqual(cp.returncode, 1)


if __name__ == "__main__":
    unittest.main()
