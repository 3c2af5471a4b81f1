/* SPDX-License-Identifier: Apache-2.0 */
/*
 * myrmex load: docker-archive tars, OCI layouts (tar or directory), compressed or not.
 *
 * An archive is read once, in order: every member that may be a blob (layers, configs,
 * blobs/<alg>/<hex>) is streamed into a store blob writer, so nothing large is held in
 * memory; the small metadata files (manifest.json, index.json, oci-layout, repositories)
 * are kept. Then the images are put together and verified from what is in the store, and
 * only when every image of the archive has passed are they recorded (the commit point).
 *
 * docker-archive layers are uncompressed tars whose sha256 is the diffID; they are stored
 * as they are (media type application/vnd.oci.image.layer.v1.tar) under a synthesized OCI
 * manifest, as skopeo does when it copies a docker-archive to an OCI layout: no
 * recompression on load, and the config (hence the image ID) is kept byte for byte.
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
#include "strv.h"

MX_DEFINE_FREEP(struct archive, archive_read_free)
MX_DEFINE_FREEP(mx_manifest, mx_manifest_free)
MX_DEFINE_FREEP(mx_index, mx_index_free)
MX_DEFINE_FREEP(mx_platform, mx_platform_free)

#define CHUNK           (256 * 1024)
#define MAX_MEMBERS     100000
#define MAX_LINK_DEPTH  16
#define MAX_INDEX_DEPTH 4

typedef struct member {
        char *name; /* cleaned, relative */
        char *link; /* for links: the cleaned name of the target member */
        char digest[MX_DIGEST_MAX];
        uint64_t size;
        bool stored; /* streamed into the store as a blob */
        char *data;  /* metadata kept in memory */
        size_t len;
} member;

typedef struct layer_info {
        char digest[MX_DIGEST_MAX];
        char diff_id[MX_DIGEST_MAX];
        char *media_type;
        int64_t size;
        int64_t usize;
} layer_info;

typedef struct candidate {
        char manifest_digest[MX_DIGEST_MAX];
        char *manifest_media_type;
        char config_digest[MX_DIGEST_MAX];
        int64_t config_size;
        mx_image_config *cfg;
        layer_info *layers;
        size_t n_layers;
        char **names;
} candidate;

typedef struct load_ctx {
        mx_store *s;
        const mx_images_load_opts *opts;
        member *members;
        size_t n_members;
        size_t cap_members;
        json_t *by_name; /* member name -> index in members, so lookups stay O(1) */
        int dir_fd;      /* an OCI layout directory, or -1 for an archive */
        const char *dir;
        candidate *cands;
        size_t n_cands;
} load_ctx;

static void candidate_clear(candidate *c)
{
        free(c->manifest_media_type);
        mx_image_config_free(c->cfg);
        for (size_t i = 0; i < c->n_layers; i++)
                free(c->layers[i].media_type);
        free(c->layers);
        mx_strv_free(c->names);
        memset(c, 0, sizeof(*c));
}

static void load_ctx_clear(load_ctx *c)
{
        for (size_t i = 0; i < c->n_members; i++) {
                free(c->members[i].name);
                free(c->members[i].link);
                free(c->members[i].data);
        }
        free(c->members);
        json_decref(c->by_name);
        for (size_t i = 0; i < c->n_cands; i++)
                candidate_clear(&c->cands[i]);
        free(c->cands);
        if (c->dir_fd >= 0)
                (void)close(c->dir_fd);
}

static void progress(load_ctx *c, mx_progress_state st, const char *id, uint64_t cur,
                     uint64_t total)
{
        mx_progress_event ev = {st, "load", id, cur, total};

        if (c->opts && c->opts->progress)
                c->opts->progress(&ev, c->opts->progress_userdata);
}

/* ---- member names ----------------------------------------------------------------------- */

/* Clean an archive member name: no absolute names, no "..", no empty result. */
static int clean_member_name(char **out, const char *raw, mx_error **err)
{
        cleanup_free char *clean = NULL;
        const char *p = raw;

        if (!raw || !*raw)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "archive member without a name");
        if (raw[0] == '/')
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "archive member '%s' has an absolute name", raw);
        while (p[0] == '.' && p[1] == '/')
                p += 2;
        if (mx_fs_clean_rel(&clean, p, NULL) < 0)
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "archive member '%s' climbs out of the archive", raw);
        *out = TAKE_PTR(clean);
        return 0;
}

/* Resolve a symlink target relative to the directory of name, lexically; NULL if it
 * leaves the archive. */
static int resolve_symlink(char **out, const char *name, const char *target, mx_error **err)
{
        mx_buf b = MX_BUF_INIT;
        const char *slash = strrchr(name, '/');
        const char *p;

        if (target[0] == '/') {
                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                    "archive member '%s' links to the absolute path '%s'", name,
                                    target);
        }
        if (slash && mx_buf_put(&b, name, (size_t)(slash - name)) < 0)
                goto oom;
        p = target;
        while (*p) {
                const char *start;
                size_t n;

                while (*p == '/')
                        p++;
                start = p;
                while (*p && *p != '/')
                        p++;
                n = (size_t)(p - start);
                if (n == 0 || (n == 1 && start[0] == '.'))
                        continue;
                if (n == 2 && start[0] == '.' && start[1] == '.') {
                        char *last;

                        if (b.len == 0) {
                                mx_buf_clear(&b);
                                return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                                    "archive member '%s' links to '%s', outside "
                                                    "the archive",
                                                    name, target);
                        }
                        last = strrchr(b.ptr, '/');
                        mx_buf_truncate(&b, last ? (size_t)(last - b.ptr) : 0);
                        continue;
                }
                if ((b.len && mx_buf_putc(&b, '/') < 0) || mx_buf_put(&b, start, n) < 0)
                        goto oom;
        }
        *out = mx_buf_detach(&b);
        return *out ? 0 : mx_error_oom(err);
oom:
        mx_buf_clear(&b);
        return mx_error_oom(err);
}

static member *find_member_raw(load_ctx *c, const char *name)
{
        json_t *i = c->by_name ? json_object_get(c->by_name, name) : NULL;

        return i ? &c->members[json_integer_value(i)] : NULL;
}

/* The member name refers to, following links. MX_ENOTFOUND when absent. */
static int find_member(load_ctx *c, const char *name, member **out, mx_error **err)
{
        cleanup_free char *clean = NULL;
        member *m;
        int r;

        r = clean_member_name(&clean, name, err);
        if (r < 0)
                return r;
        m = find_member_raw(c, clean);
        for (int depth = 0; m && m->link; depth++) {
                if (depth >= MAX_LINK_DEPTH)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "archive member '%s': too many levels of links", name);
                m = find_member_raw(c, m->link);
        }
        if (!m)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_IMAGE, 0, "archive has no member '%s'",
                                    name);
        *out = m;
        return 0;
}

static member *add_member(load_ctx *c, char *name)
{
        member *nm;

        if (!name || c->n_members >= MAX_MEMBERS)
                return NULL;
        if (!c->by_name && !(c->by_name = json_object()))
                return NULL;
        if (c->n_members == c->cap_members) {
                size_t cap = c->cap_members ? c->cap_members * 2 : 64;

                nm = realloc(c->members, cap * sizeof(*nm));
                if (!nm)
                        return NULL;
                c->members = nm;
                c->cap_members = cap;
        }
        /* names need not be UTF-8: skip jansson's check (lookups do not check either) */
        if (json_object_set_new_nocheck(c->by_name, name, json_integer((json_int_t)c->n_members)) <
            0)
                return NULL;
        nm = &c->members[c->n_members++];
        memset(nm, 0, sizeof(*nm));
        nm->name = name;
        return nm;
}

/* Metadata kept in memory rather than stored as blobs. */
static bool is_meta_name(const char *name)
{
        const char *base = strrchr(name, '/');

        if (strcmp(name, "manifest.json") == 0 || strcmp(name, "index.json") == 0 ||
            strcmp(name, "oci-layout") == 0 || strcmp(name, "repositories") == 0)
                return true;
        /* Docker's legacy per-layer files: <id>/json, <id>/VERSION. */
        return base && (strcmp(base, "/json") == 0 || strcmp(base, "/VERSION") == 0);
}

/* Members a docker-archive names as configs and layers: "<hex>.json" (Docker, skopeo),
 * "<id>/layer.tar" (Docker), "<hex>.tar" (skopeo, podman). */
static bool may_be_blob(const char *name)
{
        size_t n = strlen(name);

        return (n > 5 && strcmp(name + n - 5, ".json") == 0 && !strchr(name, '/')) ||
               (n > 4 && strcmp(name + n - 4, ".tar") == 0);
}

/* "blobs/<alg>/<hex>" -> "alg:hex" when it is a valid digest. */
static bool blob_digest_of_name(const char *name, char out[MX_DIGEST_MAX])
{
        const char *alg, *hex;

        if (strncmp(name, "blobs/", 6) != 0)
                return false;
        alg = name + 6;
        hex = strchr(alg, '/');
        if (!hex || strchr(hex + 1, '/') || (size_t)(hex - alg) + strlen(hex) + 1 > MX_DIGEST_MAX)
                return false;
        snprintf(out, MX_DIGEST_MAX, "%.*s:%s", (int)(hex - alg), alg, hex + 1);
        return mx_digest_is_valid(out);
}

static int archive_fail(struct archive *a, int code, mx_error **err, const char *what)
{
        const char *msg = archive_error_string(a);

        return mx_error_set(err, code, MX_D_IMAGE, archive_errno(a) > 0 ? archive_errno(a) : 0,
                            "%s: %s", what, msg ? msg : "unknown error");
}

static int read_meta(struct archive *a, member *m, int64_t size, mx_error **err)
{
        mx_buf b = MX_BUF_INIT_CAP(MX_IMAGEOPS_META_MAX);
        char chunk[16384];

        if (size > (int64_t)MX_IMAGEOPS_META_MAX)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "archive member '%s' is %lld bytes, more than the %zu allowed",
                                    m->name, (long long)size, MX_IMAGEOPS_META_MAX);
        for (;;) {
                la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));

                if (n == 0)
                        break;
                if (n < 0) {
                        mx_buf_clear(&b);
                        return archive_fail(a, MX_EFORMAT, err, "read archive member");
                }
                if (mx_buf_put(&b, chunk, (size_t)n) < 0) {
                        mx_buf_clear(&b);
                        return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                            "archive member '%s' is too large", m->name);
                }
        }
        m->len = b.len;
        m->data = mx_buf_detach(&b);
        return m->data ? 0 : mx_error_oom(err);
}

static int stream_blob(load_ctx *c, struct archive *a, member *m, const char *expected,
                       int64_t size, mx_error **err)
{
        mx_io_blob *b = NULL;
        cleanup_free char *chunk = malloc(CHUNK);
        uint64_t done = 0;
        int r;

        if (!chunk)
                return mx_error_oom(err);
        if (size < 0 || size > MX_LAYER_MAX_SIZE)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "archive member '%s' declares an absurd size %lld", m->name,
                                    (long long)size);
        r = mx_imageops__blob_begin(&b, c->s, err);
        if (r < 0)
                return r;
        progress(c, MX_PROGRESS_START, m->name, 0, (uint64_t)size);
        for (;;) {
                la_ssize_t n = archive_read_data(a, chunk, CHUNK);

                if (n == 0)
                        break;
                if (n < 0) {
                        mx_imageops__blob_abort(b);
                        return archive_fail(a, MX_EFORMAT, err, "read archive member");
                }
                r = mx_imageops__blob_write(b, chunk, (size_t)n, err);
                if (r < 0) {
                        mx_imageops__blob_abort(b);
                        return r;
                }
                done += (uint64_t)n;
                progress(c, MX_PROGRESS_UPDATE, m->name, done, (uint64_t)size);
        }
        r = mx_imageops__blob_commit(b, expected, m->digest, &m->size, err);
        if (r < 0) {
                progress(c, MX_PROGRESS_FAILED, m->name, done, (uint64_t)size);
                return mx_error_wrap(err, MX_D_IMAGE, "archive member '%s'", m->name);
        }
        m->stored = true;
        progress(c, MX_PROGRESS_DONE, m->name, done, (uint64_t)size);
        return 0;
}

static int scan_archive(load_ctx *c, struct archive *a, mx_error **err)
{
        struct archive_entry *e;
        size_t n_entries = 0;
        int r;

        for (;;) {
                cleanup_free char *name = NULL;
                const char *raw, *hl, *sl;
                char digest[MX_DIGEST_MAX];
                member *m;
                mode_t type;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(a, MX_EFORMAT, err, "read archive");
                n_entries++;
                raw = archive_entry_pathname(e);
                r = clean_member_name(&name, raw, err);
                if (r < 0)
                        return r;
                type = archive_entry_filetype(e);
                if (type == AE_IFDIR || *name == '\0')
                        continue;
                if (find_member_raw(c, name))
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "archive member '%s' appears twice", name);
                hl = archive_entry_hardlink(e);
                sl = type == AE_IFLNK ? archive_entry_symlink(e) : NULL;
                if (!hl && type != AE_IFREG && type != AE_IFLNK)
                        return mx_error_set(err, MX_EUNSAFE, MX_D_IMAGE, 0,
                                            "archive member '%s' is not a file, directory or link",
                                            name);
                m = add_member(c, name);
                if (!m)
                        return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                            "archive has too many members");
                name = NULL; /* owned by the member now */
                if (hl) {
                        r = clean_member_name(&m->link, hl, err);
                        if (r < 0)
                                return mx_error_wrap(err, MX_D_IMAGE, "hard link '%s'", m->name);
                        continue;
                }
                if (sl) {
                        r = resolve_symlink(&m->link, m->name, sl, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (is_meta_name(m->name)) {
                        r = read_meta(a, m, archive_entry_size(e), err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (blob_digest_of_name(m->name, digest)) {
                        r = stream_blob(c, a, m, digest, archive_entry_size(e), err);
                } else if (may_be_blob(m->name)) {
                        r = stream_blob(c, a, m, NULL, archive_entry_size(e), err);
                } else {
                        /* Anything else is no part of an image: not copied into the store,
                         * so a crafted archive cannot fill it with junk blobs. */
                        r = archive_read_data_skip(a) == ARCHIVE_OK
                                    ? 0
                                    : archive_fail(a, MX_EFORMAT, err, "read archive member");
                }
                if (r < 0)
                        return r;
        }
        if (n_entries == 0)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "the input is empty or not an archive");
        return 0;
}

/* ---- blobs by digest (archive members or layout directory files) ------------------------ */

/* Make sure the blob digest is in the store, verified, and return its size. */
static int need_blob(load_ctx *c, const char *digest, uint64_t *size_out, mx_error **err)
{
        char name[MX_DIGEST_MAX + 16];
        const char *colon = strchr(digest, ':');
        member *m;
        int r;

        if (!mx_digest_is_valid(digest) || !colon)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "invalid digest '%s'", digest);
        snprintf(name, sizeof(name), "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
        if (c->dir_fd >= 0) {
                /* Import the file from the layout directory, verified against its name. */
                cleanup_close int fd = -1;
                cleanup_free char *chunk = NULL;
                mx_io_blob *b = NULL;

                m = find_member_raw(c, name);
                if (m) {
                        *size_out = m->size;
                        return 0;
                }
                fd = openat(c->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 && errno == ENOENT)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_IMAGE, 0,
                                            "blob '%s' is missing from '%s'", digest, c->dir);
                if (fd < 0)
                        return mx_error_errno(err, MX_D_SYS, "open '%s/%s'", c->dir, name);
                chunk = malloc(CHUNK);
                if (!chunk)
                        return mx_error_oom(err);
                r = mx_imageops__blob_begin(&b, c->s, err);
                if (r < 0)
                        return r;
                for (;;) {
                        ssize_t n = read(fd, chunk, CHUNK);

                        if (n == 0)
                                break;
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                mx_imageops__blob_abort(b);
                                return mx_error_errno(err, MX_D_SYS, "read '%s/%s'", c->dir, name);
                        }
                        r = mx_imageops__blob_write(b, chunk, (size_t)n, err);
                        if (r < 0) {
                                mx_imageops__blob_abort(b);
                                return r;
                        }
                }
                m = add_member(c, strdup(name));
                if (!m || !m->name) {
                        mx_imageops__blob_abort(b);
                        return mx_error_oom(err);
                }
                r = mx_imageops__blob_commit(b, digest, m->digest, &m->size, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "blob '%s' of '%s'", digest, c->dir);
                m->stored = true;
                *size_out = m->size;
                return 0;
        }
        {
                cleanup(mx_error_freep) mx_error *e = NULL;

                r = find_member(c, name, &m, &e);
                if (r == MX_ENOTFOUND)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_IMAGE, 0,
                                            "blob '%s' is missing from the archive", digest);
                if (r < 0) {
                        mx_error_move(err, &e);
                        return r;
                }
        }
        if (!m->stored || strcmp(m->digest, digest) != 0)
                return mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                    "archive member '%s' does not hold blob '%s'", m->name, digest);
        *size_out = m->size;
        return 0;
}

/* Check a descriptor's declared size against the blob and a cap. */
static int check_desc(load_ctx *c, const mx_descriptor *d, int64_t cap, const char *what,
                      mx_error **err)
{
        uint64_t size = 0;
        int r;

        if (d->size < 0 || d->size > cap)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "%s '%s' declares an absurd size %lld (at most %lld allowed)",
                                    what, d->digest, (long long)d->size, (long long)cap);
        r = need_blob(c, d->digest, &size, err);
        if (r < 0)
                return r;
        if ((uint64_t)d->size != size)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "%s '%s' declares %lld bytes but has %llu", what, d->digest,
                                    (long long)d->size, (unsigned long long)size);
        return 0;
}

static int read_blob_doc(load_ctx *c, const char *digest, size_t max, mx_buf *out, mx_error **err)
{
        return mx_imageops__blob_read(c->s, digest, max, out, err);
}

/* ---- images ----------------------------------------------------------------------------- */

static candidate *new_candidate(load_ctx *c)
{
        candidate *nc = realloc(c->cands, (c->n_cands + 1) * sizeof(*nc));

        if (!nc)
                return NULL;
        c->cands = nc;
        nc = &c->cands[c->n_cands++];
        memset(nc, 0, sizeof(*nc));
        return nc;
}

/* Verify the layers of an image against its config and fill cand->layers. layer_descs has
 * n entries whose blobs are already verified in the store. */
static int check_layers(load_ctx *c, candidate *cand, const mx_descriptor *layers, size_t n,
                        mx_error **err)
{
        if (cand->cfg->n_diff_ids != n)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "image config '%s' lists %zu diff_ids for %zu layers",
                                    cand->config_digest, cand->cfg->n_diff_ids, n);
        cand->layers = calloc(n ? n : 1, sizeof(*cand->layers));
        if (!cand->layers)
                return mx_error_oom(err);
        cand->n_layers = n;
        for (size_t i = 0; i < n; i++) {
                layer_info *li = &cand->layers[i];
                mx_media_compression want = mx_media_type_compression(layers[i].media_type);
                mx_compression got;
                uint64_t usize = 0;
                int r;

                if (!mx_media_type_is_layer(layers[i].media_type) ||
                    want == MX_MEDIA_COMPRESSION_UNKNOWN)
                        return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                            "layer %zu '%s' has media type '%s', not a layer's", i,
                                            layers[i].digest, layers[i].media_type);
                r = mx_imageops__layer_diff_id(c->s, layers[i].digest, li->diff_id, &got, &usize,
                                               err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "layer %zu '%s'", i,
                                             layers[i].digest);
                if ((int)got != (int)want)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "layer %zu '%s' is declared as '%s' but is %s", i,
                                            layers[i].digest, layers[i].media_type,
                                            mx_compression_name(got));
                if (strcmp(li->diff_id, cand->cfg->diff_ids[i]) != 0)
                        return mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                            "layer %zu '%s' has diffID '%s' but the config '%s' "
                                            "says '%s'",
                                            i, layers[i].digest, li->diff_id, cand->config_digest,
                                            cand->cfg->diff_ids[i]);
                snprintf(li->digest, sizeof(li->digest), "%s", layers[i].digest);
                li->media_type = strdup(layers[i].media_type);
                if (!li->media_type)
                        return mx_error_oom(err);
                li->size = layers[i].size;
                li->usize = (int64_t)usize;
        }
        return 0;
}

static int load_config(load_ctx *c, candidate *cand, mx_error **err)
{
        mx_buf b = MX_BUF_INIT;
        int r;

        r = read_blob_doc(c, cand->config_digest, MX_CONFIG_MAX_BYTES, &b, err);
        if (r < 0)
                return r;
        r = mx_image_config_parse(&cand->cfg, b.ptr, b.len, err);
        mx_buf_clear(&b);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "image config '%s'", cand->config_digest);
        return 0;
}

/* An image from an OCI manifest descriptor (index.json entry or selected from an index). */
static int add_oci_image(load_ctx *c, const mx_descriptor *d, char *const *annotations,
                         char *const *repo_tags, int depth, mx_error **err)
{
        cleanup(mx_manifest_freep) mx_manifest *man = NULL;
        mx_buf b = MX_BUF_INIT;
        candidate *cand;
        int r;

        if (mx_media_type_is_index(d->media_type)) {
                cleanup(mx_index_freep) mx_index *idx = NULL;
                cleanup(mx_platform_freep) mx_platform *want = NULL;
                const mx_descriptor *sel = NULL;

                if (depth >= MAX_INDEX_DEPTH)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "image indexes nested too deeply at '%s'", d->digest);
                r = check_desc(c, d, MX_MANIFEST_MAX_SIZE, "image index", err);
                if (r < 0)
                        return r;
                r = read_blob_doc(c, d->digest, MX_MANIFEST_MAX_BYTES, &b, err);
                if (r < 0)
                        return r;
                r = mx_index_parse(&idx, b.ptr, b.len, d->media_type, err);
                mx_buf_clear(&b);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "image index '%s'", d->digest);
                if (c->opts && c->opts->platform) {
                        r = mx_platform_parse(&want, c->opts->platform, err);
                        if (r < 0)
                                return r;
                }
                r = mx_index_select(idx, want, &sel, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "image index '%s'", d->digest);
                return add_oci_image(c, sel, annotations, repo_tags, depth + 1, err);
        }
        if (!mx_media_type_is_manifest(d->media_type))
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                    "'%s' has media type '%s', not an image manifest or index",
                                    d->digest, d->media_type);
        r = check_desc(c, d, MX_MANIFEST_MAX_SIZE, "manifest", err);
        if (r < 0)
                return r;
        r = read_blob_doc(c, d->digest, MX_MANIFEST_MAX_BYTES, &b, err);
        if (r < 0)
                return r;
        r = mx_manifest_parse(&man, b.ptr, b.len, d->media_type, err);
        mx_buf_clear(&b);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "manifest '%s'", d->digest);
        if (!mx_manifest_is_image(man) || !mx_media_type_is_config(man->config.media_type))
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_IMAGE, 0,
                                    "manifest '%s' has config media type '%s', not an image's",
                                    d->digest, man->config.media_type);
        r = check_desc(c, &man->config, MX_CONFIG_MAX_SIZE, "config", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < man->n_layers; i++) {
                r = check_desc(c, &man->layers[i], MX_LAYER_MAX_SIZE, "layer", err);
                if (r < 0)
                        return r;
        }

        cand = new_candidate(c);
        if (!cand)
                return mx_error_oom(err);
        snprintf(cand->manifest_digest, sizeof(cand->manifest_digest), "%s", d->digest);
        snprintf(cand->config_digest, sizeof(cand->config_digest), "%s", man->config.digest);
        cand->config_size = man->config.size;
        cand->manifest_media_type = strdup(man->media_type);
        if (!cand->manifest_media_type)
                return mx_error_oom(err);
        r = load_config(c, cand, err);
        if (r < 0)
                return r;
        r = check_layers(c, cand, man->layers, man->n_layers, err);
        if (r < 0)
                return r;
        return mx_imageops__load_names(&cand->names, annotations, repo_tags, err);
}

/* RepoTags of a docker-archive's manifest.json entry whose Config is the blob digest. */
static int repo_tags_for_config(load_ctx *c, const json_t *manifest_json, const char *digest,
                                char ***out, mx_error **err)
{
        size_t i;
        json_t *ent;

        *out = NULL;
        if (!manifest_json)
                return 0;
        json_array_foreach(manifest_json, i, ent)
        {
                const char *cfg = mx_json_str(ent, "Config");
                json_t *tags = json_object_get(ent, "RepoTags");
                member *m = NULL;
                size_t j;
                json_t *t;

                if (!cfg || find_member(c, cfg, &m, NULL) < 0 || !m->stored ||
                    strcmp(m->digest, digest) != 0)
                        continue;
                json_array_foreach(tags, j, t)
                {
                        if (json_is_string(t) && mx_strv_push(out, json_string_value(t)) < 0)
                                return mx_error_oom(err);
                }
                return 0;
        }
        return 0;
}

static int parse_manifest_json(load_ctx *c, json_t **out, mx_error **err)
{
        member *m = find_member_raw(c, "manifest.json");
        json_t *j = NULL;
        size_t i;
        json_t *ent;
        int r;

        *out = NULL;
        if (!m)
                return 0;
        if (!m->data)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "archive member 'manifest.json' is not a file");
        r = mx_json_parse(&j, m->data, m->len, MX_IMAGEOPS_META_MAX, 0, "'manifest.json'", err);
        if (r < 0)
                return mx_error_wrap_code(err, MX_EFORMAT, MX_D_IMAGE, "docker-archive");
        if (!json_is_array(j) || json_array_size(j) == 0) {
                json_decref(j);
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "'manifest.json' is not a non-empty array of images");
        }
        json_array_foreach(j, i, ent)
        {
                json_t *tags = json_object_get(ent, "RepoTags");
                json_t *layers = json_object_get(ent, "Layers");
                size_t k;
                json_t *v;
                bool ok = json_is_object(ent) && json_is_string(json_object_get(ent, "Config")) &&
                          (!tags || json_is_null(tags) || json_is_array(tags)) &&
                          json_is_array(layers);

                json_array_foreach(tags, k, v) ok = ok && json_is_string(v);
                json_array_foreach(layers, k, v) ok = ok && json_is_string(v);
                if (!ok) {
                        json_decref(j);
                        return mx_error_set(
                                err, MX_EFORMAT, MX_D_IMAGE, 0,
                                "'manifest.json' entry %zu needs \"Config\" (a string), "
                                "\"Layers\" (strings) and \"RepoTags\" (strings or null)",
                                i);
                }
        }
        *out = j;
        return 0;
}

/* An image from a docker-archive manifest.json entry. */
static int add_docker_image(load_ctx *c, const json_t *ent, size_t index, mx_error **err)
{
        cleanup(mx_manifest_freep) mx_manifest *man = NULL;
        cleanup_strv char **repo_tags = NULL;
        cleanup_free char *man_json = NULL;
        const char *cfg_name = mx_json_str(ent, "Config");
        const char *base;
        json_t *layers = json_object_get(ent, "Layers");
        json_t *tags = json_object_get(ent, "RepoTags");
        size_t man_len = 0, i;
        candidate *cand;
        json_t *v;
        member *m;
        int r;

        r = find_member(c, cfg_name, &m, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "config of image %zu in 'manifest.json'",
                                     index);
        if (!m->stored)
                return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                    "config '%s' of image %zu is not a config file (named "
                                    "*.json or blobs/ALG/HEX)",
                                    cfg_name, index);
        /* Docker names the config <hex of its digest>.json; a file that says so must hold
         * that content, as the image ID is the config's digest. */
        base = strrchr(m->name, '/');
        base = base ? base + 1 : m->name;
        if (strlen(base) == 64 + 5 && strcmp(base + 64, ".json") == 0 &&
            strncmp(base, mx_digest_hex(m->digest), 64) != 0)
                return mx_error_set(err, MX_EDIGEST, MX_D_IMAGE, 0,
                                    "config '%s' has digest '%s', not the one its name says",
                                    m->name, m->digest);
        r = mx_manifest_new(&man, MX_MT_OCI_MANIFEST, err);
        if (r < 0)
                return r;
        r = mx_descriptor_set(&man->config, MX_MT_OCI_CONFIG, m->digest, (int64_t)m->size, err);
        if (r < 0)
                return r;
        json_array_foreach(layers, i, v)
        {
                const char *lname = json_string_value(v);
                mx_compression comp;
                unsigned char head[8];
                cleanup_close int fd = -1;
                ssize_t n;
                static const char *const mts[] = {MX_MT_OCI_LAYER, MX_MT_OCI_LAYER_GZIP,
                                                  MX_MT_OCI_LAYER_ZSTD};

                r = find_member(c, lname, &m, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "layer %zu of image %zu", i, index);
                if (!m->stored)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "layer '%s' of image %zu is not a layer tar (named "
                                            "*.tar or blobs/ALG/HEX)",
                                            lname, index);
                r = mx_imageops__blob_open(c->s, m->digest, &fd, NULL, err);
                if (r < 0)
                        return r;
                n = pread(fd, head, sizeof(head), 0);
                if (n < 0)
                        return mx_error_errno(err, MX_D_SYS, "read layer '%s'", m->digest);
                comp = mx_compression_detect(head, (size_t)n);
                r = mx_manifest_add_layer(man, mts[comp], m->digest, (int64_t)m->size, err);
                if (r < 0)
                        return r;
        }

        cand = new_candidate(c);
        if (!cand)
                return mx_error_oom(err);
        snprintf(cand->config_digest, sizeof(cand->config_digest), "%s", man->config.digest);
        cand->config_size = man->config.size;
        cand->manifest_media_type = strdup(MX_MT_OCI_MANIFEST);
        if (!cand->manifest_media_type)
                return mx_error_oom(err);
        r = load_config(c, cand, err);
        if (r < 0)
                return r;
        r = check_layers(c, cand, man->layers, man->n_layers, err);
        if (r < 0)
                return r;
        r = mx_manifest_to_json(&man_json, &man_len, man, err);
        if (r < 0)
                return r;
        r = mx_imageops__blob_put(c->s, man_json, man_len, cand->manifest_digest, err);
        if (r < 0)
                return r;
        mx_fault_point("imageops-load-manifest-stored");
        json_array_foreach(tags, i, v)
        {
                if (mx_strv_push(&repo_tags, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        return mx_imageops__load_names(&cand->names, NULL, repo_tags, err);
}

static int build_candidates(load_ctx *c, mx_error **err)
{
        cleanup_json json_t *manifest_json = NULL;
        member *index_m = find_member_raw(c, "index.json");
        member *layout_m = find_member_raw(c, "oci-layout");
        int r;

        r = parse_manifest_json(c, &manifest_json, err);
        if (r < 0)
                return r;
        if (layout_m) {
                cleanup_json json_t *lj = NULL;

                r = mx_json_parse(&lj, layout_m->data ? layout_m->data : "", layout_m->len,
                                  MX_IMAGEOPS_META_MAX, 1, "'oci-layout'", err);
                if (r < 0)
                        return mx_error_wrap_code(err, MX_EFORMAT, MX_D_IMAGE, "OCI image layout");
                if (!mx_json_str(lj, "imageLayoutVersion"))
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "'oci-layout' has no imageLayoutVersion");
        }
        if (index_m) {
                cleanup(mx_index_freep) mx_index *idx = NULL;

                if (!index_m->data)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "'index.json' is not a file");
                r = mx_index_parse(&idx, index_m->data, index_m->len, NULL, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "OCI image layout 'index.json'");
                if (idx->n_manifests == 0)
                        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                            "'index.json' lists no images");
                for (size_t i = 0; i < idx->n_manifests; i++) {
                        const mx_descriptor *d = &idx->manifests[i];
                        cleanup_strv char **repo_tags = NULL;
                        cleanup(mx_manifest_freep) mx_manifest *peek = NULL;

                        /* Docker 25's archives are both: take the RepoTags of the entry
                         * of manifest.json with the same config as a fallback name. */
                        if (manifest_json && mx_media_type_is_manifest(d->media_type) &&
                            check_desc(c, d, MX_MANIFEST_MAX_SIZE, "manifest", NULL) == 0) {
                                mx_buf b = MX_BUF_INIT;

                                if (read_blob_doc(c, d->digest, MX_MANIFEST_MAX_BYTES, &b, NULL) ==
                                            0 &&
                                    mx_manifest_parse(&peek, b.ptr, b.len, d->media_type, NULL) ==
                                            0) {
                                        r = repo_tags_for_config(c, manifest_json,
                                                                 peek->config.digest, &repo_tags,
                                                                 err);
                                        if (r < 0) {
                                                mx_buf_clear(&b);
                                                return r;
                                        }
                                }
                                mx_buf_clear(&b);
                        }
                        r = add_oci_image(c, d, d->annotations, repo_tags, 0, err);
                        if (r < 0)
                                return mx_error_wrap(err, MX_D_IMAGE, "image %zu of 'index.json'",
                                                     i);
                }
                return 0;
        }
        if (manifest_json) {
                size_t i;
                json_t *ent;

                json_array_foreach(manifest_json, i, ent)
                {
                        r = add_docker_image(c, ent, i, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        return mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                            "not an image archive: no 'manifest.json' (docker-archive) nor "
                            "'index.json' (OCI layout)");
}

/* ---- commit ----------------------------------------------------------------------------- */

static int commit_candidate(load_ctx *c, candidate *cand, char ***loaded, mx_error **err)
{
        mx_image_record rec = {0};
        mx_layer_record *lr = NULL;
        int64_t total = cand->config_size;
        int r;

        lr = calloc(cand->n_layers ? cand->n_layers : 1, sizeof(*lr));
        if (!lr)
                return mx_error_oom(err);
        for (size_t i = 0; i < cand->n_layers; i++) {
                lr[i].diff_id = cand->layers[i].diff_id;
                lr[i].digest = cand->layers[i].digest;
                lr[i].media_type = cand->layers[i].media_type;
                lr[i].size = cand->layers[i].size;
                lr[i].uncompressed_size = cand->layers[i].usize;
                total += cand->layers[i].size;
        }
        rec.id = cand->config_digest;
        rec.manifest_digest = cand->manifest_digest;
        rec.manifest_media_type = cand->manifest_media_type;
        rec.config_size = cand->config_size;
        rec.size = total;
        rec.created = cand->cfg->created;
        rec.os = cand->cfg->os;
        rec.architecture = cand->cfg->architecture;
        rec.variant = cand->cfg->variant;
        rec.n_layers = cand->n_layers;
        rec.layers = lr;
        mx_fault_point("imageops-load-before-image-add");
        r = mx_store_image_add(c->s, &rec, (const char *const *)cand->names, err);
        free(lr);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "record image '%s'", cand->config_digest);
        mx_fault_point("imageops-load-image-added");
        if (!cand->names) {
                if (mx_strv_push(loaded, cand->config_digest) < 0)
                        return mx_error_oom(err);
                return 0;
        }
        MX_STRV_FOREACH (n, cand->names) {
                if (!mx_strv_contains(*loaded, n) && mx_strv_push(loaded, n) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

static int load_finish(load_ctx *c, char ***loaded_out, mx_error **err)
{
        cleanup_strv char **loaded = NULL;
        mx_io_blob *guard = NULL;
        int r;

        r = build_candidates(c, err);
        if (r < 0)
                return r;
        mx_fault_point("imageops-load-verified");
        /* mx_store_image_add() gives up the handle's protection from gc once it commits,
         * unless a blob writer is open: with several images, hold one open so the blobs of
         * the images not yet recorded stay protected. */
        if (c->n_cands > 1) {
                r = mx_imageops__blob_begin(&guard, c->s, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_cands; i++) {
                r = commit_candidate(c, &c->cands[i], &loaded, err);
                if (r < 0)
                        break;
        }
        mx_imageops__blob_abort(guard);
        if (r < 0)
                return r;
        if (!loaded && !(loaded = calloc(1, sizeof(char *))))
                return mx_error_oom(err);
        if (loaded_out)
                *loaded_out = TAKE_PTR(loaded);
        return 0;
}

static int load_archive_fd(load_ctx *c, int fd, mx_error **err)
{
        cleanup(archive_read_freep) struct archive *a = archive_read_new();

        if (!a)
                return mx_error_oom(err);
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
                return archive_fail(a, MX_EFORMAT, err, "read archive");
        return scan_archive(c, a, err);
}

int mx_images_load(mx_store *s, int fd, const mx_images_load_opts *opts, char ***loaded_out,
                   mx_error **err)
{
        load_ctx c = {.s = s, .opts = opts, .dir_fd = -1};
        int r;

        if (!s || fd < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "load: invalid arguments");
        r = load_archive_fd(&c, fd, err);
        if (r >= 0) {
                mx_fault_point("imageops-load-scanned");
                r = load_finish(&c, loaded_out, err);
        }
        load_ctx_clear(&c);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "load");
        return 0;
}

static int read_dir_meta(load_ctx *c, const char *name, mx_error **err)
{
        cleanup_close int fd = openat(c->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        mx_buf b = MX_BUF_INIT_CAP(MX_IMAGEOPS_META_MAX);
        member *m;
        int r;

        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return mx_error_errno(err, MX_D_SYS, "open '%s/%s'", c->dir, name);
        r = mx_buf_read_fd(&b, fd, err);
        if (r < 0) {
                mx_buf_clear(&b);
                return mx_error_wrap(err, MX_D_IMAGE, "read '%s/%s'", c->dir, name);
        }
        m = add_member(c, strdup(name));
        if (!m || !m->name) {
                mx_buf_clear(&b);
                return mx_error_oom(err);
        }
        m->len = b.len;
        m->data = mx_buf_detach(&b);
        return m->data ? 0 : mx_error_oom(err);
}

int mx_images_load_path(mx_store *s, const char *path, const mx_images_load_opts *opts,
                        char ***loaded_out, mx_error **err)
{
        load_ctx c = {.s = s, .opts = opts, .dir_fd = -1, .dir = path};
        cleanup_close int fd = -1;
        struct stat st;
        int r;

        if (!s || !path)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "load: invalid arguments");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return mx_error_errno(err, MX_D_IMAGE, "load: open '%s'", path);
        if (fstat(fd, &st) < 0)
                return mx_error_errno(err, MX_D_IMAGE, "load: stat '%s'", path);
        if (!S_ISDIR(st.st_mode)) {
                r = mx_images_load(s, fd, opts, loaded_out, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "'%s'", path);
                return 0;
        }
        c.dir_fd = TAKE_FD(fd);
        r = read_dir_meta(&c, "oci-layout", err);
        if (r >= 0)
                r = read_dir_meta(&c, "index.json", err);
        if (r >= 0 && !find_member_raw(&c, "index.json"))
                r = mx_error_set(err, MX_EFORMAT, MX_D_IMAGE, 0,
                                 "'%s' is not an OCI image layout: no 'index.json'", path);
        if (r >= 0)
                r = load_finish(&c, loaded_out, err);
        load_ctx_clear(&c);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "load '%s'", path);
        return 0;
}
