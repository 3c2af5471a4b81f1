/* SPDX-License-Identifier: Apache-2.0 */
/* Public entry points over the client: tags, catalog, manifests, delete, tag, login. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>
#include <myrmex/registry.h>

#include "digest.h"
#include "error-internal.h"
#include "json.h"
#include "registry-internal.h"
#include "registry-ops.h"
#include "strv.h"

static const mx_registry_opts default_opts = MX_REGISTRY_OPTS_INIT;

static int open_ref(mx_registry_client **c, mx_reg_ref *ref, const char *s,
                    const mx_registry_opts *opts, int use_mirrors, mx_error **err)
{
        int plain = 0, r;

        r = mx_registry__ref_parse(ref, s, NULL, &plain, err);
        if (r < 0)
                return r;
        r = mx_registry__client_for(c, ref, opts, plain, use_mirrors, err);
        if (r < 0)
                mx_registry__ref_clear(ref);
        return r;
}

int mx_registry_list_tags(const char *repo, const mx_registry_opts *opts, char ***tags_out,
                          mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        int r;

        if (!repo || !tags_out)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "list tags: no repository");
        if (!opts)
                opts = &default_opts;
        r = open_ref(&c, &ref, repo, opts, 1, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "list tags of '%s'", repo);
        r = mx_registry__tags(c, ref.repo, tags_out, err);
        mx_registry__ref_clear(&ref);
        return r;
}

int mx_registry_catalog(const char *registry, const mx_registry_opts *opts, char ***repos_out,
                        mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        int plain = 0, r;

        if (!registry || !repos_out)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "catalog: no registry");
        if (!opts)
                opts = &default_opts;
        /* any repository name places us on the registry */
        r = mx_registry__ref_parse(&ref, "x", registry, &plain, err);
        if (r < 0)
                return r;
        r = mx_registry__client_for(&c, &ref, opts, plain, 0, err);
        if (r >= 0)
                r = mx_registry__catalog(c, repos_out, err);
        mx_registry__ref_clear(&ref);
        return r;
}

int mx_registry_get_manifest(const char *ref_s, const mx_registry_opts *opts, char **data_out,
                             size_t *len_out, char **media_type_out, char **digest_out,
                             mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        int r;

        if (!ref_s || !data_out || !len_out)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                    "get manifest: bad arguments");
        if (!opts)
                opts = &default_opts;
        r = open_ref(&c, &ref, ref_s, opts, 1, err);
        if (r < 0)
                return r;
        r = mx_registry__manifest_get(c, ref.repo, mx_registry__ref_reference(&ref), data_out,
                                      len_out, media_type_out, digest_out, err);
        mx_registry__ref_clear(&ref);
        return r;
}

/* GET a small blob into memory, verified. */
static int blob_get_small(mx_registry_client *c, const char *repo, const char *digest, size_t max,
                          char **out, size_t *len_out, mx_error **err)
{
        mx_reg_req q = {0};
        char got[MX_DIGEST_MAX];
        int r;

        q.method = "GET";
        q.scope = mx_registry__scope(repo, 0);
        if (asprintf(&q.url, "/v2/%s/blobs/%s", repo, digest) < 0)
                q.url = NULL;
        q.resp_cap = max;
        if (!q.scope || !q.url) {
                mx_registry__req_clear(&q);
                return mx_error_oom(err);
        }
        r = mx_registry__run1(c, &q, err);
        if (r >= 0 && q.status != 200)
                r = mx_registry__status_error(&q, "get config blob", err);
        if (r >= 0) {
                mx_digest_data(MX_DIGEST_SHA256, q.resp.ptr, q.resp.len, got);
                if (strcmp(got, digest) != 0)
                        r = mx_error_set(err, MX_EDIGEST, MX_D_REGISTRY, 0,
                                         "blob '%s' does not match its digest (got '%s')", digest,
                                         got);
        }
        if (r >= 0) {
                *len_out = q.resp.len;
                *out = mx_buf_detach(&q.resp);
        }
        mx_registry__req_clear(&q);
        return r;
}

int mx_registry_inspect(const char *ref_s, const mx_registry_opts *opts, char **json_out,
                        mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        cleanup_free char *top = NULL;
        cleanup_free char *data = NULL;
        cleanup_free char *mt = NULL;
        cleanup_free char *digest = NULL;
        cleanup_free char *cfg = NULL;
        cleanup_free char *name = NULL;
        cleanup_json json_t *j = NULL;
        json_t *mj = NULL, *cj = NULL;
        mx_manifest *m = NULL;
        size_t len = 0, cfg_len = 0;
        char *text;
        int r;

        if (!ref_s || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "inspect: no reference");
        if (!opts)
                opts = &default_opts;
        r = open_ref(&c, &ref, ref_s, opts, 1, err);
        if (r < 0)
                return r;
        name = mx_registry__ref_format(&ref);
        if (opts->all_platforms)
                r = mx_registry__manifest_get(c, ref.repo, mx_registry__ref_reference(&ref), &data,
                                              &len, &mt, &digest, err);
        else
                r = mx_registry__resolve_image(c, &ref, opts, &top, &data, &len, &mt, &digest, err);
        if (r < 0)
                goto out;
        if (mx_media_type_is_manifest(mt) && mx_manifest_parse(&m, data, len, mt, NULL) == 0 &&
            mx_manifest_is_image(m)) {
                r = blob_get_small(c, ref.repo, m->config.digest, MX_CONFIG_MAX_BYTES, &cfg,
                                   &cfg_len, err);
                if (r < 0)
                        goto out;
        }
        r = mx_json_parse(&mj, data, len, MX_MANIFEST_MAX_BYTES, 1, "manifest", err);
        if (r < 0)
                goto out;
        if (cfg) {
                r = mx_json_parse(&cj, cfg, cfg_len, MX_CONFIG_MAX_BYTES, 1, "config", err);
                if (r < 0) {
                        json_decref(mj);
                        goto out;
                }
        }
        j = json_pack("{s:s, s:s, s:s, s:o}", "Name", name ? name : ref_s, "Digest",
                      top ? top : digest, "MediaType", mt, "Manifest", mj);
        if (j && top && strcmp(top, digest) != 0)
                json_object_set_new(j, "ManifestDigest", json_string(digest));
        if (j && cj)
                json_object_set_new(j, "Config", cj);
        else if (cj)
                json_decref(cj);
        if (!j) {
                r = mx_error_oom(err);
                goto out;
        }
        text = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        if (!text) {
                r = mx_error_oom(err);
                goto out;
        }
        *json_out = text;
        r = 0;
out:
        mx_manifest_free(m);
        mx_registry__ref_clear(&ref);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "inspect '%s'", ref_s);
        return 0;
}

int mx_registry_delete(const char *ref_s, const mx_registry_opts *opts, char **digest_out,
                       mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0};
        cleanup_free char *digest = NULL;
        int r;

        if (!ref_s)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "delete: no reference");
        if (!opts)
                opts = &default_opts;
        r = open_ref(&c, &ref, ref_s, opts, 0, err);
        if (r < 0)
                return r;
        if (ref.digest) {
                digest = strdup(ref.digest);
                if (!digest)
                        r = mx_error_oom(err);
        } else {
                /* registries delete manifests by digest: resolve the tag first */
                cleanup_free char *data = NULL;
                size_t len = 0;

                r = mx_registry__manifest_get(c, ref.repo, mx_registry__ref_reference(&ref), &data,
                                              &len, NULL, &digest, err);
        }
        if (r >= 0)
                r = mx_registry__manifest_delete(c, ref.repo, digest, err);
        mx_registry__ref_clear(&ref);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "delete '%s'", ref_s);
        if (digest_out)
                *digest_out = TAKE_PTR(digest);
        return 0;
}

int mx_registry_tag(const char *src, const char *target, const mx_registry_opts *opts,
                    char **digest_out, mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        mx_reg_ref ref = {0}, tref = {0};
        cleanup_free char *data = NULL;
        cleanup_free char *mt = NULL;
        cleanup_free char *digest = NULL;
        size_t len = 0;
        int r;

        if (!src || !target)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "tag: no source or target");
        if (!opts)
                opts = &default_opts;
        r = open_ref(&c, &ref, src, opts, 0, err);
        if (r < 0)
                return r;
        /* a bare tag, or a reference on the same registry */
        if (!strchr(target, '/') && !strchr(target, ':') && !strchr(target, '@')) {
                tref.host = strdup(ref.host);
                tref.repo = strdup(ref.repo);
                tref.tag = strdup(target);
                if (!tref.host || !tref.repo || !tref.tag)
                        r = mx_error_oom(err);
        } else {
                r = mx_registry__ref_parse(&tref, target, NULL, NULL, err);
                if (r >= 0 && !strchr(target, '/') && strncmp(target, ":", 1) != 0) {
                        /* "name:tag" without a host means this registry */
                        free(tref.host);
                        tref.host = strdup(ref.host);
                        if (strncmp(tref.repo, "library/", 8) == 0 &&
                            strncmp(target, "library/", 8) != 0)
                                memmove(tref.repo, tref.repo + 8, strlen(tref.repo + 8) + 1);
                }
        }
        if (r >= 0 && strcmp(tref.host, ref.host) != 0)
                r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                 "tag target '%s' is on another registry than '%s': use copy",
                                 target, src);
        if (r >= 0 && !tref.tag)
                r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "tag target '%s' has no tag",
                                 target);
        if (r >= 0 && strcmp(tref.repo, ref.repo) != 0) {
                /* another repository of the same registry: mount the blobs, then the
                 * manifest (the registry's copy; nothing is pulled) */
                cleanup_free char *dst = mx_registry__ref_format(&tref);
                mx_registry_opts o = *opts;
                mx_registry_result *res = NULL;

                o.all_platforms = 1;
                if (!dst)
                        r = mx_error_oom(err);
                else
                        r = mx_registry_copy(src, dst, &o, &res, err);
                if (r >= 0) {
                        digest = strdup(res->digest);
                        if (!digest)
                                r = mx_error_oom(err);
                }
                mx_registry_result_free(res);
        } else {
                if (r >= 0)
                        r = mx_registry__manifest_get(c, ref.repo, mx_registry__ref_reference(&ref),
                                                      &data, &len, &mt, &digest, err);
                if (r >= 0)
                        r = mx_registry__manifest_put(c, tref.repo, tref.tag, data, len, mt, NULL,
                                                      err);
        }
        mx_registry__ref_clear(&ref);
        mx_registry__ref_clear(&tref);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "tag '%s' as '%s'", src, target);
        if (digest_out)
                *digest_out = TAKE_PTR(digest);
        return 0;
}

static int server_host(char **out, const char *server, int *plain, mx_error **err)
{
        mx_reg_ref ref = {0};
        int r;

        r = mx_registry__ref_parse(&ref, "x", server, plain, err);
        if (r < 0)
                return r;
        if (strcmp(ref.host, "index.docker.io") == 0 ||
            strcmp(ref.host, "registry-1.docker.io") == 0) {
                free(ref.host);
                ref.host = strdup("docker.io");
        }
        *out = TAKE_PTR(ref.host);
        mx_registry__ref_clear(&ref);
        return *out ? 0 : mx_error_oom(err);
}

int mx_registry_login(const char *server, const char *username, const char *password,
                      const mx_registry_opts *opts, mx_error **err)
{
        cleanup(mx_registry__client_freep) mx_registry_client *c = NULL;
        cleanup_free char *host = NULL;
        cleanup_free char *path = NULL;
        mx_reg_client_opts co = {0};
        mx_reg_req q = {0};
        int plain = 0, r;

        if (!server || !username || !password)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                    "login: server, username and password are required");
        if (!opts)
                opts = &default_opts;
        r = server_host(&host, server, &plain, err);
        if (r < 0)
                return r;
        co.username = username;
        co.password = password;
        co.cert_dir = opts->cert_dir;
        co.tls_verify = opts->tls_verify;
        co.plain_http = opts->plain_http || plain;
        co.max_retries = opts->max_retries;
        co.no_creds_lookup = 1;
        r = mx_registry__client_new(&c, host, &co, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "log in to '%s'", host);
        /* /v2/ with credentials: basic auth is checked there, a bearer realm issues a token
         * only for credentials it accepts */
        q.method = "GET";
        q.url = strdup("/v2/");
        if (!q.url)
                return mx_error_oom(err);
        r = mx_registry__run1(c, &q, err);
        if (r >= 0 && q.status != 200)
                r = mx_registry__status_error(&q, "check credentials", err);
        mx_registry__req_clear(&q);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "log in to '%s' as '%s'", host, username);
        path = mx_registry__docker_config_path();
        if (!path)
                return mx_error_oom(err);
        r = mx_registry__config_store_login(path, host, username, password, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "save login for '%s'", host);
        return 0;
}

int mx_registry_logout(const char *server, mx_error **err)
{
        cleanup_free char *host = NULL;
        cleanup_free char *path = NULL;
        int r;

        if (!server)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "logout: no server");
        r = server_host(&host, server, NULL, err);
        if (r < 0)
                return r;
        path = mx_registry__docker_config_path();
        if (!path)
                return mx_error_oom(err);
        r = mx_registry__config_store_login(path, host, NULL, NULL, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "log out of '%s'", host);
        return 0;
}
