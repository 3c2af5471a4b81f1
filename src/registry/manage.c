/* SPDX-License-Identifier: Apache-2.0 */
/* manage_container_registry: the seed's one-call face over the registry operations. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/registry.h>
#include <myrmex/store.h>

#include "error-internal.h"
#include "json.h"
#include "registry-internal.h"
#include "registry-ops.h"
#include "strv.h"

#define MAX_OPTIONS (64 * 1024)

static void store_freep(mx_store **s)
{
        mx_store_free(*s);
}

static int bool_opt(const json_t *o, const char *key, int dflt)
{
        json_t *v = json_object_get(o, key);

        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v))
                return json_integer_value(v) != 0;
        return dflt;
}

static int manage(const char *operation, const char *image_name, const char *registry_url,
                  const json_t *o, json_t *res, mx_error **err)
{
        mx_registry_opts opts = MX_REGISTRY_OPTS_INIT;
        cleanup(store_freep) mx_store *s = NULL;
        mx_reg_ref ref = {0};
        cleanup_free char *remote = NULL;
        json_t *tags = json_array();
        int plain = 0, r;

        if (!tags || json_object_set_new(res, "tags", tags) < 0)
                return mx_error_oom(err);
        opts.username = mx_json_str(o, "username");
        opts.password = mx_json_str(o, "password");
        opts.token = mx_json_str(o, "token");
        opts.platform = mx_json_str(o, "platform");
        opts.cert_dir = mx_json_str(o, "cert_dir");
        opts.auth_file = mx_json_str(o, "auth_file");
        opts.tls_verify = bool_opt(o, "tls_verify", 1);
        opts.unpack = bool_opt(o, "unpack", 1);
        opts.all_platforms = bool_opt(o, "all_platforms", 0);
        r = mx_registry__ref_parse(&ref, image_name, registry_url, &plain, err);
        if (r < 0)
                return r;
        opts.plain_http = plain;
        remote = mx_registry__ref_format(&ref);
        if (!remote) {
                mx_registry__ref_clear(&ref);
                return mx_error_oom(err);
        }
        json_object_set_new(res, "registry_url",
                            json_string(registry_url && *registry_url ? registry_url : ref.host));

        if (strcmp(operation, "pull") == 0 || strcmp(operation, "push") == 0) {
                mx_registry_result *out = NULL;
                const char *root = mx_json_str(o, "root");

                r = mx_store_open(&s, root, err);
                if (r < 0)
                        goto done;
                if (strcmp(operation, "pull") == 0) {
                        r = mx_registry_pull(s, remote, &opts, &out, err);
                } else {
                        /* the local image by the given name, else by its remote name */
                        cleanup_free char *id = NULL;
                        const char *local = image_name;
                        mx_error *e = NULL;

                        if (mx_store_image_resolve(s, image_name, &id, &e) < 0) {
                                mx_error_free(e);
                                local = remote;
                        }
                        r = mx_registry_push(s, local, remote, &opts, &out, err);
                }
                if (r < 0)
                        goto done;
                json_object_set_new(res, "image_digest", json_string(out->digest));
                json_object_set_new(res, "size_mb", json_real((double)out->bytes_moved / 1e6));
                if (ref.tag)
                        json_array_append_new(tags, json_string(ref.tag));
                mx_registry_result_free(out);
        } else if (strcmp(operation, "tag") == 0) {
                const char *target = mx_json_str(o, "target");
                cleanup_free char *digest = NULL;

                if (!target || !*target) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                         "tag: the new reference is required (target=...)");
                        goto done;
                }
                r = mx_registry_tag(remote, target, &opts, &digest, err);
                if (r < 0)
                        goto done;
                json_object_set_new(res, "image_digest", json_string(digest));
                {
                        const char *t = strrchr(target, ':');
                        const char *slash = strrchr(target, '/');

                        json_array_append_new(
                                tags, json_string(t && (!slash || t > slash) ? t + 1 : target));
                }
        } else if (strcmp(operation, "list") == 0) {
                cleanup_strv char **list = NULL;

                r = mx_registry_list_tags(remote, &opts, &list, err);
                if (r < 0)
                        goto done;
                MX_STRV_FOREACH (t, list)
                        json_array_append_new(tags, json_string(t));
        } else if (strcmp(operation, "delete") == 0) {
                cleanup_free char *digest = NULL;

                r = mx_registry_delete(remote, &opts, &digest, err);
                if (r < 0)
                        goto done;
                json_object_set_new(res, "image_digest", json_string(digest));
                if (ref.tag)
                        json_array_append_new(tags, json_string(ref.tag));
        } else {
                r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                 "unknown registry operation '%s' (push, pull, tag, list, delete)",
                                 operation);
        }
done:
        mx_registry__ref_clear(&ref);
        return r;
}

int mx_manage_container_registry(const char *operation, const char *image_name,
                                 const char *registry_url, const char *options_json,
                                 char **result_json, mx_error **err)
{
        cleanup_json json_t *o = NULL;
        cleanup_json json_t *res = NULL;
        char *text;
        int r;

        if (!operation || !image_name || !result_json)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                    "manage_container_registry: operation and image_name are "
                                    "required");
        if (options_json && *options_json) {
                r = mx_json_parse(&o, options_json, strlen(options_json), MAX_OPTIONS, 1, "options",
                                  err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_REGISTRY, "registry options");
        } else {
                o = json_object();
        }
        res = json_pack("{s:s, s:s, s:n, s:b, s:s, s:[], s:f, s:n}", "operation", operation,
                        "image_name", image_name, "registry_url", "success", 1, "image_digest", "",
                        "tags", "size_mb", 0.0, "error_message");
        if (!o || !res)
                return mx_error_oom(err);
        r = manage(operation, image_name, registry_url, o, res, err);
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_REGISTRY, "%s '%s'", operation, image_name);
                mx_registry__lift_http(err);
                return r;
        }
        text = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
                return mx_error_oom(err);
        *result_json = text;
        return 0;
}
