# SPDX-License-Identifier: Apache-2.0
"""A debootstrap bookworm image (five layers, one of deletions) runs its commands: the
overlay of real layers with whiteouts, users from its /etc/passwd, exit codes."""

import os
import re
import subprocess
import unittest

import shutil
import tempfile

from harness import REPO, Myrmex, require_binary, require_root

CACHE = os.environ.get("MYRMEX_CACHE", "/var/cache/myrmex-test")


def bookworm_oci():
    """The bench's multi-layer bookworm OCI layout, built once and cached (minutes)."""
    oci = os.path.join(CACHE, "bench-big", "oci")
    if os.path.exists(os.path.join(oci, ".complete")):
        return oci
    require_binary("debootstrap")
    require_binary("umoci")
    out = subprocess.run([os.path.join(REPO, "bench", "make-big-image.sh")],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise unittest.SkipTest("cannot build the bookworm image (no Debian mirror?): %s"
                                % out.stderr[-500:])
    return out.stdout.strip().splitlines()[-1]


class TestBookworm(unittest.TestCase):
    """One store for the class: the image is loaded and its layers unpacked once."""

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.oci = bookworm_oci()
        cls.mx = Myrmex()
        out = cls.mx.out("load", "-i", cls.oci)
        m = re.search(r"sha256:([0-9a-f]{64})", out)
        if not m:
            cls.mx.cleanup()
            raise AssertionError("load printed no image ID: %s" % out)
        cls.mx.run("tag", m.group(1), "bookworm:test")

    @classmethod
    def tearDownClass(cls):
        cls.mx.cleanup()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mx-it-tmp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.remove_all)

    def remove_all(self):
        ids = self.mx.run("ps", "-aq", check=False).stdout.split()
        if ids:
            self.mx.run("rm", "-f", *ids, check=False)

    def test_commands_run(self):
        cp = self.mx.run("run", "--rm", "bookworm:test", "sh", "-c",
                         ". /etc/os-release; echo $PRETTY_NAME; cat /etc/debian_version; "
                         "python3 -c 'print(6 * 7)'; gcc --version | head -1; "
                         "test -e /usr/share/doc && echo docs-present || echo docs-removed; "
                         "cat /srv/app/release | head -1; exit 4", check=False)
        self.assertEqual(cp.returncode, 4, cp.stderr)
        lines = cp.stdout.splitlines()
        self.assertEqual(lines[0], "Debian GNU/Linux 12 (bookworm)")
        self.assertRegex(lines[1], r"^12\.\d+$")
        self.assertEqual(lines[2], "42")
        self.assertTrue(lines[3].startswith("gcc (Debian 12"), lines[3])
        self.assertEqual(lines[4], "docs-removed")  # the deletion layer's whiteouts
        self.assertTrue(lines[5].startswith("PRETTY_NAME="), lines[5])

    def test_users_from_the_image(self):
        cp = self.mx.run("run", "--rm", "-u", "nobody", "bookworm:test", "id")
        self.assertEqual(cp.stdout.strip(),
                         "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)")
        cp = self.mx.run("run", "--rm", "-u", "daemon:mail", "bookworm:test", "sh", "-c",
                         "id -u; id -g")
        self.assertEqual(cp.stdout.split(), ["1", "8"])

    def test_writes_stay_in_the_container(self):
        self.mx.run("run", "--name", "w1", "bookworm:test", "sh", "-c",
                    "rm /etc/debian_version; echo mine > /etc/motd")
        cp = self.mx.run("run", "--rm", "bookworm:test", "sh", "-c",
                         "cat /etc/debian_version >/dev/null && echo intact")
        self.assertEqual(cp.stdout, "intact\n")
        self.mx.run("start", "-a", "w1", check=False)
        cp = self.mx.run("cp", "w1:/etc/motd", os.path.join(self.tmp, "motd"))
        with open(os.path.join(self.tmp, "motd")) as f:
            self.assertEqual(f.read(), "mine\n")


if __name__ == "__main__":
    unittest.main()
