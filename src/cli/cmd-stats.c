/* SPDX-License-Identifier: Apache-2.0 */
/*
 * myrmex stats [--no-stream] [--format json|TEMPLATE] [-a] [CONTAINER...]: the seed's
 * ContainerMetrics per container, CPU percent over an interval as docker stats computes it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/metrics.h>
#include <myrmex/runtime.h>

#include "cli.h"

#define STATS_TABLE                                                                         \
        "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t" \
        "{{.BlockIO}}\t{{.PerformanceScore}}"

typedef struct target {
        char *id;
        char *name;
        int pid;
        int64_t started_ns;
        int64_t restarts;
        double cpus;
        char *health;
        mx_metrics_sample prev;
        int have_prev;
} target;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
        (void)sig;
        stop_flag = 1;
}

static void human(char *buf, size_t len, double bytes)
{
        mx_cli_human_size(buf, len, bytes, 3);
}

static json_t *row_of(const target *t, const mx_container_metrics *m, const mx_metrics_sample *s)
{
        char cpu[32], mem[96], memp[32], net[96], blk[96], a[32], b[32], score[32];
        double limit = m->memory_limit_mb * 1e6;

        snprintf(cpu, sizeof(cpu), "%.2f%%", m->cpu_usage_percent);
        human(a, sizeof(a), (double)s->memory_usage);
        human(b, sizeof(b), limit);
        snprintf(mem, sizeof(mem), "%s / %s", a, b);
        snprintf(memp, sizeof(memp), "%.2f%%",
                 limit > 0 ? 100.0 * (double)s->memory_usage / limit : 0.0);
        human(a, sizeof(a), (double)s->net_rx_bytes);
        human(b, sizeof(b), (double)s->net_tx_bytes);
        snprintf(net, sizeof(net), "%s / %s", a, b);
        human(a, sizeof(a), (double)s->io_read_bytes);
        human(b, sizeof(b), (double)s->io_write_bytes);
        snprintf(blk, sizeof(blk), "%s / %s", a, b);
        snprintf(score, sizeof(score), "%.1f", m->performance_score);
        return json_pack("{s:s%,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:I,s:s,s:f}", "ID",
                         t->id, (size_t)12, "Name", t->name, "CPUPerc", cpu, "MemUsage", mem,
                         "MemPerc", memp, "NetIO", net, "BlockIO", blk, "PerformanceScore", score,
                         "container_name", m->container_name, "cpu_usage_percent",
                         m->cpu_usage_percent, "memory_usage_mb", m->memory_usage_mb,
                         "memory_limit_mb", m->memory_limit_mb, "restart_count",
                         (json_int_t)m->restart_count, "health_status", m->health_status,
                         "performance_score", m->performance_score);
}

/* Fill targets from the runtime's records. */
static int collect(mx_cli *cli, mx_runtime *rt, bool all, char **names, int n_names, target **out,
                   size_t *n_out)
{
        char *text = NULL;
        json_t *list;
        target *v = NULL;
        size_t n = 0, i;
        json_t *row;
        mx_error *err = NULL;
        char **ids = NULL;

        if (n_names) {
                ids = calloc((size_t)n_names, sizeof(*ids));
                for (int k = 0; k < n_names; k++)
                        if (mx_container_resolve(rt, names[k], &ids[k], &err) < 0) {
                                int r = mx_cli_error(cli, err);

                                mx_error_free(err);
                                for (int j = 0; j < k; j++)
                                        free(ids[j]);
                                free(ids);
                                return r;
                        }
        }
        if (mx_container_list(rt, all || n_names ? MX_LIST_ALL : 0, &text, &err) < 0) {
                int r = mx_cli_error(cli, err);

                mx_error_free(err);
                return r;
        }
        list = json_loads(text, 0, NULL);
        mx_free(text);
        v = calloc(json_array_size(list) + 1, sizeof(*v));
        json_array_foreach(list, i, row)
        {
                const char *id = json_string_value(json_object_get(row, "ID"));
                char *insp = NULL;
                json_t *ij, *state, *hc, *health;
                bool wanted = !n_names;

                for (int k = 0; k < n_names && id; k++)
                        if (strcmp(ids[k], id) == 0)
                                wanted = true;
                if (!id || !wanted)
                        continue;
                v[n].id = mx_cli_xstrdup(id);
                v[n].name =
                        mx_cli_xstrdup(json_string_value(json_object_get(row, "Names"))
                                               ? json_string_value(json_object_get(row, "Names"))
                                               : id);
                v[n].pid = (int)json_integer_value(json_object_get(row, "Pid"));
                v[n].restarts = json_integer_value(json_object_get(row, "RestartCount"));
                if (mx_container_inspect(rt, id, &insp, NULL) == 0) {
                        ij = json_loads(insp, 0, NULL);
                        mx_free(insp);
                        if (json_is_array(ij)) {
                                json_t *first = json_incref(json_array_get(ij, 0));

                                json_decref(ij);
                                ij = first;
                        }
                        state = json_object_get(ij, "State");
                        hc = json_object_get(ij, "HostConfig");
                        health = json_object_get(state, "Health");
                        {
                                const char *st =
                                        json_string_value(json_object_get(state, "StartedAt"));
                                time_t when;

                                if (st && mx_cli_parse_rfc3339(st, &when) == 0)
                                        v[n].started_ns = (int64_t)when * 1000000000LL;
                        }
                        v[n].cpus =
                                (double)json_integer_value(json_object_get(hc, "NanoCpus")) / 1e9;
                        if (json_string_value(json_object_get(health, "Status")))
                                v[n].health = mx_cli_xstrdup(
                                        json_string_value(json_object_get(health, "Status")));
                        json_decref(ij);
                }
                n++;
        }
        json_decref(list);
        for (int k = 0; k < n_names; k++)
                free(ids[k]);
        free(ids);
        *out = v;
        *n_out = n;
        return 0;
}

static void sample_all(target *v, size_t n, mx_metrics_sample *cur, int *ok)
{
        for (size_t i = 0; i < n; i++) {
                memset(&cur[i], 0, sizeof(cur[i]));
                ok[i] = v[i].pid > 0 && mx_metrics_sample_pid(&cur[i], v[i].pid, NULL, NULL) == 0;
        }
}

static int cmd_stats(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"no-stream", no_argument, NULL, 'N'},
                {"all", no_argument, NULL, 'a'},
                {"format", required_argument, NULL, 'F'},
                {"interval", required_argument, NULL, 'I'},
                {"no-trunc", no_argument, NULL, 'T'},
                {0},
        };
        bool no_stream = false, all = false;
        const char *format = NULL;
        double interval = 1.0;
        mx_runtime_opts ro = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        target *v = NULL;
        mx_metrics_sample *cur = NULL;
        int *ok = NULL;
        size_t n = 0;
        json_t *headers = NULL;
        int c, r = 0;
        bool json_lines;

        while ((c = mx_cli_getopt(cli, argc, argv, "a", opts)) != -1) {
                switch (c) {
                case 'N':
                        no_stream = true;
                        break;
                case 'a':
                        all = true;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'I': {
                        char *end = NULL;

                        interval = strtod(optarg, &end);
                        if (!end || *end || interval < 0.1 || interval > 3600)
                                return mx_cli_usage_error(cli, "invalid --interval '%s'", optarg);
                        break;
                }
                case 'T':
                        break;
                default:
                        return cli->exit_code;
                }
        }
        json_lines = format && strcmp(format, "json") == 0;
        ro.root = cli->root;
        if (mx_runtime_open(&rt, &ro, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        r = collect(cli, rt, all, argv + optind, argc - optind, &v, &n);
        if (r)
                goto out;
        cur = calloc(n + 1, sizeof(*cur));
        ok = calloc(n + 1, sizeof(*ok));
        headers =
                json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Name", "NAME",
                          "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %",
                          "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PerformanceScore", "SCORE");
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        sample_all(v, n, cur, ok);
        for (size_t i = 0; i < n; i++) {
                v[i].prev = cur[i];
                v[i].have_prev = ok[i];
        }
        while (!stop_flag) {
                mx_formatter *fmt = NULL;
                struct timespec ts = {(time_t)interval,
                                      (long)((interval - (double)(time_t)interval) * 1e9)};

                nanosleep(&ts, NULL);
                if (stop_flag)
                        break;
                sample_all(v, n, cur, ok);
                if (!json_lines) {
                        fmt = mx_cli_formatter(cli, format, STATS_TABLE, headers);
                        if (!fmt) {
                                r = 2;
                                goto out;
                        }
                        if (!no_stream && cli->stdout_tty)
                                fputs("\033[2J\033[H", stdout);
                }
                for (size_t i = 0; i < n; i++) {
                        mx_metrics_context ctx = {.container_name = v[i].name,
                                                  .started_unix_ns = v[i].started_ns,
                                                  .restart_count = v[i].restarts,
                                                  .health = v[i].health,
                                                  .cpu_limit = v[i].cpus};
                        mx_container_metrics m;

                        mx_metrics_compute(&m, v[i].have_prev && ok[i] ? &v[i].prev : NULL, &cur[i],
                                           &ctx);
                        if (!ok[i])
                                m.uptime_seconds = 0; /* not running */
                        if (json_lines) {
                                char *line = mx_metrics_to_json(&m);

                                if (line)
                                        printf("%s\n", line);
                                free(line);
                        } else {
                                json_t *row = row_of(&v[i], &m, &cur[i]);

                                if (mx_formatter_row(fmt, row, &err) < 0) {
                                        json_decref(row);
                                        mx_formatter_free(fmt);
                                        r = mx_cli_error(cli, err);
                                        goto out;
                                }
                                json_decref(row);
                        }
                        v[i].prev = cur[i];
                        v[i].have_prev = ok[i];
                }
                if (fmt) {
                        mx_formatter_end(fmt);
                        mx_formatter_free(fmt);
                }
                fflush(stdout);
                if (no_stream)
                        break;
        }
out:
        for (size_t i = 0; i < n; i++) {
                free(v[i].id);
                free(v[i].name);
                free(v[i].health);
        }
        free(v);
        free(cur);
        free(ok);
        json_decref(headers);
        mx_runtime_free(rt);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(stats, "stats", cmd_stats,
               "[-a] [--no-stream] [--interval SECONDS] [--format json|TEMPLATE] [CONTAINER...]",
               "Display a live stream of container resource usage statistics")
