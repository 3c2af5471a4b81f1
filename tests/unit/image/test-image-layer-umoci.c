/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interop with umoci, an independent implementation: images built by umoci (init, new,
 * unpack, edit, repack) are unpacked by `umoci unpack` and by myrmex, both flattened
 * (APPLY whiteouts) and per layer + mx_rootfs_flatten, and the trees must be equal: file
 * types, modes, owners, contents, link targets, xattrs, mtimes and hardlink identity.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "error-internal.h"
#include "tap.h"
#include "test-image-layer-util.h"

static void need_umoci(void)
{
        if (geteuid() != 0)
                SKIP("umoci unpack keeps owners and devices only as root");
        if (sh("command -v umoci >/dev/null") != 0)
                SKIP("umoci is not installed (apt-get install umoci)");
}

static char *blob_of(const char *layout, const char *digest)
{
        char *p = NULL;

        if (asprintf(&p, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
                abort();
        return p;
}

/* The layers (digest, diffID) of the manifest tagged tag; returns how many. */
static size_t read_layers(const char *layout, const char *tag, char digests[][80], char diffs[][80],
                          size_t max)
{
        char path[4096];
        json_t *index, *m = NULL, *man, *cfg, *layers, *ids;
        size_t i, n;

        snprintf(path, sizeof(path), "%s/index.json", layout);
        index = json_load_file(path, 0, NULL);
        ASSERT_NOT_NULL(index);
        json_array_foreach(json_object_get(index, "manifests"), i, m)
        {
                const char *ref = json_string_value(json_object_get(
                        json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
                if (ref && strcmp(ref, tag) == 0)
                        break;
                m = NULL;
        }
        ASSERT_NOT_NULL(m);
        {
                char *p = blob_of(layout, json_string_value(json_object_get(m, "digest")));
                man = json_load_file(p, 0, NULL);
                free(p);
        }
        ASSERT_NOT_NULL(man);
        {
                char *p = blob_of(layout, json_string_value(json_object_get(
                                                  json_object_get(man, "config"), "digest")));
                cfg = json_load_file(p, 0, NULL);
                free(p);
        }
        ASSERT_NOT_NULL(cfg);
        layers = json_object_get(man, "layers");
        ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
        n = json_array_size(layers);
        ASSERT_TRUE(n <= max);
        ASSERT_EQ(json_array_size(ids), n);
        for (i = 0; i < n; i++) {
                snprintf(digests[i], 80, "%s",
                         json_string_value(json_object_get(json_array_get(layers, i), "digest")));
                snprintf(diffs[i], 80, "%s", json_string_value(json_array_get(ids, i)));
        }
        json_decref(index);
        json_decref(man);
        json_decref(cfg);
        return n;
}

static void unpack_one(const char *blob, const char *dir, mx_whiteout_mode mode, const char *digest,
                       const char *diff_id)
{
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_error *err = NULL;
        int fd = open(blob, O_RDONLY | O_CLOEXEC);

        ASSERT_TRUE(fd >= 0);
        o.whiteouts = mode;
        o.flags = MX_LAYER_NONEMPTY_OK;
        o.expected_digest = digest;
        o.expected_diff_id = diff_id;
        ASSERT_OK_E(mx_layer_unpack(fd, dir, &o, NULL, &err), err);
        close(fd);
}

/* Unpack layout:tag with umoci and with myrmex (both ways) under work, compare. */
static void compare_with_umoci(const char *layout, const char *tag, const char *work)
{
        char digests[64][80], diffs[64][80];
        const char *lower[64];
        char *dirs[64];
        size_t n = read_layers(layout, tag, digests, diffs, 64);
        mx_buf want = MX_BUF_INIT, got = MX_BUF_INIT;
        mx_error *err = NULL;
        const char *diff;

        ASSERT_EQ(sh("rm -rf '%s' && mkdir -p '%s/apply' '%s/flat' '%s/layers'", work, work, work,
                     work),
                  0);
        ASSERT_EQ(sh("umoci unpack --image '%s:%s' '%s/umoci' >/dev/null", layout, tag, work), 0);
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *blob = blob_of(layout, digests[i]);
                cleanup_free char *apply = NULL;

                ASSERT_TRUE(asprintf(&apply, "%s/apply", work) > 0);
                unpack_one(blob, apply, MX_WHITEOUT_APPLY, digests[i], diffs[i]);
                ASSERT_TRUE(asprintf(&dirs[i], "%s/layers/%zu", work, i) > 0);
                ASSERT_EQ(mkdir(dirs[i], 0755), 0);
                unpack_one(blob, dirs[i], MX_WHITEOUT_OVERLAY, digests[i], diffs[i]);
                lower[n - 1 - i] = dirs[i];
        }
        {
                cleanup_free char *flat = NULL;
                ASSERT_TRUE(asprintf(&flat, "%s/flat", work) > 0);
                ASSERT_OK_E(mx_rootfs_flatten(lower, n, flat, &err), err);
        }
        {
                cleanup_free char *u = NULL, *a = NULL, *f = NULL;
                ASSERT_TRUE(asprintf(&u, "%s/umoci/rootfs", work) > 0);
                ASSERT_TRUE(asprintf(&a, "%s/apply", work) > 0);
                ASSERT_TRUE(asprintf(&f, "%s/flat", work) > 0);
                tree_manifest(&want, u, false);
                tree_manifest(&got, a, false);
                ASSERT_TRUE(want.len > 0);
                diff = manifest_diff(want.ptr, got.ptr);
                if (diff)
                        mx_tap_fail(__FILE__, __LINE__, "umoci (<) and myrmex apply (>) differ:%s",
                                    diff);
                /* Per-layer directories cannot know the times a lower layer gave a directory
                 * that a layer's tar omits (it holds only a whiteout): those directories get
                 * the unpack time, as they would under overlayfs. Compare all else. */
                mx_buf_clear(&want);
                mx_buf_clear(&got);
                tree_manifest_ex(&want, u, false, true);
                tree_manifest_ex(&got, f, false, true);
                diff = manifest_diff(want.ptr, got.ptr);
                if (diff)
                        mx_tap_fail(__FILE__, __LINE__,
                                    "umoci (<) and myrmex layers+flatten (>) differ:%s", diff);
        }
        for (size_t i = 0; i < n; i++)
                free(dirs[i]);
        mx_buf_clear(&want);
        mx_buf_clear(&got);
        ASSERT_EQ(sh("rm -rf '%s'", work), 0);
}

MX_TEST(umoci_built_image_unpacks_identically)
{
        const char *t = mx_tap_tmpdir();

        need_umoci();
        if (sh("test -x /bin/busybox") != 0)
                SKIP("busybox-static is not installed");
        /* layer 1: busybox with its links, owners, modes, xattrs, a hardlink, a fifo, a
         * device, a sticky directory; layer 2: deletions (whiteouts) and changes */
        ASSERT_EQ(sh("cd '%s' && umoci init --layout L && umoci new --image L:t && "
                     "umoci unpack --image L:t B >/dev/null",
                     t),
                  0);
        ASSERT_EQ(sh("set -e; cd '%s/B/rootfs'; mkdir -p bin etc tmp dev srv/data var/empty; "
                     "cp /bin/busybox bin/; for a in sh ls cat echo; do ln -s busybox bin/$a; "
                     "done; echo hello > etc/motd; ln etc/motd etc/motd.hard; "
                     "chmod 1777 tmp; chown 1000:1000 srv/data; echo s > srv/data/f; "
                     "chown 1000:50 srv/data/f; chmod 4750 srv/data/f; "
                     "setfattr -n user.note -v hi srv/data/f 2>/dev/null || true; "
                     "mkfifo srv/fifo; mknod dev/null2 c 1 3; echo gone > etc/gone; "
                     "mkdir -p opt/old && echo x > opt/old/x; "
                     "touch -d '2020-01-02 03:04:05.123456789' etc/motd srv",
                     t),
                  0);
        ASSERT_EQ(sh("cd '%s' && umoci repack --refresh-bundle --image L:t B >/dev/null", t), 0);
        ASSERT_EQ(sh("set -e; cd '%s/B/rootfs'; rm etc/gone; rm -r opt/old; "
                     "echo changed > etc/motd; ln -sf /etc/motd srv/link; mkdir -p new/deep; "
                     "echo n > new/deep/n",
                     t),
                  0);
        ASSERT_EQ(sh("cd '%s' && umoci repack --refresh-bundle --image L:t B >/dev/null", t), 0);
        {
                cleanup_free char *layout = NULL, *work = NULL;
                ASSERT_TRUE(asprintf(&layout, "%s/L", t) > 0);
                ASSERT_TRUE(asprintf(&work, "%s/cmp", t) > 0);
                compare_with_umoci(layout, "t", work);
        }
}

/* The benchmark's ~450 MB debootstrap image (bench/make-big-image.sh), when it is cached. */
MX_TEST(umoci_big_image_unpacks_identically)
{
        const char *cache = getenv("MYRMEX_CACHE");
        cleanup_free char *layout = NULL, *work = NULL;

        need_umoci();
        if (asprintf(&layout, "%s/bench-big/oci", cache ? cache : "/var/cache/myrmex-test") < 0)
                abort();
        if (sh("test -f '%s/.complete'", layout) != 0)
                SKIP("the big test image is not cached: run bench/make-big-image.sh");
        ASSERT_TRUE(asprintf(&work, "%s/big", mx_tap_tmpdir()) > 0);
        compare_with_umoci(layout, "big", work);
}
