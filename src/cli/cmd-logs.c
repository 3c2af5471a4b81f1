/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex logs: stdout and stderr of a container on their own streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/runtime.h>

#include "cli.h"

typedef struct out_ctx {
        bool timestamps;
} out_ctx;

static int emit(int stream, int64_t time_ns, const char *rfc3339, const char *data, size_t len,
                void *userdata)
{
        out_ctx *ctx = userdata;
        FILE *f = stream == 2 ? stderr : stdout;

        (void)time_ns;
        if (ctx->timestamps) {
                fputs(rfc3339, f);
                fputc(' ', f);
        }
        fwrite(data, 1, len, f);
        return 0;
}

/* --since/--until: RFC 3339, unix seconds (with fraction), or a duration ago ("10m"). */
static int parse_when(const char *s, int64_t *ns_out)
{
        time_t t;
        char *end = NULL;
        double secs;
        int64_t now;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (mx_cli_parse_rfc3339(s, &t) == 0) {
                *ns_out = (int64_t)t * 1000000000;
                return 0;
        }
        secs = strtod(s, &end);
        if (end != s && *end == '\0') {
                *ns_out = (int64_t)(secs * 1e9);
                return 0;
        }
        if (end != s && (strcmp(end, "s") == 0 || strcmp(end, "m") == 0 || strcmp(end, "h") == 0 ||
                         strcmp(end, "ms") == 0)) {
                double mult = strcmp(end, "s") == 0   ? 1e9
                              : strcmp(end, "m") == 0 ? 60e9
                              : strcmp(end, "h") == 0 ? 3600e9
                                                      : 1e6;

                *ns_out = now - (int64_t)(secs * mult);
                return 0;
        }
        return -1;
}

static int cmd_logs(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"follow", no_argument, NULL, 'f'},
                {"tail", required_argument, NULL, 'n'},
                {"since", required_argument, NULL, 'S'},
                {"until", required_argument, NULL, 'U'},
                {"timestamps", no_argument, NULL, 't'},
                {"details", no_argument, NULL, 'D'},
                {0},
        };
        mx_logs_opts lo = MX_LOGS_OPTS_INIT;
        out_ctx ctx = {false};
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        static char obuf[1 << 20], ebuf[1 << 16];
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "fn:t", opts)) != -1) {
                switch (c) {
                case 'f':
                        lo.follow = 1;
                        break;
                case 'n':
                        if (strcmp(optarg, "all") == 0) {
                                lo.tail = -1;
                        } else {
                                if (mx_cli_parse_i64(optarg, &lo.tail) < 0 || lo.tail < 0)
                                        return mx_cli_usage_error(cli, "invalid --tail '%s'",
                                                                  optarg);
                        }
                        break;
                case 'S':
                        if (parse_when(optarg, &lo.since_ns) < 0)
                                return mx_cli_usage_error(cli, "invalid --since '%s'", optarg);
                        break;
                case 'U':
                        if (parse_when(optarg, &lo.until_ns) < 0)
                                return mx_cli_usage_error(cli, "invalid --until '%s'", optarg);
                        break;
                case 't':
                        ctx.timestamps = true;
                        break;
                case 'D':
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 1))
                return 2;
        /* big buffers: a large log goes out in few writes; follow mode flushes per line */
        if (!lo.follow) {
                setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
                setvbuf(stderr, ebuf, _IOFBF, sizeof(ebuf));
        } else {
                setvbuf(stdout, NULL, _IOLBF, 0);
        }
        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, &err) < 0 ||
            mx_container_logs(rt, argv[optind], &lo, emit, &ctx, &err) < 0)
                r = mx_cli_error(cli, err);
        fflush(stdout);
        fflush(stderr);
        mx_error_free(err);
        mx_runtime_free(rt);
        return r;
}

MX_CLI_COMMAND(logs, "logs", cmd_logs, "[OPTIONS] CONTAINER", "Fetch the logs of a container")
MX_CLI_ALIAS(container_logs, "container logs", "logs")
