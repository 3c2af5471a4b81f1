/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unpack an OCI image layout into a complete root filesystem with libmyrmex, for the
 * side-by-side benchmark with umoci (bench/unpack.sh). Until the CLI has a verb for it.
 *
 *   myrmex-unpack-bench MODE LAYOUT TAG DEST
 *
 * MODE:
 *   overlay  every layer into DEST/layers/<i> in parallel threads (OVERLAY whiteouts), then
 *            an overlayfs of them mounted read-only at DEST/rootfs (left mounted; unmount
 *            with `umount DEST/rootfs`)
 *   flat     the same per-layer directories, then mx_rootfs_flatten into DEST/rootfs
 *   apply    every layer applied in order into DEST/rootfs (APPLY whiteouts), one thread
 *            per layer for decompression is not possible here: sequential
 *   compress-baseline / compress: see bench/compress.sh (FILE instead of LAYOUT)
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/layer.h>

#include "layer-internal.h"

#define MAX_LAYERS 128

struct job {
        char blob[4096];
        char dir[4096];
        char digest[MX_LAYER_DIGEST_MAX];
        char diff_id[MX_LAYER_DIGEST_MAX];
        mx_whiteout_mode mode;
        int ret;
        char *msg;
        mx_layer_info info;
};

static struct job jobs[MAX_LAYERS];
static size_t njobs, next_job;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_job(struct job *j)
{
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        mx_error *err = NULL;
        int fd = open(j->blob, O_RDONLY | O_CLOEXEC);

        o.whiteouts = j->mode;
        o.flags = MX_LAYER_NONEMPTY_OK;
        o.expected_digest = j->digest;
        o.expected_diff_id = j->diff_id[0] ? j->diff_id : NULL;
        if (fd < 0) {
                j->ret = -1;
                j->msg = strdup(strerror(errno));
                return;
        }
        j->ret = mx_layer_unpack(fd, j->dir, &o, &j->info, &err);
        if (j->ret < 0)
                j->msg = mx_error_format(err);
        mx_error_free(err);
        close(fd);
}

static void *worker(void *arg)
{
        (void)arg;
        for (;;) {
                size_t i;

                pthread_mutex_lock(&lock);
                i = next_job++;
                pthread_mutex_unlock(&lock);
                if (i >= njobs)
                        return NULL;
                run_job(&jobs[i]);
        }
}

static json_t *load_json(const char *path)
{
        json_error_t e;
        json_t *j = json_load_file(path, 0, &e);

        if (!j)
                fprintf(stderr, "%s: %s\n", path, e.text);
        return j;
}

static int blob_path(char *out, size_t size, const char *layout, const char *digest)
{
        const char *colon = strchr(digest, ':');

        if (!colon)
                return -1;
        snprintf(out, size, "%s/blobs/%.*s/%s", layout, (int)(colon - digest), digest, colon + 1);
        return 0;
}

static int read_layout(const char *layout, const char *tag, const char *dest, mx_whiteout_mode mode)
{
        char path[4096];
        json_t *index, *manifest = NULL, *config = NULL, *m = NULL, *layers, *diffs;
        size_t i;

        snprintf(path, sizeof(path), "%s/index.json", layout);
        index = load_json(path);
        if (!index)
                return -1;
        json_array_foreach(json_object_get(index, "manifests"), i, m)
        {
                const char *ref = json_string_value(json_object_get(
                        json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
                if (ref && strcmp(ref, tag) == 0)
                        break;
                m = NULL;
        }
        if (!m || blob_path(path, sizeof(path), layout,
                            json_string_value(json_object_get(m, "digest"))) < 0) {
                fprintf(stderr, "no manifest tagged '%s' in %s\n", tag, layout);
                return -1;
        }
        manifest = load_json(path);
        if (!manifest || blob_path(path, sizeof(path), layout,
                                   json_string_value(json_object_get(
                                           json_object_get(manifest, "config"), "digest"))) < 0)
                return -1;
        config = load_json(path);
        if (!config)
                return -1;
        layers = json_object_get(manifest, "layers");
        diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
        njobs = json_array_size(layers);
        if (njobs > MAX_LAYERS)
                return -1;
        for (i = 0; i < njobs; i++) {
                struct job *j = &jobs[i];
                const char *dg =
                        json_string_value(json_object_get(json_array_get(layers, i), "digest"));
                const char *di = json_string_value(json_array_get(diffs, i));

                blob_path(j->blob, sizeof(j->blob), layout, dg);
                snprintf(j->digest, sizeof(j->digest), "%s", dg);
                snprintf(j->diff_id, sizeof(j->diff_id), "%s", di ? di : "");
                if (mode == MX_WHITEOUT_OVERLAY)
                        snprintf(j->dir, sizeof(j->dir), "%s/layers/%zu", dest, i);
                else
                        snprintf(j->dir, sizeof(j->dir), "%s/rootfs", dest);
                j->mode = mode;
                if (mkdir(j->dir, 0755) < 0 && errno != EEXIST) {
                        perror(j->dir);
                        return -1;
                }
        }
        json_decref(index);
        json_decref(manifest);
        json_decref(config);
        return 0;
}

int main(int argc, char **argv)
{
        const char *mode, *layout, *tag, *dest;
        char rootfs[4096], layers[4096];
        const char *lower[MAX_LAYERS];
        mx_whiteout_mode wm;
        unsigned nthreads = mx_layer__cpus();
        pthread_t th[16];
        uint64_t total = 0, ctotal = 0;
        double t0 = now(), t1;
        mx_error *err = NULL;

        if (argc != 5) {
                fprintf(stderr, "usage: %s overlay|flat|apply LAYOUT TAG DEST\n", argv[0]);
                return 2;
        }
        mode = argv[1];
        layout = argv[2];
        tag = argv[3];
        dest = argv[4];
        wm = strcmp(mode, "apply") == 0 ? MX_WHITEOUT_APPLY : MX_WHITEOUT_OVERLAY;
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dest);
        snprintf(layers, sizeof(layers), "%s/layers", dest);
        if ((mkdir(dest, 0755) < 0 && errno != EEXIST) || mkdir(rootfs, 0755) < 0 ||
            (wm == MX_WHITEOUT_OVERLAY && mkdir(layers, 0755) < 0)) {
                perror(dest);
                return 1;
        }
        if (read_layout(layout, tag, dest, wm) < 0)
                return 1;
        if (wm == MX_WHITEOUT_APPLY) {
                for (size_t i = 0; i < njobs; i++)
                        run_job(&jobs[i]);
        } else {
                if (nthreads > njobs)
                        nthreads = (unsigned)njobs;
                if (nthreads > 16)
                        nthreads = 16;
                for (unsigned i = 0; i < nthreads; i++)
                        pthread_create(&th[i], NULL, worker, NULL);
                for (unsigned i = 0; i < nthreads; i++)
                        pthread_join(th[i], NULL);
        }
        for (size_t i = 0; i < njobs; i++) {
                if (jobs[i].ret < 0) {
                        fprintf(stderr, "layer %zu: %s\n", i, jobs[i].msg);
                        return 1;
                }
                total += jobs[i].info.uncompressed_size;
                ctotal += jobs[i].info.compressed_size;
                lower[njobs - 1 - i] = jobs[i].dir; /* top first */
        }
        t1 = now();
        if (strcmp(mode, "overlay") == 0) {
                if (mx_rootfs_mount(lower, njobs, NULL, NULL, rootfs, 0, &err) < 0) {
                        char *m = mx_error_format(err);
                        fprintf(stderr, "%s\n", m);
                        return 1;
                }
        } else if (strcmp(mode, "flat") == 0) {
                if (mx_rootfs_flatten(lower, njobs, rootfs, &err) < 0) {
                        char *m = mx_error_format(err);
                        fprintf(stderr, "%s\n", m);
                        return 1;
                }
        }
        fprintf(stderr,
                "%s: %zu layers, %.1f MB compressed, %.1f MB tar, unpack %.2f s, %s %.2f s, "
                "total %.2f s\n",
                mode, njobs, (double)ctotal / 1e6, (double)total / 1e6, t1 - t0,
                strcmp(mode, "overlay") == 0 ? "mount" : "flatten", now() - t1, now() - t0);
        return 0;
}
