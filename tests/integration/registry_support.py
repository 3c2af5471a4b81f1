# SPDX-License-Identifier: Apache-2.0
"""Helpers for the registry tests: registries in three set-ups, OCI layouts built by hand
(several layers, several platforms), skopeo, and tree snapshots (standard library only)."""

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import time
import unittest
import urllib.error
import urllib.request

import harness


def run(*args, check=True, **kw):
    cp = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and cp.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, args)), cp.returncode, cp.stdout, cp.stderr))
    return cp


# harness.Registry writes an htpasswd section whenever htpasswd is set; a token registry must
# not get one, so build its config here instead.
class TokenRegistry(harness.Registry):
    def __init__(self, token_server, tls=False):
        super().__init__(tls=tls, extra_config=token_server.registry_config())

    def start(self, timeout=30):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="mx-registry-")
        self.port = harness.free_port()
        cfg = ["version: 0.1", "log: {level: warn}",
               "storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}"
               % os.path.join(self.dir, "data"),
               "http: {addr: '%s'}" % self.host, self.extra_config]
        conf = os.path.join(self.dir, "config.yml")
        with open(conf, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.log = open(os.path.join(self.dir, "registry.log"), "wb")
        self.proc = subprocess.Popen([self.binary, "serve", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=2)
                return self
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("token registry did not start")


# ---- OCI layouts by hand ---------------------------------------------------------------

def _blob(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    p = os.path.join(layout, "blobs", "sha256", d[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return d


def layer_tar(files, mtime=harness.FIXED_MTIME):
    """A gzipped tar of {name: bytes}; returns (gz bytes, diff_id)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(files):
            ti = tarfile.TarInfo(name)
            ti.size = len(files[name])
            ti.mtime = mtime
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(files[name]))
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=1, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def add_image(layout, layers, arch="amd64", os_="linux", variant=None,
              manifest_type="application/vnd.oci.image.manifest.v1+json"):
    """Write an image (layers: list of (gz, diff_id)) into layout's blobs; returns the manifest
    descriptor (dict) with its platform."""
    docker = "docker" in manifest_type
    cfg = {"created": "2023-11-14T22:13:20Z", "architecture": arch, "os": os_,
           "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers",
                                                      "diff_ids": [d for _, d in layers]},
           "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "test"}
                       for _ in layers]}
    if variant:
        cfg["variant"] = variant
    cfg_bytes = json.dumps(cfg).encode()
    cfg_d = _blob(layout, cfg_bytes)
    lt = ("application/vnd.docker.image.rootfs.diff.tar.gzip" if docker
          else "application/vnd.oci.image.layer.v1.tar+gzip")
    ct = ("application/vnd.docker.container.image.v1+json" if docker
          else "application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": manifest_type,
         "config": {"mediaType": ct, "digest": cfg_d, "size": len(cfg_bytes)},
         "layers": [{"mediaType": lt, "digest": _blob(layout, gz), "size": len(gz)}
                    for gz, _ in layers]}
    mb = json.dumps(m).encode()
    plat = {"architecture": arch, "os": os_}
    if variant:
        plat["variant"] = variant
    return {"mediaType": manifest_type, "digest": _blob(layout, mb), "size": len(mb),
            "platform": plat, "config": cfg_d}


def write_layout(layout, tag, desc):
    """index.json naming desc as tag (desc may be a manifest or an index descriptor)."""
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    d = {k: v for k, v in desc.items() if k in ("mediaType", "digest", "size")}
    d["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [d]}, f)


def add_index(layout, manifests):
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{k: v for k, v in m.items() if k != "config"} for m in manifests]}
    b = json.dumps(idx).encode()
    return {"mediaType": idx["mediaType"], "digest": _blob(layout, b), "size": len(b)}


def random_layers(n, size, seed=1):
    """n layers of `size` incompressible bytes each (deterministic)."""
    out = []
    for i in range(n):
        h = hashlib.sha256(b"seed%d-%d" % (seed, i)).digest()
        data = bytearray()
        while len(data) < size:
            h = hashlib.sha256(h).digest()
            data += h
        out.append(layer_tar({"layer%d/data.bin" % i: bytes(data[:size])}))
    return out


def skopeo_push_layout(layout, tag, dest, all_platforms=False, extra=()):
    args = ["skopeo", "copy", "--dest-tls-verify=false"] + list(extra)
    if all_platforms:
        args.append("--all")
    run(*args, "oci:%s:%s" % (layout, tag), "docker://" + dest)


def skopeo_inspect(ref, raw=False, extra=()):
    args = ["skopeo", "inspect", "--tls-verify=false"] + list(extra)
    if raw:
        args.append("--raw")
    return json.loads(run(*args, "docker://" + ref).stdout)


def snapshot(root):
    """Path -> (type, mode, size, sha256 or link target, uid, gid)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            else:
                what = ""
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                        st.st_size if stat.S_ISREG(st.st_mode) else 0, what, st.st_uid,
                        st.st_gid)
    return out


def require_tools(*names):
    for n in names:
        harness.require_binary(n)
