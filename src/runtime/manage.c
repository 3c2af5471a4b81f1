/* SPDX-License-Identifier: Apache-2.0 */
/* mx_manage_containers(): the seed's manage_containers() over one C entry point, for the
 * Python face. */
#include <string.h>
#include <time.h>

#include "error-internal.h"
#include "json.h"
#include "runtime-internal.h"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct logs_ctx {
        mx_buf *out;
        int timestamps;
} logs_ctx;

static int collect(int stream, int64_t time_ns, const char *rfc3339, const char *data, size_t len,
                   void *userdata)
{
        logs_ctx *ctx = userdata;

        (void)stream;
        (void)time_ns;
        if (ctx->timestamps) {
                (void)mx_buf_puts(ctx->out, rfc3339);
                (void)mx_buf_putc(ctx->out, ' ');
        }
        return mx_buf_put(ctx->out, data, len) < 0 ? 1 : 0;
}

static const char *state_of(mx_runtime *rt, const char *id, char *buf, size_t len)
{
        mx_ctr *c = NULL;

        snprintf(buf, len, "removed");
        if (id && mx_runtime__db_get(rt->db, id, &c, NULL) == 0) {
                (void)mx_runtime__refresh(rt, c, NULL);
                snprintf(buf, len, "%s", c->state);
                mx_ctr_free(c);
        }
        return buf;
}

int mx_manage_containers(const char *operation, const char *container_name, const char *config_json,
                         const char *options_json, char **result_json, mx_error **err)
{
        cleanup_json json_t *opts = NULL, *cfg = NULL, *res = NULL, *metrics = NULL;
        mx_runtime_opts ro = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        cleanup_free char *id = NULL;
        mx_buf logs = MX_BUF_INIT;
        double t0 = now_s();
        char state[32];
        int r = 0;

        if (!operation || !container_name || !*container_name || !result_json)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "manage containers: operation and container name are "
                                    "required");
        if (options_json && *options_json) {
                r = mx_json_parse(&opts, options_json, strlen(options_json), 1 << 20, 1, "options",
                                  err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "manage containers");
        } else {
                opts = json_object();
        }
        ro.root = mx_json_str(opts, "root");
        ro.runtime = mx_json_str(opts, "runtime");
        if (strcmp(operation, "create") != 0 && strcmp(operation, "start") != 0 &&
            strcmp(operation, "stop") != 0 && strcmp(operation, "remove") != 0 &&
            strcmp(operation, "restart") != 0 && strcmp(operation, "logs") != 0 &&
            strcmp(operation, "stats") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "unknown operation '%s' (create, start, stop, remove, "
                                    "restart, logs, stats)",
                                    operation);
        r = mx_runtime_open(&rt, &ro, err);
        if (r < 0)
                return r;
        if (strcmp(operation, "create") == 0) {
                cleanup_free char *text = NULL;

                if (config_json && *config_json) {
                        r = mx_json_parse(&cfg, config_json, strlen(config_json), 1 << 20, 1,
                                          "container configuration", err);
                        if (r < 0) {
                                r = mx_error_wrap(err, MX_D_RUNTIME, "create '%s'", container_name);
                                goto out;
                        }
                } else {
                        cfg = json_object();
                }
                /* ports, volumes and networks (the seed's list, or none/host) are resolved by
                 * mx_container_create itself */
                json_object_set_new(cfg, "name", json_string(container_name));
                text = mx_json_dump_compact(cfg);
                if (!text) {
                        r = mx_error_oom(err);
                        goto out;
                }
                r = mx_container_create(rt, text, &id, err);
                if (r >= 0 && json_is_true(json_object_get(opts, "start")))
                        r = mx_container_start(rt, id, 0, err);
        } else {
                r = mx_container_resolve(rt, container_name, &id, err);
                if (r < 0)
                        goto out;
                if (strcmp(operation, "start") == 0) {
                        r = mx_container_start(rt, id, 0, err);
                } else if (strcmp(operation, "stop") == 0) {
                        r = mx_container_stop(rt, id, (int)mx_json_int(opts, "timeout", -1), err);
                } else if (strcmp(operation, "restart") == 0) {
                        r = mx_container_stop(rt, id, (int)mx_json_int(opts, "timeout", -1), err);
                        if (r >= 0)
                                r = mx_container_start(rt, id, 0, err);
                } else if (strcmp(operation, "remove") == 0) {
                        unsigned fl = 0;

                        if (json_is_true(json_object_get(opts, "force")))
                                fl |= MX_REMOVE_FORCE;
                        if (json_is_true(json_object_get(opts, "volumes")))
                                fl |= MX_REMOVE_VOLUMES;
                        r = mx_container_remove(rt, id, fl, err);
                } else if (strcmp(operation, "stats") == 0) {
                        cleanup_free char *mt = NULL;

                        r = mx_container_stats(rt, id, (int)mx_json_int(opts, "interval_ms", 0),
                                               &mt, err);
                        if (r >= 0 &&
                            mx_json_parse(&metrics, mt, strlen(mt), 1 << 20, 1, "metrics", err) < 0)
                                r = MX_EFORMAT;
                } else {
                        mx_logs_opts lo = MX_LOGS_OPTS_INIT;
                        logs_ctx ctx = {&logs, json_is_true(json_object_get(opts, "timestamps"))};

                        lo.tail = mx_json_int(opts, "tail", -1);
                        r = mx_container_logs(rt, id, &lo, collect, &ctx, err);
                }
        }
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_RUNTIME, "%s '%s'", operation, container_name);
                goto out;
        }
        res = json_pack("{s:s,s:s,s:b,s:s,s:s,s:f,s:s%,s:s}", "operation", operation,
                        "container_name", container_name, "success", 1, "container_id",
                        id ? id : "", "status", state_of(rt, id, state, sizeof(state)),
                        "execution_time", now_s() - t0, "logs", logs.ptr, logs.len, "error_message",
                        "");
        if (!res) {
                r = mx_error_oom(err);
                goto out;
        }
        if (metrics)
                json_object_set(res, "metrics", metrics);
        *result_json = mx_json_dump_ordered(res);
        if (!*result_json)
                r = mx_error_oom(err);
out:
        mx_buf_clear(&logs);
        mx_runtime_free(rt);
        return r;
}
