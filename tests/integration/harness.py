# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the integration tests (standard library only).

- ``Myrmex``: runs the real ``myrmex`` binary on a fresh temporary store (``--root``).
- ``MyrmexTestCase``: a unittest.TestCase with ``self.mx`` ready and cleaned up.
- ``busybox_rootfs()`` / ``busybox_tar()``: a root filesystem made of busybox-static and its
  applet symlinks, as a directory or a (gzipped) tarball; deterministic content.
- ``Registry``: Debian's docker-registry on a free loopback port (never 5000), optionally with
  htpasswd auth or TLS, started and stopped by the test.
- ``require_binary()`` / ``require_root()``: skip with a reason when a component is missing.

The build is found through MX_BUILD_DIR (set by the suite runner and meson), else
``<repo>/build``.
"""

import contextlib
import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import unittest
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUSYBOX = "/bin/busybox"
# A fixed mtime keeps the busybox tarball, and so the imported image, byte-identical.
FIXED_MTIME = 1700000000


def build_dir():
    return os.environ.get("MX_BUILD_DIR") or os.path.join(REPO, "build")


def myrmex_binary():
    """Path of the myrmex executable in the build directory, or None."""
    for rel in ("myrmex", os.path.join("src", "cli", "myrmex")):
        p = os.path.join(build_dir(), rel)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def library_path():
    """Path of libmyrmex.so in the build directory, or None."""
    p = os.path.join(build_dir(), "libmyrmex.so")
    return p if os.path.exists(p) else None


def require_binary(name):
    """Skip the calling test unless program `name` is on PATH; returns its path."""
    path = shutil.which(name)
    if not path:
        raise unittest.SkipTest("%s is not installed (apt-get install it; CI does)" % name)
    return path


def require_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (mounts, runtimes and the store assume root)")


def free_port():
    """A free TCP port on 127.0.0.1 (never 5000)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 5000:
            return port


class MyrmexError(AssertionError):
    pass


class Myrmex:
    """The myrmex CLI on its own temporary store.

    ``run(*args, input=None, check=True)`` returns a CompletedProcess with text stdout and
    stderr (``text=False`` for bytes); with check, a non-zero exit raises MyrmexError showing
    the command, its exit code and both streams.
    """

    def __init__(self, root=None, env=None):
        self.binary = myrmex_binary()
        if not self.binary:
            raise unittest.SkipTest(
                "myrmex is not built in %s (set MX_BUILD_DIR or run meson setup build)"
                % build_dir())
        self._own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="mx-it-")
        self.env = dict(os.environ)
        self.env.pop("MYRMEX_ROOT", None)
        if env:
            self.env.update(env)

    def command(self, *args):
        return [self.binary, "--root", self.root] + [str(a) for a in args]

    def run(self, *args, input=None, check=True, text=True, env=None, timeout=300, cwd=None):
        e = dict(self.env)
        if env:
            e.update(env)
        if text and isinstance(input, bytes):
            text = False
        cp = subprocess.run(self.command(*args), input=input, capture_output=True, text=text,
                            env=e, timeout=timeout, cwd=cwd)
        if check and cp.returncode != 0:
            raise MyrmexError("myrmex %s exited %d\nstdout: %s\nstderr: %s" % (
                " ".join(str(a) for a in args), cp.returncode, cp.stdout, cp.stderr))
        return cp

    def out(self, *args, **kw):
        """stdout of a successful run, stripped."""
        return self.run(*args, **kw).stdout.strip()

    def json_lines(self, *args, **kw):
        """Parse one JSON object per line (listings with --format json)."""
        return [json.loads(l) for l in self.run(*args, **kw).stdout.splitlines() if l.strip()]

    def import_busybox(self, ref="busybox:latest", gz=False, variant=None):
        """Import the busybox rootfs as ref (None: no name); returns the printed image ID."""
        args = ["import", busybox_tar(gz=gz, variant=variant)]
        if ref:
            args.append(ref)
        return self.out(*args)

    def cleanup(self):
        if self._own_root and os.path.isdir(self.root):
            # image mounts and container rootfs may still be mounted below the root
            with contextlib.suppress(Exception):
                mounts = []
                with open("/proc/self/mounts") as f:
                    for line in f:
                        mp = line.split()[1]
                        if mp.startswith(self.root + "/"):
                            mounts.append(mp)
                for mp in sorted(mounts, reverse=True):
                    subprocess.run(["umount", "-l", mp], capture_output=True)
            shutil.rmtree(self.root, ignore_errors=True)


class MyrmexTestCase(unittest.TestCase):
    """A TestCase with self.mx on a fresh store and self.tmp, a scratch directory."""

    def setUp(self):
        super().setUp()
        self.mx = Myrmex()
        self.addCleanup(self.mx.cleanup)
        self.tmp = tempfile.mkdtemp(prefix="mx-it-tmp-")
        self.addCleanup(shutil.rmtree, self.tmp, True)


# ---- busybox ----------------------------------------------------------------------------

_cache_dir = None


def _cache():
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = tempfile.mkdtemp(prefix="mx-it-cache-")
        import atexit
        atexit.register(shutil.rmtree, _cache_dir, True)
    return _cache_dir


def busybox_applets():
    """Applet paths relative to / ("bin/ls", "usr/bin/awk") from busybox --list-full."""
    if not os.path.exists(BUSYBOX):
        raise unittest.SkipTest("%s is missing (apt-get install busybox-static)" % BUSYBOX)
    out = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True)
    return sorted(set(l.strip() for l in out.stdout.splitlines() if l.strip()))


def busybox_rootfs(dest=None):
    """Make a busybox root filesystem directory (bin/busybox + applet symlinks); returns it."""
    dest = dest or os.path.join(_cache(), "rootfs")
    if os.path.isdir(os.path.join(dest, "bin")):
        return dest
    os.makedirs(os.path.join(dest, "bin"), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(dest, "bin", "busybox"))
    for applet in busybox_applets():
        p = os.path.join(dest, applet)
        if applet == "bin/busybox" or os.path.lexists(p):
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink("/bin/busybox", p)
    for d in ("etc", "tmp", "proc", "sys", "dev", "root"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    return dest


def _tar_bytes(rootfs, variant=None):
    """A deterministic tar of rootfs: sorted names, root owner, fixed mtime; with variant,
    an extra file etc/variant holding it (so the image differs)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if variant is not None:
            data = ("%s\n" % variant).encode()
            ti = tarfile.TarInfo("etc/variant")
            ti.size = len(data)
            ti.mtime = FIXED_MTIME
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
        entries = []
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for n in sorted(dirnames + filenames):
                entries.append(os.path.join(dirpath, n))
        for p in sorted(entries, key=lambda x: os.path.relpath(x, rootfs)):
            rel = os.path.relpath(p, rootfs)
            ti = tf.gettarinfo(p, arcname=rel)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = FIXED_MTIME
            ti.pax_headers = {}
            if ti.isfile():
                with open(p, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
    return buf.getvalue()


def busybox_tar(gz=False, variant=None):
    """Path of a tarball of busybox_rootfs() (gzipped with gz=True), made once per process.
    A variant string adds etc/variant, giving a different layer and image ID."""
    name = "busybox%s.tar%s" % ("" if variant is None else "-" + str(variant),
                                ".gz" if gz else "")
    path = os.path.join(_cache(), name)
    if not os.path.exists(path):
        data = _tar_bytes(busybox_rootfs(), variant)
        if gz:
            data = gzip.compress(data, mtime=0)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    return path


# ---- docker-registry --------------------------------------------------------------------

REGISTRY_BIN = "docker-registry"


class Registry:
    """Debian's docker-registry on 127.0.0.1:<free port>.

    Use as a context manager or call start()/stop(). ``htpasswd=(user, password)`` turns on
    basic auth (needs htpasswd from apache2-utils); ``tls=True`` serves HTTPS with a test CA
    made by openssl (``self.ca_cert`` is the CA to trust). ``self.host`` is "127.0.0.1:PORT".
    """

    def __init__(self, htpasswd=None, tls=False, extra_config=""):
        self.binary = shutil.which(REGISTRY_BIN)
        if not self.binary:
            raise unittest.SkipTest("docker-registry is not installed (apt-get install "
                                    "docker-registry)")
        self.htpasswd = htpasswd
        self.tls = tls
        self.extra_config = extra_config
        self.dir = None
        self.proc = None
        self.port = None
        self.ca_cert = None

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "%s://%s" % ("https" if self.tls else "http", self.host)

    def _make_tls(self):
        require_binary("openssl")
        d = self.dir
        ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        key, csr, cert = (os.path.join(d, n) for n in ("key.pem", "req.csr", "cert.pem"))
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
            "-out", ca, "-days", "2", "-subj", "/CN=myrmex test CA")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=127.0.0.1")
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        self.ca_cert = ca
        return cert, key

    def start(self, timeout=30):
        self.dir = tempfile.mkdtemp(prefix="mx-registry-")
        self.port = free_port()
        cfg = ["version: 0.1", "log: {level: warn}",
               "storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}"
               % os.path.join(self.dir, "data")]
        http = "http: {addr: '%s'" % self.host
        if self.tls:
            cert, key = self._make_tls()
            http += ", tls: {certificate: %s, key: %s}" % (cert, key)
        cfg.append(http + "}")
        if self.htpasswd:
            htp = require_binary("htpasswd")
            out = subprocess.run([htp, "-Bbn", self.htpasswd[0], self.htpasswd[1]],
                                 capture_output=True, text=True, check=True).stdout
            path = os.path.join(self.dir, "htpasswd")
            with open(path, "w") as f:
                f.write(out)
            cfg.append("auth: {htpasswd: {realm: test, path: %s}}" % path)
        if self.extra_config:
            cfg.append(self.extra_config)
        conf = os.path.join(self.dir, "config.yml")
        with open(conf, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.log = open(os.path.join(self.dir, "registry.log"), "wb")
        self.proc = subprocess.Popen([self.binary, "serve", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + timeout
        ctx = None
        if self.tls:
            import ssl
            ctx = ssl.create_default_context(cafile=self.ca_cert)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("docker-registry exited at start; see its log")
            try:
                with urllib.request.urlopen(self.url + "/v2/", timeout=2, context=ctx) as r:
                    if r.status == 200:
                        return self
            except urllib.error.HTTPError as e:
                if e.code == 401 and self.htpasswd:
                    return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer on %s within %ds" % (self.url, timeout))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# ---- debootstrap images (slow: cached outside the tree) ---------------------------------

def cache_root():
    """Where slow test artefacts live between runs: $MYRMEX_CACHE, else
    /var/cache/myrmex-test (the suite runner and bench/ use the same place)."""
    d = os.environ.get("MYRMEX_CACHE") or "/var/cache/myrmex-test"
    os.makedirs(d, exist_ok=True)
    return d


def apt_mirror():
    """The URI of the Debian mirror apt uses (deb822 or one-line sources)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("URIs:"):
                        return line.split()[1]
                    if line.startswith("deb ") and "security" not in line:
                        parts = line.split()
                        uri = next(p for p in parts[1:] if "://" in p)
                        return uri
        except (OSError, StopIteration):
            continue
    return "http://deb.debian.org/debian"


def debian_rootfs(include=(), suite="bookworm"):
    """A debootstrap --variant=minbase root filesystem (with the packages in include), made
    once and cached in cache_root(); apt's caches removed. About 85 s when not cached."""
    import hashlib
    require_root()
    require_binary("debootstrap")
    key = hashlib.sha256((suite + " " + ",".join(sorted(include))).encode()).hexdigest()[:12]
    dest = os.path.join(cache_root(), "debootstrap-%s-%s" % (suite, key))
    if os.path.isfile(os.path.join(dest, "etc", "debian_version")):
        return dest
    tmp = dest + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = ["debootstrap", "--variant=minbase"]
    if include:
        cmd.append("--include=" + ",".join(include))
    cmd += [suite, tmp, apt_mirror()]
    cp = subprocess.run(cmd, capture_output=True, text=True)
    if cp.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("debootstrap failed: %s" % cp.stderr[-2000:])
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
        d = os.path.join(tmp, sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            p = os.path.join(d, name)
            if os.path.isfile(p) and name not in ("lock",):
                os.unlink(p)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    return dest


def debian_tar(include=(), suite="bookworm"):
    """A tarball of debian_rootfs(), cached next to it."""
    root = debian_rootfs(include, suite)
    path = root + ".tar"
    if not os.path.exists(path):
        tmp = path + ".tmp-%d" % os.getpid()
        subprocess.run(["tar", "-C", root, "--numeric-owner", "--xattrs", "-cf", tmp, "."],
                       check=True)
        os.rename(tmp, path)
    return path
