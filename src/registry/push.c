/* SPDX-License-Identifier: Apache-2.0 */
/* Push from the store, and copy from registry to registry. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/image.h>
#include <myrmex/log.h>
#include <myrmex/registry.h>
#include <myrmex/store.h>

#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "registry-internal.h"
#include "registry-ops.h"
#include "strv.h"

typedef struct push_tick {
        const mx_registry_opts *opts;
        mx_reg_upload *ups;
        size_t n;
} push_tick;

static void on_tick(void *userdata)
{
        push_tick *t = userdata;

        for (size_t i = 0; i < t->n; i++)
                if (t->ups[i].moved > 0 && t->ups[i].moved <= t->ups[i].size)
                        mx_registry__progress(t->opts, MX_PROGRESS_UPDATE, "push", t->ups[i].digest,
                                              t->ups[i].moved, t->ups[i].size);
}

/* Upload what the registry lacks: HEAD every blob, mount or upload the missing ones. */
static int send_blobs(mx_registry_client *c, const char *repo, char *const *digests,
                      const int64_t *sizes, const int *fds, size_t n, const char *mount_from,
                      const mx_registry_opts *opts, mx_registry_result *res, mx_error **err)
{
        cleanup_free int *present = calloc(n ? n : 1, sizeof(int));
        cleanup_free mx_reg_upload *ups = calloc(n ? n : 1, sizeof(mx_reg_upload));
        size_t parallel = opts->parallel > 0 ? (size_t)opts->parallel : 4;
        size_t m = 0;
        int r;

        if (!present || !ups)
                return mx_error_oom(err);
        r = mx_registry__blobs_exist(c, repo, digests, n, present, parallel * 2, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (present[i]) {
                        res->blobs_skipped++;
                        mx_registry__progress(opts, MX_PROGRESS_SKIPPED, "push", digests[i],
                                              (uint64_t)sizes[i], (uint64_t)sizes[i]);
                        continue;
                }
                if (fds[i] < 0)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                            "blob '%s' is not available to send", digests[i]);
                ups[m].digest = digests[i];
                ups[m].fd = fds[i];
                ups[m].size = (uint64_t)sizes[i];
                ups[m].mount_from = mount_from;
                mx_registry__progress(opts, MX_PROGRESS_START, "push", digests[i], 0,
                                      (uint64_t)sizes[i]);
                m++;
        }
        {
                push_tick t = {opts, ups, m};

                if (opts->progress)
                        mx_registry__client_set_tick(c, on_tick, &t);
                r = mx_registry__blobs_upload(c, repo, ups, m, opts->chunk_size, parallel, err);
                mx_registry__client_set_tick(c, NULL, NULL);
        }
        for (size_t i = 0; i < m; i++) {
                res->bytes_moved += ups[i].moved;
                if (r >= 0) {
                        res->blobs_moved++;
                        mx_registry__progress(opts, MX_PROGRESS_DONE, "push", ups[i].digest,
                                              ups[i].size, ups[i].size);
                }
        }
        return r;
}

static int push_impl(mx_store *s, const char *image, const char *dest, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_image_record *rec = NULL;
        mx_reg_ref ref = {0};
        cleanup_free char *mdata = NULL;
        cleanup_free char *digest = NULL;
        cleanup_strv char **digests = NULL;
        cleanup_free int64_t *sizes = NULL;
        cleanup_free int *fds = NULL;
        cleanup_free char *mount_from = NULL;
        mx_registry_result *res = NULL;
        size_t mlen = 0, n = 0;
        int plain = 0, r;

        r = mx_store_image_get(s, image, &rec, err);
        if (r < 0)
                return r;
        r = mx_registry__ref_parse(&ref, dest ? dest : image, NULL, &plain, err);
        if (r < 0)
                goto out;
        if (!ref.tag && !ref.digest) {
                ref.tag = strdup("latest");
                if (!ref.tag) {
                        r = mx_error_oom(err);
                        goto out;
                }
        }
        res = calloc(1, sizeof(*res));
        sizes = calloc(rec->n_layers + 1, sizeof(*sizes));
        fds = calloc(rec->n_layers + 1, sizeof(*fds));
        if (!res || !sizes || !fds) {
                r = mx_error_oom(err);
                goto out;
        }
        for (size_t i = 0; i <= rec->n_layers; i++)
                fds[i] = -1;
        res->reference = mx_registry__ref_format(&ref);
        r = mx_store_blob_read(s, rec->manifest_digest, MX_MANIFEST_MAX_BYTES, &mdata, &mlen, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i <= rec->n_layers; i++) {
                const char *d = i == 0 ? rec->id : rec->layers[i - 1].digest;
                int64_t sz = i == 0 ? rec->config_size : rec->layers[i - 1].size;

                res->image_size += (uint64_t)sz;
                if (mx_strv_contains(digests, d))
                        continue;
                if (mx_strv_push(&digests, d) < 0) {
                        r = mx_error_oom(err);
                        goto out;
                }
                sizes[n++] = sz;
        }
        /* the same image known under another repository of this registry can be mounted */
        MX_STRV_FOREACH (t, rec->tags) {
                mx_reg_ref other = {0};

                if (mx_registry__ref_parse(&other, t, NULL, NULL, NULL) == 0) {
                        if (strcmp(other.host, ref.host) == 0 &&
                            strcmp(other.repo, ref.repo) != 0 && !mount_from)
                                mount_from = strdup(other.repo);
                        mx_registry__ref_clear(&other);
                }
        }
        r = mx_registry__client_for(&c, &ref, opts, plain, 0, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                r = mx_store_blob_open(s, digests[i], &fds[i], err);
                if (r < 0)
                        goto out;
        }
        r = send_blobs(c, ref.repo, digests, sizes, fds, n, mount_from, opts, res, err);
        if (r < 0)
                goto out;
        mx_fault_point("registry-push-blobs-sent");
        r = mx_registry__manifest_put(c, ref.repo, mx_registry__ref_reference(&ref), mdata, mlen,
                                      rec->manifest_media_type, &digest, err);
        if (r < 0)
                goto out;
        res->digest = strdup(digest);
        res->manifest_digest = TAKE_PTR(digest);
        res->image_id = strdup(rec->id);
        if (!res->digest || !res->image_id) {
                r = mx_error_oom(err);
                goto out;
        }
        if (out) {
                *out = res;
                res = NULL;
        }
        r = 0;
out:
        for (size_t i = 0; fds && rec && i <= rec->n_layers; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        mx_registry_result_free(res);
        mx_image_record_free(rec);
        mx_registry__ref_clear(&ref);
        return r;
}

int mx_registry_push(mx_store *s, const char *image, const char *dest, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        static const mx_registry_opts dflt = MX_REGISTRY_OPTS_INIT;
        int r;

        if (!s || !image)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "push: no store or image");
        r = push_impl(s, image, dest, opts ? opts : &dflt, out, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "push '%s'", dest ? dest : image);
                mx_registry__lift_http(err);
                return r;
        }
        return 0;
}

/* ---- copy ---- */

/* A blob fetched into an unnamed temporary file, hashed as it comes. */
typedef struct tmp_blob {
        int fd;
        uint64_t written;
        int64_t size;
        const char *digest;
        mx_hasher *h;
        uint64_t *moved;
} tmp_blob;

static int tmp_write(void *ctx, const void *data, size_t len, mx_error **err)
{
        tmp_blob *t = ctx;
        const char *p = data;

        if (t->size >= 0 && t->written + len > (uint64_t)t->size)
                return mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                    "blob '%s' is larger than its descriptor says", t->digest);
        while (len > 0) {
                ssize_t w = write(t->fd, p, len);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return mx_error_errno(err, MX_D_REGISTRY, "write temporary blob");
                }
                mx_hasher_update(t->h, p, (size_t)w);
                p += w;
                len -= (size_t)w;
                t->written += (uint64_t)w;
                if (t->moved)
                        *t->moved += (uint64_t)w;
        }
        return 0;
}

static int tmp_reset(void *ctx, mx_error **err)
{
        tmp_blob *t = ctx;

        if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
                return mx_error_errno(err, MX_D_REGISTRY, "reset temporary blob");
        mx_hasher_reset(t->h);
        t->written = 0;
        return 0;
}

static int open_tmp(int *fd_out, mx_error **err)
{
        const char *dir = getenv("TMPDIR");
        int fd;

        if (!dir || !*dir)
                dir = "/var/tmp";
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return mx_error_errno(err, MX_D_REGISTRY, "create a temporary file in '%s'", dir);
        *fd_out = fd;
        return 0;
}

/* Fetch blobs from src into temporary files (verified). fds[i] filled. */
static int fetch_tmp(mx_registry_client *src, const char *repo, char *const *digests,
                     const int64_t *sizes, size_t n, int *fds, const mx_registry_opts *opts,
                     uint64_t *moved, mx_error **err)
{
        cleanup_free tmp_blob *tb = calloc(n ? n : 1, sizeof(tmp_blob));
        cleanup_free mx_reg_sink *sinks = calloc(n ? n : 1, sizeof(mx_reg_sink));
        cleanup_free mx_reg_req *qs = calloc(n ? n : 1, sizeof(mx_reg_req));
        cleanup_free mx_reg_req **ptrs = calloc(n ? n : 1, sizeof(mx_reg_req *));
        cleanup_free char *scope = mx_registry__scope(repo, 0);
        size_t parallel = opts->parallel > 0 ? (size_t)opts->parallel : 4;
        int r = 0;

        if (!tb || !sinks || !qs || !ptrs || !scope)
                return mx_error_oom(err);
        for (size_t i = 0; i < n && r >= 0; i++) {
                tb[i].fd = -1;
                r = open_tmp(&tb[i].fd, err);
                if (r < 0)
                        break;
                r = mx_hasher_new(&tb[i].h, MX_DIGEST_SHA256, err);
                if (r < 0)
                        break;
                tb[i].size = sizes[i];
                tb[i].digest = digests[i];
                tb[i].moved = moved;
                sinks[i] = (mx_reg_sink){tmp_write, tmp_reset, &tb[i]};
                qs[i].method = "GET";
                qs[i].sink = &sinks[i];
                qs[i].resumable = 1;
                qs[i].scope = strdup(scope);
                if (asprintf(&qs[i].url, "/v2/%s/blobs/%s", repo, digests[i]) < 0)
                        qs[i].url = NULL;
                if (!qs[i].scope || !qs[i].url)
                        r = mx_error_oom(err);
                ptrs[i] = &qs[i];
        }
        if (r >= 0)
                r = mx_registry__run(src, ptrs, n, parallel, err);
        for (size_t i = 0; i < n && r >= 0; i++) {
                char got[MX_DIGEST_MAX];

                if (qs[i].status != 200 && qs[i].status != 206) {
                        r = mx_registry__status_error(&qs[i], "download blob for copy", err);
                        break;
                }
                mx_hasher_final(tb[i].h, got);
                if (strcmp(got, digests[i]) != 0) {
                        r = mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                         "blob '%s' of '%s' does not match its digest (got '%s')",
                                         digests[i], repo, got);
                        break;
                }
        }
        for (size_t i = 0; i < n; i++) {
                mx_hasher_free(tb[i].h);
                mx_registry__req_clear(&qs[i]);
                if (r >= 0)
                        fds[i] = tb[i].fd;
                else if (tb[i].fd >= 0)
                        close(tb[i].fd);
        }
        return r;
}

/* Copy one image manifest's blobs, then the manifest under reference. */
static int copy_manifest(mx_registry_client *src, const mx_reg_ref *sref, mx_registry_client *dst,
                         const mx_reg_ref *dref, const char *data, size_t len, const char *mt,
                         const char *reference, const mx_registry_opts *opts,
                         mx_registry_result *res, mx_error **err)
{
        mx_manifest *m = NULL;
        cleanup_strv char **digests = NULL;
        cleanup_free int64_t *sizes = NULL;
        cleanup_free int *fds = NULL;
        cleanup_free int *present = NULL;
        cleanup_strv char **fetch = NULL;
        cleanup_free int64_t *fetch_sizes = NULL;
        cleanup_free int *fetch_fds = NULL;
        int same = strcmp(sref->host, dref->host) == 0;
        size_t n = 0, nf = 0;
        int r;

        r = mx_manifest_parse(&m, data, len, mt, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read manifest to copy");
        sizes = calloc(m->n_layers + 1, sizeof(*sizes));
        fds = calloc(m->n_layers + 1, sizeof(*fds));
        present = calloc(m->n_layers + 1, sizeof(*present));
        fetch_sizes = calloc(m->n_layers + 1, sizeof(*fetch_sizes));
        fetch_fds = calloc(m->n_layers + 1, sizeof(*fetch_fds));
        if (!sizes || !fds || !present || !fetch_sizes || !fetch_fds) {
                mx_manifest_free(m);
                return mx_error_oom(err);
        }
        for (size_t i = 0; i <= m->n_layers; i++) {
                const mx_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];

                fds[i] = fetch_fds[i] = -1;
                res->image_size += (uint64_t)d->size;
                if (mx_strv_contains(digests, d->digest))
                        continue;
                if (mx_strv_push(&digests, d->digest) < 0) {
                        mx_manifest_free(m);
                        return mx_error_oom(err);
                }
                sizes[n++] = d->size;
        }
        mx_manifest_free(m);
        if (same) {
                /* one registry: mount from the source repository, nothing crosses the wire */
                mx_reg_upload *ups = calloc(n ? n : 1, sizeof(*ups));

                if (!ups)
                        return mx_error_oom(err);
                r = mx_registry__blobs_exist(dst, dref->repo, digests, n, present, 8, err);
                for (size_t i = 0, k = 0; i < n && r >= 0; i++) {
                        if (present[i]) {
                                res->blobs_skipped++;
                                continue;
                        }
                        ups[k].digest = digests[i];
                        ups[k].size = (uint64_t)sizes[i];
                        ups[k].fd = -1;
                        ups[k].mount_from = sref->repo;
                        k++;
                        nf = k;
                }
                if (r >= 0)
                        r = mx_registry__blobs_upload(dst, dref->repo, ups, nf, 0, 4, err);
                for (size_t i = 0; r >= 0 && i < nf; i++) {
                        if (!ups[i].mounted) {
                                r = mx_error_set(err, MX_EFAIL, MX_D_REGISTRY, 0,
                                                 "registry did not mount blob '%s' from '%s'",
                                                 ups[i].digest, sref->repo);
                                break;
                        }
                        res->blobs_moved++;
                }
                free(ups);
                if (r < 0)
                        return r;
        } else {
                r = mx_registry__blobs_exist(dst, dref->repo, digests, n, present, 8, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        if (present[i]) {
                                res->blobs_skipped++;
                                continue;
                        }
                        if (mx_strv_push(&fetch, digests[i]) < 0)
                                return mx_error_oom(err);
                        fetch_sizes[nf++] = sizes[i];
                }
                r = fetch_tmp(src, sref->repo, fetch, fetch_sizes, nf, fetch_fds, opts,
                              &res->bytes_moved, err);
                if (r >= 0)
                        r = send_blobs(dst, dref->repo, fetch, fetch_sizes, fetch_fds, nf, NULL,
                                       opts, res, err);
                for (size_t i = 0; i < nf; i++)
                        if (fetch_fds[i] >= 0)
                                close(fetch_fds[i]);
                if (r < 0)
                        return r;
        }
        return mx_registry__manifest_put(dst, dref->repo, reference, data, len, mt, NULL, err);
}

static int copy_impl(const char *src_s, const char *dst_s, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *src = NULL;
        cleanup(mx_registry__client_freep) mx_registry_client *dst_own = NULL;
        mx_registry_client *dst;
        mx_reg_ref sref = {0}, dref = {0};
        cleanup_free char *data = NULL;
        cleanup_free char *mt = NULL;
        cleanup_free char *digest = NULL;
        mx_registry_result *res = NULL;
        size_t len = 0;
        int splain = 0, dplain = 0, r;

        r = mx_registry__ref_parse(&sref, src_s, NULL, &splain, err);
        if (r < 0)
                return r;
        r = mx_registry__ref_parse(&dref, dst_s, NULL, &dplain, err);
        if (r < 0)
                goto out;
        if (!sref.tag && !sref.digest)
                sref.tag = strdup("latest");
        if (!dref.tag && !dref.digest)
                dref.tag = strdup(sref.tag ? sref.tag : "latest");
        res = calloc(1, sizeof(*res));
        if (!sref.tag && !sref.digest) {
                r = mx_error_oom(err);
                goto out;
        }
        if (!res || (!dref.tag && !dref.digest)) {
                r = mx_error_oom(err);
                goto out;
        }
        res->reference = mx_registry__ref_format(&dref);
        r = mx_registry__client_for(&src, &sref, opts, splain, 1, err);
        if (r < 0)
                goto out;
        if (strcmp(sref.host, dref.host) == 0) {
                dst = src;
        } else {
                r = mx_registry__client_for(&dst_own, &dref, opts, dplain, 0, err);
                if (r < 0)
                        goto out;
                dst = dst_own;
        }
        r = mx_registry__manifest_get(src, sref.repo, mx_registry__ref_reference(&sref), &data,
                                      &len, &mt, &digest, err);
        if (r < 0)
                goto out;
        if (mx_media_type_is_index(mt) && opts->all_platforms) {
                mx_index *idx = NULL;

                r = mx_index_parse(&idx, data, len, mt, err);
                if (r < 0)
                        goto out;
                for (size_t i = 0; i < idx->n_manifests && r >= 0; i++) {
                        const mx_descriptor *d = &idx->manifests[i];
                        cleanup_free char *cd = NULL;
                        cleanup_free char *cmt = NULL;
                        cleanup_free char *cdig = NULL;
                        size_t clen = 0;

                        if (!mx_media_type_is_manifest(d->media_type))
                                continue;
                        r = mx_registry__manifest_get(src, sref.repo, d->digest, &cd, &clen, &cmt,
                                                      &cdig, err);
                        if (r >= 0)
                                r = copy_manifest(src, &sref, dst, &dref, cd, clen, cmt, d->digest,
                                                  opts, res, err);
                }
                mx_index_free(idx);
                if (r < 0)
                        goto out;
                r = mx_registry__manifest_put(dst, dref.repo, mx_registry__ref_reference(&dref),
                                              data, len, mt, NULL, err);
                if (r < 0)
                        goto out;
                res->digest = strdup(digest);
                res->manifest_digest = strdup(digest);
        } else {
                cleanup_free char *top = NULL;
                cleanup_free char *idata = NULL;
                cleanup_free char *imt = NULL;
                cleanup_free char *idig = NULL;
                size_t ilen = 0;

                r = mx_registry__resolve_image(src, &sref, opts, &top, &idata, &ilen, &imt, &idig,
                                               err);
                if (r < 0)
                        goto out;
                r = copy_manifest(src, &sref, dst, &dref, idata, ilen, imt,
                                  mx_registry__ref_reference(&dref), opts, res, err);
                if (r < 0)
                        goto out;
                res->digest = strdup(idig);
                res->manifest_digest = strdup(idig);
        }
        if (!res->digest || !res->manifest_digest) {
                r = mx_error_oom(err);
                goto out;
        }
        if (out) {
                *out = res;
                res = NULL;
        }
        r = 0;
out:
        mx_registry_result_free(res);
        mx_registry__ref_clear(&sref);
        mx_registry__ref_clear(&dref);
        return r;
}

int mx_registry_copy(const char *src, const char *dst, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        static const mx_registry_opts dflt = MX_REGISTRY_OPTS_INIT;
        int r;

        if (!src || !dst)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "copy: no source or target");
        r = copy_impl(src, dst, opts ? opts : &dflt, out, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "copy '%s' to '%s'", src, dst);
                mx_registry__lift_http(err);
                return r;
        }
        return 0;
}
