/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HEALTHCHECK state machine. Pure: the monitor runs the probes (through the runtime's
 * exec) and feeds each result here; this decides the status, the failing streak and the
 * log, with Docker's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/metrics.h>

#include "buf.h"
#include "error-internal.h"
#include "json.h"
#include "network-internal.h"
#include "parse.h"
#include "strv.h"

#define HEALTH_MAGIC      0x48454c54u
#define HEALTH_LOG_MAX    5
#define HEALTH_OUTPUT_MAX 4096
#define NS_PER_S          1000000000LL

#define DEFAULT_INTERVAL_NS (30 * NS_PER_S)
#define DEFAULT_TIMEOUT_NS  (30 * NS_PER_S)
#define DEFAULT_RETRIES     3

typedef struct health_log {
        int64_t start_unix_ns;
        int64_t end_unix_ns;
        int exit_code;
        char *output;
} health_log;

struct mx_health {
        unsigned magic;
        mx_health_config cfg; /* test not owned (not needed after construction) */
        int64_t started_ns;
        int64_t last_end_ns; /* 0: no probe yet */
        mx_health_status status;
        int failing_streak;
        health_log log[HEALTH_LOG_MAX];
        size_t n_log;
};

void mx_health_config_free(mx_health_config *c)
{
        if (!c)
                return;
        mx_strv_free(c->test);
        free(c);
}

static int parse_dur(const char *s, int64_t *out)
{
        uint64_t ns;

        if (mx_parse_duration_ns(s, &ns) < 0 || ns > (uint64_t)INT64_MAX)
                return -1;
        *out = (int64_t)ns;
        return 0;
}

int mx_health_config_build(mx_health_config **out, const char *image_json, const char *health_cmd,
                           const char *interval, const char *timeout, const char *start_period,
                           int retries, int no_healthcheck, mx_error **err)
{
        cleanup(mx_health_config_freep) mx_health_config *c = NULL;
        cleanup_json json_t *img = NULL;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no output for health check");
        if (no_healthcheck) {
                if (health_cmd)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "--no-healthcheck conflicts with --health-cmd");
                *out = NULL;
                return 0;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return mx_error_oom(err);
        c->retries = -1;
        if (image_json && *image_json) {
                json_t *test, *v;
                size_t i;
                int r;

                r = mx_json_parse(&img, image_json, strlen(image_json), 64 * 1024, 1,
                                  "image healthcheck", err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "read the image's HEALTHCHECK");
                test = json_object_get(img, "Test");
                if (test && !json_is_array(test))
                        return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                            "image HEALTHCHECK: Test is not an array");
                json_array_foreach(test, i, v)
                {
                        if (!json_is_string(v))
                                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                                    "image HEALTHCHECK: Test holds a non-string");
                        if (mx_strv_push(&c->test, json_string_value(v)) < 0)
                                return mx_error_oom(err);
                }
                c->interval_ns = mx_json_int(img, "Interval", 0);
                c->timeout_ns = mx_json_int(img, "Timeout", 0);
                c->start_period_ns = mx_json_int(img, "StartPeriod", 0);
                c->start_interval_ns = mx_json_int(img, "StartInterval", 0);
                c->retries = (int)mx_json_int(img, "Retries", -1);
                if (c->interval_ns < 0 || c->timeout_ns < 0 || c->start_period_ns < 0 ||
                    c->start_interval_ns < 0)
                        return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                            "image HEALTHCHECK: negative duration");
        }
        if (health_cmd) {
                mx_strv_free(c->test);
                c->test = NULL;
                if (mx_strv_push(&c->test, "CMD-SHELL") < 0 ||
                    mx_strv_push(&c->test, health_cmd) < 0)
                        return mx_error_oom(err);
        }
        if (interval && parse_dur(interval, &c->interval_ns) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "invalid --health-interval '%s'", interval);
        if (timeout && parse_dur(timeout, &c->timeout_ns) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "invalid --health-timeout '%s'", timeout);
        if (start_period && parse_dur(start_period, &c->start_period_ns) < 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "invalid --health-start-period '%s'", start_period);
        /* Docker refuses intervals and timeouts under 1 ms (other than 0, the default). */
        if ((c->interval_ns && c->interval_ns < 1000000) ||
            (c->timeout_ns && c->timeout_ns < 1000000))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "health check interval and timeout must be at least 1ms");
        if (retries >= 0)
                c->retries = retries;
        if (!c->interval_ns)
                c->interval_ns = DEFAULT_INTERVAL_NS;
        if (!c->timeout_ns)
                c->timeout_ns = DEFAULT_TIMEOUT_NS;
        if (c->retries <= 0)
                c->retries = DEFAULT_RETRIES;
        if (!c->test || !c->test[0] || strcmp(c->test[0], "NONE") == 0) {
                *out = NULL; /* no check, or explicitly disabled */
                return 0;
        }
        if (strcmp(c->test[0], "CMD") != 0 && strcmp(c->test[0], "CMD-SHELL") != 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "unknown health check type '%s' (CMD, CMD-SHELL or NONE)",
                                    c->test[0]);
        if (!c->test[1])
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "health check '%s' has no command", c->test[0]);
        *out = TAKE_PTR(c);
        return 0;
}

char **mx_health_probe_argv(const mx_health_config *c)
{
        char **v = NULL;

        if (!c || !c->test || !c->test[0] || !c->test[1])
                return NULL;
        if (strcmp(c->test[0], "CMD-SHELL") == 0) {
                if (mx_strv_push(&v, "/bin/sh") < 0 || mx_strv_push(&v, "-c") < 0 ||
                    mx_strv_push(&v, c->test[1]) < 0) {
                        mx_strv_free(v);
                        return NULL;
                }
                return v;
        }
        return mx_strv_copy(c->test + 1);
}

int mx_health_new(mx_health **out, const mx_health_config *c, int64_t started_ns, mx_error **err)
{
        mx_health *h;

        if (!out || !c)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no health check config");
        h = calloc(1, sizeof(*h));
        if (!h)
                return mx_error_oom(err);
        h->magic = HEALTH_MAGIC;
        h->cfg = *c;
        h->cfg.test = NULL;
        h->started_ns = started_ns;
        h->status = MX_HEALTH_STARTING;
        *out = h;
        return 0;
}

void mx_health_free(mx_health *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n_log; i++)
                free(h->log[i].output);
        h->magic = 0;
        free(h);
}

static int in_start_period(const mx_health *h, int64_t t)
{
        return h->cfg.start_period_ns > 0 && t - h->started_ns < h->cfg.start_period_ns;
}

int64_t mx_health_next_probe_ns(const mx_health *h)
{
        int64_t base = h->last_end_ns ? h->last_end_ns : h->started_ns;
        int64_t step = h->cfg.interval_ns;

        /* Docker probes at StartInterval while the start period lasts. */
        if (h->cfg.start_interval_ns > 0 && in_start_period(h, base))
                step = h->cfg.start_interval_ns;
        return base + step;
}

mx_health_status mx_health_record(mx_health *h, int64_t mono_end_ns, int64_t start_unix_ns,
                                  int64_t end_unix_ns, int exit_code, int timed_out,
                                  const char *output)
{
        health_log *e;
        char tmo[64];
        int failed = timed_out || exit_code != 0;

        if (!h || h->magic != HEALTH_MAGIC)
                return MX_HEALTH_NONE;
        if (timed_out) {
                snprintf(tmo, sizeof(tmo), "Health check exceeded timeout (%llds)",
                         (long long)(h->cfg.timeout_ns / NS_PER_S));
                output = tmo;
                exit_code = -1;
        }
        if (h->n_log == HEALTH_LOG_MAX) {
                free(h->log[0].output);
                memmove(&h->log[0], &h->log[1], sizeof(h->log[0]) * (HEALTH_LOG_MAX - 1));
                h->n_log--;
        }
        e = &h->log[h->n_log++];
        e->start_unix_ns = start_unix_ns;
        e->end_unix_ns = end_unix_ns;
        e->exit_code = exit_code;
        e->output = strndup(output ? output : "", HEALTH_OUTPUT_MAX);
        h->last_end_ns = mono_end_ns;

        if (!failed) {
                h->status = MX_HEALTH_HEALTHY;
                h->failing_streak = 0;
        } else if (h->status == MX_HEALTH_STARTING && in_start_period(h, mono_end_ns)) {
                /* Failures during the start period do not count (Docker). */
        } else {
                h->failing_streak++;
                if (h->failing_streak >= h->cfg.retries)
                        h->status = MX_HEALTH_UNHEALTHY;
        }
        return h->status;
}

mx_health_status mx_health_get_status(const mx_health *h)
{
        return h ? h->status : MX_HEALTH_NONE;
}

int mx_health_failing_streak(const mx_health *h)
{
        return h ? h->failing_streak : 0;
}

const char *mx_health_status_name(mx_health_status s)
{
        switch (s) {
        case MX_HEALTH_STARTING:
                return "starting";
        case MX_HEALTH_HEALTHY:
                return "healthy";
        case MX_HEALTH_UNHEALTHY:
                return "unhealthy";
        case MX_HEALTH_NONE:
                break;
        }
        return "none";
}

static void fmt_time(char *buf, size_t len, int64_t unix_ns)
{
        time_t s = (time_t)(unix_ns / NS_PER_S);
        struct tm tm;

        gmtime_r(&s, &tm);
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (long long)(unix_ns % NS_PER_S));
}

/* Inverse of fmt_time; 0 on success. */
static int parse_time(const char *s, int64_t *out)
{
        struct tm tm = {0};
        long long frac = 0;
        int n = 0, digits = 0;

        if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                         &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
                return -1;
        s += n;
        if (*s == '.') {
                for (s++; *s >= '0' && *s <= '9'; s++, digits++)
                        if (digits < 9)
                                frac = frac * 10 + (*s - '0');
                for (; digits < 9; digits++)
                        frac *= 10;
        }
        if (strcmp(s, "Z") != 0)
                return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        *out = (int64_t)timegm(&tm) * NS_PER_S + frac;
        return 0;
}

char *mx_health_to_json(const mx_health *h)
{
        cleanup_json json_t *o = NULL;
        json_t *log;

        if (!h)
                return NULL;
        o = json_object();
        log = json_array();
        if (!o || !log || json_object_set_new(o, "Log", log) < 0)
                return NULL;
        json_object_set_new(o, "Status", json_string(mx_health_status_name(h->status)));
        json_object_set_new(o, "FailingStreak", json_integer(h->failing_streak));
        for (size_t i = 0; i < h->n_log; i++) {
                char s[48], e[48];
                json_t *entry;

                fmt_time(s, sizeof(s), h->log[i].start_unix_ns);
                fmt_time(e, sizeof(e), h->log[i].end_unix_ns);
                entry = json_pack("{s:s,s:s,s:i,s:s}", "Start", s, "End", e, "ExitCode",
                                  h->log[i].exit_code, "Output",
                                  h->log[i].output ? h->log[i].output : "");
                if (!entry || json_array_append_new(log, entry) < 0)
                        return NULL;
        }
        return json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

int mx_health_from_json(mx_health **out, const mx_health_config *c, const char *text,
                        int64_t now_ns, mx_error **err)
{
        cleanup(mx_health_freep) mx_health *h = NULL;
        cleanup_json json_t *o = NULL;
        const char *st;
        json_t *log, *e;
        size_t i;
        int r;

        if (!out || !c || !text)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no health state");
        r = mx_json_parse(&o, text, strlen(text), 256 * 1024, 1, "health state", err);
        if (r < 0)
                return r;
        r = mx_health_new(&h, c, now_ns, err);
        if (r < 0)
                return r;
        st = mx_json_str(o, "Status");
        if (!st)
                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0, "health state has no Status");
        if (strcmp(st, "starting") == 0)
                h->status = MX_HEALTH_STARTING;
        else if (strcmp(st, "healthy") == 0)
                h->status = MX_HEALTH_HEALTHY;
        else if (strcmp(st, "unhealthy") == 0)
                h->status = MX_HEALTH_UNHEALTHY;
        else
                return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                    "health state has unknown status '%s'", st);
        h->failing_streak = (int)mx_json_int(o, "FailingStreak", 0);
        if (h->failing_streak < 0)
                h->failing_streak = 0;
        /* The restored state is past its start period: the monitor restarted, the
         * container did not. */
        h->started_ns = now_ns - h->cfg.start_period_ns;
        h->last_end_ns = now_ns;
        log = json_object_get(o, "Log");
        json_array_foreach(log, i, e)
        {
                health_log *l;

                if (h->n_log == HEALTH_LOG_MAX)
                        break;
                l = &h->log[h->n_log];
                if (parse_time(mx_json_str(e, "Start"), &l->start_unix_ns) < 0 ||
                    parse_time(mx_json_str(e, "End"), &l->end_unix_ns) < 0)
                        return mx_error_set(err, MX_EFORMAT, MX_D_RUNTIME, 0,
                                            "health log entry %zu has a bad time", i);
                l->exit_code = (int)mx_json_int(e, "ExitCode", 0);
                l->output = strndup(mx_json_str(e, "Output") ? mx_json_str(e, "Output") : "",
                                    HEALTH_OUTPUT_MAX);
                if (!l->output)
                        return mx_error_oom(err);
                h->n_log++;
        }
        *out = TAKE_PTR(h);
        return 0;
}
