/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex history: an image's history as docker history shows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "cli.h"

#define HISTORY_TABLE "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

/* Docker's Ellipsis: at most max characters (code points), the last one "…". */
static char *ellipsis(const char *s, size_t max)
{
        size_t chars = 0, i = 0;

        for (const char *p = s; *p; p++) {
                if (((unsigned char)*p & 0xC0) != 0x80)
                        chars++;
        }
        if (chars <= max)
                return mx_cli_xstrdup(s);
        /* keep max-1 code points */
        for (chars = 0; s[i]; i++) {
                if (((unsigned char)s[i] & 0xC0) != 0x80) {
                        if (chars == max - 1)
                                break;
                        chars++;
                }
        }
        return mx_cli_xasprintf("%.*s\u2026", (int)i, s);
}

static int parse_bool(const char *s, bool *out)
{
        if (s && s[0] == '=')
                s++;
        if (!s || strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
                *out = true;
                return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
                *out = false;
                return 0;
        }
        return -1;
}

static int cmd_history(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"human", optional_argument, NULL, 'H'},
                {"no-trunc", no_argument, NULL, 'T'},
                {"quiet", no_argument, NULL, 'q'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool human = true, no_trunc = false, quiet = false;
        const char *format = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        char *text = NULL;
        json_t *hist = NULL, *headers = NULL;
        mx_formatter *fmt = NULL;
        int c, r = 0;

        /* "H::" so that pflag's "-H=false" arrives as optarg "=false" */
        while ((c = mx_cli_getopt(cli, argc, argv, "H::q", opts)) != -1) {
                switch (c) {
                case 'H':
                        if (parse_bool(optarg, &human) < 0)
                                return mx_cli_usage_error(cli, "invalid value '%s' for --human",
                                                          optarg);
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'F':
                        format = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 1))
                return 2;
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_images_history_json(s, argv[optind], &text, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        hist = json_loads(text, 0, NULL);
        if (!json_is_array(hist)) {
                r = mx_cli_fail(cli, NULL, "history of '%s': malformed history", argv[optind]);
                goto out;
        }
        if (!quiet) {
                headers = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince",
                                    "CREATED", "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY",
                                    "Size", "SIZE", "Comment", "COMMENT");
                fmt = mx_cli_formatter(cli, format, HISTORY_TABLE, headers);
                if (!fmt) {
                        r = 2;
                        goto out;
                }
        }

        time_t now = time(NULL);
        size_t i;
        json_t *e;
        json_array_foreach(hist, i, e)
        {
                const char *id = json_string_value(json_object_get(e, "ID"));
                const char *at = json_string_value(json_object_get(e, "CreatedAt"));
                const char *by = json_string_value(json_object_get(e, "CreatedBy"));
                const char *comment = json_string_value(json_object_get(e, "Comment"));
                json_int_t size = json_integer_value(json_object_get(e, "Size"));
                char idbuf[80], since[64], sizebuf[32];
                time_t t = 0;

                if (!id)
                        id = "<missing>";
                if (!no_trunc && strncmp(id, "sha256:", 7) == 0)
                        id = mx_cli_short_id(idbuf, sizeof(idbuf), id);
                if (quiet) {
                        printf("%s\n", id);
                        continue;
                }
                if (at && mx_cli_parse_rfc3339(at, &t) == 0 && human)
                        mx_cli_human_since(since, sizeof(since), t, now);
                else
                        snprintf(since, sizeof(since), "%s", at ? at : "");
                if (human)
                        mx_cli_human_size(sizebuf, sizeof(sizebuf), (double)size, 3);
                else
                        snprintf(sizebuf, sizeof(sizebuf), "%lld", (long long)size);
                char *by_shown =
                        no_trunc ? mx_cli_xstrdup(by ? by : "") : ellipsis(by ? by : "", 45);
                json_t *row =
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Comment",
                                  comment ? comment : "", "CreatedAt", at ? at : "", "CreatedBy",
                                  by_shown, "CreatedSince", since, "ID", id, "Size", sizebuf);
                free(by_shown);
                if (!row)
                        abort();
                r = mx_cli_formatter_put(cli, fmt, row, "format");
                if (r)
                        goto out;
        }
        mx_formatter_end(fmt);
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        json_decref(hist);
        mx_free(text);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(history, "history", cmd_history, "[OPTIONS] IMAGE", "Show the history of an image")
