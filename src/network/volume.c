/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named volumes: volumes/<name>/_data under the store, a row in vol_volumes, and a row in
 * vol_refs per container using it. The row is the truth: a directory without a row is
 * debris of an interrupted removal and is cleared before a volume of that name is made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/volume.h>

#include "buf.h"
#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "json.h"
#include "netdb.h"
#include "network-internal.h"
#include "strv.h"

#define SEED_MAX_DEPTH 256

void mx_volume_info_free(mx_volume_info *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->driver);
        free(v->mountpoint);
        free(v->labels_json);
        free(v);
}

void mx_volume_info_list_free(mx_volume_info **list, size_t n)
{
        for (size_t i = 0; list && i < n; i++)
                mx_volume_info_free(list[i]);
        free(list);
}

static char *vol_dir(const mx_netctx *ctx, const char *name)
{
        char *p = NULL;

        return asprintf(&p, "%s/volumes/%s", ctx->root, name) < 0 ? NULL : p;
}

#define VOL_COLS                                                                              \
        "v.name, v.driver, v.created, v.anonymous, v.labels, (SELECT count(*) FROM vol_refs " \
        "r WHERE r.volume = v.name)"

static int info_from_row(mx_volume_info **out, const mx_netctx *ctx, sqlite3_stmt *st,
                         mx_error **err)
{
        mx_volume_info *v = calloc(1, sizeof(*v));

        if (!v)
                return mx_error_oom(err);
        v->name = mx_netdb__col(st, 0);
        v->driver = mx_netdb__col(st, 1);
        v->created = sqlite3_column_int64(st, 2);
        v->anonymous = sqlite3_column_int(st, 3);
        v->labels_json = mx_netdb__col(st, 4);
        v->ref_count = (size_t)sqlite3_column_int64(st, 5);
        if (v->name && asprintf(&v->mountpoint, "%s/volumes/%s/_data", ctx->root, v->name) < 0)
                v->mountpoint = NULL;
        if (!v->name || !v->driver || !v->labels_json || !v->mountpoint) {
                mx_volume_info_free(v);
                return mx_error_oom(err);
        }
        *out = v;
        return 0;
}

static int get_one(mx_volume_info **out, const mx_netctx *ctx, const char *name, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int r, rc;

        r = mx_netdb__prepare(&st, ctx->db,
                              "SELECT " VOL_COLS " FROM vol_volumes v WHERE name = ?1", err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = info_from_row(out, ctx, st, err);
        else if (rc == SQLITE_DONE)
                r = mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such volume: '%s'", name);
        else
                r = mx_netdb__err(err, ctx->db, "look up volume");
        sqlite3_finalize(st);
        return r;
}

static int ensure_data_dir(const mx_netctx *ctx, const char *name, mx_error **err)
{
        cleanup_free char *p = NULL;

        if (asprintf(&p, "%s/volumes/%s/_data", ctx->root, name) < 0)
                return mx_error_oom(err);
        return mx_fs_mkdir_p(p, 0755, err);
}

int mx_volume__create(mx_volume_info **out, const mx_netctx *ctx, const mx_volume_create_opts *o,
                      int anonymous, mx_error **err)
{
        char rnd[65];
        const char *name = o ? o->name : NULL;
        cleanup_free char *dir = NULL;
        sqlite3_stmt *st = NULL;
        int r, rc;

        if (o && o->version != MX_VOLUME_CREATE_OPTS_VERSION)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "unknown volume options version %d", o->version);
        if (o && o->driver && strcmp(o->driver, "local") != 0)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_RUNTIME, 0,
                                    "volume driver '%s' is not supported (local)", o->driver);
        if (!name) {
                if (mx_net__random_hex(rnd) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "make a volume name");
                name = rnd;
                anonymous = 1;
        } else if (!mx_net__valid_name(name) || strlen(name) > 128) {
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "invalid volume name '%s': use letters, digits and '_.-', "
                                    "starting with a letter or digit",
                                    name);
        }
        if (o && o->labels_json) {
                cleanup_json json_t *l = NULL;

                r = mx_json_parse(&l, o->labels_json, strlen(o->labels_json), 64 * 1024, 1,
                                  "volume labels", err);
                if (r < 0)
                        return r;
        }
        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        dir = vol_dir(ctx, name);
        if (!dir)
                return mx_error_oom(err);
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        r = mx_netdb__prepare(&st, ctx->db, "SELECT 1 FROM vol_volumes WHERE name = ?1", err);
        if (r < 0)
                goto fail;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) {
                /* Debris of an interrupted removal must not reappear as content. */
                r = mx_fs_rm_rf(dir, err);
                if (r < 0)
                        goto fail;
                r = mx_netdb__prepare(&st, ctx->db,
                                      "INSERT INTO vol_volumes (name, driver, created, anonymous, "
                                      "labels) VALUES (?1, 'local', ?2, ?3, ?4)",
                                      err);
                if (r < 0)
                        goto fail;
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
                sqlite3_bind_int(st, 3, anonymous);
                sqlite3_bind_text(st, 4, o && o->labels_json ? o->labels_json : "{}", -1,
                                  SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE) {
                        r = mx_netdb__err(err, ctx->db, "insert volume");
                        goto fail;
                }
        } else if (rc != SQLITE_ROW) {
                r = mx_netdb__err(err, ctx->db, "look up volume");
                goto fail;
        }
        mx_fault_point("volume-create-commit");
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail;
        r = ensure_data_dir(ctx, name, err);
        if (r < 0)
                return r;
        if (!out)
                return 0;
        return get_one(out, ctx, name, err);
fail:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_volume__inspect(mx_volume_info **out, const mx_netctx *ctx, const char *name, mx_error **err)
{
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        if (!name || !mx_net__valid_name(name))
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such volume: '%s'",
                                    name ? name : "");
        return get_one(out, ctx, name, err);
}

int mx_volume__list(mx_volume_info ***out, size_t *n_out, const mx_netctx *ctx, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        mx_volume_info **v = NULL;
        size_t n = 0;
        int r = mx_netdb__ensure(ctx->db, err), rc;

        if (r < 0)
                return r;
        r = mx_netdb__prepare(&st, ctx->db, "SELECT " VOL_COLS " FROM vol_volumes v ORDER BY name",
                              err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                mx_volume_info **g = realloc(v, (n + 1) * sizeof(*v));

                if (!g) {
                        r = mx_error_oom(err);
                        break;
                }
                v = g;
                r = info_from_row(&v[n], ctx, st, err);
                if (r < 0)
                        break;
                n++;
        }
        sqlite3_finalize(st);
        if (r >= 0 && rc != SQLITE_DONE)
                r = mx_netdb__err(err, ctx->db, "list volumes");
        if (r < 0) {
                mx_volume_info_list_free(v, n);
                return r;
        }
        *out = v;
        *n_out = n;
        return 0;
}

static uint64_t du(const char *path)
{
        DIR *d;
        struct dirent *de;
        uint64_t total = 0;
        struct stat st;

        if (lstat(path, &st) < 0)
                return 0;
        if (!S_ISDIR(st.st_mode))
                return (uint64_t)st.st_size;
        d = opendir(path);
        if (!d)
                return 0;
        while ((de = readdir(d)) != NULL) {
                char *p = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
                        break;
                total += du(p);
                free(p);
        }
        closedir(d);
        return total;
}

/* Remove a volume row (refusing when used unless force) and then its directory. */
static int remove_one(const mx_netctx *ctx, const char *name, int force, int only_unused,
                      uint64_t *bytes, mx_error **err)
{
        cleanup_free char *dir = vol_dir(ctx, name);
        sqlite3_stmt *st = NULL;
        int r, rc, refs;

        if (!dir)
                return mx_error_oom(err);
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        r = mx_netdb__prepare(&st, ctx->db,
                              "SELECT (SELECT count(*) FROM vol_refs WHERE volume = ?1) FROM "
                              "vol_volumes WHERE name = ?1",
                              err);
        if (r < 0)
                goto fail;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        refs = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) {
                r = mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such volume: '%s'", name);
                goto fail;
        }
        if (rc != SQLITE_ROW) {
                r = mx_netdb__err(err, ctx->db, "look up volume");
                goto fail;
        }
        if (refs > 0 && (!force || only_unused)) {
                r = mx_error_set(err, MX_EBUSY, MX_D_RUNTIME, 0,
                                 "volume '%s' is in use by %d container(s)", name, refs);
                goto fail;
        }
        {
                const char *sqls[] = {"DELETE FROM vol_refs WHERE volume = ?1",
                                      "DELETE FROM vol_volumes WHERE name = ?1"};

                for (size_t i = 0; i < MX_ARRAY_SIZE(sqls); i++) {
                        r = mx_netdb__prepare(&st, ctx->db, sqls[i], err);
                        if (r < 0)
                                goto fail;
                        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                        rc = sqlite3_step(st);
                        sqlite3_finalize(st);
                        if (rc != SQLITE_DONE) {
                                r = mx_netdb__err(err, ctx->db, "delete volume");
                                goto fail;
                        }
                }
        }
        mx_fault_point("volume-remove-commit");
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail;
        if (bytes)
                *bytes += du(dir);
        return mx_fs_rm_rf(dir, err);
fail:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_volume__remove(const mx_netctx *ctx, const char *name, int force, mx_error **err)
{
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        if (!name || !mx_net__valid_name(name))
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such volume: '%s'",
                                    name ? name : "");
        return remove_one(ctx, name, force, 0, NULL, err);
}

int mx_volume__prune(char ***removed_out, uint64_t *reclaimed_out, const mx_netctx *ctx, int all,
                     mx_error **err)
{
        mx_volume_info **v = NULL;
        char **removed = NULL;
        uint64_t bytes = 0;
        size_t n = 0;
        int r = mx_volume__list(&v, &n, ctx, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                mx_error *e = NULL;

                if (v[i]->ref_count || (!all && !v[i]->anonymous))
                        continue;
                if (remove_one(ctx, v[i]->name, 0, 1, &bytes, &e) == 0 &&
                    mx_strv_push(&removed, v[i]->name) < 0)
                        r = mx_error_oom(err);
                mx_error_free(e); /* used meanwhile: skipped */
        }
        mx_volume_info_list_free(v, n);
        if (r < 0) {
                mx_strv_free(removed);
                return r;
        }
        if (removed_out)
                *removed_out = removed;
        else
                mx_strv_free(removed);
        if (reclaimed_out)
                *reclaimed_out = bytes;
        return 0;
}

/* ---- seeding ------------------------------------------------------------------------- */

static int copy_tree(int src_dir, int dst_dir, int depth, mx_error **err);

static int copy_meta(int fd, const struct stat *st)
{
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
                return -1;
        if (fchmod(fd, st->st_mode & 07777) < 0)
                return -1;
        return futimens(fd, ts);
}

static int copy_entry(int src_dir, int dst_dir, const char *name, int depth, mx_error **err)
{
        struct stat st;

        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "stat '%s' in the image", name);
        if (S_ISDIR(st.st_mode)) {
                cleanup_close int s = -1, d = -1;
                int r;

                if (mkdirat(dst_dir, name, 0700) < 0 && errno != EEXIST)
                        return mx_error_errno(err, MX_D_RUNTIME, "create directory '%s'", name);
                s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "open directory '%s'", name);
                r = copy_tree(s, d, depth + 1, err);
                if (r < 0)
                        return r;
                if (copy_meta(d, &st) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "set owner and mode of '%s'",
                                              name);
        } else if (S_ISREG(st.st_mode)) {
                cleanup_close int s = -1, d = -1;
                char buf[65536];
                ssize_t n;

                s = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "open '%s' in the image", name);
                d = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                           0600);
                if (d < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "create '%s'", name);
                while ((n = read(s, buf, sizeof(buf))) != 0) {
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return mx_error_errno(err, MX_D_RUNTIME, "read '%s'", name);
                        }
                        for (ssize_t off = 0; off < n;) {
                                ssize_t w = write(d, buf + off, (size_t)(n - off));

                                if (w < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        return mx_error_errno(err, MX_D_RUNTIME, "write '%s'",
                                                              name);
                                }
                                off += w;
                        }
                }
                if (copy_meta(d, &st) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "set owner and mode of '%s'",
                                              name);
        } else if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                struct timespec ts[2] = {st.st_atim, st.st_mtim};

                if (n < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "read link '%s'", name);
                target[n] = '\0';
                /* The link is copied as a link; it is never followed here. */
                if (symlinkat(target, dst_dir, name) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "create link '%s'", name);
                if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno != EPERM)
                        return mx_error_errno(err, MX_D_RUNTIME, "set owner of '%s'", name);
                (void)utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW);
        } else if (S_ISFIFO(st.st_mode)) {
                /* Device nodes are not copied: an image must not plant a usable device in
                 * a host directory (the volume's) that outlives the container's device
                 * cgroup. FIFOs are harmless. */
                if (mknodat(dst_dir, name, st.st_mode, 0) < 0)
                        return mx_error_errno(err, MX_D_RUNTIME, "create node '%s'", name);
                if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno != EPERM)
                        return mx_error_errno(err, MX_D_RUNTIME, "set owner of '%s'", name);
        }
        /* Sockets are not content, devices not safe: skipped. */
        return 0;
}

static int copy_tree(int src_dir, int dst_dir, int depth, mx_error **err)
{
        DIR *d;
        struct dirent *de;
        int fd, r = 0;

        if (depth > SEED_MAX_DEPTH)
                return mx_error_set(err, MX_ETOOBIG, MX_D_RUNTIME, 0,
                                    "image directory tree deeper than %d", SEED_MAX_DEPTH);
        fd = fcntl(src_dir, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "duplicate a directory descriptor");
        d = fdopendir(fd);
        if (!d) {
                (void)close(fd);
                return mx_error_errno(err, MX_D_RUNTIME, "read an image directory");
        }
        while (r >= 0 && (de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = copy_entry(src_dir, dst_dir, de->d_name, depth, err);
        }
        closedir(d);
        return r;
}

static int dir_is_empty(int fd)
{
        int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int empty = 1;

        if (dupfd < 0)
                return 0;
        d = fdopendir(dupfd);
        if (!d) {
                (void)close(dupfd);
                return 0;
        }
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        empty = 0;
                        break;
                }
        closedir(d);
        return empty;
}

int mx_volume_seed(const char *data_dir, const char *image_rootfs, const char *mount_point,
                   mx_error **err)
{
        cleanup_close int root = -1, src = -1, dst = -1;
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
        struct stat st;
        const char *rel = mount_point;
        long fd;

        if (!data_dir || !image_rootfs || !mount_point)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no volume seed paths");
        root = open(image_rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "open image root '%s'", image_rootfs);
        while (*rel == '/')
                rel++;
        if (!*rel)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "a volume cannot be mounted on '/'");
        /* Resolve the mount point as the container will: symlinks inside the image stay
         * inside the image root. */
        fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0; /* nothing at the mount point: nothing to seed */
                return mx_error_errno(err, MX_D_RUNTIME, "open '%s' in the image", mount_point);
        }
        src = (int)fd;
        dst = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "open volume directory '%s'", data_dir);
        if (!dir_is_empty(dst))
                return 0; /* Docker seeds only an empty volume */
        if (copy_tree(src, dst, 0, err) < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "seed volume from '%s'", mount_point);
        if (fstat(src, &st) == 0 && copy_meta(dst, &st) < 0)
                return mx_error_errno(err, MX_D_RUNTIME, "set owner and mode of '%s'", data_dir);
        mx_fault_point("volume-seeded");
        return 0;
}

/* ---- use and release ----------------------------------------------------------------- */

int mx_volume__use(mx_volume_info **out, const mx_netctx *ctx, const mx_mount_spec *spec,
                   const char *cid, const char *image_rootfs, mx_error **err)
{
        cleanup(mx_volume_info_freep) mx_volume_info *v = NULL;
        mx_volume_create_opts o = MX_VOLUME_CREATE_OPTS_INIT;
        sqlite3_stmt *st = NULL;
        int r, rc, seeded = 1;

        if (!spec || spec->type != MX_MOUNT_VOLUME || !cid || !*cid)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "a volume mount and a container are needed");
        o.name = spec->source;
        r = mx_volume__create(&v, ctx, &o, spec->source == NULL, err);
        if (r < 0)
                return r;
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        r = mx_netdb__prepare(
                &st, ctx->db,
                "INSERT OR IGNORE INTO vol_refs (volume, container_id) VALUES (?1, ?2)", err);
        if (r < 0)
                goto fail;
        sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                r = mx_netdb__err(err, ctx->db, "record volume use");
                goto fail;
        }
        r = mx_netdb__prepare(&st, ctx->db, "SELECT seeded FROM vol_volumes WHERE name = ?1", err);
        if (r < 0)
                goto fail;
        sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                seeded = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail;
        if (!seeded && !spec->volume_nocopy && image_rootfs) {
                const char *args_sql = "UPDATE vol_volumes SET seeded = 1 WHERE name = ?1";

                r = mx_volume_seed(v->mountpoint, image_rootfs, spec->target, err);
                if (r < 0)
                        return r;
                r = mx_netdb__prepare(&st, ctx->db, args_sql, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return mx_netdb__err(err, ctx->db, "mark volume seeded");
        }
        v->ref_count++;
        if (out)
                *out = TAKE_PTR(v);
        return 0;
fail:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_volume__release(const mx_netctx *ctx, const char *cid, int remove_anonymous, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        char **anon = NULL;
        int r = mx_netdb__ensure(ctx->db, err), rc;

        if (r < 0)
                return r;
        if (remove_anonymous) {
                r = mx_netdb__prepare(&st, ctx->db,
                                      "SELECT r.volume FROM vol_refs r JOIN vol_volumes v ON "
                                      "v.name = r.volume WHERE r.container_id = ?1 AND "
                                      "v.anonymous = 1",
                                      err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
                while (sqlite3_step(st) == SQLITE_ROW)
                        if (mx_strv_push(&anon, (const char *)sqlite3_column_text(st, 0)) < 0) {
                                sqlite3_finalize(st);
                                mx_strv_free(anon);
                                return mx_error_oom(err);
                        }
                sqlite3_finalize(st);
        }
        r = mx_netdb__prepare(&st, ctx->db, "DELETE FROM vol_refs WHERE container_id = ?1", err);
        if (r < 0) {
                mx_strv_free(anon);
                return r;
        }
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                mx_strv_free(anon);
                return mx_netdb__err(err, ctx->db, "drop volume references");
        }
        MX_STRV_FOREACH (name, anon) {
                mx_error *e = NULL;

                /* Still used by another container: kept, as Docker keeps it. */
                (void)remove_one(ctx, name, 0, 1, NULL, &e);
                mx_error_free(e);
        }
        mx_strv_free(anon);
        return 0;
}
