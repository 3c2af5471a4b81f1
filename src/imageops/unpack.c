/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layers on disk and read-only image mounts.
 *
 * A layer is unpacked once into a fresh directory under the store's tmp/, renamed to
 * layers/<chainID hex>, then recorded as unpacked: a crash leaves either garbage in tmp/, a
 * complete but unrecorded directory (adopted by the next unpack, or removed by gc), or a
 * recorded layer. Each layer directory is self-contained (whiteouts as overlay markers), so
 * the missing layers of an image are unpacked in parallel threads.
 *
 * A mount is an overlayfs of the layer directories at mounts/<image hex>, or where overlayfs
 * is missing a flattened copy made under tmp/ and renamed there. A per-image flock
 * serializes mount and unmount, and the store counts holders as podman does.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/layer.h>
#include <myrmex/store.h>

#include "fault.h"
#include "fs.h"
#include "imageops-internal.h"
#include "store/store-internal.h"
#include "strv.h"

#define MAX_THREADS 4

/* The caller's progress callback, called from the unpacking threads one at a time: callers
 * (the CLI's bars) need not be thread-safe. */
typedef struct progress_relay {
        mx_progress_cb cb;
        void *userdata;
        pthread_mutex_t lock;
} progress_relay;

static void relay_progress(const mx_progress_event *ev, void *userdata)
{
        progress_relay *pr = userdata;

        pthread_mutex_lock(&pr->lock);
        pr->cb(ev, pr->userdata);
        pthread_mutex_unlock(&pr->lock);
}

typedef struct job {
        char *blob_path;
        char *tmp_dir;
        char *final_dir;
        const char *digest;
        const char *diff_id;
        const char *chain_id;
        progress_relay *relay;
        mx_layer_info info;
        int64_t usize;
        bool adopted;
        int code;
        mx_error *err;
} job;

typedef struct pool {
        job *jobs;
        size_t n;
        size_t next;
        pthread_mutex_t lock;
} pool;

static void run_job(job *j)
{
        mx_layer_unpack_opts o = MX_LAYER_UNPACK_OPTS_INIT;
        cleanup_close int fd = open(j->blob_path, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0) {
                j->code = mx_error_errno(&j->err, MX_D_SYS, "open layer '%s'", j->digest);
                return;
        }
        if (mkdir(j->tmp_dir, 0755) < 0) {
                j->code = mx_error_errno(&j->err, MX_D_SYS, "create '%s'", j->tmp_dir);
                return;
        }
        o.whiteouts = MX_WHITEOUT_OVERLAY;
        o.flags = MX_LAYER_SYNC;
        o.expected_digest = j->digest;
        o.expected_diff_id = j->diff_id;
        if (j->relay) {
                o.progress = relay_progress;
                o.progress_userdata = j->relay;
        }
        o.progress_id = j->digest;
        r = mx_layer_unpack(fd, j->tmp_dir, &o, &j->info, &j->err);
        if (r < 0) {
                j->code = r;
                (void)mx_fs_rm_rf(j->tmp_dir, NULL);
                return;
        }
}

/* Rename a finished layer into place, in the calling (main) thread and in layer order, so
 * the fault points are reached in the same order on every run. */
static int place_job(job *j, mx_error **err)
{
        mx_fault_point("imageops-unpack-layer-written");
        if (rename(j->tmp_dir, j->final_dir) < 0) {
                /* Another process got there first: its directory is complete (it is
                 * renamed only when whole), so ours is surplus. */
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        int r = mx_error_errno(err, MX_D_SYS, "rename '%s' to '%s'", j->tmp_dir,
                                               j->final_dir);

                        (void)mx_fs_rm_rf(j->tmp_dir, NULL);
                        return r;
                }
                (void)mx_fs_rm_rf(j->tmp_dir, NULL);
        }
        mx_fault_point("imageops-unpack-layer-renamed");
        return 0;
}

static void *worker(void *arg)
{
        pool *p = arg;

        for (;;) {
                job *j = NULL;

                pthread_mutex_lock(&p->lock);
                if (p->next < p->n)
                        j = &p->jobs[p->next++];
                pthread_mutex_unlock(&p->lock);
                if (!j)
                        return NULL;
                if (!j->adopted)
                        run_job(j);
        }
}

static void jobs_free(job *jobs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(jobs[i].blob_path);
                free(jobs[i].tmp_dir);
                free(jobs[i].final_dir);
                mx_error_free(jobs[i].err);
        }
        free(jobs);
}

static int unpack_record(mx_store *s, const mx_image_record *rec, mx_progress_cb progress,
                         void *userdata, mx_error **err)
{
        pool p = {.lock = PTHREAD_MUTEX_INITIALIZER};
        progress_relay relay = {progress, userdata, PTHREAD_MUTEX_INITIALIZER};
        pthread_t threads[MAX_THREADS];
        size_t n_threads = 0;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r = 0;

        p.jobs = calloc(rec->n_layers ? rec->n_layers : 1, sizeof(*p.jobs));
        if (!p.jobs)
                return mx_error_oom(err);
        for (size_t i = 0; i < rec->n_layers; i++) {
                const mx_layer_record *l = &rec->layers[i];
                job *j = &p.jobs[p.n];

                r = mx_store_layer_is_unpacked(s, l->chain_id, err);
                if (r < 0)
                        goto out;
                if (r == 1)
                        continue;
                r = mx_store_blob_path(s, l->digest, &j->blob_path, err);
                if (r >= 0)
                        r = mx_store_tmp_path(s, "layer", &j->tmp_dir, err);
                if (r >= 0)
                        r = mx_store_layer_dir(s, l->chain_id, &j->final_dir, err);
                if (r < 0) {
                        p.n++;
                        goto out;
                }
                j->digest = l->digest;
                j->diff_id = l->diff_id;
                j->chain_id = l->chain_id;
                j->usize = l->uncompressed_size;
                j->relay = progress ? &relay : NULL;
                p.n++;
        }
        r = 0;
        if (p.n == 0)
                goto out;
        for (size_t i = 0; i < p.n; i++) {
                /* Adopt a complete directory that a crashed or concurrent unpack left
                 * (directories are renamed into place only when whole). */
                struct stat st;

                if (lstat(p.jobs[i].final_dir, &st) == 0 && S_ISDIR(st.st_mode))
                        p.jobs[i].adopted = true;
                if (p.jobs[i].adopted && p.jobs[i].usize > 0)
                        p.jobs[i].info.uncompressed_size = (uint64_t)p.jobs[i].usize;
        }
        {
                size_t want = cpus > 0 ? (size_t)cpus : 1;

                if (want > MAX_THREADS)
                        want = MAX_THREADS;
                if (want > p.n)
                        want = p.n;
                for (size_t i = 0; i < want; i++) {
                        if (pthread_create(&threads[n_threads], NULL, worker, &p) != 0)
                                break;
                        n_threads++;
                }
                if (n_threads == 0)
                        worker(&p);
                for (size_t i = 0; i < n_threads; i++)
                        (void)pthread_join(threads[i], NULL);
        }
        for (size_t i = 0; i < p.n; i++) {
                job *j = &p.jobs[i];

                if (j->code < 0) {
                        mx_error_move(err, &j->err);
                        r = mx_error_wrap(err, MX_D_IMAGE, "unpack layer '%s'", j->digest);
                        goto out;
                }
        }
        for (size_t i = 0; i < p.n; i++) {
                if (p.jobs[i].adopted)
                        continue;
                r = place_job(&p.jobs[i], err);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < p.n; i++) {
                job *j = &p.jobs[i];

                r = mx_store_layer_set_unpacked(s, j->chain_id, (int64_t)j->info.uncompressed_size,
                                                err);
                if (r < 0)
                        goto out;
        }
out:
        /* Unpacked but not placed (another layer failed): not worth keeping in tmp/. */
        for (size_t i = 0; r < 0 && i < p.n; i++)
                if (p.jobs[i].tmp_dir)
                        (void)mx_fs_rm_rf(p.jobs[i].tmp_dir, NULL);
        jobs_free(p.jobs, p.n);
        return r;
}

int mx_images_unpack(mx_store *s, const char *image, mx_progress_cb progress, void *userdata,
                     mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        int r;

        if (!s || !image)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "unpack: invalid arguments");
        r = mx_store_hold(s, err);
        if (r >= 0)
                r = mx_store_image_get(s, image, &rec, err);
        if (r >= 0)
                r = unpack_record(s, rec, progress, userdata, err);
        mx_store_release(s);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "unpack '%s'", image);
        return 0;
}

/* ---- mounts ------------------------------------------------------------------------------ */

/* Unescape the octal escapes (\040) of a /proc/self/mountinfo field in place. */
static void unescape_mountinfo(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

/* 1 when something is mounted at path (bind mounts of the same filesystem included). */
static int is_mountpoint(const char *path)
{
        cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
        cleanup_free char *line = NULL;
        size_t cap = 0;

        if (!f)
                return 0;
        while (getline(&line, &cap, f) > 0) {
                char *save = NULL, *tok = strtok_r(line, " ", &save);

                /* fields: id parent major:minor root mount-point ... */
                for (int i = 0; tok && i < 4; i++)
                        tok = strtok_r(NULL, " ", &save);
                if (!tok)
                        continue;
                unescape_mountinfo(tok);
                if (strcmp(tok, path) == 0)
                        return 1;
        }
        return 0;
}

static int mount_lock(mx_store *s, const char *id, int *fd_out, mx_error **err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;
        int fd;

        if (asprintf(&dir, "%s/mounts", mx_store_root(s)) < 0 ||
            asprintf(&path, "%s/.%s.lock", dir, mx_digest_hex(id)) < 0)
                return mx_error_oom(err);
        if (mx_fs_mkdir_p(dir, 0700, err) < 0)
                return MX_EIO;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s'", path);
        if (flock(fd, LOCK_EX) < 0) {
                int r = mx_error_errno(err, MX_D_SYS, "lock '%s'", path);

                (void)close(fd);
                return r;
        }
        *fd_out = fd;
        return 0;
}

static int mountpoint_of(mx_store *s, const char *id, char **out, mx_error **err)
{
        if (asprintf(out, "%s/mounts/%s", mx_store_root(s), mx_digest_hex(id)) < 0)
                return mx_error_oom(err);
        return 0;
}

/* Make the view at mp: an overlay of the layers, else a flattened copy. */
static int make_view(mx_store *s, const mx_image_record *rec, const char *mp, mx_error **err)
{
        cleanup_strv char **lowers = NULL;
        cleanup_free char *tmp = NULL;
        int r;

        for (size_t i = rec->n_layers; i-- > 0;) {
                char *d = NULL;

                r = mx_store_layer_dir(s, rec->layers[i].chain_id, &d, err);
                if (r < 0)
                        return r;
                if (mx_strv_push_take(&lowers, d) < 0)
                        return mx_error_oom(err);
        }
        if (rec->n_layers == 0)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                    "image '%s' has no layers to mount", rec->id);
        if (mx_rootfs_overlay_supported()) {
                cleanup(mx_error_freep) mx_error *e = NULL;
                size_t n = rec->n_layers;

                /* overlayfs refuses a single lower directory without an upper one: an empty
                 * directory below the only layer gives the same view. */
                if (n == 1) {
                        char *empty = NULL;

                        if (asprintf(&empty, "%s/mounts/.empty", mx_store_root(s)) < 0)
                                return mx_error_oom(err);
                        if (mkdir(empty, 0755) < 0 && errno != EEXIST) {
                                r = mx_error_errno(err, MX_D_SYS, "create '%s'", empty);
                                free(empty);
                                return r;
                        }
                        if (mx_strv_push_take(&lowers, empty) < 0)
                                return mx_error_oom(err);
                        n = 2;
                }

                if (mkdir(mp, 0755) < 0 && errno != EEXIST)
                        return mx_error_errno(err, MX_D_SYS, "create '%s'", mp);
                r = mx_rootfs_mount((const char *const *)lowers, n, NULL, NULL, mp, MX_ROOTFS_NODEV,
                                    &e);
                if (r >= 0)
                        return 0;
                if (r != MX_EUNSUPPORTED && r != MX_EDENIED) {
                        mx_error_move(err, &e);
                        return r;
                }
                (void)rmdir(mp);
        }
        r = mx_store_tmp_path(s, "mount", &tmp, err);
        if (r < 0)
                return r;
        if (mkdir(tmp, 0755) < 0)
                return mx_error_errno(err, MX_D_SYS, "create '%s'", tmp);
        r = mx_rootfs_flatten((const char *const *)lowers, rec->n_layers, tmp, err);
        if (r >= 0 && rename(tmp, mp) < 0)
                r = mx_error_errno(err, MX_D_SYS, "rename '%s' to '%s'", tmp, mp);
        if (r < 0)
                (void)mx_fs_rm_rf(tmp, NULL);
        return r;
}

static int drop_view(const char *mp, mx_error **err)
{
        int r;

        if (is_mountpoint(mp)) {
                r = mx_rootfs_unmount(mp, err);
                if (r < 0)
                        return r;
                (void)rmdir(mp);
                return 0;
        }
        return mx_fs_rm_rf(mp, err);
}

int mx_image_mount(mx_store *s, const char *image, char **path_out, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_free char *mp = NULL;
        cleanup_close int lock = -1;
        int count = 0, r;
        struct stat st;

        if (!s || !image)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "mount: invalid arguments");
        r = mx_store_image_get(s, image, &rec, err);
        if (r >= 0)
                r = mx_images_unpack(s, rec->id, NULL, NULL, err);
        if (r >= 0)
                r = mount_lock(s, rec->id, &lock, err);
        if (r >= 0)
                r = mountpoint_of(s, rec->id, &mp, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "mount '%s'", image);
        /* Count first: a crash after it leaves a count without a view (made by the next
         * mount), never a view that rmi could pull the layers from under. */
        r = mx_store_image_mount_ref(s, rec->id, +1, &count, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "mount '%s'", image);
        mx_fault_point("imageops-mount-counted");
        if (!is_mountpoint(mp) &&
            !(lstat(mp, &st) == 0 && S_ISDIR(st.st_mode) && !mx_rootfs_overlay_supported())) {
                r = make_view(s, rec, mp, err);
                if (r < 0) {
                        (void)!mx_store_image_mount_ref(s, rec->id, -1, NULL, NULL);
                        return mx_error_wrap(err, MX_D_IMAGE, "mount '%s'", image);
                }
        }
        if (path_out)
                *path_out = TAKE_PTR(mp);
        return 0;
}

static int unmount_one(mx_store *s, const char *id, int force, mx_error **err)
{
        cleanup_free char *mp = NULL;
        cleanup_close int lock = -1;
        int count = 0, r;

        r = mount_lock(s, id, &lock, err);
        if (r >= 0)
                r = mountpoint_of(s, id, &mp, err);
        if (r < 0)
                return r;
        r = mx_store_image_mount_ref(s, id, 0, &count, err);
        if (r < 0)
                return r;
        if (count <= 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "image '%s' is not mounted", id);
        /* The view goes before the last count does: a failure (or a crash) in between
         * leaves a count without a view, never a view that rmi could pull layers from. */
        if (force || count == 1) {
                r = drop_view(mp, err);
                if (r < 0)
                        return r;
                mx_fault_point("imageops-unmount-dropped");
        }
        do {
                r = mx_store_image_mount_ref(s, id, -1, &count, err);
                if (r < 0)
                        return r;
        } while (force && count > 0);
        return 0;
}

int mx_image_unmount(mx_store *s, const char *image, int force, mx_error **err)
{
        int r;

        if (!s)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "unmount: invalid arguments");
        if (image) {
                cleanup_free char *id = NULL;

                r = mx_store_image_resolve(s, image, &id, err);
                if (r >= 0)
                        r = unmount_one(s, id, force, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "unmount '%s'", image);
                return 0;
        }
        {
                mx_image_record **recs = NULL;
                size_t n = 0;

                r = mx_store_image_list(s, &recs, &n, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "unmount");
                for (size_t i = 0; i < n && r >= 0; i++) {
                        if (recs[i]->mounts <= 0)
                                continue;
                        r = unmount_one(s, recs[i]->id, 1, err);
                        if (r < 0)
                                r = mx_error_wrap(err, MX_D_IMAGE, "unmount '%s'", recs[i]->id);
                }
                mx_image_record_list_free(recs, n);
                return r < 0 ? r : 0;
        }
}
