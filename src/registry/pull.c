/* SPDX-License-Identifier: Apache-2.0 */
/* Pull: index -> platform manifest -> blobs into the store (verified) -> one commit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/log.h>
#include <myrmex/registry.h>
#include <myrmex/store.h>

#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "registry-internal.h"
#include "registry-ops.h"
#include "strv.h"

void mx_registry_result_free(mx_registry_result *res)
{
        if (!res)
                return;
        free(res->reference);
        free(res->digest);
        free(res->manifest_digest);
        free(res->image_id);
        free(res);
}

void mx_registry_strv_free(char **v)
{
        mx_strv_free(v);
}

int mx_registry__client_for(mx_registry_client **out, const mx_reg_ref *ref,
                            const mx_registry_opts *opts, int plain_http, int use_mirrors,
                            mx_error **err)
{
        mx_reg_client_opts co = {0};

        co.username = opts->username;
        co.password = opts->password;
        co.token = opts->token;
        co.cert_dir = opts->cert_dir;
        co.auth_file = opts->auth_file;
        co.tls_verify = opts->tls_verify;
        co.plain_http = opts->plain_http || plain_http;
        co.max_retries = opts->max_retries;
        co.use_mirrors = use_mirrors;
        return mx_registry__client_new(out, ref->host, &co, err);
}

void mx_registry__progress(const mx_registry_opts *opts, mx_progress_state state,
                           const char *action, const char *id, uint64_t cur, uint64_t total)
{
        mx_progress_event ev = {state, action, id, cur, total};

        if (opts && opts->progress)
                opts->progress(&ev, opts->progress_userdata);
}

/* ---- downloading blobs into the store ---- */

typedef struct blob_dl {
        mx_store *s;
        mx_store_blob_writer *w;
        const char *digest;
        int64_t size;
        uint64_t written;
        const mx_registry_opts *opts;
        uint64_t *moved;
        const char *repo;
        int finished; /* on_blob_done ran */
        int r;        /* its result */
        mx_error *err;
} blob_dl;

static int dl_write(void *ctx, const void *data, size_t len, mx_error **err)
{
        blob_dl *d = ctx;
        int r;

        if (d->size >= 0 && d->written + len > (uint64_t)d->size)
                return mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                    "blob '%s' is larger than the %lld bytes its descriptor says",
                                    d->digest, (long long)d->size);
        if (!d->w) {
                r = mx_store_blob_writer_new(&d->w, d->s, err);
                if (r < 0)
                        return r;
        }
        r = mx_store_blob_writer_write(d->w, data, len, err);
        if (r < 0)
                return r;
        d->written += len;
        if (d->moved)
                *d->moved += len;
        mx_registry__progress(d->opts, MX_PROGRESS_UPDATE, "pull", d->digest, d->written,
                              d->size > 0 ? (uint64_t)d->size : 0);
        return 0;
}

static int dl_reset(void *ctx, mx_error **err)
{
        blob_dl *d = ctx;

        (void)err;
        mx_store_blob_writer_free(d->w);
        d->w = NULL;
        d->written = 0;
        return 0;
}

/* A download is over: check it, commit the blob verified, free the writer. */
static void on_blob_done(mx_reg_req *q, void *userdata)
{
        blob_dl *d = userdata;
        mx_error **e = &d->err;

        d->finished = 1;
        if (q->err) {
                mx_error_move(e, &q->err);
                d->r = (*e)->code;
        } else if (q->status != 200 && q->status != 206) {
                cleanup_free char *what = NULL;

                if (asprintf(&what, "download blob '%s' of '%s'", d->digest, d->repo) < 0)
                        d->r = mx_error_oom(e);
                else
                        d->r = mx_registry__status_error(q, what, e);
        } else if (d->size >= 0 && d->written != (uint64_t)d->size) {
                d->r = mx_error_set(e, MX_EDIGEST, MX_D_REGISTRY, 0,
                                    "blob '%s' of '%s' has %llu bytes, its descriptor says %lld",
                                    d->digest, d->repo, (unsigned long long)d->written,
                                    (long long)d->size);
        } else {
                if (!d->w)
                        d->r = mx_store_blob_writer_new(&d->w, d->s, e); /* an empty blob */
                if (d->r >= 0)
                        d->r = mx_store_blob_writer_commit(d->w, d->digest, NULL, e);
                if (d->r < 0)
                        d->r = mx_error_wrap(e, MX_D_REGISTRY, "verify blob '%s' of '%s'",
                                             d->digest, d->repo);
        }
        mx_store_blob_writer_free(d->w);
        d->w = NULL;
        if (d->r < 0) {
                mx_registry__progress(d->opts, MX_PROGRESS_FAILED, "pull", d->digest, 0, 0);
                return;
        }
        mx_fault_point("registry-pull-blob-committed");
        mx_registry__progress(d->opts, MX_PROGRESS_DONE, "pull", d->digest, d->written, d->written);
}

int mx_registry__fetch_to_store(mx_registry_client *c, mx_store *s, const char *repo,
                                char *const *digests, const int64_t *sizes, size_t n,
                                const mx_registry_opts *opts, uint64_t *moved, mx_error **err)
{
        cleanup_free blob_dl *dls = NULL;
        cleanup_free mx_reg_sink *sinks = NULL;
        cleanup_free mx_reg_req *qs = NULL;
        cleanup_free mx_reg_req **ptrs = NULL;
        cleanup_free char *scope = mx_registry__scope(repo, 0);
        size_t parallel = opts->parallel > 0 ? (size_t)opts->parallel : 4;
        int r = 0;

        if (n == 0)
                return 0;
        dls = calloc(n, sizeof(*dls));
        sinks = calloc(n, sizeof(*sinks));
        qs = calloc(n, sizeof(*qs));
        ptrs = calloc(n, sizeof(*ptrs));
        if (!dls || !sinks || !qs || !ptrs || !scope)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++) {
                dls[i] = (blob_dl){s, NULL, digests[i], sizes[i], 0, opts, moved, repo, 0, 0, NULL};
                sinks[i] = (mx_reg_sink){dl_write, dl_reset, &dls[i]};
                qs[i].method = "GET";
                qs[i].sink = &sinks[i];
                qs[i].resumable = 1;
                qs[i].on_done = on_blob_done;
                qs[i].on_done_data = &dls[i];
                qs[i].scope = strdup(scope);
                if (asprintf(&qs[i].url, "/v2/%s/blobs/%s", repo, digests[i]) < 0)
                        qs[i].url = NULL;
                if (!qs[i].url || !qs[i].scope) {
                        r = mx_error_oom(err);
                        break;
                }
                ptrs[i] = &qs[i];
                mx_registry__progress(opts, MX_PROGRESS_START, "pull", digests[i], 0,
                                      sizes[i] > 0 ? (uint64_t)sizes[i] : 0);
        }
        /* every transfer runs to its end and each blob is committed the moment it is whole,
         * whatever the others do: a rerun (even after a kill) fetches only what is missing */
        if (r >= 0)
                r = mx_registry__run_all(c, ptrs, n, parallel, err);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && dls[i].finished && dls[i].r < 0) {
                        r = dls[i].r;
                        mx_error_move(err, &dls[i].err);
                }
                mx_error_free(dls[i].err);
                mx_store_blob_writer_free(dls[i].w);
                mx_registry__req_clear(&qs[i]);
        }
        return r;
}

/* ---- downloading on two cores ----
 * One thread runs a curl multi handle that receives, hashes (in the blob writer) and writes
 * every blob; for big images that is CPU-bound on one core. A second thread with its own
 * client and store handle takes about half of the bytes. Its blobs are re-found by the
 * main handle afterwards (mx_store_blob_has) so they are protected until the commit. */

#define SPLIT_MIN_BYTES (8ull << 20)

typedef struct locked_progress {
        pthread_mutex_t lock;
        mx_progress_cb cb;
        void *userdata;
} locked_progress;

static void progress_locked(const mx_progress_event *ev, void *userdata)
{
        locked_progress *lp = userdata;

        pthread_mutex_lock(&lp->lock);
        lp->cb(ev, lp->userdata);
        pthread_mutex_unlock(&lp->lock);
}

typedef struct side_job {
        const char *root;
        const mx_reg_ref *ref;
        const mx_registry_opts *opts;
        int plain;
        char **digests;
        int64_t *sizes;
        size_t n;
        uint64_t moved;
        mx_error *err;
        int r;
} side_job;

static void *side_main(void *arg)
{
        side_job *j = arg;
        mx_registry_client *c = NULL;
        mx_store *s = NULL;

        j->r = mx_store_open(&s, j->root, &j->err);
        if (j->r >= 0)
                j->r = mx_registry__client_for(&c, j->ref, j->opts, j->plain, 1, &j->err);
        if (j->r >= 0)
                j->r = mx_registry__fetch_to_store(c, s, j->ref->repo, j->digests, j->sizes, j->n,
                                                   j->opts, &j->moved, &j->err);
        mx_registry__client_free(c);
        mx_store_free(s);
        return NULL;
}

static int fetch_split(mx_registry_client *c, mx_store *s, const mx_reg_ref *ref, int plain,
                       char **need, int64_t *sizes, size_t n, const mx_registry_opts *opts,
                       uint64_t *moved, mx_error **err)
{
        cleanup_free char **a = calloc(n + 1, sizeof(char *));
        cleanup_free char **b = calloc(n + 1, sizeof(char *));
        cleanup_free int64_t *as = calloc(n + 1, sizeof(int64_t));
        cleanup_free int64_t *bs = calloc(n + 1, sizeof(int64_t));
        cleanup_free size_t *order = calloc(n + 1, sizeof(size_t));
        mx_registry_opts o = *opts;
        locked_progress lp = {PTHREAD_MUTEX_INITIALIZER, opts->progress, opts->progress_userdata};
        side_job job = {0};
        uint64_t wa = 0, wb = 0;
        size_t na = 0, nb = 0;
        pthread_t th;
        int r;

        if (!a || !b || !as || !bs || !order)
                return mx_error_oom(err);
        /* biggest first, each to the lighter side */
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        for (size_t i = 1; i < n; i++)
                for (size_t k = i; k > 0 && sizes[order[k]] > sizes[order[k - 1]]; k--) {
                        size_t t = order[k];

                        order[k] = order[k - 1];
                        order[k - 1] = t;
                }
        for (size_t i = 0; i < n; i++) {
                size_t x = order[i];

                if (wa <= wb) {
                        a[na] = need[x];
                        as[na++] = sizes[x];
                        wa += (uint64_t)sizes[x];
                } else {
                        b[nb] = need[x];
                        bs[nb++] = sizes[x];
                        wb += (uint64_t)sizes[x];
                }
        }
        if (o.progress) {
                o.progress = progress_locked;
                o.progress_userdata = &lp;
        }
        job = (side_job){mx_store_root(s), ref, &o, plain, b, bs, nb, 0, NULL, 0};
        if (pthread_create(&th, NULL, side_main, &job) != 0)
                return mx_registry__fetch_to_store(c, s, ref->repo, need, sizes, n, opts, moved,
                                                   err);
        r = mx_registry__fetch_to_store(c, s, ref->repo, a, as, na, &o, moved, err);
        pthread_join(th, NULL);
        *moved += job.moved;
        if (r >= 0 && job.r < 0) {
                mx_error_move(err, &job.err);
                r = job.r;
        }
        mx_error_free(job.err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nb; i++) {
                int h = mx_store_blob_has(s, b[i], err);

                if (h < 0)
                        return h;
                if (h == 0)
                        return mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                            "blob '%s' vanished from the store after download",
                                            b[i]);
        }
        return 0;
}

/* Resolve ref to an image manifest: an index is narrowed to the platform. */
int mx_registry__resolve_image(mx_registry_client *c, const mx_reg_ref *ref,
                               const mx_registry_opts *opts, char **top_digest_out, char **data_out,
                               size_t *len_out, char **mt_out, char **digest_out, mx_error **err)
{
        cleanup_free char *data = NULL;
        cleanup_free char *mt = NULL;
        cleanup_free char *digest = NULL;
        cleanup_free char *top = NULL;
        size_t len = 0;
        int r;

        r = mx_registry__manifest_get(c, ref->repo, mx_registry__ref_reference(ref), &data, &len,
                                      &mt, &digest, err);
        if (r < 0)
                return r;
        top = strdup(digest);
        if (!top)
                return mx_error_oom(err);
        if (mx_media_type_is_index(mt) || mx_content_sniff(data, len, mt) == MX_CONTENT_INDEX) {
                mx_index *idx = NULL;
                mx_platform *want = NULL;
                const mx_descriptor *d = NULL;

                r = mx_index_parse(&idx, data, len, mt, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_REGISTRY, "read index '%s'", top);
                if (opts->platform) {
                        r = mx_platform_parse(&want, opts->platform, err);
                        if (r < 0) {
                                mx_index_free(idx);
                                return mx_error_wrap(err, MX_D_REGISTRY, "platform '%s'",
                                                     opts->platform);
                        }
                }
                r = mx_index_select(idx, want, &d, err);
                mx_platform_free(want);
                if (r < 0) {
                        mx_index_free(idx);
                        return mx_error_wrap(err, MX_D_REGISTRY, "choose a platform from '%s'",
                                             top);
                }
                {
                        cleanup_free char *child = strdup(d->digest);

                        mx_index_free(idx);
                        if (!child)
                                return mx_error_oom(err);
                        free(data);
                        free(mt);
                        free(digest);
                        data = mt = digest = NULL;
                        r = mx_registry__manifest_get(c, ref->repo, child, &data, &len, &mt,
                                                      &digest, err);
                        if (r < 0)
                                return r;
                }
        }
        if (mx_content_sniff(data, len, mt) == MX_CONTENT_SCHEMA1)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_REGISTRY, 0,
                                    "'%s' is a Docker schema 1 image, which is not supported",
                                    ref->repo);
        *top_digest_out = TAKE_PTR(top);
        *data_out = TAKE_PTR(data);
        *len_out = len;
        *mt_out = TAKE_PTR(mt);
        *digest_out = TAKE_PTR(digest);
        return 0;
}

static void record_clear(mx_image_record *rec)
{
        for (size_t i = 0; i < rec->n_layers; i++) {
                free(rec->layers[i].diff_id);
                free(rec->layers[i].digest);
                free(rec->layers[i].media_type);
        }
        free(rec->layers);
        free(rec->id);
        free(rec->manifest_digest);
        free(rec->manifest_media_type);
        free(rec->created);
        free(rec->os);
        free(rec->architecture);
        free(rec->variant);
}

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

static int pull_impl(mx_store *s, const char *ref_str, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        cleanup_free char *top = NULL;
        cleanup_free char *data = NULL;
        cleanup_free char *mt = NULL;
        cleanup_free char *mdigest = NULL;
        cleanup_free char *cfg_data = NULL;
        cleanup_strv char **need = NULL;
        cleanup_free int64_t *need_sizes = NULL;
        mx_manifest *m = NULL;
        mx_image_config *cfg = NULL;
        mx_image_record rec = {0};
        mx_registry_result *res = NULL;
        size_t len = 0, cfg_len = 0, n_need = 0;
        int plain = 0, r;

        r = mx_registry__ref_parse(&ref, ref_str, NULL, &plain, err);
        if (r < 0)
                return r;
        res = calloc(1, sizeof(*res));
        if (!res) {
                r = mx_error_oom(err);
                goto out;
        }
        if (!ref.tag && !ref.digest) {
                ref.tag = strdup("latest");
                if (!ref.tag) {
                        r = mx_error_oom(err);
                        goto out;
                }
        }
        res->reference = mx_registry__ref_format(&ref);
        r = mx_registry__client_for(&c, &ref, opts, plain, 1, err);
        if (r < 0)
                goto out;
        r = mx_registry__resolve_image(c, &ref, opts, &top, &data, &len, &mt, &mdigest, err);
        if (r < 0)
                goto out;
        r = mx_manifest_parse(&m, data, len, mt, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "read manifest '%s'", mdigest);
                goto out;
        }
        if (!mx_manifest_is_image(m)) {
                r = mx_error_set(err, MX_EUNSUPPORTED, MX_D_REGISTRY, 0,
                                 "'%s' is an artifact (config type '%s'), not an image",
                                 res->reference, m->config.media_type);
                goto out;
        }
        need_sizes = calloc(m->n_layers + 1, sizeof(int64_t));
        if (!need_sizes) {
                r = mx_error_oom(err);
                goto out;
        }
        res->image_size = (uint64_t)m->config.size;
        for (size_t i = 0; i <= m->n_layers; i++) {
                const mx_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];

                if (i > 0)
                        res->image_size += (uint64_t)d->size;
                if (mx_strv_contains(need, d->digest))
                        continue;
                r = mx_store_blob_has(s, d->digest, err);
                if (r < 0)
                        goto out;
                if (r == 1) {
                        res->blobs_skipped++;
                        mx_registry__progress(opts, MX_PROGRESS_SKIPPED, "pull", d->digest,
                                              (uint64_t)d->size, (uint64_t)d->size);
                        continue;
                }
                if (mx_strv_push(&need, d->digest) < 0) {
                        r = mx_error_oom(err);
                        goto out;
                }
                need_sizes[n_need++] = d->size;
        }
        {
                uint64_t total = 0;

                for (size_t i = 0; i < n_need; i++)
                        total += need_sizes[i] > 0 ? (uint64_t)need_sizes[i] : 0;
                if (n_need >= 2 && total >= SPLIT_MIN_BYTES && sysconf(_SC_NPROCESSORS_ONLN) > 1)
                        r = fetch_split(c, s, &ref, plain, need, need_sizes, n_need, opts,
                                        &res->bytes_moved, err);
                else
                        r = mx_registry__fetch_to_store(c, s, ref.repo, need, need_sizes, n_need,
                                                        opts, &res->bytes_moved, err);
        }
        if (r < 0)
                goto out;
        res->blobs_moved = (unsigned)n_need;
        r = mx_store_blob_put(s, data, len, mdigest, NULL, err);
        if (r < 0)
                goto out;
        r = mx_store_blob_read(s, m->config.digest, MX_CONFIG_MAX_BYTES, &cfg_data, &cfg_len, err);
        if (r < 0)
                goto out;
        r = mx_image_config_parse(&cfg, cfg_data, cfg_len, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "read config '%s'", m->config.digest);
                goto out;
        }
        if (cfg->n_diff_ids != m->n_layers) {
                r = mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                 "image '%s' has %zu layers but its config lists %zu diff IDs",
                                 res->reference, m->n_layers, cfg->n_diff_ids);
                goto out;
        }
        rec.id = strdup(m->config.digest);
        rec.manifest_digest = strdup(mdigest);
        rec.manifest_media_type = strdup(m->media_type);
        rec.config_size = m->config.size;
        rec.size = (int64_t)res->image_size;
        rec.created = dup_or_null(cfg->created);
        rec.os = dup_or_null(cfg->os);
        rec.architecture = dup_or_null(cfg->architecture);
        rec.variant = dup_or_null(cfg->variant);
        rec.layers = calloc(m->n_layers ? m->n_layers : 1, sizeof(*rec.layers));
        if (!rec.id || !rec.manifest_digest || !rec.manifest_media_type || !rec.layers) {
                r = mx_error_oom(err);
                goto out;
        }
        rec.n_layers = m->n_layers;
        for (size_t i = 0; i < m->n_layers; i++) {
                rec.layers[i].diff_id = strdup(cfg->diff_ids[i]);
                rec.layers[i].digest = strdup(m->layers[i].digest);
                rec.layers[i].media_type = strdup(m->layers[i].media_type);
                rec.layers[i].size = m->layers[i].size;
                rec.layers[i].uncompressed_size = -1;
                if (!rec.layers[i].diff_id || !rec.layers[i].digest || !rec.layers[i].media_type) {
                        r = mx_error_oom(err);
                        goto out;
                }
        }
        {
                cleanup_free char *tagged = NULL;
                const char *refs[2] = {NULL, NULL};

                if (ref.tag) {
                        mx_reg_ref t = ref;

                        t.digest = NULL;
                        tagged = mx_registry__ref_format(&t);
                        if (!tagged) {
                                r = mx_error_oom(err);
                                goto out;
                        }
                        refs[0] = tagged;
                }
                r = mx_store_image_add(s, &rec, refs, err);
                if (r < 0)
                        goto out;
        }
        mx_fault_point("registry-pull-committed");
        if (opts->unpack) {
                r = mx_images_unpack(s, rec.id, opts->progress, opts->progress_userdata, err);
                if (r < 0)
                        goto out;
        }
        res->digest = TAKE_PTR(top);
        res->manifest_digest = TAKE_PTR(mdigest);
        res->image_id = strdup(rec.id);
        if (!res->image_id) {
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
        mx_manifest_free(m);
        mx_image_config_free(cfg);
        record_clear(&rec);
        mx_registry__ref_clear(&ref);
        return r;
}

int mx_registry_pull(mx_store *s, const char *ref, const mx_registry_opts *opts,
                     mx_registry_result **out, mx_error **err)
{
        static const mx_registry_opts dflt = MX_REGISTRY_OPTS_INIT;
        int r;

        if (!s || !ref)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                    "pull: no store or reference");
        r = pull_impl(s, ref, opts ? opts : &dflt, out, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "pull '%s'", ref);
                mx_registry__lift_http(err);
                return r;
        }
        return 0;
}
