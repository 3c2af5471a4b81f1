/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maintenance: garbage collection, consistency check and repair, disk usage and prune.
 *
 * gc runs under gc.lock held exclusively: writers hold it shared from their first blob until
 * their image is recorded, so everything gc sees unreferenced is either garbage of a crash
 * or of a removal, never the work of a live writer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/log.h>
#include <myrmex/store.h>

#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "store-priv.h"
#include "strv.h"

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sorted_contains(char **v, size_t n, const char *s)
{
        return n && bsearch(&s, v, n, sizeof(char *), cmp_str) != NULL;
}

/* Every blob digest an image references (manifest, config, layers), sorted. */
static int referenced_blobs(mx_store *s, char ***out, size_t *n, mx_error **err)
{
        int r = store_query_strv(s,
                                 "SELECT manifest_digest FROM images UNION "
                                 "SELECT id FROM images UNION "
                                 "SELECT digest FROM image_layers",
                                 NULL, out, err);

        if (r < 0)
                return r;
        *n = mx_strv_length(*out);
        if (*n > 1)
                qsort(*out, *n, sizeof(char *), cmp_str);
        return 0;
}

static int unpacked_layers(mx_store *s, char ***out, size_t *n, mx_error **err)
{
        int r = store_query_strv(s, "SELECT chain_id FROM layers WHERE unpacked = 1", NULL, out,
                                 err);

        if (r < 0)
                return r;
        *n = mx_strv_length(*out);
        if (*n > 1)
                qsort(*out, *n, sizeof(char *), cmp_str);
        return 0;
}

static int is_hex64(const char *name)
{
        return strlen(name) == 64 && mx_ref_is_id_prefix(name);
}

/* Entries of dir (without . and ..), sorted; a missing dir is empty. */
static int list_dir(const char *dir, char ***out, mx_error **err)
{
        cleanup_strv char **v = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d) {
                if (errno != ENOENT)
                        return mx_error_errno(err, MX_D_STORE, "open directory '%s'", dir);
        } else {
                while ((de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (mx_strv_push(&v, de->d_name) < 0) {
                                closedir(d);
                                return mx_error_oom(err);
                        }
                }
                closedir(d);
        }
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return mx_error_oom(err);
        }
        mx_strv_sort(v);
        *out = TAKE_PTR(v);
        return 0;
}

static char *digest_of_hex(const char *hex)
{
        char *d = NULL;

        if (asprintf(&d, "sha256:%s", hex) < 0)
                return NULL;
        return d;
}

int store_gc_locked(mx_store *s, mx_store_gc_report *report, mx_error **err)
{
        cleanup_strv char **refs = NULL, **unpacked = NULL, **blobs = NULL, **tmps = NULL,
                          **layers = NULL;
        size_t n_refs = 0, n_unpacked = 0;
        uint64_t pruned = 0;
        int r;

        /* 1. Layer rows no image uses (a crash cannot leave them; removals prune them too). */
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = store_prune_layer_rows(s, NULL, &pruned, err);
        if (r < 0) {
                mx_store__rollback(s);
                return r;
        }
        mx_fault_point("store-gc-rows-commit");
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;
        report->rows_pruned += pruned;

        /* 2. What is referenced now. No image can be added while we hold the lock. */
        r = referenced_blobs(s, &refs, &n_refs, err);
        if (r < 0)
                return r;
        r = unpacked_layers(s, &unpacked, &n_unpacked, err);
        if (r < 0)
                return r;

        /* 3. Blobs. */
        r = list_dir(s->blobs_dir, &blobs, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, blobs) {
                cleanup_free char *digest = digest_of_hex(name), *path = NULL;
                struct stat st;

                if (!digest || asprintf(&path, "%s/%s", s->blobs_dir, name) < 0)
                        return mx_error_oom(err);
                if (is_hex64(name) && sorted_contains(refs, n_refs, digest))
                        continue;
                if (lstat(path, &st) < 0)
                        continue;
                mx_fault_point("store-gc-blob-unlink");
                if (S_ISDIR(st.st_mode)) {
                        r = mx_fs_rm_rf(path, err);
                        if (r < 0)
                                return r;
                } else if (unlink(path) < 0 && errno != ENOENT) {
                        return mx_error_errno(err, MX_D_STORE, "remove blob '%s'", path);
                }
                report->blobs_removed++;
                report->bytes_freed += (uint64_t)st.st_size;
        }
        if (report->blobs_removed) {
                r = mx_fs_fsync_dir(s->blobs_dir, err);
                if (r < 0)
                        return r;
        }

        /* 4. Temp files: no live writer exists while we hold the lock. */
        r = list_dir(s->tmp_dir, &tmps, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, tmps) {
                cleanup_free char *path = NULL;

                if (asprintf(&path, "%s/%s", s->tmp_dir, name) < 0)
                        return mx_error_oom(err);
                r = mx_fs_rm_rf(path, err);
                if (r < 0)
                        return r;
                report->tmp_removed++;
        }

        /* 5. Layer directories not recorded as complete. */
        r = list_dir(s->layers_dir, &layers, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, layers) {
                cleanup_free char *chain = digest_of_hex(name), *path = NULL;

                if (!chain || asprintf(&path, "%s/%s", s->layers_dir, name) < 0)
                        return mx_error_oom(err);
                if (is_hex64(name) && sorted_contains(unpacked, n_unpacked, chain))
                        continue;
                mx_fault_point("store-gc-layer-remove");
                r = mx_fs_rm_rf(path, err);
                if (r < 0)
                        return r;
                report->layers_removed++;
        }
        return 0;
}

int mx_store_gc(mx_store *s, mx_store_gc_report *report, mx_error **err)
{
        mx_store_gc_report local;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = store_refuse_in_transaction(s, "garbage collection", err);
        if (r < 0)
                return r;
        memset(&local, 0, sizeof(local));
        r = mx_store__lock_exclusive(s, s->lock_timeout_ms, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "collect garbage");
        r = store_gc_locked(s, &local, err);
        mx_store__unlock(s);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "collect garbage in '%s'", s->root);
        if (report)
                *report = local;
        return 0;
}

void store_gc_opportunistic(mx_store *s)
{
        mx_store_gc_report rep;
        mx_error *e = NULL;

        if (s->lock_state != LOCK_NONE || !sqlite3_get_autocommit(s->db))
                return;
        memset(&rep, 0, sizeof(rep));
        if (mx_store__lock_exclusive(s, 0, NULL) < 0)
                return;
        if (store_gc_locked(s, &rep, &e) < 0) {
                char *m = mx_error_format(e);

                mx_log(MX_LOG_DEBUG,
                       "store: garbage collection after removal failed: %s, "
                       "ignoring",
                       m ? m : "?");
                free(m);
                mx_error_free(e);
        }
        mx_store__unlock(s);
}

/* ---- check ---- */

void mx_store_check_report_free(mx_store_check_report *report)
{
        if (!report)
                return;
        mx_strv_free(report->problems);
        mx_strv_free(report->garbage);
        mx_strv_free(report->repaired);
        free(report);
}

__attribute__((format(printf, 2, 3))) static int push_fmt(char ***v, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (n < 0)
                return MX_ENOMEM;
        return mx_strv_push_take(v, m);
}

/* Blob verification cache: each distinct blob is hashed once per check. */
typedef struct blob_state {
        char *digest;
        int state; /* 0 ok, 1 missing, 2 corrupt */
        char actual[MX_DIGEST_MAX];
} blob_state;

typedef struct check_ctx {
        mx_store *s;
        blob_state *blobs;
        size_t n_blobs, cap_blobs;
        mx_store_check_report *rep;
        char **bad_images;    /* images to delete on repair */
        char **corrupt_blobs; /* blob files to delete on repair */
} check_ctx;

static int verify_blob(check_ctx *c, const char *digest, blob_state **out, mx_error **err)
{
        cleanup_free char *path = NULL;
        blob_state *b;
        struct stat st;

        for (size_t i = 0; i < c->n_blobs; i++) {
                if (strcmp(c->blobs[i].digest, digest) == 0) {
                        *out = &c->blobs[i];
                        return 0;
                }
        }
        if (c->n_blobs == c->cap_blobs) {
                size_t ncap = c->cap_blobs ? c->cap_blobs * 2 : 32;
                blob_state *n = reallocarray(c->blobs, ncap, sizeof(*n));

                if (!n)
                        return mx_error_oom(err);
                c->blobs = n;
                c->cap_blobs = ncap;
        }
        b = &c->blobs[c->n_blobs];
        memset(b, 0, sizeof(*b));
        b->digest = strdup(digest);
        if (!b->digest)
                return mx_error_oom(err);
        c->n_blobs++;
        if (!mx_digest_is_valid(digest) || strncmp(digest, "sha256:", 7) != 0) {
                b->state = 1;
                *out = b;
                return 0;
        }
        path = store_blob_file(c->s, digest);
        if (!path)
                return mx_error_oom(err);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                b->state = 1;
        } else {
                mx_error *e = NULL;

                if (mx_digest_file(path, MX_DIGEST_SHA256, b->actual, &e) < 0) {
                        mx_error_free(e);
                        b->state = 2;
                        snprintf(b->actual, sizeof(b->actual), "unreadable");
                } else if (strcmp(b->actual, digest) != 0) {
                        b->state = 2;
                }
        }
        *out = b;
        return 0;
}

static int check_image_blob(check_ctx *c, const char *id, const char *digest, const char *what,
                            int *bad, mx_error **err)
{
        blob_state *b = NULL;
        int r = verify_blob(c, digest, &b, err);

        if (r < 0)
                return r;
        if (b->state == 0)
                return 0;
        *bad = 1;
        if (b->state == 1)
                r = push_fmt(&c->rep->problems, "image '%s': %s blob '%s' is missing", id, what,
                             digest);
        else
                r = push_fmt(&c->rep->problems,
                             "image '%s': %s blob '%s' is corrupt (its content has digest '%s')",
                             id, what, digest, b->actual);
        if (r < 0)
                return mx_error_oom(err);
        if (b->state == 2 && !mx_strv_contains(c->corrupt_blobs, digest) &&
            mx_strv_push(&c->corrupt_blobs, digest) < 0)
                return mx_error_oom(err);
        return 0;
}

static int check_images(check_ctx *c, mx_error **err)
{
        cleanup_strv char **ids = NULL;
        int r;

        r = store_query_strv(c->s, "SELECT id FROM images ORDER BY id", NULL, &ids, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (id, ids) {
                cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
                char chain[MX_DIGEST_BUF];
                int bad = 0;

                r = store_load_record(c->s, id, &rec, err);
                if (r < 0)
                        return r;
                r = check_image_blob(c, id, rec->manifest_digest, "manifest", &bad, err);
                if (r < 0)
                        return r;
                r = check_image_blob(c, id, rec->id, "config", &bad, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < rec->n_layers; i++) {
                        mx_layer_record *l = &rec->layers[i];

                        r = check_image_blob(c, id, l->digest, "layer", &bad, err);
                        if (r < 0)
                                return r;
                        if (mx_store_chain_id(i ? chain : NULL, l->diff_id, chain, NULL) < 0 ||
                            strcmp(chain, l->chain_id) != 0) {
                                bad = 1;
                                if (push_fmt(&c->rep->problems,
                                             "image '%s': layer %zu has chain ID '%s', expected "
                                             "'%s'",
                                             id, i, l->chain_id, chain) < 0)
                                        return mx_error_oom(err);
                                /* keep computing from the recorded one */
                                memcpy(chain, l->chain_id, strlen(l->chain_id) + 1);
                        }
                }
                if (rec->mounts < 0 &&
                    push_fmt(&c->rep->problems, "image '%s': negative mount count %lld", id,
                             (long long)rec->mounts) < 0)
                        return mx_error_oom(err);
                if (bad && mx_strv_push(&c->bad_images, id) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static int check_rows(check_ctx *c, mx_error **err)
{
        cleanup_strv char **v = NULL;
        int r;

        /* Rows whose foreign keys point nowhere (the schema forbids it; a damaged or
         * hand-edited database may not). */
        r = store_query_strv(c->s,
                             "SELECT ref || ' -> ' || image_id FROM tags WHERE image_id NOT IN "
                             "(SELECT id FROM images) ORDER BY ref",
                             NULL, &v, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (t, v) {
                if (push_fmt(&c->rep->problems, "tag %s: no such image", t) < 0)
                        return mx_error_oom(err);
        }
        mx_strv_free(v);
        v = NULL;
        r = store_query_strv(c->s,
                             "SELECT DISTINCT image_id || ' layer ' || chain_id FROM image_layers "
                             "WHERE image_id NOT IN (SELECT id FROM images) OR chain_id NOT IN "
                             "(SELECT chain_id FROM layers)",
                             NULL, &v, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (t, v) {
                if (push_fmt(&c->rep->problems, "image layer row %s: dangling reference", t) < 0)
                        return mx_error_oom(err);
        }
        mx_strv_free(v);
        v = NULL;
        r = store_query_strv(c->s,
                             "SELECT chain_id FROM layers WHERE chain_id NOT IN "
                             "(SELECT chain_id FROM image_layers) ORDER BY chain_id",
                             NULL, &v, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (t, v) {
                if (push_fmt(&c->rep->problems, "layer '%s' is recorded but no image uses it", t) <
                    0)
                        return mx_error_oom(err);
        }
        return 0;
}

/* Layer directories against rows; unmarked directories are garbage. */
static int check_layers(check_ctx *c, char ***missing_dirs, mx_error **err)
{
        cleanup_strv char **unpacked = NULL, **dirs = NULL;
        size_t n_unpacked = 0;
        int r;

        r = unpacked_layers(c->s, &unpacked, &n_unpacked, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (chain, unpacked) {
                cleanup_free char *dir = NULL;
                struct stat st;

                if (!mx_digest_is_valid(chain))
                        continue;
                dir = store_layer_file(c->s, chain);
                if (!dir)
                        return mx_error_oom(err);
                if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        if (push_fmt(&c->rep->problems,
                                     "layer '%s' is marked unpacked but '%s' is missing", chain,
                                     dir) < 0 ||
                            mx_strv_push(missing_dirs, chain) < 0)
                                return mx_error_oom(err);
                }
        }
        r = list_dir(c->s->layers_dir, &dirs, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, dirs) {
                cleanup_free char *chain = digest_of_hex(name);

                if (!chain)
                        return mx_error_oom(err);
                if (is_hex64(name) && sorted_contains(unpacked, n_unpacked, chain))
                        continue;
                if (push_fmt(&c->rep->garbage, "layer directory '%s/%s' (incomplete or unused)",
                             c->s->layers_dir, name) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static int check_garbage_files(check_ctx *c, mx_error **err)
{
        cleanup_strv char **refs = NULL, **blobs = NULL, **tmps = NULL;
        size_t n_refs = 0;
        int r;

        r = referenced_blobs(c->s, &refs, &n_refs, err);
        if (r < 0)
                return r;
        r = list_dir(c->s->blobs_dir, &blobs, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, blobs) {
                cleanup_free char *digest = digest_of_hex(name);

                if (!digest)
                        return mx_error_oom(err);
                if (is_hex64(name) && sorted_contains(refs, n_refs, digest))
                        continue;
                if (push_fmt(&c->rep->garbage, "unreferenced blob '%s/%s'", c->s->blobs_dir, name) <
                    0)
                        return mx_error_oom(err);
        }
        r = list_dir(c->s->tmp_dir, &tmps, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (name, tmps) {
                if (push_fmt(&c->rep->garbage, "temporary file '%s/%s'", c->s->tmp_dir, name) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static int check_integrity(check_ctx *c, mx_error **err)
{
        cleanup_strv char **v = NULL;
        int r = store_query_strv(c->s, "PRAGMA quick_check", NULL, &v, err);

        if (r < 0)
                return r;
        MX_STRV_FOREACH (line, v) {
                if (strcmp(line, "ok") != 0 &&
                    push_fmt(&c->rep->problems, "database: %s", line) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static int exec_bind(mx_store *s, const char *sql, const char *param, int *changes, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, sql, err);
        if (r < 0)
                return r;
        if (param)
                store_bind_text(st, 1, param);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (changes)
                *changes = sqlite3_changes(s->db);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "repair");
        return 0;
}

static int repair_rows(check_ctx *c, char **missing_dirs, mx_error **err)
{
        mx_store *s = c->s;
        int r, changes = 0;

        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (id, c->bad_images) {
                mx_error *e = NULL;

                r = exec_bind(s, "DELETE FROM images WHERE id = ?", id, &changes, &e);
                if (r < 0 && r != MX_EBUSY) {
                        mx_error_move(err, &e);
                        goto fail;
                }
                mx_error_free(e);
                if (r == MX_EBUSY) {
                        /* used by a container: keep it, the problem stays reported */
                        if (push_fmt(&c->rep->repaired,
                                     "kept image '%s': it is in use and cannot be removed",
                                     id) < 0) {
                                r = mx_error_oom(err);
                                goto fail;
                        }
                        continue;
                }
                if (push_fmt(&c->rep->repaired, "removed image '%s' and its tags", id) < 0) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        }
        r = exec_bind(s, "DELETE FROM tags WHERE image_id NOT IN (SELECT id FROM images)", NULL,
                      &changes, err);
        if (r < 0)
                goto fail;
        if (changes &&
            push_fmt(&c->rep->repaired, "removed %d tags of missing images", changes) < 0) {
                r = mx_error_oom(err);
                goto fail;
        }
        r = exec_bind(s, "DELETE FROM image_layers WHERE image_id NOT IN (SELECT id FROM images)",
                      NULL, &changes, err);
        if (r < 0)
                goto fail;
        MX_STRV_FOREACH (chain, missing_dirs) {
                r = exec_bind(s,
                              "UPDATE layers SET unpacked = 0, unpacked_size = -1 "
                              "WHERE chain_id = ?",
                              chain, &changes, err);
                if (r < 0)
                        goto fail;
                if (push_fmt(&c->rep->repaired, "marked layer '%s' not unpacked", chain) < 0) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        }
        r = exec_bind(s, "UPDATE images SET mounts = 0 WHERE mounts < 0", NULL, &changes, err);
        if (r < 0)
                goto fail;
        if (changes && push_fmt(&c->rep->repaired, "reset %d negative mount counts", changes) < 0) {
                r = mx_error_oom(err);
                goto fail;
        }
        {
                uint64_t pruned = 0;

                r = store_prune_layer_rows(s, NULL, &pruned, err);
                if (r < 0)
                        goto fail;
                if (pruned && push_fmt(&c->rep->repaired, "removed %llu unused layer rows",
                                       (unsigned long long)pruned) < 0) {
                        r = mx_error_oom(err);
                        goto fail;
                }
        }
        mx_fault_point("store-repair-commit");
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;
        /* Corrupt blob files go after the rows that named them (gc would remove them too,
         * unless another image still references them: then they are re-fetched by a pull). */
        MX_STRV_FOREACH (d, c->corrupt_blobs) {
                cleanup_free char *path = store_blob_file(s, d);

                if (!path)
                        return mx_error_oom(err);
                if (unlink(path) == 0 &&
                    push_fmt(&c->rep->repaired, "removed corrupt blob '%s'", d) < 0)
                        return mx_error_oom(err);
        }
        return 0;
fail:
        mx_store__rollback(s);
        return r;
}

static int store_check(mx_store *s, int repair, mx_store_check_report **out, mx_error **err)
{
        cleanup(mx_store_check_report_freep) mx_store_check_report *rep = NULL;
        cleanup_strv char **missing_dirs = NULL;
        check_ctx c = {.s = s};
        int prior = s->lock_state, r;

        rep = calloc(1, sizeof(*rep));
        if (!rep)
                return mx_error_oom(err);
        c.rep = rep;
        /* Shared: no gc or removal deletes files under us. Exclusive to repair. */
        r = repair ? mx_store__lock_exclusive(s, s->lock_timeout_ms, err)
                   : mx_store__lock_shared(s, err);
        if (r < 0)
                return r;

        r = store_begin_read(s, err);
        if (r < 0)
                goto out;
        r = check_integrity(&c, err);
        if (r >= 0)
                r = check_images(&c, err);
        if (r >= 0)
                r = check_rows(&c, err);
        if (r >= 0)
                r = check_layers(&c, &missing_dirs, err);
        if (r >= 0)
                r = check_garbage_files(&c, err);
        mx_store__rollback(s);
        if (r < 0)
                goto out;

        if (repair) {
                mx_store_gc_report g;

                r = repair_rows(&c, missing_dirs, err);
                if (r < 0)
                        goto out;
                memset(&g, 0, sizeof(g));
                r = store_gc_locked(s, &g, err);
                if (r < 0)
                        goto out;
                if (g.blobs_removed + g.tmp_removed + g.layers_removed &&
                    push_fmt(&rep->repaired,
                             "collected garbage: %llu blobs, %llu temporary files, %llu layer "
                             "directories",
                             (unsigned long long)g.blobs_removed, (unsigned long long)g.tmp_removed,
                             (unsigned long long)g.layers_removed) < 0) {
                        r = mx_error_oom(err);
                        goto out;
                }
        }
        if ((!rep->problems && !(rep->problems = calloc(1, sizeof(char *)))) ||
            (!rep->garbage && !(rep->garbage = calloc(1, sizeof(char *)))) ||
            (!rep->repaired && !(rep->repaired = calloc(1, sizeof(char *))))) {
                r = mx_error_oom(err);
                goto out;
        }
        rep->n_problems = mx_strv_length(rep->problems);
        rep->n_garbage = mx_strv_length(rep->garbage);
        *out = TAKE_PTR(rep);
        r = 0;
out:
        for (size_t i = 0; i < c.n_blobs; i++)
                free(c.blobs[i].digest);
        free(c.blobs);
        mx_strv_free(c.bad_images);
        mx_strv_free(c.corrupt_blobs);
        if (repair || prior == LOCK_NONE)
                mx_store__unlock(s);
        return r;
}

int mx_store_check(mx_store *s, int repair, mx_store_check_report **out, mx_error **err)
{
        int r = store_check_handle(s, err);

        if (r < 0)
                return r;
        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        if (repair) {
                r = store_refuse_in_transaction(s, "repair", err);
                if (r < 0)
                        return r;
        }
        r = store_check(s, repair, out, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "check store '%s'", s->root);
        return 0;
}

/* ---- df ---- */

/* Add the blobs of an image to a set. */
static int add_image_blobs(char ***set, const mx_image_record *rec)
{
        if (!mx_strv_contains(*set, rec->manifest_digest) &&
            mx_strv_push(set, rec->manifest_digest) < 0)
                return MX_ENOMEM;
        if (!mx_strv_contains(*set, rec->id) && mx_strv_push(set, rec->id) < 0)
                return MX_ENOMEM;
        for (size_t i = 0; i < rec->n_layers; i++) {
                if (!mx_strv_contains(*set, rec->layers[i].digest) &&
                    mx_strv_push(set, rec->layers[i].digest) < 0)
                        return MX_ENOMEM;
        }
        return 0;
}

static int blob_bytes(mx_store *s, char **set, uint64_t *out, mx_error **err)
{
        *out = 0;
        MX_STRV_FOREACH (d, set) {
                cleanup_free char *p = NULL;
                struct stat st;

                if (!mx_digest_is_valid(d))
                        continue;
                p = store_blob_file(s, d);
                if (!p)
                        return mx_error_oom(err);
                if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
                        *out += (uint64_t)st.st_size;
        }
        return 0;
}

/* Active images: mounted, or used by a row of another module (a container). */
static int store_df(mx_store *s, mx_store_df_report *rep, mx_error **err)
{
        cleanup_strv char **ids = NULL, **in_use = NULL, **all_blobs = NULL, **active_blobs = NULL,
                          **active_chains = NULL;
        sqlite3_stmt *st = NULL;
        uint64_t active_size = 0;
        int rc, r;

        r = store_query_strv(s, "SELECT id FROM images ORDER BY id", NULL, &ids, err);
        if (r < 0)
                return r;
        r = store_images_in_use(s, &in_use, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (id, ids) {
                cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
                int active;

                r = store_load_record(s, id, &rec, err);
                if (r < 0)
                        return r;
                active = rec->mounts > 0 || mx_strv_contains(in_use, id);
                rep->images.total++;
                if (add_image_blobs(&all_blobs, rec) < 0)
                        return mx_error_oom(err);
                if (!active)
                        continue;
                rep->images.active++;
                if (add_image_blobs(&active_blobs, rec) < 0)
                        return mx_error_oom(err);
                for (size_t i = 0; i < rec->n_layers; i++) {
                        if (!mx_strv_contains(active_chains, rec->layers[i].chain_id) &&
                            mx_strv_push(&active_chains, rec->layers[i].chain_id) < 0)
                                return mx_error_oom(err);
                }
        }
        r = blob_bytes(s, all_blobs, &rep->images.size, err);
        if (r < 0)
                return r;
        r = blob_bytes(s, active_blobs, &active_size, err);
        if (r < 0)
                return r;
        rep->images.reclaimable =
                rep->images.size > active_size ? rep->images.size - active_size : 0;

        r = mx_store__prepare(s, &st,
                              "SELECT chain_id, max(unpacked_size, 0) FROM layers "
                              "WHERE unpacked = 1",
                              err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *chain = (const char *)sqlite3_column_text(st, 0);
                uint64_t size = (uint64_t)sqlite3_column_int64(st, 1);

                rep->layers.total++;
                rep->layers.size += size;
                if (chain && mx_strv_contains(active_chains, chain))
                        rep->layers.active++;
                else
                        rep->layers.reclaimable += size;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "disk usage of layers");
        return 0;
}

int mx_store_df(mx_store *s, mx_store_df_report *out, mx_error **err)
{
        mx_store_df_report rep;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        memset(&rep, 0, sizeof(rep));
        r = store_begin_read(s, err);
        if (r < 0)
                return r;
        r = store_df(s, &rep, err);
        mx_store__rollback(s);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "disk usage of '%s'", s->root);
        *out = rep;
        return 0;
}

/* ---- prune ---- */

void mx_store_prune_report_free(mx_store_prune_report *report)
{
        if (!report)
                return;
        mx_strv_free(report->untagged);
        mx_strv_free(report->deleted);
        free(report);
}

static int prune_one(mx_store *s, const char *id, mx_store_prune_report *rep, mx_error **err)
{
        cleanup_strv char **tags = NULL;
        int r, changes = 0;

        r = store_query_strv(s, "SELECT ref FROM tags WHERE image_id = ? ORDER BY ref", id, &tags,
                             err);
        if (r < 0)
                return r;
        r = mx_store__exec(s, "SAVEPOINT prune_one", err);
        if (r < 0)
                return r;
        r = exec_bind(s, "DELETE FROM tags WHERE image_id = ?", id, &changes, err);
        if (r >= 0) {
                mx_error *e = NULL;

                r = exec_bind(s, "DELETE FROM images WHERE id = ?", id, &changes, &e);
                if (r == MX_EBUSY) {
                        /* a container uses it: skip it, untouched */
                        mx_error_free(e);
                        return mx_store__exec(s, "ROLLBACK TO prune_one; RELEASE prune_one", err);
                }
                mx_error_move(err, &e);
        }
        if (r < 0)
                return r;
        r = mx_store__exec(s, "RELEASE prune_one", err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (t, tags) {
                mx_ref *ref = NULL;

                if (mx_ref_parse(&ref, t, NULL) == 0) {
                        r = mx_strv_push(&rep->untagged, mx_ref_familiar(ref));
                        mx_ref_free(ref);
                } else {
                        r = mx_strv_push(&rep->untagged, t);
                }
                if (r < 0)
                        return mx_error_oom(err);
        }
        if (mx_strv_push(&rep->deleted, id) < 0)
                return mx_error_oom(err);
        return 0;
}

static int store_prune(mx_store *s, int all, mx_store_prune_report *rep, mx_error **err)
{
        cleanup_strv char **ids = NULL;
        int r;

        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = store_query_strv(s,
                             all ? "SELECT id FROM images WHERE mounts = 0 ORDER BY id"
                                 : "SELECT id FROM images WHERE mounts = 0 AND id NOT IN "
                                   "(SELECT image_id FROM tags) ORDER BY id",
                             NULL, &ids, err);
        if (r < 0)
                goto fail;
        MX_STRV_FOREACH (id, ids) {
                r = prune_one(s, id, rep, err);
                if (r < 0)
                        goto fail;
        }
        r = store_prune_layer_rows(s, NULL, &rep->gc.rows_pruned, err);
        if (r < 0)
                goto fail;
        mx_fault_point("store-prune-commit");
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;

        r = mx_store__lock_exclusive(s, s->lock_timeout_ms, err);
        if (r < 0)
                return r;
        r = store_gc_locked(s, &rep->gc, err);
        mx_store__unlock(s);
        if (r < 0)
                return r;
        rep->reclaimed = rep->gc.bytes_freed;
        return 0;
fail:
        mx_store__rollback(s);
        return r;
}

int mx_store_prune(mx_store *s, int all, mx_store_prune_report **out, mx_error **err)
{
        cleanup(mx_store_prune_report_freep) mx_store_prune_report *rep = NULL;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        r = store_refuse_in_transaction(s, "prune", err);
        if (r < 0)
                return r;
        rep = calloc(1, sizeof(*rep));
        if (!rep)
                return mx_error_oom(err);
        r = store_prune(s, all, rep, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "prune images in '%s'", s->root);
        if ((!rep->untagged && !(rep->untagged = calloc(1, sizeof(char *)))) ||
            (!rep->deleted && !(rep->deleted = calloc(1, sizeof(char *)))))
                return mx_error_oom(err);
        *out = TAKE_PTR(rep);
        return 0;
}
