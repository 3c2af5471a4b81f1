/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex ps and top: Docker's columns and JSON field names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/runtime.h>

#include "cli.h"

/* --filter KEY=VALUE as docker ps takes it: id, name, label, status, exited, ancestor. */
static bool row_matches(const json_t *row, char **filters, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *f = filters[i], *eq = strchr(f, '=');
                const char *v = eq ? eq + 1 : "";
                size_t klen = eq ? (size_t)(eq - f) : strlen(f);
                const char *s;

                if (klen == 2 && strncmp(f, "id", 2) == 0) {
                        s = json_string_value(json_object_get(row, "ID"));
                        if (!s || strncmp(s, v, strlen(v)) != 0)
                                return false;
                } else if (klen == 4 && strncmp(f, "name", 4) == 0) {
                        s = json_string_value(json_object_get(row, "Names"));
                        if (!s || !strstr(s, v))
                                return false;
                } else if (klen == 6 && strncmp(f, "status", 6) == 0) {
                        s = json_string_value(json_object_get(row, "State"));
                        if (!s || strcmp(s, v) != 0)
                                return false;
                } else if (klen == 6 && strncmp(f, "exited", 6) == 0) {
                        char num[32];

                        s = json_string_value(json_object_get(row, "State"));
                        snprintf(num, sizeof(num), "%lld",
                                 (long long)json_integer_value(json_object_get(row, "ExitCode")));
                        if (!s || strcmp(s, "exited") != 0 || strcmp(num, v) != 0)
                                return false;
                } else if (klen == 8 && strncmp(f, "ancestor", 8) == 0) {
                        s = json_string_value(json_object_get(row, "Image"));
                        if (!s || strcmp(s, v) != 0)
                                return false;
                } else if (klen == 5 && strncmp(f, "label", 5) == 0) {
                        const json_t *labels = json_object_get(row, "LabelsMap");
                        const char *leq = strchr(v, '=');
                        char key[256];
                        const json_t *lv;

                        snprintf(key, sizeof(key), "%.*s", leq ? (int)(leq - v) : (int)strlen(v),
                                 v);
                        lv = json_object_get(labels, key);
                        if (!lv || (leq && strcmp(json_string_value(lv), leq + 1) != 0))
                                return false;
                }
        }
        return true;
}

static int cmd_ps(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"quiet", no_argument, NULL, 'q'},
                {"filter", required_argument, NULL, 'f'},
                {"format", required_argument, NULL, 'F'},
                {"no-trunc", no_argument, NULL, 'N'},
                {"last", required_argument, NULL, 'n'},
                {"latest", no_argument, NULL, 'l'},
                {"size", no_argument, NULL, 's'},
                {0},
        };
        bool all = false, quiet = false, no_trunc = false;
        const char *format = NULL;
        char **filters = NULL;
        size_t n_filters = 0;
        long last = -1;
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        mx_formatter *fmt = NULL;
        json_t *arr, *headers;
        char *text = NULL;
        size_t i, shown = 0;
        json_t *row;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "aqf:n:ls", opts)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'f':
                        filters = realloc(filters, (n_filters + 1) * sizeof(char *));
                        filters[n_filters++] = optarg;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'N':
                        no_trunc = true;
                        break;
                case 'n': {
                        int v;

                        if (mx_cli_parse_int(optarg, -1, 1 << 30, &v) < 0) {
                                free(filters);
                                return mx_cli_usage_error(cli, "invalid --last '%s'", optarg);
                        }
                        last = v;
                        all = true;
                        break;
                }
                case 'l':
                        last = 1;
                        all = true;
                        break;
                case 's':
                        break;
                default:
                        free(filters);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0)) {
                free(filters);
                return 2;
        }
        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, &err) < 0 ||
            mx_container_list(rt, all || n_filters ? MX_LIST_ALL : 0, &text, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        arr = json_loads(text, 0, NULL);
        headers = json_pack("{s:s,s:s,s:s}", "ID", "CONTAINER ID", "RunningFor", "CREATED", "Names",
                            "NAMES");
        if (!quiet) {
                fmt = mx_formatter_new(format ? format : "table",
                                       "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}"
                                       "\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
                                       headers, &err);
                if (!fmt) {
                        r = mx_cli_error(cli, err);
                        json_decref(headers);
                        json_decref(arr);
                        goto out;
                }
        }
        json_array_foreach(arr, i, row)
        {
                const char *state = json_string_value(json_object_get(row, "State"));
                bool active =
                        state && (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
                                  strcmp(state, "restarting") == 0);

                if (!all && !active)
                        continue;
                if (!row_matches(row, filters, n_filters))
                        continue;
                if (last >= 0 && (long)shown >= last)
                        break;
                shown++;
                if (!no_trunc) {
                        char id[13];

                        snprintf(id, sizeof(id), "%s",
                                 json_string_value(json_object_get(row, "ID")));
                        json_object_set_new(row, "ID", json_string(id));
                }
                if (quiet) {
                        printf("%s\n", json_string_value(json_object_get(row, "ID")));
                        continue;
                }
                /* only Docker's fields in the output */
                json_object_del(row, "LabelsMap");
                json_object_del(row, "ImageID");
                json_object_del(row, "Created");
                json_object_del(row, "ExitCode");
                json_object_del(row, "Pid");
                json_object_del(row, "RestartCount");
                if (mx_formatter_row(fmt, row, &err) < 0) {
                        r = mx_cli_error(cli, err);
                        break;
                }
        }
        if (fmt)
                mx_formatter_end(fmt);
        mx_formatter_free(fmt);
        json_decref(headers);
        json_decref(arr);
out:
        mx_error_free(err);
        mx_free(text);
        free(filters);
        mx_runtime_free(rt);
        return r;
}

static int cmd_top(mx_cli *cli, int argc, char **argv)
{
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        char *text = NULL;
        mx_table *t;
        json_t *j, *row;
        size_t i;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "+", NULL)) != -1)
                return cli->exit_code;
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, &err) < 0 ||
            mx_container_top(rt, argv[optind], &text, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                mx_runtime_free(rt);
                return r;
        }
        j = json_loads(text, 0, NULL);
        t = mx_table_new();
        {
                const char *cells[8];
                json_t *titles = json_object_get(j, "Titles");

                for (size_t k = 0; k < 8; k++)
                        cells[k] = json_string_value(json_array_get(titles, k));
                mx_table_add(t, cells, 8);
        }
        json_array_foreach(json_object_get(j, "Processes"), i, row)
        {
                char pid[24], ppid[24];
                const char *cells[8];

                snprintf(pid, sizeof(pid), "%lld",
                         (long long)json_integer_value(json_array_get(row, 1)));
                snprintf(ppid, sizeof(ppid), "%lld",
                         (long long)json_integer_value(json_array_get(row, 2)));
                cells[0] = json_string_value(json_array_get(row, 0));
                cells[1] = pid;
                cells[2] = ppid;
                for (size_t k = 3; k < 8; k++)
                        cells[k] = json_string_value(json_array_get(row, k));
                mx_table_add(t, cells, 8);
        }
        mx_table_print(t, stdout);
        mx_table_free(t);
        json_decref(j);
        mx_free(text);
        mx_runtime_free(rt);
        return 0;
}

MX_CLI_COMMAND(ps, "ps", cmd_ps, "[OPTIONS]", "List containers")
MX_CLI_COMMAND(top, "top", cmd_top, "CONTAINER [ps OPTIONS]",
               "Display the running processes of a container")
MX_CLI_ALIAS(container_ls, "container ls", "ps")
MX_CLI_ALIAS(container_list, "container list", "ps")
MX_CLI_ALIAS(container_top, "container top", "top")
