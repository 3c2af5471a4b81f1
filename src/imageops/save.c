/* SPDX-License-Identifier: Apache-2.0 */
/*
 * myrmex save: docker-archive, oci-archive and oci-dir.
 *
 * Archives are written with libarchive as restricted PAX (plain ustar headers unless a name
 * needs more), entries sorted by name, owner 0:0, mode 0644/0755 and mtime 0, so the same
 * images always give the same bytes. Blobs are streamed from the store; a docker-archive
 * needs uncompressed layers, so compressed ones are decompressed on the fly (their size
 * comes from the store's record, or from one extra decompression pass when unknown).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "fault.h"
#include "fs.h"
#include "imageops-internal.h"
#include "json.h"
#include "store/store-internal.h"
#include "strv.h"

MX_DEFINE_FREEP(struct archive, archive_write_free)
MX_DEFINE_FREEP(mx_manifest, mx_manifest_free)
MX_DEFINE_FREEP(mx_index, mx_index_free)
MX_DEFINE_FREEP(mx_ref, mx_ref_free)

#define CHUNK (256 * 1024)

/* One image to save with the names it goes under. */
typedef struct save_image {
        mx_image_record *rec;
        char **refs; /* full normalized references given for it; NULL when saved by ID */
        /* The manifest to write for OCI: the stored one, or a conversion of a Docker one. */
        char manifest_digest[MX_DIGEST_MAX];
        char *manifest_data; /* non-NULL when converted (not in the store) */
        size_t manifest_len;
        const char *manifest_media_type;
} save_image;

/* One archive entry: a file from a blob, from memory, or a directory. */
typedef struct entry {
        char *name;
        const char *digest; /* blob in the store */
        bool decompress;    /* a layer to write uncompressed (docker-archive) */
        int64_t size;       /* bytes the entry has */
        const char *data;   /* in memory (borrowed) */
        bool dir;
} entry;

typedef struct save_ctx {
        mx_store *s;
        const mx_images_save_opts *opts;
        save_image *imgs;
        size_t n_imgs;
        entry *entries;
        size_t n_entries;
        char **owned; /* strings the entries borrow */
} save_ctx;

static void save_ctx_clear(save_ctx *c)
{
        for (size_t i = 0; i < c->n_imgs; i++) {
                mx_image_record_free(c->imgs[i].rec);
                mx_strv_free(c->imgs[i].refs);
                free(c->imgs[i].manifest_data);
        }
        free(c->imgs);
        for (size_t i = 0; i < c->n_entries; i++)
                free(c->entries[i].name);
        free(c->entries);
        mx_strv_free(c->owned);
}

int mx_save_format_parse(mx_save_format *out, const char *name, mx_error **err)
{
        if (name && strcmp(name, "docker-archive") == 0)
                *out = MX_SAVE_DOCKER_ARCHIVE;
        else if (name && strcmp(name, "oci-archive") == 0)
                *out = MX_SAVE_OCI_ARCHIVE;
        else if (name && (strcmp(name, "oci-dir") == 0 || strcmp(name, "oci") == 0))
                *out = MX_SAVE_OCI_DIR;
        else
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "unknown archive format '%s' (docker-archive, oci-archive or "
                                    "oci-dir)",
                                    name ? name : "");
        return 0;
}

static void progress(save_ctx *c, mx_progress_state st, const char *id, uint64_t cur,
                     uint64_t total)
{
        mx_progress_event ev = {st, "save", id, cur, total};

        if (c->opts && c->opts->progress)
                c->opts->progress(&ev, c->opts->progress_userdata);
}

/* ---- collecting images ------------------------------------------------------------------- */

static int add_image(save_ctx *c, const char *what, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup(mx_ref_freep) mx_ref *ref = NULL;
        const char *name = NULL;
        save_image *si = NULL;
        int r;

        r = mx_store_image_get(c->s, what, &rec, err);
        if (r < 0)
                return r;
        /* Saved under a name when what is one of the image's tags; else by ID (no name). */
        if (mx_ref_parse(&ref, what, NULL) == 0 && !mx_ref_digest(ref) &&
            mx_strv_contains(rec->tags, mx_ref_string(ref)))
                name = mx_ref_string(ref);
        for (size_t i = 0; i < c->n_imgs; i++)
                if (strcmp(c->imgs[i].rec->id, rec->id) == 0)
                        si = &c->imgs[i];
        if (!si) {
                save_image *n = realloc(c->imgs, (c->n_imgs + 1) * sizeof(*n));

                if (!n)
                        return mx_error_oom(err);
                c->imgs = n;
                si = &c->imgs[c->n_imgs++];
                memset(si, 0, sizeof(*si));
                si->rec = TAKE_PTR(rec);
        }
        if (name && !mx_strv_contains(si->refs, name) && mx_strv_push(&si->refs, name) < 0)
                return mx_error_oom(err);
        return 0;
}

static int collect(save_ctx *c, const char *const *images, mx_error **err)
{
        int r;

        if (!images || !images[0])
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "no image to save");
        for (size_t i = 0; images[i]; i++) {
                r = add_image(c, images[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- entries ----------------------------------------------------------------------------- */

static entry *add_entry(save_ctx *c, const char *name, mx_error **err)
{
        entry *n;

        for (size_t i = 0; i < c->n_entries; i++)
                if (strcmp(c->entries[i].name, name) == 0)
                        return &c->entries[i]; /* the same blob or layer twice */
        n = realloc(c->entries, (c->n_entries + 1) * sizeof(*n));
        if (!n) {
                mx_error_oom(err);
                return NULL;
        }
        c->entries = n;
        n = &c->entries[c->n_entries];
        memset(n, 0, sizeof(*n));
        n->name = strdup(name);
        if (!n->name) {
                mx_error_oom(err);
                return NULL;
        }
        c->n_entries++;
        return n;
}

static int add_dir(save_ctx *c, const char *name, mx_error **err)
{
        entry *e = add_entry(c, name, err);

        if (!e)
                return MX_ENOMEM;
        e->dir = true;
        return 0;
}

static int add_blob(save_ctx *c, const char *name, const char *digest, int64_t size, mx_error **err)
{
        entry *e = add_entry(c, name, err);

        if (!e)
                return MX_ENOMEM;
        e->digest = digest;
        e->size = size;
        return 0;
}

static int add_data_take(save_ctx *c, const char *name, char *data, mx_error **err)
{
        entry *e;

        if (!data)
                return mx_error_oom(err);
        if (mx_strv_push_take(&c->owned, data) < 0)
                return mx_error_oom(err);
        e = add_entry(c, name, err);
        if (!e)
                return MX_ENOMEM;
        e->data = data;
        e->size = (int64_t)strlen(data);
        e->digest = NULL;
        return 0;
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* ---- writing a tar ----------------------------------------------------------------------- */

static int write_fail(struct archive *a, mx_error **err, const char *what)
{
        const char *msg = archive_error_string(a);

        return mx_error_set(err, MX_EIO, MX_D_IMAGE, archive_errno(a) > 0 ? archive_errno(a) : 0,
                            "write %s: %s", what, msg ? msg : "unknown error");
}

/* Stream a layer decompressed into the archive, checking its diffID on the way. */
static int write_decompressed(save_ctx *c, struct archive *a, const entry *e, const char *diff_id,
                              mx_error **err)
{
        cleanup(mx_hasher_freep) mx_hasher *h = NULL;
        cleanup_close int fd = -1;
        cleanup_free char *chunk = malloc(CHUNK);
        struct archive *rd = NULL;
        struct archive_entry *ae;
        char got[MX_DIGEST_MAX];
        int64_t done = 0;
        int r;

        if (!chunk)
                return mx_error_oom(err);
        r = mx_hasher_new(&h, MX_DIGEST_SHA256, err);
        if (r < 0)
                return r;
        r = mx_imageops__blob_open(c->s, e->digest, &fd, NULL, err);
        if (r < 0)
                return r;
        rd = archive_read_new();
        if (!rd)
                return mx_error_oom(err);
        archive_read_support_filter_all(rd);
        archive_read_support_format_raw(rd);
        if (archive_read_open_fd(rd, fd, CHUNK) != ARCHIVE_OK ||
            archive_read_next_header(rd, &ae) != ARCHIVE_OK) {
                r = mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0, "read layer '%s': %s", e->digest,
                                 archive_error_string(rd));
                archive_read_free(rd);
                return r;
        }
        for (;;) {
                la_ssize_t n = archive_read_data(rd, chunk, CHUNK);

                if (n == 0)
                        break;
                if (n < 0 || done + n > e->size) {
                        r = mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                         "decompress layer '%s': %s", e->digest,
                                         n < 0 ? archive_error_string(rd)
                                               : "larger than its recorded size");
                        archive_read_free(rd);
                        return r;
                }
                mx_hasher_update(h, chunk, (size_t)n);
                if (archive_write_data(a, chunk, (size_t)n) != n) {
                        archive_read_free(rd);
                        return write_fail(a, err, e->name);
                }
                done += n;
        }
        archive_read_free(rd);
        mx_hasher_final(h, got);
        if (done != e->size || (diff_id && strcmp(got, diff_id) != 0))
                return mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                    "layer '%s' decompresses to '%s' (%lld bytes), not '%s'",
                                    e->digest, got, (long long)done, diff_id ? diff_id : "?");
        return 0;
}

static int write_blob(save_ctx *c, struct archive *a, const entry *e, mx_error **err)
{
        cleanup_close int fd = -1;
        cleanup_free char *chunk = malloc(CHUNK);
        int64_t done = 0;
        int r;

        if (!chunk)
                return mx_error_oom(err);
        r = mx_imageops__blob_open(c->s, e->digest, &fd, NULL, err);
        if (r < 0)
                return r;
        while (done < e->size) {
                ssize_t n = read(fd, chunk, CHUNK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mx_error_errno(err, MX_D_SYS, "read blob '%s'", e->digest);
                if (n == 0 || done + n > e->size)
                        return mx_error_set(err, MX_ECORRUPT, MX_D_IMAGE, 0,
                                            "blob '%s' changed size while it was saved", e->digest);
                if (archive_write_data(a, chunk, (size_t)n) != n)
                        return write_fail(a, err, e->name);
                done += n;
                progress(c, MX_PROGRESS_UPDATE, e->digest, (uint64_t)done, (uint64_t)e->size);
        }
        return 0;
}

/* The diffID a decompressed entry must have: found among the images' layers. */
static const char *diff_id_of(save_ctx *c, const char *digest)
{
        for (size_t i = 0; i < c->n_imgs; i++)
                for (size_t j = 0; j < c->imgs[i].rec->n_layers; j++)
                        if (strcmp(c->imgs[i].rec->layers[j].digest, digest) == 0)
                                return c->imgs[i].rec->layers[j].diff_id;
        return NULL;
}

static int write_tar(save_ctx *c, int fd, mx_error **err)
{
        cleanup(archive_write_freep) struct archive *a = archive_write_new();
        struct archive_entry *ae = archive_entry_new();
        int r = 0;

        if (!a || !ae) {
                archive_entry_free(ae);
                return mx_error_oom(err);
        }
        if (c->n_entries > 1)
                qsort(c->entries, c->n_entries, sizeof(*c->entries), cmp_entry);
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_none(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
                archive_entry_free(ae);
                return write_fail(a, err, "archive");
        }
        for (size_t i = 0; i < c->n_entries && r >= 0; i++) {
                const entry *e = &c->entries[i];

                archive_entry_clear(ae);
                archive_entry_set_pathname(ae, e->name);
                archive_entry_set_uid(ae, 0);
                archive_entry_set_gid(ae, 0);
                archive_entry_set_mtime(ae, 0, 0);
                if (e->dir) {
                        archive_entry_set_filetype(ae, AE_IFDIR);
                        archive_entry_set_perm(ae, 0755);
                        archive_entry_set_size(ae, 0);
                } else {
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_perm(ae, 0644);
                        archive_entry_set_size(ae, e->size);
                }
                if (archive_write_header(a, ae) != ARCHIVE_OK) {
                        r = write_fail(a, err, e->name);
                        break;
                }
                if (e->dir)
                        continue;
                if (e->data) {
                        if (archive_write_data(a, e->data, (size_t)e->size) != e->size)
                                r = write_fail(a, err, e->name);
                        continue;
                }
                progress(c, MX_PROGRESS_START, e->digest, 0, (uint64_t)e->size);
                if (e->decompress)
                        r = write_decompressed(c, a, e, diff_id_of(c, e->digest), err);
                else
                        r = write_blob(c, a, e, err);
                progress(c, r < 0 ? MX_PROGRESS_FAILED : MX_PROGRESS_DONE, e->digest,
                         (uint64_t)e->size, (uint64_t)e->size);
        }
        archive_entry_free(ae);
        if (r < 0)
                return r;
        if (archive_write_close(a) != ARCHIVE_OK)
                return write_fail(a, err, "archive");
        return 0;
}

/* ---- docker-archive ---------------------------------------------------------------------- */

static int plan_docker(save_ctx *c, mx_error **err)
{
        cleanup_json json_t *manifest = json_array();
        cleanup_json json_t *repos = json_object();
        int r;

        if (!manifest || !repos)
                return mx_error_oom(err);
        for (size_t i = 0; i < c->n_imgs; i++) {
                save_image *si = &c->imgs[i];
                mx_image_record *rec = si->rec;
                json_t *ent = json_object();
                json_t *layers = json_array();
                json_t *tags = si->refs ? json_array() : json_null();
                char name[MX_DIGEST_MAX + 32];
                const char *top = NULL;

                if (!ent || !layers || !tags || json_array_append_new(manifest, ent) < 0) {
                        json_decref(ent);
                        json_decref(layers);
                        json_decref(tags);
                        return mx_error_oom(err);
                }
                snprintf(name, sizeof(name), "%s.json", mx_digest_hex(rec->id));
                r = add_blob(c, name, rec->id, rec->config_size, err);
                if (r < 0)
                        return r;
                json_object_set_new(ent, "Config", json_string(name));
                for (size_t j = 0; j < rec->n_layers; j++) {
                        mx_layer_record *l = &rec->layers[j];
                        mx_media_compression comp = mx_media_type_compression(l->media_type);
                        int64_t usize = l->uncompressed_size;
                        entry *e;

                        snprintf(name, sizeof(name), "%s", mx_digest_hex(l->diff_id));
                        r = add_dir(c, name, err);
                        if (r < 0)
                                return r;
                        snprintf(name, sizeof(name), "%s/layer.tar", mx_digest_hex(l->diff_id));
                        json_array_append_new(layers, json_string(name));
                        top = mx_digest_hex(l->diff_id);
                        if (comp != MX_MEDIA_COMPRESSION_NONE && usize < 0) {
                                char d[MX_DIGEST_MAX];
                                mx_compression got;
                                uint64_t u = 0;

                                r = mx_imageops__layer_diff_id(c->s, l->digest, d, &got, &u, err);
                                if (r < 0)
                                        return r;
                                usize = (int64_t)u;
                        }
                        e = add_entry(c, name, err);
                        if (!e)
                                return MX_ENOMEM;
                        e->digest = l->digest;
                        e->decompress = comp != MX_MEDIA_COMPRESSION_NONE;
                        e->size = e->decompress ? usize : l->size;
                }
                json_object_set_new(ent, "RepoTags", tags);
                json_object_set_new(ent, "Layers", layers);
                MX_STRV_FOREACH (ref_s, si->refs) {
                        cleanup(mx_ref_freep) mx_ref *ref = NULL;
                        const char *fam, *colon;
                        json_t *repo;

                        r = mx_ref_parse(&ref, ref_s, err);
                        if (r < 0)
                                return r;
                        fam = mx_ref_familiar(ref);
                        json_array_append_new(tags, json_string(fam));
                        if (!top)
                                continue;
                        repo = json_object_get(repos, mx_ref_familiar_name(ref));
                        if (!repo) {
                                repo = json_object();
                                json_object_set_new(repos, mx_ref_familiar_name(ref), repo);
                        }
                        colon = mx_ref_tag(ref);
                        json_object_set_new(repo, colon ? colon : MX_REF_DEFAULT_TAG,
                                            json_string(top));
                }
        }
        r = add_data_take(c, "manifest.json", mx_json_dump_ordered(manifest), err);
        if (r < 0)
                return r;
        if (json_object_size(repos) > 0)
                r = add_data_take(c, "repositories", mx_json_dump_compact(repos), err);
        return r;
}

/* ---- OCI --------------------------------------------------------------------------------- */

/* The manifest each image is exported with: the stored one when it is OCI, else converted. */
static int oci_manifest(save_ctx *c, save_image *si, mx_error **err)
{
        cleanup(mx_manifest_freep) mx_manifest *m = NULL;
        cleanup(mx_manifest_freep) mx_manifest *conv = NULL;
        mx_buf b = MX_BUF_INIT;
        int r;

        if (!mx_media_type_is_docker(si->rec->manifest_media_type)) {
                snprintf(si->manifest_digest, sizeof(si->manifest_digest), "%s",
                         si->rec->manifest_digest);
                si->manifest_media_type = MX_MT_OCI_MANIFEST;
                return 0;
        }
        r = mx_imageops__blob_read(c->s, si->rec->manifest_digest, MX_MANIFEST_MAX_BYTES, &b, err);
        if (r < 0)
                return r;
        r = mx_manifest_parse(&m, b.ptr, b.len, si->rec->manifest_media_type, err);
        mx_buf_clear(&b);
        if (r < 0)
                return r;
        r = mx_manifest_convert(&conv, m, MX_MT_OCI_MANIFEST, err);
        if (r < 0)
                return r;
        r = mx_manifest_to_json(&si->manifest_data, &si->manifest_len, conv, err);
        if (r < 0)
                return r;
        mx_digest_data(MX_DIGEST_SHA256, si->manifest_data, si->manifest_len, si->manifest_digest);
        si->manifest_media_type = MX_MT_OCI_MANIFEST;
        return 0;
}

static int blob_entry_name(char *buf, size_t len, const char *digest)
{
        const char *colon = strchr(digest, ':');

        snprintf(buf, len, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
        return 0;
}

/* Index entries for the images: one per name, or one without a name. */
static int oci_index_add(mx_index *idx, save_image *si, int64_t man_size, mx_error **err)
{
        mx_descriptor d = {0};
        int r;

        r = mx_descriptor_set(&d, si->manifest_media_type, si->manifest_digest, man_size, err);
        if (r < 0)
                return r;
        if (!si->refs) {
                r = mx_index_add(idx, &d, err);
                mx_descriptor_clear(&d);
                return r;
        }
        MX_STRV_FOREACH (ref_s, si->refs) {
                cleanup(mx_ref_freep) mx_ref *ref = NULL;

                r = mx_ref_parse(&ref, ref_s, err);
                if (r >= 0)
                        r = mx_kv_set(&d.annotations, MX_ANNOTATION_CONTAINERD_NAME,
                                      mx_ref_string(ref), err);
                if (r >= 0)
                        r = mx_kv_set(&d.annotations, MX_ANNOTATION_REF_NAME,
                                      mx_ref_tag(ref) ? mx_ref_tag(ref) : MX_REF_DEFAULT_TAG, err);
                if (r >= 0)
                        r = mx_index_add(idx, &d, err);
                if (r < 0)
                        break;
        }
        mx_descriptor_clear(&d);
        return r;
}

static int64_t manifest_size(save_ctx *c, save_image *si)
{
        uint64_t size = 0;

        if (si->manifest_data)
                return (int64_t)si->manifest_len;
        if (mx_store_blob_size(c->s, si->manifest_digest, &size, NULL) < 0)
                return -1;
        return (int64_t)size;
}

static int plan_oci(save_ctx *c, mx_index *idx, mx_error **err)
{
        char name[MX_DIGEST_MAX + 32];
        int r;

        r = add_dir(c, "blobs", err);
        if (r >= 0)
                r = add_dir(c, "blobs/sha256", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_imgs; i++) {
                save_image *si = &c->imgs[i];
                int64_t msize;

                r = oci_manifest(c, si, err);
                if (r < 0)
                        return r;
                msize = manifest_size(c, si);
                if (msize < 0)
                        return mx_error_set(err, MX_ECORRUPT, MX_D_IMAGE, 0,
                                            "manifest '%s' of image '%s' is missing",
                                            si->manifest_digest, si->rec->id);
                blob_entry_name(name, sizeof(name), si->manifest_digest);
                if (si->manifest_data) {
                        entry *e = add_entry(c, name, err);

                        if (!e)
                                return MX_ENOMEM;
                        e->data = si->manifest_data;
                        e->size = (int64_t)si->manifest_len;
                } else {
                        r = add_blob(c, name, si->manifest_digest, msize, err);
                        if (r < 0)
                                return r;
                }
                blob_entry_name(name, sizeof(name), si->rec->id);
                r = add_blob(c, name, si->rec->id, si->rec->config_size, err);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < si->rec->n_layers; j++) {
                        mx_layer_record *l = &si->rec->layers[j];

                        blob_entry_name(name, sizeof(name), l->digest);
                        r = add_blob(c, name, l->digest, l->size, err);
                        if (r < 0)
                                return r;
                }
                r = oci_index_add(idx, si, msize, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char oci_layout_json[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static int plan_oci_archive(save_ctx *c, mx_error **err)
{
        cleanup(mx_index_freep) mx_index *idx = NULL;
        char *json = NULL;
        int r;

        r = mx_index_new(&idx, MX_MT_OCI_INDEX, err);
        if (r < 0)
                return r;
        r = plan_oci(c, idx, err);
        if (r < 0)
                return r;
        r = mx_index_to_json(&json, NULL, idx, err);
        if (r < 0)
                return r;
        r = add_data_take(c, "index.json", json, err);
        if (r < 0)
                return r;
        return add_data_take(c, "oci-layout", strdup(oci_layout_json), err);
}

/* ---- oci-dir ----------------------------------------------------------------------------- */

static int copy_blob_to_dir(save_ctx *c, int dfd, const char *dir, const entry *e, mx_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_close int in = -1;
        cleanup_close int out = -1;
        cleanup_free char *chunk = NULL;
        struct stat st;
        int r;

        /* As skopeo: a blob already in the layout with the right size is kept. */
        if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_size == e->size)
                return 0;
        if (asprintf(&tmp, "%s.tmp-%d", e->name, (int)getpid()) < 0)
                return mx_error_oom(err);
        out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (out < 0)
                return mx_error_errno(err, MX_D_SYS, "create '%s/%s'", dir, tmp);
        if (e->data) {
                if (mx_imageops__write_all(out, e->data, (size_t)e->size) < 0)
                        goto fail_errno;
        } else {
                int64_t done = 0;

                chunk = malloc(CHUNK);
                if (!chunk) {
                        (void)unlinkat(dfd, tmp, 0);
                        return mx_error_oom(err);
                }
                r = mx_imageops__blob_open(c->s, e->digest, &in, NULL, err);
                if (r < 0) {
                        (void)unlinkat(dfd, tmp, 0);
                        return r;
                }
                for (;;) {
                        ssize_t n = read(in, chunk, CHUNK);

                        if (n == 0)
                                break;
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 || mx_imageops__write_all(out, chunk, (size_t)n) < 0)
                                goto fail_errno;
                        done += n;
                }
                if (done != e->size) {
                        (void)unlinkat(dfd, tmp, 0);
                        return mx_error_set(err, MX_ECORRUPT, MX_D_IMAGE, 0,
                                            "blob '%s' has %lld bytes, not %lld", e->digest,
                                            (long long)done, (long long)e->size);
                }
        }
        if (fsync(out) < 0)
                goto fail_errno;
        if (renameat(dfd, tmp, dfd, e->name) < 0)
                goto fail_errno;
        return 0;
fail_errno:
        r = mx_error_errno(err, MX_D_SYS, "write '%s/%s'", dir, e->name);
        (void)unlinkat(dfd, tmp, 0);
        return r;
}

static int save_oci_dir(save_ctx *c, const char *dir, mx_error **err)
{
        cleanup(mx_index_freep) mx_index *idx = NULL;
        cleanup(mx_index_freep) mx_index *old = NULL;
        cleanup_free char *index_path = NULL;
        cleanup_free char *layout_path = NULL;
        cleanup_free char *blobs = NULL;
        cleanup_free char *json = NULL;
        cleanup_close int dfd = -1;
        mx_buf b = MX_BUF_INIT;
        size_t json_len = 0;
        int r;

        if (asprintf(&blobs, "%s/blobs/sha256", dir) < 0 ||
            asprintf(&index_path, "%s/index.json", dir) < 0 ||
            asprintf(&layout_path, "%s/oci-layout", dir) < 0)
                return mx_error_oom(err);
        r = mx_fs_mkdir_p(blobs, 0755, err);
        if (r < 0)
                return r;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s'", dir);
        if (mx_fs_exists(layout_path)) {
                r = mx_buf_read_file(&b, layout_path, MX_IMAGEOPS_META_MAX, err);
                if (r < 0)
                        return r;
                if (!strstr(b.ptr, "imageLayoutVersion")) {
                        mx_buf_clear(&b);
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "'%s' exists and is not an OCI image layout", dir);
                }
                mx_buf_clear(&b);
        }
        r = mx_index_new(&idx, MX_MT_OCI_INDEX, err);
        if (r < 0)
                return r;
        r = plan_oci(c, idx, err);
        if (r < 0)
                return r;
        /* Keep the entries of the existing index.json, except those our names replace. */
        if (mx_fs_exists(index_path)) {
                cleanup(mx_index_freep) mx_index *merged = NULL;

                r = mx_buf_read_file(&b, index_path, MX_MANIFEST_MAX_BYTES, err);
                if (r >= 0)
                        r = mx_index_parse(&old, b.ptr, b.len, NULL, err);
                mx_buf_clear(&b);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "existing '%s'", index_path);
                r = mx_index_new(&merged, MX_MT_OCI_INDEX, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < old->n_manifests; i++) {
                        const char *on =
                                mx_kv_get(old->manifests[i].annotations, MX_ANNOTATION_REF_NAME);
                        bool replaced = false;

                        for (size_t j = 0; j < idx->n_manifests && !replaced; j++) {
                                const char *nn = mx_kv_get(idx->manifests[j].annotations,
                                                           MX_ANNOTATION_REF_NAME);

                                if (on ? (nn && strcmp(on, nn) == 0)
                                       : (!nn && strcmp(old->manifests[i].digest,
                                                        idx->manifests[j].digest) == 0))
                                        replaced = true;
                        }
                        if (!replaced) {
                                r = mx_index_add(merged, &old->manifests[i], err);
                                if (r < 0)
                                        return r;
                        }
                }
                for (size_t j = 0; j < idx->n_manifests; j++) {
                        r = mx_index_add(merged, &idx->manifests[j], err);
                        if (r < 0)
                                return r;
                }
                mx_index_free(idx);
                idx = TAKE_PTR(merged);
        }
        for (size_t i = 0; i < c->n_entries; i++) {
                const entry *e = &c->entries[i];

                if (e->dir)
                        continue;
                progress(c, MX_PROGRESS_START, e->name, 0, (uint64_t)e->size);
                r = copy_blob_to_dir(c, dfd, dir, e, err);
                if (r < 0)
                        return r;
                progress(c, MX_PROGRESS_DONE, e->name, (uint64_t)e->size, (uint64_t)e->size);
        }
        r = mx_fs_fsync_dir(blobs, err);
        if (r < 0)
                return r;
        if (!mx_fs_exists(layout_path)) {
                r = mx_fs_write_atomic(layout_path, oci_layout_json, strlen(oci_layout_json), 0644,
                                       err);
                if (r < 0)
                        return r;
        }
        r = mx_index_to_json(&json, &json_len, idx, err);
        if (r < 0)
                return r;
        return mx_fs_write_atomic(index_path, json, json_len, 0644, err);
}

/* ---- entry points ------------------------------------------------------------------------ */

int mx_images_save(mx_store *s, const char *const *images, mx_save_format fmt, int out_fd,
                   const mx_images_save_opts *opts, mx_error **err)
{
        save_ctx c = {.s = s, .opts = opts};
        int r;

        if (!s || out_fd < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "save: invalid arguments");
        if (fmt == MX_SAVE_OCI_DIR)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "save: format 'oci-dir' needs an output directory");
        r = collect(&c, images, err);
        if (r >= 0)
                r = fmt == MX_SAVE_DOCKER_ARCHIVE ? plan_docker(&c, err)
                                                  : plan_oci_archive(&c, err);
        if (r >= 0)
                r = write_tar(&c, out_fd, err);
        save_ctx_clear(&c);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "save");
        return 0;
}

int mx_images_save_path(mx_store *s, const char *const *images, mx_save_format fmt,
                        const char *path, const mx_images_save_opts *opts, mx_error **err)
{
        cleanup_free char *tmp = NULL;
        cleanup_close int fd = -1;
        int r;

        if (!s || !path || !*path)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "save: invalid arguments");
        if (fmt == MX_SAVE_OCI_DIR) {
                save_ctx c = {.s = s, .opts = opts};

                r = collect(&c, images, err);
                if (r >= 0)
                        r = save_oci_dir(&c, path, err);
                save_ctx_clear(&c);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "save to '%s'", path);
                return 0;
        }
        if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
                return mx_error_oom(err);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "save: create '%s'", tmp);
        r = mx_images_save(s, images, fmt, fd, opts, err);
        if (r >= 0 && fsync(fd) < 0)
                r = mx_error_errno(err, MX_D_IMAGE, "save: write '%s'", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = mx_error_errno(err, MX_D_IMAGE, "save: rename '%s' to '%s'", tmp, path);
        if (r < 0) {
                (void)unlink(tmp);
                return mx_error_wrap(err, MX_D_IMAGE, "'%s'", path);
        }
        return 0;
}
