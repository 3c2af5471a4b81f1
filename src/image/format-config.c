/* SPDX-License-Identifier: Apache-2.0 */
/* Image configurations (OCI image config, Docker container image v1): strict bounded
 * parsing that keeps the original bytes, canonical serialization, building for import,
 * and chain IDs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/image.h>

#include "digest.h"
#include "format-internal.h"
#include "json.h"
#include "strv.h"

static const char doc[] = "config";

static void healthcheck_free(mx_healthcheck *h)
{
        if (!h)
                return;
        mx_strv_free(h->test);
        free(h);
}

static void container_config_clear(mx_container_config *c)
{
        free(c->user);
        mx_strv_free(c->exposed_ports);
        mx_strv_free(c->env);
        mx_strv_free(c->entrypoint);
        mx_strv_free(c->cmd);
        mx_strv_free(c->volumes);
        free(c->working_dir);
        mx_kv_free(c->labels);
        free(c->stop_signal);
        healthcheck_free(c->healthcheck);
        mx_strv_free(c->shell);
        mx_strv_free(c->onbuild);
        memset(c, 0, sizeof(*c));
}

static void history_clear(mx_history *h)
{
        free(h->created);
        free(h->created_by);
        free(h->author);
        free(h->comment);
        memset(h, 0, sizeof(*h));
}

void mx_image_config_free(mx_image_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->created);
        free(cfg->author);
        free(cfg->architecture);
        free(cfg->os);
        free(cfg->os_version);
        mx_strv_free(cfg->os_features);
        free(cfg->variant);
        container_config_clear(&cfg->config);
        free(cfg->rootfs_type);
        mx_strv_free(cfg->diff_ids);
        for (size_t i = 0; cfg->history && i < cfg->n_history; i++)
                history_clear(&cfg->history[i]);
        free(cfg->history);
        free(cfg->raw);
        free(cfg);
}

static int get_bool(int *out, const json_t *obj, const char *key, const char *path, mx_error **err)
{
        json_t *v = json_object_get(obj, key);
        char p[MX_FIELD_PATH_MAX];

        *out = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return mx_image__field_error(err, MX_EFORMAT, doc, mx_image__path(p, path, key),
                                             "must be a boolean");
        *out = json_is_true(v);
        return 0;
}

static int get_time(char **out, const json_t *obj, const char *key, const char *path,
                    mx_error **err)
{
        char p[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];
        char *s = NULL;
        int r;

        r = mx_image__get_string(&s, obj, key, 0, doc, path, err);
        if (r < 0)
                return r;
        if (s && !mx_image__is_rfc3339(s)) {
                r = mx_image__field_error(err, MX_EFORMAT, doc, mx_image__path(p, path, key),
                                          "'%s' is not an RFC 3339 time", mx_image__excerpt(ex, s));
                free(s);
                return r;
        }
        *out = s;
        return 0;
}

static int parse_healthcheck(mx_healthcheck **out, const json_t *j, mx_error **err)
{
        static const char path[] = "config.Healthcheck";
        static const char *const keys[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                           "Retries"};
        mx_healthcheck *h;
        int64_t *fields[5];
        int present, r;

        if (!j || json_is_null(j)) {
                *out = NULL;
                return 0;
        }
        if (!json_is_object(j))
                return mx_image__field_error(err, MX_EFORMAT, doc, path, "must be an object");
        h = calloc(1, sizeof(*h));
        if (!h)
                return mx_error_oom(err);
        fields[0] = &h->interval;
        fields[1] = &h->timeout;
        fields[2] = &h->start_period;
        fields[3] = &h->start_interval;
        fields[4] = &h->retries;
        r = mx_image__get_strv(&h->test, j, "Test", doc, path, err);
        for (size_t i = 0; r >= 0 && i < MX_ARRAY_SIZE(keys); i++)
                r = mx_image__get_int(fields[i], &present, j, keys[i], 0, INT64_MAX, doc, path,
                                      err);
        if (r < 0) {
                healthcheck_free(h);
                return r;
        }
        *out = h;
        return 0;
}

static int parse_container_config(mx_container_config *c, const json_t *j, mx_error **err)
{
        static const char path[] = "config";
        int r;

        r = mx_image__get_string(&c->user, j, "User", 0, doc, path, err);
        if (r >= 0)
                r = mx_image__get_keys(&c->exposed_ports, j, "ExposedPorts", doc, path, err);
        if (r >= 0)
                r = mx_image__get_strv(&c->env, j, "Env", doc, path, err);
        if (r >= 0)
                r = mx_image__get_strv(&c->entrypoint, j, "Entrypoint", doc, path, err);
        if (r >= 0)
                r = mx_image__get_strv(&c->cmd, j, "Cmd", doc, path, err);
        if (r >= 0)
                r = mx_image__get_keys(&c->volumes, j, "Volumes", doc, path, err);
        if (r >= 0)
                r = mx_image__get_string(&c->working_dir, j, "WorkingDir", 0, doc, path, err);
        if (r >= 0)
                r = mx_image__get_kv(&c->labels, j, "Labels", doc, path, err);
        if (r >= 0)
                r = mx_image__get_string(&c->stop_signal, j, "StopSignal", 0, doc, path, err);
        if (r >= 0)
                r = get_bool(&c->args_escaped, j, "ArgsEscaped", path, err);
        if (r >= 0)
                r = parse_healthcheck(&c->healthcheck, json_object_get(j, "Healthcheck"), err);
        if (r >= 0)
                r = mx_image__get_strv(&c->shell, j, "Shell", doc, path, err);
        if (r >= 0)
                r = mx_image__get_strv(&c->onbuild, j, "OnBuild", doc, path, err);
        return r;
}

static int parse_rootfs(mx_image_config *cfg, const json_t *j, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];
        int r;

        if (!j || json_is_null(j))
                return mx_image__field_error(err, MX_EFORMAT, doc, "rootfs", "is missing");
        if (!json_is_object(j))
                return mx_image__field_error(err, MX_EFORMAT, doc, "rootfs", "must be an object");
        r = mx_image__get_string(&cfg->rootfs_type, j, "type", 1, doc, "rootfs", err);
        if (r < 0)
                return r;
        if (strcmp(cfg->rootfs_type, "layers") != 0)
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "rootfs.type",
                                             "must be 'layers', not '%s'",
                                             mx_image__excerpt(ex, cfg->rootfs_type));
        r = mx_image__get_strv(&cfg->diff_ids, j, "diff_ids", doc, "rootfs", err);
        if (r < 0)
                return r;
        /* Docker omits diff_ids for an image without layers. */
        if (!cfg->diff_ids) {
                cfg->diff_ids = calloc(1, sizeof(char *));
                if (!cfg->diff_ids)
                        return mx_error_oom(err);
        }
        cfg->n_diff_ids = mx_strv_length(cfg->diff_ids);
        for (size_t i = 0; i < cfg->n_diff_ids; i++)
                if (!mx_digest_is_valid(cfg->diff_ids[i]))
                        return mx_image__field_error(
                                err, MX_EFORMAT, doc, mx_image__path_index(p, "rootfs.diff_ids", i),
                                "invalid digest '%s'", mx_image__excerpt(ex, cfg->diff_ids[i]));
        return 0;
}

static int parse_history(mx_image_config *cfg, const json_t *a, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX];
        size_t n;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return mx_image__field_error(err, MX_EFORMAT, doc, "history", "must be an array");
        n = json_array_size(a);
        if (n > MX_IMAGE_MAX_ENTRIES)
                return mx_image__field_error(err, MX_ETOOBIG, doc, "history",
                                             "has %zu entries, more than the %d allowed", n,
                                             MX_IMAGE_MAX_ENTRIES);
        if (n == 0)
                return 0;
        cfg->history = calloc(n, sizeof(*cfg->history));
        if (!cfg->history)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(a, i);
                mx_history *h = &cfg->history[i];
                int r;

                mx_image__path_index(p, "history", i);
                cfg->n_history = i + 1;
                if (!json_is_object(e))
                        return mx_image__field_error(err, MX_EFORMAT, doc, p, "must be an object");
                r = get_time(&h->created, e, "created", p, err);
                if (r >= 0)
                        r = mx_image__get_string(&h->created_by, e, "created_by", 0, doc, p, err);
                if (r >= 0)
                        r = mx_image__get_string(&h->author, e, "author", 0, doc, p, err);
                if (r >= 0)
                        r = mx_image__get_string(&h->comment, e, "comment", 0, doc, p, err);
                if (r >= 0)
                        r = get_bool(&h->empty_layer, e, "empty_layer", p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mx_image_config_parse(mx_image_config **out, const void *data, size_t len, mx_error **err)
{
        cleanup(mx_image_config_freep) mx_image_config *cfg = NULL;
        cleanup_json json_t *j = NULL;
        json_t *c;
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "parse config: no output");
        r = mx_image__load_json(&j, data, len, MX_CONFIG_MAX_BYTES, doc, err);
        if (r < 0)
                return r;
        cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return mx_error_oom(err);
        r = get_time(&cfg->created, j, "created", "", err);
        if (r >= 0)
                r = mx_image__get_string(&cfg->author, j, "author", 0, doc, "", err);
        if (r >= 0)
                r = mx_image__get_string(&cfg->architecture, j, "architecture", 1, doc, "", err);
        if (r >= 0)
                r = mx_image__get_string(&cfg->os, j, "os", 1, doc, "", err);
        if (r >= 0)
                r = mx_image__get_string(&cfg->os_version, j, "os.version", 0, doc, "", err);
        if (r >= 0)
                r = mx_image__get_strv(&cfg->os_features, j, "os.features", doc, "", err);
        if (r >= 0)
                r = mx_image__get_string(&cfg->variant, j, "variant", 0, doc, "", err);
        if (r < 0)
                return r;
        if (!*cfg->architecture || !*cfg->os)
                return mx_image__field_error(err, MX_EFORMAT, doc, *cfg->os ? "architecture" : "os",
                                             "is empty");
        c = json_object_get(j, "config");
        if (c && !json_is_null(c)) {
                if (!json_is_object(c))
                        return mx_image__field_error(err, MX_EFORMAT, doc, "config",
                                                     "must be an object");
                cfg->has_config = 1;
                r = parse_container_config(&cfg->config, c, err);
                if (r < 0)
                        return r;
        }
        r = parse_rootfs(cfg, json_object_get(j, "rootfs"), err);
        if (r < 0)
                return r;
        r = parse_history(cfg, json_object_get(j, "history"), err);
        if (r < 0)
                return r;
        cfg->raw = malloc(len + 1);
        if (!cfg->raw)
                return mx_error_oom(err);
        memcpy(cfg->raw, data, len);
        cfg->raw[len] = '\0';
        cfg->raw_len = len;
        *out = TAKE_PTR(cfg);
        return 0;
}

const char *mx_image_config_raw(const mx_image_config *cfg, size_t *len_out)
{
        if (len_out)
                *len_out = cfg && cfg->raw ? cfg->raw_len : 0;
        return cfg ? cfg->raw : NULL;
}

/* Add key: value (stolen) to o; a NULL value means OOM. */
static int put(json_t *o, const char *key, json_t *value)
{
        return value ? json_object_set_new(o, key, value) : -1;
}

static int put_str(json_t *o, const char *key, const char *s)
{
        return s ? put(o, key, json_string(s)) : 0;
}

static int put_strv(json_t *o, const char *key, char *const *v)
{
        return v ? put(o, key, mx_image__strv_json(v)) : 0;
}

static json_t *keys_json(char *const *keys)
{
        json_t *o = json_object();

        for (size_t i = 0; o && keys && keys[i]; i++)
                if (json_object_set_new(o, keys[i], json_object()) < 0) {
                        json_decref(o);
                        return NULL;
                }
        return o;
}

static int put_int(json_t *o, const char *key, int64_t v)
{
        return v ? put(o, key, json_integer(v)) : 0;
}

static json_t *container_config_json(const mx_container_config *c)
{
        cleanup_json json_t *o = json_object();
        const mx_healthcheck *h = c->healthcheck;

        /* The OCI Go type's order, then Docker's additions. */
        if (!o || put_str(o, "User", c->user) < 0 ||
            (c->exposed_ports && put(o, "ExposedPorts", keys_json(c->exposed_ports)) < 0) ||
            put_strv(o, "Env", c->env) < 0 || put_strv(o, "Entrypoint", c->entrypoint) < 0 ||
            put_strv(o, "Cmd", c->cmd) < 0 ||
            (c->volumes && put(o, "Volumes", keys_json(c->volumes)) < 0) ||
            put_str(o, "WorkingDir", c->working_dir) < 0 ||
            (c->labels && put(o, "Labels", mx_image__kv_json(c->labels)) < 0) ||
            put_str(o, "StopSignal", c->stop_signal) < 0 ||
            (c->args_escaped && put(o, "ArgsEscaped", json_true()) < 0))
                return NULL;
        if (h) {
                json_t *ho = json_object();

                if (put(o, "Healthcheck", ho) < 0 || put_strv(ho, "Test", h->test) < 0 ||
                    put_int(ho, "Interval", h->interval) < 0 ||
                    put_int(ho, "Timeout", h->timeout) < 0 ||
                    put_int(ho, "StartPeriod", h->start_period) < 0 ||
                    put_int(ho, "StartInterval", h->start_interval) < 0 ||
                    put_int(ho, "Retries", h->retries) < 0)
                        return NULL;
        }
        if (put_strv(o, "OnBuild", c->onbuild) < 0 || put_strv(o, "Shell", c->shell) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int container_config_set(const mx_container_config *c)
{
        return c->user || c->exposed_ports || c->env || c->entrypoint || c->cmd || c->volumes ||
               c->working_dir || c->labels || c->stop_signal || c->args_escaped || c->healthcheck ||
               c->shell || c->onbuild;
}

static int check_config(const mx_image_config *cfg, mx_error **err)
{
        char p[MX_FIELD_PATH_MAX], ex[MX_EXCERPT_MAX];
        size_t n = mx_strv_length(cfg->diff_ids);
        const mx_healthcheck *h = cfg->config.healthcheck;

        if (!cfg->os || !*cfg->os)
                return mx_image__field_error(err, MX_EINVAL, doc, "os", "is missing");
        if (!cfg->architecture || !*cfg->architecture)
                return mx_image__field_error(err, MX_EINVAL, doc, "architecture", "is missing");
        if (cfg->created && !mx_image__is_rfc3339(cfg->created))
                return mx_image__field_error(err, MX_EINVAL, doc, "created",
                                             "'%s' is not an RFC 3339 time",
                                             mx_image__excerpt(ex, cfg->created));
        if (cfg->rootfs_type && strcmp(cfg->rootfs_type, "layers") != 0)
                return mx_image__field_error(err, MX_EUNSUPPORTED, doc, "rootfs.type",
                                             "must be 'layers'");
        if (n > MX_IMAGE_MAX_ENTRIES || cfg->n_history > MX_IMAGE_MAX_ENTRIES ||
            (cfg->n_history && !cfg->history))
                return mx_image__field_error(
                        err, MX_ETOOBIG, doc,
                        n > MX_IMAGE_MAX_ENTRIES ? "rootfs.diff_ids" : "history",
                        "has more than the %d entries allowed", MX_IMAGE_MAX_ENTRIES);
        for (size_t i = 0; i < n; i++)
                if (!mx_digest_is_valid(cfg->diff_ids[i]))
                        return mx_image__field_error(
                                err, MX_EINVAL, doc, mx_image__path_index(p, "rootfs.diff_ids", i),
                                "invalid digest '%s'", mx_image__excerpt(ex, cfg->diff_ids[i]));
        for (size_t i = 0; i < cfg->n_history; i++)
                if (cfg->history[i].created && !mx_image__is_rfc3339(cfg->history[i].created))
                        return mx_image__field_error(err, MX_EINVAL, doc,
                                                     mx_image__path_index(p, "history", i),
                                                     "created is not an RFC 3339 time");
        if (h && (h->interval < 0 || h->timeout < 0 || h->start_period < 0 ||
                  h->start_interval < 0 || h->retries < 0))
                return mx_image__field_error(err, MX_EINVAL, doc, "config.Healthcheck",
                                             "durations and retries must not be negative");
        return 0;
}

int mx_image_config_to_json(char **out, size_t *len_out, const mx_image_config *cfg, mx_error **err)
{
        cleanup_json json_t *o = NULL;
        json_t *rootfs, *hist;
        int r;

        if (!out || !cfg)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "serialize config: none given");
        r = check_config(cfg, err);
        if (r < 0)
                return r;
        o = json_object();
        if (!o || put_str(o, "created", cfg->created) < 0 ||
            put_str(o, "author", cfg->author) < 0 ||
            put_str(o, "architecture", cfg->architecture) < 0 || put_str(o, "os", cfg->os) < 0 ||
            put_str(o, "os.version", cfg->os_version) < 0 ||
            put_strv(o, "os.features", cfg->os_features) < 0 ||
            put_str(o, "variant", cfg->variant) < 0)
                return mx_error_oom(err);
        if ((cfg->has_config || container_config_set(&cfg->config)) &&
            put(o, "config", container_config_json(&cfg->config)) < 0)
                return mx_error_oom(err);
        rootfs = json_object();
        if (put(o, "rootfs", rootfs) < 0 || put(rootfs, "type", json_string("layers")) < 0 ||
            put(rootfs, "diff_ids", mx_image__strv_json(cfg->diff_ids)) < 0)
                return mx_error_oom(err);
        if (cfg->n_history) {
                hist = json_array();
                if (put(o, "history", hist) < 0)
                        return mx_error_oom(err);
                for (size_t i = 0; i < cfg->n_history; i++) {
                        const mx_history *h = &cfg->history[i];
                        json_t *e = json_object();

                        if (json_array_append_new(hist, e) < 0 || !e ||
                            put_str(e, "created", h->created) < 0 ||
                            put_str(e, "created_by", h->created_by) < 0 ||
                            put_str(e, "author", h->author) < 0 ||
                            put_str(e, "comment", h->comment) < 0 ||
                            (h->empty_layer && put(e, "empty_layer", json_true()) < 0))
                                return mx_error_oom(err);
                }
        }
        return mx_image__dump(out, len_out, o, err);
}

int mx_image_config_copy(mx_image_config **out, const mx_image_config *cfg, mx_error **err)
{
        cleanup(mx_image_config_freep) mx_image_config *c = NULL;
        cleanup_free char *json = NULL;
        size_t len = 0;
        int r;

        if (!out || !cfg)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "copy config: none given");
        /* Writing and reading back is a deep copy that also re-checks every field. */
        r = mx_image_config_to_json(&json, &len, cfg, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "copy config");
        r = mx_image_config_parse(&c, json, len, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "copy config");
        free(c->raw);
        c->raw = NULL;
        c->raw_len = 0;
        if (cfg->raw) {
                c->raw = malloc(cfg->raw_len + 1);
                if (!c->raw)
                        return mx_error_oom(err);
                memcpy(c->raw, cfg->raw, cfg->raw_len);
                c->raw[cfg->raw_len] = '\0';
                c->raw_len = cfg->raw_len;
        }
        c->has_config = cfg->has_config;
        *out = TAKE_PTR(c);
        return 0;
}

/* RFC 3339 UTC of a Unix time; now when t < 0. */
static int format_time(char buf[32], int64_t t)
{
        struct tm tm;
        time_t tt = t < 0 ? time(NULL) : (time_t)t;

        /* RFC 3339 has four-digit years. */
        if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
            strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -1;
        return 0;
}

int mx_image_config_add_layer(mx_image_config *cfg, const char *diff_id, const char *created_by,
                              int64_t created_unix, mx_error **err)
{
        char when[32], ex[MX_EXCERPT_MAX];
        mx_history *nh, h = {0};
        char *created;
        size_t n;

        if (!cfg)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "add layer to config: none given");
        if (diff_id && !mx_digest_is_valid(diff_id))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "add layer to config: invalid diff_id '%s'",
                                    mx_image__excerpt(ex, diff_id));
        n = mx_strv_length(cfg->diff_ids);
        if (n >= MX_IMAGE_MAX_ENTRIES || cfg->n_history >= MX_IMAGE_MAX_ENTRIES)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "add layer to config: already %d entries",
                                    MX_IMAGE_MAX_ENTRIES);
        if (format_time(when, created_unix) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "add layer to config: time %lld out of range",
                                    (long long)created_unix);
        h.created = strdup(when);
        h.created_by = created_by ? strdup(created_by) : NULL;
        h.empty_layer = diff_id == NULL;
        created = strdup(when);
        nh = realloc(cfg->history, (cfg->n_history + 1) * sizeof(*nh));
        if (nh)
                cfg->history = nh;
        if (!h.created || (created_by && !h.created_by) || !created || !nh ||
            (diff_id && mx_strv_push(&cfg->diff_ids, diff_id) < 0)) {
                history_clear(&h);
                free(created);
                return mx_error_oom(err);
        }
        if (!cfg->diff_ids) {
                /* An empty step on a config without layers still has a diff_ids array. */
                cfg->diff_ids = calloc(1, sizeof(char *));
                if (!cfg->diff_ids) {
                        history_clear(&h);
                        free(created);
                        return mx_error_oom(err);
                }
        }
        cfg->n_diff_ids = mx_strv_length(cfg->diff_ids);
        cfg->history[cfg->n_history++] = h;
        free(cfg->created);
        cfg->created = created;
        /* The bytes no longer describe this config. */
        free(cfg->raw);
        cfg->raw = NULL;
        cfg->raw_len = 0;
        return 0;
}

int mx_image_config_new_for_layers(mx_image_config **out, const char *const *diff_ids,
                                   size_t n_diff_ids, const char *created_by, int64_t created_unix,
                                   mx_error **err)
{
        cleanup(mx_image_config_freep) mx_image_config *cfg = NULL;
        cleanup(mx_platform_freep) mx_platform *host = NULL;
        char when[32];
        int r;

        if (!out || (n_diff_ids && !diff_ids))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "new config: no layers given");
        if (n_diff_ids > MX_IMAGE_MAX_ENTRIES)
                return mx_error_set(err, MX_ETOOBIG, MX_D_IMAGE, 0,
                                    "new config: %zu layers, more than the %d allowed", n_diff_ids,
                                    MX_IMAGE_MAX_ENTRIES);
        r = mx_platform_host(&host, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "new config");
        if (format_time(when, created_unix) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "new config: time %lld out of range", (long long)created_unix);
        cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return mx_error_oom(err);
        cfg->os = TAKE_PTR(host->os);
        cfg->architecture = TAKE_PTR(host->architecture);
        cfg->variant = TAKE_PTR(host->variant);
        cfg->created = strdup(when);
        cfg->rootfs_type = strdup("layers");
        cfg->diff_ids = calloc(1, sizeof(char *));
        if (!cfg->created || !cfg->rootfs_type || !cfg->diff_ids)
                return mx_error_oom(err);
        for (size_t i = 0; i < n_diff_ids; i++) {
                r = mx_image_config_add_layer(cfg, diff_ids[i], created_by, created_unix, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "new config: layer %zu", i);
        }
        *out = TAKE_PTR(cfg);
        return 0;
}

int mx_chain_id_next(char out[MX_DIGEST_BUF], const char *parent_chain_id, const char *diff_id,
                     mx_error **err)
{
        char ex[MX_EXCERPT_MAX], buf[2 * MX_DIGEST_BUF + 2];

        if (!out || !mx_digest_is_valid(diff_id))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "chain id: invalid diff_id '%s'",
                                    mx_image__excerpt(ex, diff_id));
        if (parent_chain_id && !mx_digest_is_valid(parent_chain_id))
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0,
                                    "chain id: invalid parent chain id '%s'",
                                    mx_image__excerpt(ex, parent_chain_id));
        if (!parent_chain_id) {
                (void)snprintf(out, MX_DIGEST_BUF, "%s", diff_id);
                return 0;
        }
        /* Build the input first: out may alias parent_chain_id. */
        (void)snprintf(buf, sizeof(buf), "%s %s", parent_chain_id, diff_id);
        mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), out);
        return 0;
}

int mx_chain_id(char out[MX_DIGEST_BUF], const char *const *diff_ids, size_t n, mx_error **err)
{
        char chain[MX_DIGEST_BUF];
        int r;

        if (!out || !diff_ids || n == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "chain id: no layers given");
        for (size_t i = 0; i < n; i++) {
                r = mx_chain_id_next(chain, i == 0 ? NULL : chain, diff_ids[i], err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_IMAGE, "chain id of layer %zu", i);
        }
        memcpy(out, chain, MX_DIGEST_BUF);
        return 0;
}
