# SPDX-License-Identifier: Apache-2.0
"""Round trips between myrmex and skopeo/umoci through a real docker-registry (plain HTTP).

- myrmex push -> skopeo inspect/copy: same digests;
- skopeo push -> myrmex pull: same digests and the same unpacked tree as umoci unpack;
- a multi-platform index pushed with `skopeo copy --all` pulled for the requested platform;
- tags (with Link pagination), catalog, inspect, delete, tag, copy (--all; mount on one
  registry) from the CLI, and manage_container_registry from Python both ways.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import registry_support as rs  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

PYTHON_DIR = os.path.join(harness.REPO, "python")


class RegistryRoundTrip(harness.MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        rs.require_tools("skopeo", "docker-registry")
        cls.reg = harness.Registry().start()

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def busybox_layout(self, tag="1"):
        layout = os.path.join(self.tmp, "layout-" + tag)
        with open(harness.busybox_tar(gz=True), "rb") as f:
            gz = f.read()
        import gzip
        import hashlib
        diff = "sha256:" + hashlib.sha256(gzip.decompress(gz)).hexdigest()
        desc = rs.add_image(layout, [(gz, diff)])
        rs.write_layout(layout, tag, desc)
        return layout, desc

    def test_push_then_skopeo_reads_same_digests(self):
        self.mx.import_busybox("busybox:latest")
        dest = self.reg.host + "/rt/push:1"
        out = self.mx.out("push", "busybox:latest", "docker://" + dest)
        digest = out.splitlines()[-1]
        self.assertTrue(digest.startswith("Digest: sha256:"), out)
        digest = digest.split()[1]
        info = rs.skopeo_inspect(dest)
        self.assertEqual(info["Digest"], digest)
        raw = rs.run("skopeo", "inspect", "--tls-verify=false", "--raw",
                     "docker://" + dest).stdout.encode()
        import hashlib
        self.assertEqual("sha256:" + hashlib.sha256(raw).hexdigest(), digest)
        # the image ID (config digest) is what skopeo sees as the config
        cfg = json.loads(rs.run("skopeo", "inspect", "--tls-verify=false", "--config",
                                "docker://" + dest).stdout)
        self.assertEqual(cfg["architecture"], "amd64")
        # skopeo pulls every blob back and verifies them
        layout = os.path.join(self.tmp, "back")
        rs.run("skopeo", "copy", "--src-tls-verify=false", "docker://" + dest,
               "oci:%s:x" % layout)
        with open(os.path.join(layout, "index.json")) as f:
            self.assertEqual(json.load(f)["manifests"][0]["digest"], digest)
        # a second push sends nothing: every blob is already there
        out2 = self.mx.run("push", "busybox:latest", dest)
        self.assertIn("already exists", out2.stderr)
        self.assertEqual(out2.stdout.strip().splitlines()[-1], "Digest: " + digest)

    def test_chunked_upload_and_raw_inspect(self):
        self.mx.import_busybox("busybox:chunks")
        with FaultProxy(self.reg.host) as p:
            dest = p.host + "/rt/chunked:1"
            out = self.mx.out("push", "--chunk-size", "300k", "busybox:chunks", dest)
            digest = out.splitlines()[-1].split()[1]
            patches = [r for r in p.requests if r[0] == "PATCH"]
            # the 1 MB layer went up in 300 KiB pieces, each acknowledged
            self.assertGreaterEqual(len(patches), 4, p.requests)
            self.assertTrue(all(r[2] == 202 for r in patches), patches)
        ref = self.reg.host + "/rt/chunked:1"
        self.assertEqual(rs.skopeo_inspect(ref)["Digest"], digest)
        raw = self.mx.run("registry", "inspect", "--raw", ref, text=False).stdout
        import hashlib
        self.assertEqual("sha256:" + hashlib.sha256(raw).hexdigest(), digest)
        cfg = json.loads(self.mx.out("registry", "inspect", "--config", ref))
        self.assertEqual(cfg["os"], "linux")

    def test_skopeo_push_then_pull_same_tree(self):
        rs.require_tools("umoci")
        layout, desc = self.busybox_layout("1")
        dest = self.reg.host + "/rt/pull:1"
        rs.skopeo_push_layout(layout, "1", dest)
        remote = rs.skopeo_inspect(dest)
        out = self.mx.out("pull", dest)
        self.assertIn("Digest: " + remote["Digest"], out)
        self.assertEqual(remote["Digest"], desc["digest"])
        # the config (image ID) and layer blobs are in the store, verified
        for d in [desc["config"]] + remote["Layers"]:
            self.assertTrue(os.path.exists(os.path.join(self.mx.root, "blobs", "sha256",
                                                        d[7:])), d)
        # the unpacked layer is the tree umoci unpacks
        bundle = os.path.join(self.tmp, "bundle")
        back = os.path.join(self.tmp, "skopeo-oci")
        rs.run("skopeo", "copy", "--src-tls-verify=false", "docker://" + dest,
               "oci:%s:t" % back)
        rs.run("umoci", "unpack", "--image", back + ":t", bundle)
        cfg = json.loads(rs.run("skopeo", "inspect", "--tls-verify=false", "--config",
                                "docker://" + dest).stdout)
        chain = cfg["rootfs"]["diff_ids"][0]
        mine = rs.snapshot(os.path.join(self.mx.root, "layers", chain[7:]))
        theirs = rs.snapshot(os.path.join(bundle, "rootfs"))
        self.assertGreater(len(mine), 100)
        self.assertEqual(mine, theirs)
        # pulling again moves nothing
        again = self.mx.run("pull", dest)
        self.assertIn("Image is up to date", again.stdout)
        check = self.mx.run("system", "check", check=False)
        if check.returncode == 0 or "unknown command" not in check.stderr:
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_docker_media_types_both_ways_and_pull_by_digest(self):
        layout, desc = self.busybox_layout("1")
        src = self.reg.host + "/rt/docker:1"
        rs.skopeo_push_layout(layout, "1", src, extra=["--format", "v2s2"])
        raw = rs.skopeo_inspect(src, raw=True)
        self.assertEqual(raw["mediaType"],
                         "application/vnd.docker.distribution.manifest.v2+json")
        digest = rs.skopeo_inspect(src)["Digest"]
        out = self.mx.out("pull", "--no-unpack", src)
        self.assertIn("Digest: " + digest, out)
        # pushed back byte for byte: same digest, still Docker's media type
        dst = self.reg.host + "/rt/docker-back:1"
        out = self.mx.out("push", src, dst)
        self.assertEqual(out.splitlines()[-1], "Digest: " + digest)
        self.assertEqual(rs.skopeo_inspect(dst, raw=True)["mediaType"], raw["mediaType"])
        # by digest, into another store: no tag, the same image
        mx2 = harness.Myrmex()
        self.addCleanup(mx2.cleanup)
        out = mx2.out("pull", "--no-unpack", "%s/rt/docker@%s" % (self.reg.host, digest))
        self.assertIn("Digest: " + digest, out)
        self.assertTrue(os.path.exists(os.path.join(mx2.root, "blobs", "sha256", digest[7:])))

    def test_multiplatform_index_pull_for_platform(self):
        layout = os.path.join(self.tmp, "multi")
        amd = rs.add_image(layout, [rs.layer_tar({"arch": b"amd64\n"})], arch="amd64")
        arm = rs.add_image(layout, [rs.layer_tar({"arch": b"arm64\n"})], arch="arm64",
                           variant="v8")
        armv7 = rs.add_image(layout, [rs.layer_tar({"arch": b"armv7\n"})], arch="arm",
                             variant="v7")
        idx = rs.add_index(layout, [amd, arm, armv7])
        rs.write_layout(layout, "m", idx)
        dest = self.reg.host + "/rt/multi:1"
        rs.skopeo_push_layout(layout, "m", dest, all_platforms=True)
        raw = rs.skopeo_inspect(dest, raw=True)
        self.assertEqual(len(raw["manifests"]), 3)
        out = self.mx.out("pull", "--platform", "linux/arm64", dest)
        # Docker prints the digest the reference resolved to: the index's
        self.assertIn("Digest: " + idx["digest"], out)
        blobs = os.path.join(self.mx.root, "blobs", "sha256")
        self.assertTrue(os.path.exists(os.path.join(blobs, arm["config"][7:])))
        self.assertFalse(os.path.exists(os.path.join(blobs, amd["config"][7:])))
        self.assertFalse(os.path.exists(os.path.join(blobs, armv7["config"][7:])))
        # default: the host's platform
        mx2 = harness.Myrmex()
        self.addCleanup(mx2.cleanup)
        mx2.out("pull", "--no-unpack", dest)
        self.assertTrue(os.path.exists(os.path.join(mx2.root, "blobs", "sha256",
                                                    amd["config"][7:])))
        # a platform the index lacks is a clear error listing what there is
        bad = mx2.run("pull", "--platform", "linux/s390x", dest, check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("s390x", bad.stderr)
        # registry inspect shows the platform's config
        info = json.loads(self.mx.out("registry", "inspect", "--platform", "linux/arm/v7", dest))
        self.assertEqual(info["Digest"], idx["digest"])
        self.assertEqual(info["ManifestDigest"], armv7["digest"])
        self.assertEqual(info["Config"]["variant"], "v7")
        # copy --all keeps the index; without it, one platform
        self.mx.out("registry", "copy", "--all", dest, self.reg.host + "/rt/multi-copy:all")
        self.assertEqual(rs.skopeo_inspect(self.reg.host + "/rt/multi-copy:all")["Digest"],
                         idx["digest"])
        self.mx.out("registry", "copy", "--platform", "linux/arm64", dest,
                    self.reg.host + "/rt/multi-copy:arm")
        one = rs.skopeo_inspect(self.reg.host + "/rt/multi-copy:arm", raw=True)
        self.assertEqual(one["config"]["digest"], arm["config"])

    def test_tags_pagination_catalog_delete_tag(self):
        layout, desc = self.busybox_layout("1")
        repo = self.reg.host + "/rt/tags"
        rs.skopeo_push_layout(layout, "1", repo + ":1")
        for t in ("2", "3", "4", "5"):
            self.mx.out("registry", "copy", repo + ":1", repo + ":" + t)
        # pages of two tags: the client follows Link
        tags = self.mx.out("registry", "tags", repo, env={"MYRMEX_REGISTRY_PAGE_SIZE": "2"})
        self.assertEqual(sorted(tags.split()), ["1", "2", "3", "4", "5"])
        js = json.loads(self.mx.out("registry", "tags", "--format", "json", repo))
        sk = json.loads(rs.run("skopeo", "list-tags", "--tls-verify=false",
                               "docker://" + repo).stdout)
        self.assertEqual(js["Repository"], sk["Repository"])
        self.assertEqual(sorted(js["Tags"]), sorted(sk["Tags"]))
        cat = self.mx.out("registry", "catalog", self.reg.host).split()
        self.assertIn("rt/tags", cat)
        # delete by tag resolves the digest (registries refuse delete by tag)
        out = self.mx.out("registry", "delete", repo + ":3")
        self.assertEqual(out, "Deleted: " + desc["digest"])
        gone = self.mx.run("pull", repo + ":3", check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertIn("not found", gone.stderr)

    def test_copy_same_registry_mounts(self):
        layout, desc = self.busybox_layout("1")
        with FaultProxy(self.reg.host) as p:
            src = p.host + "/rt/mount-src:1"
            rs.skopeo_push_layout(layout, "1", src)
            p.reset_counters()
            self.mx.out("registry", "copy", src, p.host + "/rt/mount-dst:1")
            posts = [r for r in p.requests if r[0] == "POST"]
            self.assertTrue(posts and all("mount=" in r[1] for r in posts), p.requests)
            self.assertTrue(all(r[2] == 201 for r in posts), posts)
            # no blob crossed the wire either way: only the manifest went up
            self.assertFalse(any("/blobs/" in k and v for k, v in p.bytes_up.items()))
            self.assertFalse(any("/blobs/sha256" in k and v for k, v in p.bytes_down.items()))
        self.assertEqual(rs.skopeo_inspect(self.reg.host + "/rt/mount-dst:1")["Digest"],
                         desc["digest"])

    def test_docker_hub_pulls_go_to_the_mirror(self):
        layout, desc = self.busybox_layout("1")
        rs.skopeo_push_layout(layout, "1", self.reg.host + "/library/busybox:mirrored")
        conf = os.path.join(self.tmp, "config.json")
        with open(conf, "w") as f:
            json.dump({"registry-mirrors": ["http://" + self.reg.host]}, f)
        out = self.mx.out("pull", "--no-unpack", "busybox:mirrored",
                          env={"MYRMEX_CONFIG": conf})
        self.assertIn("Digest: " + desc["digest"], out)
        self.assertIn("docker.io/library/busybox:mirrored", out)
        tags = [r["Repository"] + ":" + r["Tag"]
                for r in self.mx.json_lines("images", "--format", "json")]
        self.assertIn("busybox:mirrored", tags)

    def test_copy_between_registries(self):
        other = harness.Registry().start()
        self.addCleanup(other.stop)
        layout, desc = self.busybox_layout("1")
        rs.skopeo_push_layout(layout, "1", self.reg.host + "/rt/x:1")
        out = self.mx.out("registry", "copy", self.reg.host + "/rt/x:1", other.host + "/y/z:2")
        self.assertEqual(out.splitlines()[-1], "Digest: " + desc["digest"])
        self.assertEqual(rs.skopeo_inspect(other.host + "/y/z:2")["Digest"], desc["digest"])


class RegistryPython(harness.MyrmexTestCase):
    """manage_container_registry, both error styles."""

    @classmethod
    def setUpClass(cls):
        rs.require_tools("docker-registry")
        cls.reg = harness.Registry().start()

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def py(self, code):
        env = dict(os.environ)
        env["PYTHONPATH"] = PYTHON_DIR
        env["MX_BUILD_DIR"] = harness.build_dir()
        cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        return json.loads(cp.stdout.strip().splitlines()[-1])

    def test_push_pull_tag_list_delete(self):
        self.mx.import_busybox("busybox:1")
        code = """
import json
from codomyrmex.containerization import manage_container_registry as m, RegistryError
root, reg = %r, %r
out = {}
out['push'] = m('push', 'busybox:1', reg, root=root)
out['tag'] = m('tag', 'busybox:1', reg, target='2')
out['tag_other'] = m('tag', 'busybox:1', reg, target=reg + '/elsewhere/bb:9')
out['list_other'] = m('list', 'elsewhere/bb', reg)
out['list'] = m('list', 'busybox', reg)
out['pull'] = m('pull', 'busybox:2', 'http://' + reg, root=root + '-2')
out['delete'] = m('delete', 'busybox:2', reg)
out['list2'] = m('list', 'busybox', reg)
try:
    m('pull', 'nothere:1', reg, root=root)
except RegistryError as e:
    out['exc'] = [type(e).__name__, str(e), e.code, e.http_status]
out['soft'] = m('pull', 'busybox:nope', reg, root=root, raise_on_error=False)
out['bad_op'] = m('frobnicate', 'busybox', reg, raise_on_error=False)
print(json.dumps(out))
""" % (self.mx.root, self.reg.host)
        out = self.py(code)
        keys = {"operation", "image_name", "registry_url", "success", "image_digest", "tags",
                "size_mb", "error_message"}
        for k in ("push", "tag", "list", "pull", "delete", "list2", "soft", "bad_op"):
            self.assertEqual(set(out[k]), keys, k)
        push = out["push"]
        self.assertTrue(push["success"])
        self.assertTrue(push["image_digest"].startswith("sha256:"))
        self.assertGreater(push["size_mb"], 0.5)
        self.assertEqual(push["tags"], ["1"])
        self.assertEqual(out["tag"]["image_digest"], push["image_digest"])
        self.assertEqual(out["tag_other"]["image_digest"], push["image_digest"])
        self.assertEqual(out["tag_other"]["tags"], ["9"])
        self.assertEqual(out["list_other"]["tags"], ["9"])
        self.assertEqual(sorted(out["list"]["tags"]), ["1", "2"])
        self.assertEqual(out["pull"]["image_digest"], push["image_digest"])
        self.assertGreater(out["pull"]["size_mb"], 0.5)
        self.assertEqual(out["delete"]["image_digest"], push["image_digest"])
        # deleting the manifest removes every tag on it
        self.assertEqual(out["list2"]["tags"], [])
        self.assertEqual(out["exc"][0], "RegistryError")
        self.assertIn("not found", out["exc"][1])
        self.assertEqual(out["exc"][2], -4)
        self.assertEqual(out["exc"][3], 404)
        self.assertFalse(out["soft"]["success"])
        self.assertIn("tag 'nope' not found", out["soft"]["error_message"])
        self.assertFalse(out["bad_op"]["success"])
        self.assertIn("unknown registry operation", out["bad_op"]["error_message"])


if __name__ == "__main__":
    unittest.main()
