/* SPDX-License-Identifier: Apache-2.0 */
/* Distribution API operations: manifests, blobs, uploads, tags, catalog. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>
#include <myrmex/log.h>

#include "digest.h"
#include "error-internal.h"
#include "json.h"
#include "parse.h"
#include "registry-internal.h"
#include "strv.h"

#define MAX_LIST_PAGES 10000
#define MAX_LIST_BODY  (8 * 1024 * 1024)

const char mx_registry__accept[] = "Accept: " MX_MT_OCI_INDEX ", " MX_MT_OCI_MANIFEST
                                   ", " MX_MT_DOCKER_MANIFEST_LIST ", " MX_MT_DOCKER_MANIFEST;

static inline void mx_registry__req_clearp(mx_reg_req *r)
{
        mx_registry__req_clear(r);
}

char *mx_registry__scope(const char *repo, int push)
{
        char *s = NULL;

        if (asprintf(&s, "repository:%s:%s", repo, push ? "pull,push" : "pull") < 0)
                return NULL;
        return s;
}

static int req_init(mx_reg_req *q, const char *method, const char *scope, mx_error **err,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int req_init(mx_reg_req *q, const char *method, const char *scope, mx_error **err,
                    const char *fmt, ...)
{
        va_list ap;
        int r;

        memset(q, 0, sizeof(*q));
        q->method = method;
        va_start(ap, fmt);
        r = vasprintf(&q->url, fmt, ap);
        va_end(ap);
        if (r < 0) {
                q->url = NULL;
                return mx_error_oom(err);
        }
        if (scope) {
                q->scope = strdup(scope);
                if (!q->scope)
                        return mx_error_oom(err);
        }
        return 0;
}

static int add_header(mx_reg_req *q, const char *h, mx_error **err)
{
        if (mx_strv_push(&q->headers, h) < 0)
                return mx_error_oom(err);
        return 0;
}

/* Strip parameters from a Content-Type. */
static char *media_type_of(const char *ct)
{
        size_t n;

        if (!ct)
                return NULL;
        n = strcspn(ct, "; ");
        return strndup(ct, n);
}

int mx_registry__manifest_get(mx_registry_client *c, const char *repo, const char *reference,
                              char **data_out, size_t *len_out, char **media_type_out,
                              char **digest_out, mx_error **err)
{
        cleanup(mx_registry__req_clearp) mx_reg_req q = {0};
        cleanup_free char *scope = mx_registry__scope(repo, 0);
        cleanup_free char *mt = NULL;
        char digest[MX_DIGEST_MAX] = "";
        int head = data_out == NULL;
        int r;

        if (!scope)
                return mx_error_oom(err);
        r = req_init(&q, head ? "HEAD" : "GET", scope, err, "/v2/%s/manifests/%s", repo, reference);
        if (r < 0)
                return r;
        r = add_header(&q, mx_registry__accept, err);
        if (r < 0)
                return r;
        q.resp_cap = MX_MANIFEST_MAX_BYTES;
        r = mx_registry__run1(c, &q, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "get manifest '%s/%s:%s'",
                                     mx_registry__client_host(c), repo, reference);
        if (q.status != 200) {
                cleanup_free char *what = NULL;

                if (asprintf(&what, "get manifest '%s/%s%s%s'", mx_registry__client_host(c), repo,
                             strchr(reference, ':') ? "@" : ":", reference) < 0)
                        return mx_error_oom(err);
                if (q.status == 404 && !head) {
                        char code[64];
                        const char *cd =
                                mx_registry__error_code(q.resp.ptr, q.resp.len, code, sizeof(code));

                        /* 2.8.2 answers MANIFEST_UNKNOWN also for a repository that does not
                         * exist: ask the tag list to tell the two apart */
                        if (cd && strcmp(cd, "MANIFEST_UNKNOWN") == 0) {
                                cleanup_strv char **tags = NULL;
                                mx_error *terr = NULL;

                                if (mx_registry__tags(c, repo, &tags, &terr) == MX_ENOTFOUND) {
                                        mx_error_free(terr);
                                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                                         "%s: repository '%s' not found on "
                                                         "'%s' (NAME_UNKNOWN)",
                                                         what, repo, mx_registry__client_host(c));
                                        mx_error_set_http(err, 404);
                                        return r;
                                }
                                mx_error_free(terr);
                                r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                                 "%s: %s '%s' not found in repository '%s' "
                                                 "(MANIFEST_UNKNOWN)",
                                                 what, strchr(reference, ':') ? "digest" : "tag",
                                                 reference, repo);
                                mx_error_set_http(err, 404);
                                return r;
                        }
                }
                return mx_registry__status_error(&q, what, err);
        }
        if (head) {
                if (!q.docker_digest || !mx_digest_is_valid(q.docker_digest)) {
                        if (strchr(reference, ':') && mx_digest_is_valid(reference))
                                snprintf(digest, sizeof(digest), "%s", reference);
                        else
                                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                                    "registry sent no digest for '%s:%s'", repo,
                                                    reference);
                } else {
                        snprintf(digest, sizeof(digest), "%s", q.docker_digest);
                }
        } else {
                mx_digest_algo algo = MX_DIGEST_SHA256;
                const char *want = NULL;

                if (mx_digest_is_valid(reference))
                        want = reference;
                else if (q.docker_digest && mx_digest_is_valid(q.docker_digest))
                        want = q.docker_digest;
                if (want)
                        (void)mx_digest_algo_of(want, &algo);
                mx_digest_data(algo, q.resp.ptr, q.resp.len, digest);
                if (want && strcmp(want, digest) != 0)
                        return mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                            "manifest '%s:%s' does not match its digest: "
                                            "expected '%s', got '%s'",
                                            repo, reference, want, digest);
                if (algo != MX_DIGEST_SHA256)
                        mx_digest_data(MX_DIGEST_SHA256, q.resp.ptr, q.resp.len, digest);
        }
        mt = media_type_of(q.content_type);
        if (!head && (!mt || !mx_media_type_is_valid(mt) ||
                      (!mx_media_type_is_manifest(mt) && !mx_media_type_is_index(mt)))) {
                /* some registries say application/json: trust the document's own type */
                mx_content_kind k = mx_content_sniff(q.resp.ptr, q.resp.len, NULL);

                free(mt);
                mt = strdup(k == MX_CONTENT_INDEX ? MX_MT_OCI_INDEX : MX_MT_OCI_MANIFEST);
                {
                        cleanup_json json_t *j = NULL;

                        if (mx_json_parse(&j, q.resp.ptr, q.resp.len, MX_MANIFEST_MAX_BYTES, 1,
                                          "manifest", NULL) == 0 &&
                            mx_json_str(j, "mediaType")) {
                                free(mt);
                                mt = strdup(mx_json_str(j, "mediaType"));
                        }
                }
                if (!mt)
                        return mx_error_oom(err);
        }
        if (digest_out) {
                *digest_out = strdup(digest);
                if (!*digest_out)
                        return mx_error_oom(err);
        }
        if (media_type_out)
                *media_type_out = TAKE_PTR(mt);
        if (data_out) {
                *len_out = q.resp.len;
                *data_out = mx_buf_detach(&q.resp);
        }
        return 0;
}

int mx_registry__manifest_put(mx_registry_client *c, const char *repo, const char *reference,
                              const void *data, size_t len, const char *media_type,
                              char **digest_out, mx_error **err)
{
        cleanup(mx_registry__req_clearp) mx_reg_req q = {0};
        cleanup_free char *scope = mx_registry__scope(repo, 1);
        cleanup_free char *ct = NULL;
        char digest[MX_DIGEST_MAX];
        int r;

        if (!scope)
                return mx_error_oom(err);
        mx_digest_data(MX_DIGEST_SHA256, data, len, digest);
        r = req_init(&q, "PUT", scope, err, "/v2/%s/manifests/%s", repo, reference);
        if (r < 0)
                return r;
        if (asprintf(&ct, "Content-Type: %s", media_type) < 0)
                return mx_error_oom(err);
        r = add_header(&q, ct, err);
        if (r < 0)
                return r;
        q.body = data;
        q.body_len = len;
        r = mx_registry__run1(c, &q, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "put manifest '%s:%s'", repo, reference);
        if (q.status != 201 && q.status != 200) {
                cleanup_free char *what = NULL;

                if (asprintf(&what, "put manifest '%s/%s:%s'", mx_registry__client_host(c), repo,
                             reference) < 0)
                        return mx_error_oom(err);
                return mx_registry__status_error(&q, what, err);
        }
        if (q.docker_digest && mx_digest_is_valid(q.docker_digest) &&
            strncmp(q.docker_digest, "sha256:", 7) == 0 && strcmp(q.docker_digest, digest) != 0)
                return mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                    "registry stored manifest '%s:%s' as '%s', expected '%s'", repo,
                                    reference, q.docker_digest, digest);
        if (digest_out) {
                *digest_out = strdup(digest);
                if (!*digest_out)
                        return mx_error_oom(err);
        }
        return 0;
}

int mx_registry__manifest_delete(mx_registry_client *c, const char *repo, const char *digest,
                                 mx_error **err)
{
        cleanup(mx_registry__req_clearp) mx_reg_req q = {0};
        cleanup_free char *scope = NULL;
        int r;

        if (asprintf(&scope, "repository:%s:delete", repo) < 0)
                return mx_error_oom(err);
        r = req_init(&q, "DELETE", scope, err, "/v2/%s/manifests/%s", repo, digest);
        if (r < 0)
                return r;
        r = mx_registry__run1(c, &q, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "delete manifest '%s@%s'", repo, digest);
        if (q.status != 202 && q.status != 200 && q.status != 204) {
                cleanup_free char *what = NULL;

                if (asprintf(&what, "delete manifest '%s/%s@%s'", mx_registry__client_host(c), repo,
                             digest) < 0)
                        return mx_error_oom(err);
                return mx_registry__status_error(&q, what, err);
        }
        return 0;
}

int mx_registry__blobs_exist(mx_registry_client *c, const char *repo, char *const *digests,
                             size_t n, int *present, size_t parallel, mx_error **err)
{
        cleanup_free mx_reg_req *qs = NULL;
        cleanup_free mx_reg_req **ptrs = NULL;
        cleanup_free char *scope = mx_registry__scope(repo, 1);
        int r = 0;

        if (n == 0)
                return 0;
        qs = calloc(n, sizeof(*qs));
        ptrs = calloc(n, sizeof(*ptrs));
        if (!qs || !ptrs || !scope)
                return mx_error_oom(err);
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = req_init(&qs[i], "HEAD", scope, err, "/v2/%s/blobs/%s", repo, digests[i]);
                ptrs[i] = &qs[i];
        }
        if (r >= 0)
                r = mx_registry__run(c, ptrs, n, parallel, err);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (qs[i].status == 200)
                        present[i] = 1;
                else if (qs[i].status == 404)
                        present[i] = 0;
                else {
                        cleanup_free char *what = NULL;

                        if (asprintf(&what, "check blob '%s' in '%s'", digests[i], repo) < 0)
                                r = mx_error_oom(err);
                        else
                                r = mx_registry__status_error(&qs[i], what, err);
                }
        }
        for (size_t i = 0; i < n; i++)
                mx_registry__req_clear(&qs[i]);
        return r;
}

/* Append "digest=..." to an upload location (which may already have a query). */
static char *with_query(const char *location, const char *param)
{
        char *s = NULL;

        if (asprintf(&s, "%s%c%s", location, strchr(location, '?') ? '&' : '?', param) < 0)
                return NULL;
        return s;
}

/* One upload's state across the stages. */
typedef struct up_state {
        mx_reg_upload *up;
        char *location;
        uint64_t offset;
        int done;
        int attempts;
        mx_reg_source src;
} up_state;

static int start_sessions(mx_registry_client *c, const char *repo, const char *scope, up_state *st,
                          size_t n, size_t parallel, mx_error **err)
{
        cleanup_free mx_reg_req *qs = calloc(n ? n : 1, sizeof(mx_reg_req));
        cleanup_free mx_reg_req **ptrs = calloc(n ? n : 1, sizeof(mx_reg_req *));
        size_t m = 0;
        int r = 0;

        if (!qs || !ptrs)
                return mx_error_oom(err);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (st[i].done || st[i].location)
                        continue;
                if (st[i].up->mount_from && st[i].attempts == 0)
                        r = req_init(&qs[m], "POST", scope, err,
                                     "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo,
                                     st[i].up->digest, st[i].up->mount_from);
                else
                        r = req_init(&qs[m], "POST", scope, err, "/v2/%s/blobs/uploads/", repo);
                if (r >= 0)
                        r = add_header(&qs[m], "Content-Length: 0", err);
                m++;
        }
        for (size_t k = 0; k < m; k++)
                ptrs[k] = &qs[k];
        if (r >= 0 && m > 0)
                r = mx_registry__run(c, ptrs, m, parallel, err);
        {
                size_t k = 0;

                for (size_t i = 0; i < n && r >= 0; i++) {
                        mx_reg_req *q;

                        if (st[i].done || st[i].location)
                                continue;
                        q = &qs[k++];
                        if (q->status == 201 && st[i].up->mount_from) {
                                st[i].done = 1;
                                st[i].up->mounted = 1;
                                continue;
                        }
                        if (q->status == 202 && st[i].up->fd < 0) {
                                /* nothing to send from: only a mount could do */
                                r = mx_error_set(err, MX_ENOTFOUND, MX_D_REGISTRY, 0,
                                                 "registry did not mount blob '%s' from '%s' "
                                                 "into '%s'",
                                                 st[i].up->digest,
                                                 st[i].up->mount_from ? st[i].up->mount_from
                                                                      : "(none)",
                                                 repo);
                                break;
                        }
                        if (q->status != 202 || !q->location) {
                                cleanup_free char *what = NULL;

                                if (asprintf(&what, "start upload of '%s' to '%s'",
                                             st[i].up->digest, repo) < 0)
                                        r = mx_error_oom(err);
                                else
                                        r = mx_registry__status_error(q, what, err);
                                break;
                        }
                        st[i].location = TAKE_PTR(q->location);
                        st[i].offset = 0;
                }
        }
        for (size_t k = 0; k < m; k++)
                mx_registry__req_clear(&qs[k]);
        return r;
}

int mx_registry__blobs_upload(mx_registry_client *c, const char *repo, mx_reg_upload *ups, size_t n,
                              uint64_t chunk_size, size_t parallel, mx_error **err)
{
        cleanup_free up_state *st = NULL;
        cleanup_free mx_reg_req *qs = NULL;
        cleanup_free mx_reg_req **ptrs = NULL;
        cleanup_free char *scope = NULL;
        int max_attempts = 4, r = 0;

        if (n == 0)
                return 0;
        st = calloc(n, sizeof(*st));
        qs = calloc(n, sizeof(*qs));
        ptrs = calloc(n, sizeof(*ptrs));
        if (!st || !qs || !ptrs)
                return mx_error_oom(err);
        {
                const char *from = NULL;

                for (size_t i = 0; i < n; i++)
                        if (ups[i].mount_from)
                                from = ups[i].mount_from;
                if (from)
                        r = asprintf(&scope, "repository:%s:pull,push repository:%s:pull", repo,
                                     from);
                else
                        r = asprintf(&scope, "repository:%s:pull,push", repo);
                if (r < 0)
                        return mx_error_oom(err);
                r = 0;
        }
        for (size_t i = 0; i < n; i++)
                st[i].up = &ups[i];

        for (;;) {
                size_t m = 0;

                r = start_sessions(c, repo, scope, st, n, parallel, err);
                if (r < 0)
                        break;
                /* one request per pending upload: the next chunk, or the whole blob */
                for (size_t i = 0; i < n && r >= 0; i++) {
                        mx_reg_req *q = &qs[m];
                        uint64_t len;
                        int final;

                        if (st[i].done)
                                continue;
                        len = st[i].up->size - st[i].offset;
                        if (chunk_size && len > chunk_size)
                                len = chunk_size;
                        final = !chunk_size || st[i].offset + len == st[i].up->size;
                        memset(q, 0, sizeof(*q));
                        q->method = final && !chunk_size ? "PUT" : "PATCH";
                        if (chunk_size && final && len == 0)
                                q->method = "PUT";
                        if (strcmp(q->method, "PUT") == 0) {
                                cleanup_free char *dp = NULL;

                                if (asprintf(&dp, "digest=%s", st[i].up->digest) < 0)
                                        return mx_error_oom(err);
                                q->url = with_query(st[i].location, dp);
                        } else {
                                q->url = strdup(st[i].location);
                        }
                        q->scope = strdup(scope);
                        if (!q->url || !q->scope)
                                return mx_error_oom(err);
                        if (add_header(q, "Content-Type: application/octet-stream", err) < 0)
                                return MX_ENOMEM;
                        if (strcmp(q->method, "PATCH") == 0) {
                                char cr[96];

                                snprintf(cr, sizeof(cr), "Content-Range: %llu-%llu",
                                         (unsigned long long)st[i].offset,
                                         (unsigned long long)(st[i].offset + len - 1));
                                if (add_header(q, cr, err) < 0)
                                        return MX_ENOMEM;
                        }
                        st[i].src.fd = st[i].up->fd;
                        st[i].src.off = st[i].offset;
                        st[i].src.len = len;
                        st[i].src.moved = &st[i].up->moved;
                        if (len > 0)
                                q->source = &st[i].src;
                        /* a retried PUT or PATCH cannot continue the same session on every
                         * registry: failures start a new session below */
                        q->no_retry = 1;
                        ptrs[m++] = q;
                }
                if (m == 0)
                        break;
                r = mx_registry__run_all(c, ptrs, m, parallel, err);
                if (r < 0)
                        break;
                {
                        size_t k = 0;

                        for (size_t i = 0; i < n && r >= 0; i++) {
                                mx_reg_req *q;
                                int put;

                                if (st[i].done)
                                        continue;
                                q = &qs[k++];
                                put = strcmp(q->method, "PUT") == 0;
                                if (!q->err && ((put && q->status == 201) ||
                                                (!put && q->status == 202 && q->location))) {
                                        if (put) {
                                                st[i].done = 1;
                                        } else {
                                                st[i].offset += st[i].src.len;
                                                free(st[i].location);
                                                st[i].location = TAKE_PTR(q->location);
                                        }
                                        continue;
                                }
                                /* a dropped connection or a server error: a new session */
                                if ((q->err && q->err->code == MX_ENET) ||
                                    (!q->err && (q->status >= 500 || q->status == 429))) {
                                        if (++st[i].attempts < max_attempts) {
                                                mx_log(MX_LOG_DEBUG,
                                                       "upload of %s failed, starting over",
                                                       st[i].up->digest);
                                                free(st[i].location);
                                                st[i].location = NULL;
                                                st[i].offset = 0;
                                                continue;
                                        }
                                }
                                if (q->err) {
                                        mx_error_move(err, &q->err);
                                        r = (*err) ? (*err)->code : MX_ENET;
                                        r = mx_error_wrap(err, MX_D_REGISTRY,
                                                          "upload blob '%s' to '%s'",
                                                          st[i].up->digest, repo);
                                } else {
                                        cleanup_free char *what = NULL;

                                        if (asprintf(&what, "upload blob '%s' to '%s'",
                                                     st[i].up->digest, repo) < 0)
                                                r = mx_error_oom(err);
                                        else
                                                r = mx_registry__status_error(q, what, err);
                                }
                        }
                }
                for (size_t k = 0; k < m; k++)
                        mx_registry__req_clear(&qs[k]);
                if (r < 0)
                        break;
        }
        for (size_t k = 0; k < n; k++)
                mx_registry__req_clear(&qs[k]);
        for (size_t i = 0; i < n; i++)
                free(st[i].location);
        return r;
}

static int list_paged(mx_registry_client *c, const char *first_url, const char *scope,
                      const char *key, char ***out, mx_error **err)
{
        cleanup_strv char **list = NULL;
        cleanup_free char *url = NULL;
        const char *page = getenv("MYRMEX_REGISTRY_PAGE_SIZE");
        uint64_t n = 0;
        int pages = 0, r;

        /* the registry picks the page size unless asked (tests use small pages to follow
         * Link headers) */
        if (page && mx_parse_u64(page, &n) == 0 && n > 0 && n <= 10000)
                r = asprintf(&url, "%s?n=%llu", first_url, (unsigned long long)n);
        else
                r = asprintf(&url, "%s", first_url);
        if (r < 0)
                return mx_error_oom(err);
        while (url && pages++ < MAX_LIST_PAGES) {
                cleanup(mx_registry__req_clearp) mx_reg_req q = {0};
                cleanup_json json_t *j = NULL;
                json_t *arr, *v;
                size_t i;

                r = req_init(&q, "GET", scope, err, "%s", url);
                if (r < 0)
                        return r;
                q.resp_cap = MAX_LIST_BODY;
                r = mx_registry__run1(c, &q, err);
                if (r < 0)
                        return r;
                if (q.status != 200) {
                        cleanup_free char *what = NULL;

                        if (asprintf(&what, "list %s of '%s'", key, url) < 0)
                                return mx_error_oom(err);
                        return mx_registry__status_error(&q, what, err);
                }
                r = mx_json_parse(&j, q.resp.ptr, q.resp.len, MAX_LIST_BODY, 1, "list", err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_REGISTRY, "list %s", key);
                arr = json_object_get(j, key);
                json_array_foreach(arr, i, v)
                {
                        if (json_is_string(v) && mx_strv_push(&list, json_string_value(v)) < 0)
                                return mx_error_oom(err);
                }
                free(url);
                url = q.link ? mx_registry__link_next(q.link) : NULL;
        }
        if (!list) {
                list = calloc(1, sizeof(char *));
                if (!list)
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(list);
        return 0;
}

int mx_registry__tags(mx_registry_client *c, const char *repo, char ***out, mx_error **err)
{
        cleanup_free char *scope = mx_registry__scope(repo, 0);
        cleanup_free char *url = NULL;
        int r;

        if (!scope || asprintf(&url, "/v2/%s/tags/list", repo) < 0)
                return mx_error_oom(err);
        r = list_paged(c, url, scope, "tags", out, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "list tags of '%s/%s'",
                                     mx_registry__client_host(c), repo);
        return 0;
}

int mx_registry__catalog(mx_registry_client *c, char ***out, mx_error **err)
{
        int r = list_paged(c, "/v2/_catalog", "registry:catalog:*", "repositories", out, err);

        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "list repositories of '%s'",
                                     mx_registry__client_host(c));
        return 0;
}
