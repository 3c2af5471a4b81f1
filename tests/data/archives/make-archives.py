#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Make the image archives that the load tests read: a few good ones of every kind that
`myrmex load` accepts, and a corpus of hostile or broken ones it must refuse.

The output is deterministic (fixed mtimes, owners and gzip headers), so running this again
reproduces the committed files byte for byte. Usage: make-archives.py [OUTDIR]
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MTIME = 1700000000


def sha(data):
    return hashlib.sha256(data).hexdigest()


def tar_bytes(entries):
    """entries: list of (name, kind, payload) with kind in file/dir/symlink/hardlink;
    payload is bytes for files and the link target for links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if kind == "file":
                ti.size = len(payload)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(payload))
                continue
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = payload
                ti.mode = 0o777
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = payload
                ti.mode = 0o644
            t.addfile(ti)
    return buf.getvalue()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(data)
    return out.getvalue()


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# Two small layers: a base with a directory, a file and a symlink; a second layer that
# adds a file and deletes one from the first (a whiteout).
LAYER1 = tar_bytes([
    ("etc", "dir", None),
    ("etc/hostname", "file", b"myrmex-test\n"),
    ("etc/motd", "file", b"hello from layer one\n"),
    ("bin", "dir", None),
    ("bin/sh", "symlink", "busybox"),
])
LAYER2 = tar_bytes([
    ("etc", "dir", None),
    ("etc/.wh.motd", "file", b""),
    ("etc/version", "file", b"2\n"),
])
LAYER3 = tar_bytes([
    ("srv", "dir", None),
    ("srv/data", "file", b"x" * 3000),
])


def config_for(diff_ids, created="2023-11-14T22:13:20Z"):
    return jdump({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "layer %d" % i}
                    for i in range(len(diff_ids))],
    })


def docker_archive(layers, repo_tags, config=None, extra=(), mutate=None):
    """Docker's legacy layout: <hex>/layer.tar, <confighex>.json, manifest.json,
    repositories."""
    diff_ids = ["sha256:" + sha(l) for l in layers]
    cfg = config if config is not None else config_for(diff_ids)
    members = {}
    layer_paths = []
    for l in layers:
        p = sha(l) + "/layer.tar"
        members[p] = l
        members[sha(l) + "/VERSION"] = b"1.0"
        layer_paths.append(p)
    cfg_name = sha(cfg) + ".json"
    members[cfg_name] = cfg
    manifest = [{"Config": cfg_name, "RepoTags": repo_tags, "Layers": layer_paths}]
    if mutate:
        mutate(members, manifest)
    members["manifest.json"] = manifest if isinstance(manifest, bytes) else jdump(manifest)
    if repo_tags:
        repos = {}
        for rt in repo_tags:
            repo, tag = rt.rsplit(":", 1)
            repos.setdefault(repo, {})[tag] = sha(layers[-1])
        members["repositories"] = jdump(repos)
    entries = []
    for name in sorted(members):
        if "/" in name and (name.rsplit("/", 1)[0], "dir", None) not in entries:
            entries.append((name.rsplit("/", 1)[0], "dir", None))
        entries.append((name, "file", members[name]))
    entries.extend(extra)
    return tar_bytes(entries)


def oci_layout(images, gzip_layers=False, mutate=None, extra=(), index_override=None,
               add_manifest_json=None):
    """images: list of (layers, annotations). Returns a tar of an OCI image layout."""
    blobs = {}
    index = {"schemaVersion": 2, "manifests": []}
    layer_mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzip_layers else "")
    state = []
    for layers, annotations in images:
        diff_ids = ["sha256:" + sha(l) for l in layers]
        cfg = config_for(diff_ids)
        blobs[sha(cfg)] = cfg
        descs = []
        for l in layers:
            data = gz(l) if gzip_layers else l
            blobs[sha(data)] = data
            descs.append({"mediaType": layer_mt, "digest": "sha256:" + sha(data),
                          "size": len(data)})
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": "sha256:" + sha(cfg), "size": len(cfg)},
               "layers": descs}
        state.append((man, cfg, annotations))
    if mutate:
        mutate(blobs, state)
    for man, cfg, annotations in state:
        mb = man if isinstance(man, bytes) else jdump(man)
        blobs[sha(mb)] = mb
        d = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:" + sha(mb), "size": len(mb)}
        if annotations:
            d["annotations"] = annotations
        index["manifests"].append(d)
    entries = [("blobs", "dir", None), ("blobs/sha256", "dir", None)]
    for h in sorted(blobs):
        entries.append(("blobs/sha256/" + h, "file", blobs[h]))
    idx = index_override if index_override is not None else jdump(index)
    entries.append(("index.json", "file", idx))
    entries.append(("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}'))
    if add_manifest_json:
        entries.append(("manifest.json", "file", add_manifest_json(state)))
    entries.extend(extra)
    return tar_bytes(entries)


def multi_platform_layout():
    """An OCI layout whose index.json names an image index of two platforms."""
    blobs = {}
    entries = []
    for arch, layer in (("amd64", LAYER1), ("arm64", LAYER3)):
        cfg = json.loads(config_for(["sha256:" + sha(layer)]))
        cfg["architecture"] = arch
        cfg = jdump(cfg)
        blobs[sha(cfg)] = cfg
        blobs[sha(layer)] = layer
        man = jdump({"schemaVersion": 2,
                     "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                "digest": "sha256:" + sha(cfg), "size": len(cfg)},
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                 "digest": "sha256:" + sha(layer), "size": len(layer)}]})
        blobs[sha(man)] = man
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + sha(man), "size": len(man),
                        "platform": {"architecture": arch, "os": "linux"}})
    idx = jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": entries})
    blobs[sha(idx)] = idx
    top = jdump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + sha(idx),
         "size": len(idx), "annotations": {"io.containerd.image.name": "example.com/multi-arch:1",
                                           "org.opencontainers.image.ref.name": "1"}}]})
    tar = [("blobs", "dir", None), ("blobs/sha256", "dir", None)]
    tar += [("blobs/sha256/" + h, "file", blobs[h]) for h in sorted(blobs)]
    tar += [("index.json", "file", top),
            ("oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}')]
    return tar_bytes(tar)


def corpus():
    good, bad = {}, {}
    tags = ["example.com/app:v1"]
    good["docker-basic.tar"] = docker_archive([LAYER1, LAYER2], tags)
    good["docker-basic.tar.gz"] = gz(good["docker-basic.tar"])
    good["docker-three-layers.tar"] = docker_archive([LAYER1, LAYER2, LAYER3],
                                                     ["example.com/crash:v3"])
    good["docker-notag.tar"] = docker_archive([LAYER1], None)

    # skopeo's docker-archive shape: layers as <hex>.tar, the per-layer dir's layer.tar a
    # symlink to it.
    def skopeo_shape(members, manifest):
        for i, p in enumerate(list(manifest[0]["Layers"])):
            h = p.split("/")[0]
            members[h + ".tar"] = members.pop(p)
            manifest[0]["Layers"][i] = h + ".tar"
    good["docker-skopeo-shape.tar"] = docker_archive(
        [LAYER1], ["localhost/skopeo:shape"], mutate=skopeo_shape,
        extra=[("aaaa", "dir", None), ("aaaa/layer.tar", "symlink", "../" + sha(LAYER1) + ".tar")])

    good["oci-containerd-name.tar"] = oci_layout(
        [([LAYER1, LAYER2], {"io.containerd.image.name": "example.com/oci/app:2",
                             "org.opencontainers.image.ref.name": "2"})], gzip_layers=True)
    good["oci-refname-ref.tar"] = oci_layout(
        [([LAYER1], {"org.opencontainers.image.ref.name": "h:name"})])
    good["oci-refname-bare.tar"] = oci_layout(
        [([LAYER2], {"org.opencontainers.image.ref.name": "v1"})])
    good["oci-two-images.tar.gz"] = gz(oci_layout(
        [([LAYER1], {"io.containerd.image.name": "example.com/multi:one"}),
         ([LAYER1, LAYER3], {"io.containerd.image.name": "example.com/multi:two"})],
        gzip_layers=True))

    good["oci-multi-platform.tar"] = multi_platform_layout()

    def docker25_manifest(state):
        man, cfg, _ = state[0]
        return jdump([{"Config": "blobs/sha256/" + sha(cfg),
                       "RepoTags": ["example.com/d25:latest"],
                       "Layers": ["blobs/sha256/" + l["digest"][7:] for l in man["layers"]]}])
    good["docker25-layout.tar"] = oci_layout([([LAYER1, LAYER2], None)],
                                             add_manifest_json=docker25_manifest)

    # ---- hostile and broken ----
    def flip_layer_blob(blobs, state):
        h = state[0][0]["layers"][0]["digest"][7:]
        blobs[h] = blobs[h][:-1] + b"\x01"
    bad["oci-layer-digest-mismatch.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:1"})], gzip_layers=True, mutate=flip_layer_blob)

    def flip_config_blob(blobs, state):
        h = state[0][0]["config"]["digest"][7:]
        blobs[h] = blobs[h].replace(b"amd64", b"arm64")
    bad["oci-config-digest-mismatch.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:2"})], mutate=flip_config_blob)

    bad["docker-layer-diffid-mismatch.tar"] = docker_archive(
        [LAYER1, LAYER2], ["example.com/bad:3"],
        config=config_for(["sha256:" + sha(LAYER1), "sha256:" + sha(LAYER3)]))

    def wrong_config_name(members, manifest):
        cfg_name = manifest[0]["Config"]
        members[cfg_name] = members[cfg_name].replace(b"amd64", b"arm64")
    bad["docker-config-digest-mismatch.tar"] = docker_archive([LAYER1], ["example.com/bad:4"], mutate=wrong_config_name)

    def mt(field, value):
        def f(blobs, state):
            man = state[0][0]
            if field == "config":
                man["config"]["mediaType"] = value
            else:
                man["layers"][0]["mediaType"] = value
        return f
    bad["oci-config-wrong-mediatype.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:5"})], mutate=mt("config", "application/vnd.oci.image.layer.v1.tar"))
    bad["oci-layer-wrong-mediatype.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:6"})], mutate=mt("layer", "text/html"))
    # index.json naming the manifest with a media type that is not a manifest's
    base_state = {}

    def capture(blobs, state):
        base_state["state"] = state
    oci_layout([([LAYER1], None)], mutate=capture)
    man = jdump(base_state["state"][0][0])
    idx_wrong_mt = jdump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + sha(man),
         "size": len(man), "annotations": {"io.containerd.image.name": "example.com/bad:7"}}]})
    bad["oci-index-wrong-mediatype.tar"] = oci_layout([([LAYER1], None)], index_override=idx_wrong_mt)

    def size(value):
        def f(blobs, state):
            state[0][0]["layers"][0]["size"] = value
        return f
    bad["oci-size-absurd.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:8"})], mutate=size(9223372036854775807))
    bad["oci-size-negative.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:9"})], mutate=size(-1))
    bad["oci-size-mismatch.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:10"})], mutate=size(7))
    idx_huge = jdump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(man),
         "size": 1 << 40, "annotations": {"io.containerd.image.name": "example.com/bad:11"}}]})
    bad["oci-manifest-size-absurd.tar"] = oci_layout([([LAYER1], None)], index_override=idx_huge)

    # manifest.json cut off in the middle
    t = docker_archive([LAYER1], ["example.com/bad:12"])
    with tarfile.open(fileobj=io.BytesIO(t)) as src:
        entries = []
        for ti in src.getmembers():
            if ti.isdir():
                entries.append((ti.name, "dir", None))
            elif ti.name == "manifest.json":
                entries.append((ti.name, "file", src.extractfile(ti).read()[:25]))
            else:
                entries.append((ti.name, "file", src.extractfile(ti).read()))
    bad["docker-manifestjson-malformed.tar"] = tar_bytes(entries)
    bad["oci-index-malformed.tar"] = oci_layout([([LAYER1], None)], index_override=b'{"schemaVersion":2,"manifests":[{"mediaType":')
    bad["oci-index-not-object.tar"] = oci_layout([([LAYER1], None)], index_override=b'[1,2,3]')

    def broken_config(blobs, state):
        man, cfg, ann = state[0]
        old = man["config"]["digest"][7:]
        del blobs[old]
        nb = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":['
        blobs[sha(nb)] = nb
        man["config"]["digest"] = "sha256:" + sha(nb)
        man["config"]["size"] = len(nb)
    bad["oci-config-malformed.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:13"})], mutate=broken_config)

    def docker_broken_config(members, manifest):
        old = manifest[0]["Config"]
        del members[old]
        nb = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"lay'
        members[sha(nb) + ".json"] = nb
        manifest[0]["Config"] = sha(nb) + ".json"
    bad["docker-config-malformed.tar"] = docker_archive([LAYER1], ["example.com/bad:14"], mutate=docker_broken_config)

    def broken_manifest(blobs, state):
        man, cfg, ann = state[0]
        state[0] = (b'{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"', cfg, ann)
    bad["oci-manifest-malformed.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:15"})], mutate=broken_manifest)

    def drop_layer(blobs, state):
        del blobs[state[0][0]["layers"][0]["digest"][7:]]
    bad["oci-missing-blob.tar"] = oci_layout([([LAYER1], {"io.containerd.image.name": "example.com/bad:16"})], mutate=drop_layer)

    def missing_layer(members, manifest):
        manifest[0]["Layers"].append("0000000000000000000000000000000000000000000000000000000000000000/layer.tar")
    bad["docker-missing-layer.tar"] = docker_archive([LAYER1], ["example.com/bad:17"], mutate=missing_layer)

    g = gz(docker_archive([LAYER1, LAYER2, LAYER3], ["example.com/bad:18"]))
    bad["docker-truncated.tar.gz"] = g[:len(g) // 2]
    t = docker_archive([LAYER1, LAYER2, LAYER3], ["example.com/bad:19"])
    bad["docker-truncated.tar"] = t[:len(t) // 2 + 100]

    bad["docker-traversal-dotdot.tar"] = docker_archive(
        [LAYER1], ["example.com/bad:20"], extra=[("../escaped", "file", b"x")])
    bad["docker-traversal-absolute.tar"] = docker_archive(
        [LAYER1], ["example.com/bad:21"], extra=[("/tmp/escaped", "file", b"x")])
    bad["oci-traversal-blob.tar"] = oci_layout(
        [([LAYER1], {"io.containerd.image.name": "example.com/bad:22"})],
        extra=[("blobs/sha256/../../../escaped", "file", b"x")])

    def symlink_escape(members, manifest):
        manifest[0]["Layers"] = ["evil/layer.tar"]
    bad["docker-symlink-escape.tar"] = docker_archive(
        [LAYER1], ["example.com/bad:23"], mutate=symlink_escape,
        extra=[("evil", "dir", None), ("evil/layer.tar", "symlink", "../../../../etc/passwd")])

    bad["docker-diffid-count.tar"] = docker_archive(
        [LAYER1, LAYER2], ["example.com/bad:24"],
        config=config_for(["sha256:" + sha(LAYER1)]))
    bad["empty.tar"] = tar_bytes([])
    bad["not-an-archive.bin"] = bytes(range(256)) * 4

    # A member whose header declares a 1 TiB file with no data behind it.
    hdr = tarfile.TarInfo("manifest.json")
    hdr.size = 1 << 40
    hdr.mtime = MTIME
    bad["tar-size-absurd.tar"] = hdr.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024

    def traversal_in_manifest(members, manifest):
        manifest[0]["Layers"] = ["../" + manifest[0]["Layers"][0]]
    bad["docker-manifest-path-escape.tar"] = docker_archive([LAYER1], ["example.com/bad:25"], mutate=traversal_in_manifest)
    return good, bad


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    good, bad = corpus()
    for sub, files in (("good", good), ("hostile", bad)):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
