/* SPDX-License-Identifier: Apache-2.0 */
/* Image, layer and tag records: adding, resolving names and IDs, tagging, removal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/log.h>
#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "store-priv.h"
#include "strv.h"

/* ---- records ---- */

static void layer_record_clear(mx_layer_record *l)
{
        free(l->diff_id);
        free(l->digest);
        free(l->media_type);
        free(l->chain_id);
}

void mx_image_record_free(mx_image_record *rec)
{
        if (!rec)
                return;
        free(rec->id);
        free(rec->manifest_digest);
        free(rec->manifest_media_type);
        free(rec->created);
        free(rec->os);
        free(rec->architecture);
        free(rec->variant);
        if (rec->layers) {
                for (size_t i = 0; i < rec->n_layers; i++)
                        layer_record_clear(&rec->layers[i]);
                free(rec->layers);
        }
        mx_strv_free(rec->tags);
        free(rec);
}

void mx_image_record_list_free(mx_image_record **recs, size_t n)
{
        if (!recs)
                return;
        for (size_t i = 0; i < n; i++)
                mx_image_record_free(recs[i]);
        free(recs);
}

int mx_store_chain_id(const char *parent_chain_id, const char *diff_id, char out[MX_DIGEST_BUF],
                      mx_error **err)
{
        cleanup_free char *text = NULL;
        char tmp[MX_DIGEST_MAX];
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        r = mx_store__check_digest(diff_id, "diff ID", err);
        if (r < 0)
                return r;
        if (!parent_chain_id) {
                memcpy(out, diff_id, strlen(diff_id) + 1);
                return 0;
        }
        r = mx_store__check_digest(parent_chain_id, "chain ID", err);
        if (r < 0)
                return r;
        if (asprintf(&text, "%s %s", parent_chain_id, diff_id) < 0)
                return mx_error_oom(err);
        mx_digest_data(MX_DIGEST_SHA256, text, strlen(text), tmp);
        memcpy(out, tmp, strlen(tmp) + 1);
        return 0;
}

static char *col_dup(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        return t ? strdup((const char *)t) : NULL;
}

int store_load_record(mx_store *s, const char *id, mx_image_record **out, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        sqlite3_stmt *st = NULL;
        size_t cap = 0;
        int rc, r;

        rec = calloc(1, sizeof(*rec));
        if (!rec)
                return mx_error_oom(err);
        r = mx_store__prepare(s, &st,
                              "SELECT id, manifest_digest, manifest_media_type, config_size, "
                              "size, created, os, architecture, variant, added, mounts "
                              "FROM images WHERE id = ?",
                              err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                sqlite3_finalize(st);
                return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "no such image '%s'", id);
        }
        if (rc != SQLITE_ROW) {
                sqlite3_finalize(st);
                return mx_store__sql_error(s, rc, err, "read image");
        }
        rec->id = col_dup(st, 0);
        rec->manifest_digest = col_dup(st, 1);
        rec->manifest_media_type = col_dup(st, 2);
        rec->config_size = sqlite3_column_int64(st, 3);
        rec->size = sqlite3_column_int64(st, 4);
        rec->created = col_dup(st, 5);
        rec->os = col_dup(st, 6);
        rec->architecture = col_dup(st, 7);
        rec->variant = col_dup(st, 8);
        rec->added = sqlite3_column_int64(st, 9);
        rec->mounts = sqlite3_column_int64(st, 10);
        sqlite3_finalize(st);
        if (!rec->id || !rec->manifest_digest || !rec->manifest_media_type)
                return mx_error_oom(err);

        r = mx_store__prepare(s, &st,
                              "SELECT diff_id, digest, media_type, size, uncompressed_size, "
                              "chain_id FROM image_layers WHERE image_id = ? ORDER BY idx",
                              err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                mx_layer_record *l;

                if (rec->n_layers == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        mx_layer_record *n = reallocarray(rec->layers, ncap, sizeof(*n));

                        if (!n) {
                                sqlite3_finalize(st);
                                return mx_error_oom(err);
                        }
                        rec->layers = n;
                        cap = ncap;
                }
                l = &rec->layers[rec->n_layers++];
                memset(l, 0, sizeof(*l));
                l->diff_id = col_dup(st, 0);
                l->digest = col_dup(st, 1);
                l->media_type = col_dup(st, 2);
                l->size = sqlite3_column_int64(st, 3);
                l->uncompressed_size = sqlite3_column_int64(st, 4);
                l->chain_id = col_dup(st, 5);
                if (!l->diff_id || !l->digest || !l->media_type || !l->chain_id) {
                        sqlite3_finalize(st);
                        return mx_error_oom(err);
                }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "read image layers");

        r = store_query_strv(s, "SELECT ref FROM tags WHERE image_id = ? ORDER BY ref", id,
                             &rec->tags, err);
        if (r < 0)
                return r;
        *out = TAKE_PTR(rec);
        return 0;
}

/* ---- resolving ---- */

static int lookup_one(mx_store *s, const char *sql, const char *param, char **out, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, sql, err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, param);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                char *v = col_dup(st, 0);

                sqlite3_finalize(st);
                if (!v)
                        return mx_error_oom(err);
                *out = v;
                return 1;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "look up image");
        return 0;
}

static int is_full_id(const char *s)
{
        if (strncmp(s, "sha256:", 7) == 0)
                s += 7;
        return strlen(s) == 64 && mx_ref_is_id_prefix(s);
}

int store_resolve(mx_store *s, const char *what, char **id_out, char **by_tag_out, mx_error **err)
{
        cleanup(mx_ref_freep) mx_ref *ref = NULL;
        cleanup(mx_error_freep) mx_error *parse_err = NULL;
        cleanup_free char *id = NULL, *tag = NULL;
        int r;

        if (!what || !*what)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "empty image name");

        /* A full ID is an ID (a 64-hex string is never a valid name). */
        if (is_full_id(what)) {
                cleanup_free char *full = NULL;

                if (asprintf(&full, "sha256:%s",
                             strncmp(what, "sha256:", 7) == 0 ? what + 7 : what) < 0)
                        return mx_error_oom(err);
                r = lookup_one(s, "SELECT id FROM images WHERE id = ?", full, &id, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "no such image '%s'",
                                            what);
                goto found;
        }

        /* Names before IDs: "abc" may be docker.io/library/abc as well as an ID prefix. */
        if (mx_ref_parse(&ref, what, &parse_err) == 0) {
                if (mx_ref_digest(ref)) {
                        r = lookup_one(s,
                                       "SELECT id FROM images WHERE manifest_digest = ? "
                                       "ORDER BY added LIMIT 1",
                                       mx_ref_digest(ref), &id, err);
                } else {
                        r = lookup_one(s, "SELECT image_id FROM tags WHERE ref = ?",
                                       mx_ref_string(ref), &id, err);
                        if (r > 0) {
                                tag = strdup(mx_ref_string(ref));
                                if (!tag)
                                        return mx_error_oom(err);
                        }
                }
                if (r < 0)
                        return r;
                if (r > 0)
                        goto found;
        }

        if (mx_ref_is_id_prefix(what)) {
                cleanup_free char *pattern = NULL;
                sqlite3_stmt *st = NULL;
                int rc, n = 0;

                if (asprintf(&pattern, "sha256:%s*",
                             strncmp(what, "sha256:", 7) == 0 ? what + 7 : what) < 0)
                        return mx_error_oom(err);
                r = mx_store__prepare(s, &st, "SELECT id FROM images WHERE id GLOB ? LIMIT 2", err);
                if (r < 0)
                        return r;
                store_bind_text(st, 1, pattern);
                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        if (n++ == 0) {
                                id = col_dup(st, 0);
                                if (!id) {
                                        sqlite3_finalize(st);
                                        return mx_error_oom(err);
                                }
                        }
                }
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return mx_store__sql_error(s, rc, err, "look up image ID prefix");
                if (n > 1)
                        return mx_error_set(err, MX_EAMBIGUOUS, MX_D_STORE, 0,
                                            "image ID prefix '%s' is ambiguous: it matches "
                                            "several images",
                                            what);
                if (n == 1)
                        goto found;
                return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "no such image '%s'", what);
        }

        if (parse_err) {
                /* Neither a valid reference nor an ID: the reference error says why. */
                mx_error_move(err, &parse_err);
                return mx_error_wrap(err, MX_D_STORE, "look up image '%s'", what);
        }
        return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "no such image '%s'", what);

found:
        *id_out = TAKE_PTR(id);
        if (by_tag_out)
                *by_tag_out = TAKE_PTR(tag);
        return 0;
}

int mx_store_image_resolve(mx_store *s, const char *what, char **id_out, mx_error **err)
{
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        if (!id_out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        return store_resolve(s, what, id_out, NULL, err);
}

/* Reads run in one deferred transaction so that a record is a consistent snapshot. */
#define begin_read store_begin_read

int mx_store_image_get(mx_store *s, const char *what, mx_image_record **out, mx_error **err)
{
        cleanup_free char *id = NULL;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        r = begin_read(s, err);
        if (r < 0)
                return r;
        r = store_resolve(s, what, &id, NULL, err);
        if (r >= 0)
                r = store_load_record(s, id, out, err);
        mx_store__rollback(s);
        return r;
}

int mx_store_image_list(mx_store *s, mx_image_record ***out, size_t *n_out, mx_error **err)
{
        cleanup_strv char **ids = NULL;
        mx_image_record **recs = NULL;
        size_t n;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        if (!out || !n_out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        r = begin_read(s, err);
        if (r < 0)
                return r;
        r = store_query_strv(s,
                             "SELECT id FROM images ORDER BY created IS NULL, created DESC, "
                             "added DESC, id",
                             NULL, &ids, err);
        if (r < 0)
                goto out;
        n = mx_strv_length(ids);
        if (n) {
                recs = calloc(n, sizeof(*recs));
                if (!recs) {
                        r = mx_error_oom(err);
                        goto out;
                }
        }
        for (size_t i = 0; i < n; i++) {
                r = store_load_record(s, ids[i], &recs[i], err);
                if (r < 0) {
                        mx_image_record_list_free(recs, n);
                        goto out;
                }
        }
        *out = recs;
        *n_out = n;
        r = 0;
out:
        mx_store__rollback(s);
        return r;
}

/* ---- adding ---- */

static int validate_record(const mx_image_record *rec, mx_error **err)
{
        int r;

        if (!rec)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "no image record");
        r = mx_store__check_digest(rec->id, "image ID (config)", err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(rec->manifest_digest, "manifest", err);
        if (r < 0)
                return r;
        if (!rec->manifest_media_type || !*rec->manifest_media_type)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                    "image '%s' has no manifest "
                                    "media type",
                                    rec->id);
        if (rec->n_layers && !rec->layers)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "image '%s' has no layer array",
                                    rec->id);
        for (size_t i = 0; i < rec->n_layers; i++) {
                const mx_layer_record *l = &rec->layers[i];

                r = mx_store__check_digest(l->digest, "layer", err);
                if (r < 0)
                        return r;
                r = mx_store__check_digest(l->diff_id, "layer diff ID", err);
                if (r < 0)
                        return r;
                if (!l->media_type || !*l->media_type)
                        return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                            "layer %zu of image '%s' has no media type", i,
                                            rec->id);
                if (l->size < 0)
                        return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                            "layer %zu of image '%s' has a negative size", i,
                                            rec->id);
        }
        return 0;
}

static int blob_present(mx_store *s, const char *digest, const char *what, mx_error **err)
{
        cleanup_free char *p = store_blob_file(s, digest);
        struct stat st;

        if (!p)
                return mx_error_oom(err);
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "%s blob '%s' is not in the store",
                            what, digest);
}

/* Parse references for tagging: normalized strings, digests refused. */
static int parse_tag_refs(const char *const *refs, char ***out, mx_error **err)
{
        cleanup_strv char **v = NULL;

        for (size_t i = 0; refs && refs[i]; i++) {
                cleanup(mx_ref_freep) mx_ref *ref = NULL;
                int r = mx_ref_parse(&ref, refs[i], err);

                if (r < 0)
                        return r;
                if (mx_ref_digest(ref))
                        return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                            "cannot tag with a digest reference '%s'", refs[i]);
                if (mx_strv_push(&v, mx_ref_string(ref)) < 0)
                        return mx_error_oom(err);
        }
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(v);
        return 0;
}

static int upsert_tag(mx_store *s, const char *ref, const char *id, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st,
                              "INSERT INTO tags (ref, image_id, added) VALUES (?, ?, ?) "
                              "ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, "
                              "added = excluded.added WHERE image_id != excluded.image_id",
                              err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, ref);
        store_bind_text(st, 2, id);
        sqlite3_bind_int64(st, 3, store_now());
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "record tag");
        return 0;
}

static int insert_image(mx_store *s, const mx_image_record *rec, char (*chains)[MX_DIGEST_BUF],
                        mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st,
                              "INSERT INTO images (id, manifest_digest, manifest_media_type, "
                              "config_size, size, created, os, architecture, variant, added) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, rec->id);
        store_bind_text(st, 2, rec->manifest_digest);
        store_bind_text(st, 3, rec->manifest_media_type);
        sqlite3_bind_int64(st, 4, rec->config_size);
        sqlite3_bind_int64(st, 5, rec->size);
        store_bind_text(st, 6, rec->created);
        store_bind_text(st, 7, rec->os);
        store_bind_text(st, 8, rec->architecture);
        store_bind_text(st, 9, rec->variant);
        sqlite3_bind_int64(st, 10, store_now());
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "record image");

        for (size_t i = 0; i < rec->n_layers; i++) {
                const mx_layer_record *l = &rec->layers[i];

                r = mx_store__prepare(s, &st,
                                      "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent) "
                                      "VALUES (?, ?, ?)",
                                      err);
                if (r < 0)
                        return r;
                store_bind_text(st, 1, chains[i]);
                store_bind_text(st, 2, l->diff_id);
                store_bind_text(st, 3, i ? chains[i - 1] : NULL);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return mx_store__sql_error(s, rc, err, "record layer");

                r = mx_store__prepare(s, &st,
                                      "INSERT INTO image_layers (image_id, idx, diff_id, digest, "
                                      "media_type, size, uncompressed_size, chain_id) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                      err);
                if (r < 0)
                        return r;
                store_bind_text(st, 1, rec->id);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
                store_bind_text(st, 3, l->diff_id);
                store_bind_text(st, 4, l->digest);
                store_bind_text(st, 5, l->media_type);
                sqlite3_bind_int64(st, 6, l->size);
                sqlite3_bind_int64(st, 7, l->uncompressed_size < 0 ? -1 : l->uncompressed_size);
                store_bind_text(st, 8, chains[i]);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return mx_store__sql_error(s, rc, err, "record image layer");
        }
        return 0;
}

static int image_add(mx_store *s, const mx_image_record *rec, const char *const *refs,
                     mx_error **err)
{
        cleanup_strv char **tags = NULL;
        cleanup_free char(*chains)[MX_DIGEST_BUF] = NULL;
        cleanup_free char *existing = NULL;
        int r;

        r = validate_record(rec, err);
        if (r < 0)
                return r;
        r = parse_tag_refs(refs, &tags, err);
        if (r < 0)
                return r;
        if (rec->n_layers) {
                chains = calloc(rec->n_layers, sizeof(*chains));
                if (!chains)
                        return mx_error_oom(err);
        }
        for (size_t i = 0; i < rec->n_layers; i++) {
                r = mx_store_chain_id(i ? chains[i - 1] : NULL, rec->layers[i].diff_id, chains[i],
                                      err);
                if (r < 0)
                        return r;
        }

        /* gc must not remove the blobs between this check and the commit. */
        r = mx_store__lock_shared(s, err);
        if (r < 0)
                return r;
        r = blob_present(s, rec->manifest_digest, "manifest", err);
        if (r < 0)
                return r;
        r = blob_present(s, rec->id, "config", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rec->n_layers; i++) {
                r = blob_present(s, rec->layers[i].digest, "layer", err);
                if (r < 0)
                        return r;
        }

        /* Every blob's content was fsynced when written; their names in blobs/ become
         * durable here, once, before anything refers to them. */
        r = mx_fs_fsync_dir(s->blobs_dir, err);
        if (r < 0)
                return r;
        mx_fault_point("store-blobs-dir-fsync");

        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = lookup_one(s, "SELECT id FROM images WHERE id = ?", rec->id, &existing, err);
        if (r < 0)
                goto fail;
        if (r == 0) {
                r = insert_image(s, rec, chains, err);
                if (r < 0)
                        goto fail;
        }
        MX_STRV_FOREACH (t, tags) {
                r = upsert_tag(s, t, rec->id, err);
                if (r < 0)
                        goto fail;
        }
        mx_fault_point("store-image-add-commit");
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;
        mx_fault_point("store-image-add-committed");
        /* Inside a caller's transaction nothing is committed yet: keep gc away until the
         * handle is released or freed. */
        if (s->tx_depth == 0)
                store_maybe_release(s);
        return 0;
fail:
        mx_store__rollback(s);
        return r;
}

int mx_store_image_add(mx_store *s, const mx_image_record *rec, const char *const *refs,
                       mx_error **err)
{
        int r = store_check_handle(s, err);

        if (r < 0)
                return r;
        r = image_add(s, rec, refs, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "add image '%s'",
                                     rec && rec->id ? rec->id : "(null)");
        return 0;
}

/* ---- tags ---- */

int mx_store_tag(mx_store *s, const char *image, const char *new_ref, mx_error **err)
{
        cleanup_strv char **tags = NULL;
        cleanup_free char *id = NULL;
        const char *refs[2] = {new_ref, NULL};
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        if (!new_ref)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "no reference to tag with");
        r = parse_tag_refs(refs, &tags, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "tag '%s'", new_ref);
        /* Resolve inside the write transaction so the image cannot vanish in between. */
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = store_resolve(s, image, &id, NULL, err);
        if (r < 0)
                goto fail;
        r = upsert_tag(s, tags[0], id, err);
        if (r < 0)
                goto fail;
        mx_fault_point("store-tag-commit");
        return mx_store__commit(s, err);
fail:
        mx_store__rollback(s);
        return r;
}

int mx_store_untag(mx_store *s, const char *ref, mx_error **err)
{
        cleanup(mx_ref_freep) mx_ref *parsed = NULL;
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_ref_parse(&parsed, ref, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "untag '%s'", ref ? ref : "(null)");
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = mx_store__prepare(s, &st, "DELETE FROM tags WHERE ref = ?", err);
        if (r < 0)
                goto fail;
        store_bind_text(st, 1, mx_ref_string(parsed));
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                r = mx_store__sql_error(s, rc, err, "remove tag");
                goto fail;
        }
        if (sqlite3_changes(s->db) == 0) {
                r = mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0, "no such tag '%s'", ref);
                goto fail;
        }
        mx_fault_point("store-untag-commit");
        return mx_store__commit(s, err);
fail:
        mx_store__rollback(s);
        return r;
}

/* ---- removal ---- */

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Another module's table uses an image through "col REFERENCES images(id)": find them all
 * with pragma_foreign_key_list instead of knowing their schemas. */
int store_images_in_use(mx_store *s, char ***out, mx_error **err)
{
        cleanup_strv char **pairs = NULL, **ids = NULL;
        int r;

        r = store_query_strv(s,
                             "SELECT m.name || char(31) || f.\"from\" FROM sqlite_master m, "
                             "pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND "
                             "f.\"table\" = 'images' AND m.name NOT IN ('image_layers', 'tags') "
                             "ORDER BY 1",
                             NULL, &pairs, err);
        if (r < 0)
                return r;
        MX_STRV_FOREACH (pair, pairs) {
                cleanup_strv char **v = NULL;
                cleanup_free char *sql = NULL, *table = NULL, *col = NULL;
                char *sep = strchr(pair, 31);

                if (!sep)
                        continue;
                table = strndup(pair, (size_t)(sep - pair));
                col = strdup(sep + 1);
                if (!table || !col)
                        return mx_error_oom(err);
                /* names come from the schema, quoted as identifiers */
                if (strchr(table, '"') || strchr(col, '"'))
                        continue;
                if (asprintf(&sql, "SELECT DISTINCT \"%s\" FROM \"%s\" WHERE \"%s\" IS NOT NULL",
                             col, table, col) < 0)
                        return mx_error_oom(err);
                r = store_query_strv(s, sql, NULL, &v, err);
                if (r < 0)
                        return r;
                MX_STRV_FOREACH (id, v) {
                        if (!mx_strv_contains(ids, id) && mx_strv_push(&ids, id) < 0)
                                return mx_error_oom(err);
                }
        }
        if (!ids) {
                ids = calloc(1, sizeof(char *));
                if (!ids)
                        return mx_error_oom(err);
        }
        if (mx_strv_length(ids) > 1)
                qsort(ids, mx_strv_length(ids), sizeof(char *), cmp_strp);
        *out = TAKE_PTR(ids);
        return 0;
}

int store_prune_layer_rows(mx_store *s, char ***deleted, uint64_t *count, mx_error **err)
{
        cleanup_strv char **gone = NULL;
        int r;

        r = store_query_strv(s,
                             "SELECT chain_id FROM layers WHERE chain_id NOT IN "
                             "(SELECT chain_id FROM image_layers) ORDER BY chain_id",
                             NULL, &gone, err);
        if (r < 0)
                return r;
        if (!gone[0])
                return 0;
        r = mx_store__exec(s,
                           "DELETE FROM layers WHERE chain_id NOT IN "
                           "(SELECT chain_id FROM image_layers)",
                           err);
        if (r < 0)
                return r;
        if (count)
                *count += mx_strv_length(gone);
        if (deleted) {
                MX_STRV_FOREACH (g, gone) {
                        if (mx_strv_push(deleted, g) < 0)
                                return mx_error_oom(err);
                }
        }
        return 0;
}

static int familiar_of(const char *full, char **out)
{
        mx_ref *ref = NULL;
        char *f;

        if (mx_ref_parse(&ref, full, NULL) < 0) {
                f = strdup(full);
        } else {
                f = strdup(mx_ref_familiar(ref));
                mx_ref_free(ref);
        }
        if (!f)
                return MX_ENOMEM;
        *out = f;
        return 0;
}

static int delete_tag_row(mx_store *s, const char *ref, char ***untagged, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        char *fam = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, "DELETE FROM tags WHERE ref = ?", err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, ref);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "remove tag");
        if (familiar_of(ref, &fam) < 0 || mx_strv_push_take(untagged, fam) < 0)
                return mx_error_oom(err);
        return 0;
}

/* Delete the image row (cascading to its tags and layer list) and unused layer rows. */
static int delete_image_row(mx_store *s, const char *id, char ***deleted, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, "DELETE FROM images WHERE id = ?", err);
        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
                return mx_error_set(err, MX_EBUSY, MX_D_STORE, 0,
                                    "image '%s' is in use (by a container); remove that first", id);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "delete image");
        if (mx_strv_push(deleted, id) < 0)
                return mx_error_oom(err);
        return store_prune_layer_rows(s, deleted, NULL, err);
}

static int repository_of(const char *full, char **out)
{
        mx_ref *ref = NULL;
        char *n;

        if (mx_ref_parse(&ref, full, NULL) < 0)
                return MX_EINVAL;
        n = strdup(mx_ref_name(ref));
        mx_ref_free(ref);
        if (!n)
                return MX_ENOMEM;
        *out = n;
        return 0;
}

/* Docker's isSingleReference: every tag in one repository. */
static int single_repository(char **tags)
{
        cleanup_free char *first = NULL;

        MX_STRV_FOREACH (t, tags) {
                cleanup_free char *repo = NULL;

                if (repository_of(t, &repo) < 0)
                        return 0;
                if (!first)
                        first = TAKE_PTR(repo);
                else if (strcmp(first, repo) != 0)
                        return 0;
        }
        return 1;
}

static int image_remove(mx_store *s, const char *what, int force, char ***untagged, char ***deleted,
                        mx_error **err)
{
        cleanup_free char *id = NULL, *by_tag = NULL;
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_strv char **remaining = NULL;
        int r;

        r = store_resolve(s, what, &id, &by_tag, err);
        if (r < 0)
                return r;
        r = store_load_record(s, id, &rec, err);
        if (r < 0)
                return r;

        if (by_tag) {
                /* A name: untag; the image goes only with its last tag. */
                if (!rec->tags[1] && rec->mounts > 0 && !force)
                        return mx_error_set(err, MX_EBUSY, MX_D_STORE, 0,
                                            "unable to remove '%s' (must force): image '%.19s' "
                                            "is mounted; unmount it or use -f",
                                            what, id);
                r = delete_tag_row(s, by_tag, untagged, err);
                if (r < 0)
                        return r;
                if (rec->tags[1])
                        return 0;
        } else {
                if (rec->tags[0] && !single_repository(rec->tags) && !force)
                        return mx_error_set(err, MX_EBUSY, MX_D_STORE, 0,
                                            "unable to delete '%s' (must be forced): image is "
                                            "referenced in multiple repositories; use -f",
                                            what);
                if (rec->mounts > 0 && !force)
                        return mx_error_set(err, MX_EBUSY, MX_D_STORE, 0,
                                            "unable to delete '%s' (must be forced): image is "
                                            "mounted; unmount it or use -f",
                                            what);
                MX_STRV_FOREACH (t, rec->tags) {
                        r = delete_tag_row(s, t, untagged, err);
                        if (r < 0)
                                return r;
                }
        }
        if (!force)
                return delete_image_row(s, id, deleted, err);
        /* Forced: an image a container uses loses its names but stays, dangling, as with
         * docker rmi -f; the savepoint keeps the untagging when the delete is refused. */
        r = mx_store__exec(s, "SAVEPOINT rmi_delete", err);
        if (r < 0)
                return r;
        {
                mx_error *e = NULL;

                r = delete_image_row(s, id, deleted, &e);
                if (r == MX_EBUSY) {
                        mx_error_free(e);
                        return mx_store__exec(s, "ROLLBACK TO rmi_delete; RELEASE rmi_delete", err);
                }
                mx_error_move(err, &e);
        }
        if (r < 0)
                return r;
        return mx_store__exec(s, "RELEASE rmi_delete", err);
}

int mx_store_image_remove(mx_store *s, const char *what, int force, char ***untagged_out,
                          char ***deleted_out, mx_error **err)
{
        cleanup_strv char **untagged = NULL, **deleted = NULL;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        untagged = calloc(1, sizeof(char *));
        deleted = calloc(1, sizeof(char *));
        if (!untagged || !deleted)
                return mx_error_oom(err);
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = image_remove(s, what, force, &untagged, &deleted, err);
        if (r < 0) {
                mx_store__rollback(s);
                return r;
        }
        mx_fault_point("store-image-remove-commit");
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;
        mx_fault_point("store-image-remove-committed");
        /* The rows are gone; files follow now if no one is writing, else at the next gc. */
        if (deleted[0])
                store_gc_opportunistic(s);
        if (untagged_out)
                *untagged_out = TAKE_PTR(untagged);
        if (deleted_out)
                *deleted_out = TAKE_PTR(deleted);
        return 0;
}

/* ---- mounts ---- */

int mx_store_image_mount_ref(mx_store *s, const char *what, int delta, int *count_out,
                             mx_error **err)
{
        cleanup_free char *id = NULL;
        sqlite3_stmt *st = NULL;
        int64_t count;
        int rc, r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = store_resolve(s, what, &id, NULL, err);
        if (r < 0)
                goto fail;
        r = mx_store__prepare(s, &st, "SELECT mounts FROM images WHERE id = ?", err);
        if (r < 0)
                goto fail;
        store_bind_text(st, 1, id);
        rc = sqlite3_step(st);
        count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
                r = mx_store__sql_error(s, rc, err, "read mount count");
                goto fail;
        }
        if (count + delta < 0) {
                r = mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "image '%s' is not mounted", what);
                goto fail;
        }
        count += delta;
        if (delta != 0) {
                r = mx_store__prepare(s, &st, "UPDATE images SET mounts = ? WHERE id = ?", err);
                if (r < 0)
                        goto fail;
                sqlite3_bind_int64(st, 1, count);
                store_bind_text(st, 2, id);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE) {
                        r = mx_store__sql_error(s, rc, err, "update mount count");
                        goto fail;
                }
                mx_fault_point("store-mount-ref-commit");
        }
        r = mx_store__commit(s, err);
        if (r < 0)
                return r;
        if (count_out)
                *count_out = (int)count;
        return 0;
fail:
        mx_store__rollback(s);
        return r;
}

/* ---- layers ---- */

int mx_store_layer_dir(mx_store *s, const char *chain_id, char **out, mx_error **err)
{
        char *p;
        int r;

        r = store_check_handle_out(s, out, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(chain_id, "chain ID", err);
        if (r < 0)
                return r;
        p = store_layer_file(s, chain_id);
        if (!p)
                return mx_error_oom(err);
        *out = p;
        return 0;
}

int mx_store_layer_set_unpacked(mx_store *s, const char *chain_id, int64_t size, mx_error **err)
{
        cleanup_free char *dir = NULL;
        sqlite3_stmt *st = NULL;
        struct stat stbuf;
        int rc, r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(chain_id, "chain ID", err);
        if (r < 0)
                return r;
        dir = store_layer_file(s, chain_id);
        if (!dir)
                return mx_error_oom(err);
        if (lstat(dir, &stbuf) < 0 || !S_ISDIR(stbuf.st_mode))
                return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0,
                                    "layer '%s' has no directory '%s'", chain_id, dir);
        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        r = mx_store__prepare(s, &st,
                              "UPDATE layers SET unpacked = 1, unpacked_size = ? "
                              "WHERE chain_id = ?",
                              err);
        if (r < 0)
                goto fail;
        sqlite3_bind_int64(st, 1, size < 0 ? -1 : size);
        store_bind_text(st, 2, chain_id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                r = mx_store__sql_error(s, rc, err, "mark layer unpacked");
                goto fail;
        }
        if (sqlite3_changes(s->db) == 0) {
                r = mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0,
                                 "no layer '%s' is recorded (add its image first)", chain_id);
                goto fail;
        }
        mx_fault_point("store-layer-unpacked-commit");
        return mx_store__commit(s, err);
fail:
        mx_store__rollback(s);
        return r;
}

int mx_store_layer_is_unpacked(mx_store *s, const char *chain_id, mx_error **err)
{
        cleanup_free char *v = NULL;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        r = mx_store__check_digest(chain_id, "chain ID", err);
        if (r < 0)
                return r;
        r = lookup_one(s, "SELECT unpacked FROM layers WHERE chain_id = ?", chain_id, &v, err);
        if (r < 0)
                return r;
        return r > 0 && strcmp(v, "1") == 0 ? 1 : 0;
}

int mx_store_tmp_path(mx_store *s, const char *prefix, char **out, mx_error **err)
{
        unsigned char rnd[8];
        char hex[17];
        char *p = NULL;
        int r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        if (!out || !prefix || strchr(prefix, '/'))
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        r = mx_store__lock_shared(s, err);
        if (r < 0)
                return r;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return mx_error_errno(err, MX_D_STORE, "getrandom");
        for (size_t i = 0; i < sizeof(rnd); i++)
                (void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
        if (asprintf(&p, "%s/%s-%ld-%s", s->tmp_dir, prefix, (long)getpid(), hex) < 0)
                return mx_error_oom(err);
        *out = p;
        return 0;
}
