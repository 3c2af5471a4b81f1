# SPDX-License-Identifier: Apache-2.0
"""manage_containers from Python (ctypes over libmyrmex) against the real runtime: the seed's
operations, return keys and both error styles."""

import os
import sys
import time
import unittest

from harness import REPO, Myrmex, build_dir, library_path, require_root

sys.path.insert(0, os.path.join(REPO, "python"))

SEED_KEYS = {"operation", "container_name", "success", "container_id", "status",
             "execution_time", "logs", "error_message"}


class TestManageContainers(unittest.TestCase):
    def setUp(self):
        require_root()
        if not library_path():
            self.skipTest("libmyrmex.so is not built in %s" % build_dir())
        os.environ.setdefault("MYRMEX_LIBRARY", library_path())
        from codomyrmex import containerization
        self.cz = containerization
        self.mx = Myrmex()
        self.addCleanup(self.mx.cleanup)
        self.mx.import_busybox("busybox:latest")
        self.root = self.mx.root
        self.addCleanup(self.remove_all)

    def remove_all(self):
        ids = self.mx.run("ps", "-aq", check=False).stdout.split()
        if ids:
            self.mx.run("rm", "-f", *ids, check=False)

    def manage(self, op, name, config=None, **kw):
        kw.setdefault("root", self.root)
        return self.cz.manage_containers(op, name, config, **kw)

    def test_lifecycle(self):
        vol = self.mx.root + "-vol"
        os.makedirs(vol, exist_ok=True)
        self.addCleanup(lambda: os.path.isdir(vol) and os.rmdir(vol))
        config = {
            "image": "busybox",
            "command": ["sh", "-c", "echo hello-$GREETING; echo to-err >&2; ls /data; "
                        "exec sleep 1000"],
            "environment": {"GREETING": "py"},
            "volumes": {vol: {"bind": "/data", "mode": "ro"}},
            "networks": ["none"],
            "resources": {"cpu_limit": "0.5", "memory_limit": "64m"},
            "restart_policy": "no",
            "labels": {"from": "python"},
        }
        r = self.manage("create", "pyweb", config)
        self.assertEqual(set(r), SEED_KEYS)
        self.assertTrue(r["success"])
        self.assertEqual(r["operation"], "create")
        self.assertEqual(r["status"], "created")
        self.assertRegex(r["container_id"], "^[0-9a-f]{64}$")
        self.assertIsInstance(r["execution_time"], float)
        cid = r["container_id"]

        r = self.manage("start", "pyweb")
        self.assertEqual(r["status"], "running")
        self.assertEqual(r["container_id"], cid)
        end = time.time() + 10
        logs = ""
        while time.time() < end and "to-err" not in logs:
            logs = self.manage("logs", "pyweb")["logs"]
            time.sleep(0.05)
        self.assertEqual(logs, "hello-py\nto-err\n")
        self.assertEqual(self.manage("logs", "pyweb", tail=1)["logs"], "to-err\n")

        r = self.manage("restart", "pyweb", timeout=1)
        self.assertEqual(r["status"], "running")
        r = self.manage("stop", "pyweb", timeout=1)
        self.assertEqual(r["status"], "exited")
        r = self.manage("remove", "pyweb")
        self.assertEqual(r["status"], "removed")
        self.assertEqual(self.mx.out("ps", "-aq"), "")

    def test_container_runs_on_after_the_python_process(self):
        # the monitor is the myrmex binary, detached: the container outlives this call
        r = self.manage("create", "bg", {"image": "busybox", "command": "sleep 1000"},
                        start=True)
        self.assertEqual(r["status"], "running")
        self.assertEqual(self.mx.json_lines("ps", "--format", "json")[0]["Names"], "bg")
        r = self.manage("remove", "bg", force=True)
        self.assertTrue(r["success"])

    def test_errors_raise_or_return(self):
        with self.assertRaises(self.cz.ContainerManagementError) as cm:
            self.manage("start", "missing")
        self.assertIn("no such container", str(cm.exception))
        r = self.manage("start", "missing", raise_on_error=False)
        self.assertEqual(set(r), SEED_KEYS)
        self.assertFalse(r["success"])
        self.assertIn("no such container", r["error_message"])

        r = self.manage("create", "ported", {"image": "busybox", "ports": {"80/tcp": "x"}},
                        raise_on_error=False)
        self.assertFalse(r["success"])
        self.assertIn("ports", r["error_message"])
        r = self.manage("create", "netless", {"image": "busybox", "networks": ["nosuchnet"]},
                        raise_on_error=False)
        self.assertFalse(r["success"])
        self.assertIn("nosuchnet", r["error_message"])

        with self.assertRaises(self.cz.ContainerManagementError):
            self.manage("create", "noimg", {"image": "not-there"})
        with self.assertRaises(self.cz.ContainerManagementError):
            self.manage("explode", "x")
        with self.assertRaises(self.cz.ContainerManagementError):
            self.manage("create", "bad", {"image": "busybox", "resources":
                                          {"memory_limit": "lots"}})
        self.manage("create", "busy", {"image": "busybox", "command": ["sleep", "100"]},
                    start=True)
        with self.assertRaises(self.cz.ContainerManagementError) as cm:
            self.manage("remove", "busy")
        self.assertIn("stop the container", str(cm.exception))
        self.assertTrue(self.manage("remove", "busy", force=True)["success"])

    def test_restart_policy_in_docker_py_shape(self):
        r = self.manage("create", "rp", {"image": "busybox", "command": ["sh", "-c", "exit 1"],
                                         "restart_policy": {"Name": "on-failure",
                                                            "MaximumRetryCount": 2}},
                        start=True)
        self.assertTrue(r["success"])
        end = time.time() + 20
        import json
        while time.time() < end:
            c = json.loads(self.mx.out("inspect", "rp"))[0]
            if c["State"]["Status"] == "exited" and c["RestartCount"] == 2:
                break
            time.sleep(0.05)
        self.assertEqual(c["RestartCount"], 2)


if __name__ == "__main__":
    unittest.main()
