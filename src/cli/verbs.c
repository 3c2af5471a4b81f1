/* SPDX-License-Identifier: Apache-2.0 */
/* Whole verbs and verb endings that several commands share: `<object> inspect`, one object
 * under --format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int mx_cli_inspect_verb(mx_cli *cli, int argc, char **argv, mx_cli_inspect_fn lookup)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {0},
        };
        const char *format = NULL;
        json_t *arr = json_array();
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                default:
                        json_decref(arr);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1)) {
                json_decref(arr);
                return 2;
        }
        if (mx_cli_store(cli, &s, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        for (int i = optind; i < argc; i++) {
                json_t *obj = NULL;

                if (lookup(&obj, s, argv[i], &err) < 0) {
                        r = mx_cli_error(cli, err);
                        mx_error_free(err);
                        err = NULL;
                        continue;
                }
                json_array_append_new(arr, obj);
        }
        if (format) {
                size_t i;
                json_t *v;

                json_array_foreach(arr, i, v)
                {
                        char *out = NULL;

                        if (mx_template_render(&out, format, v, &err) < 0) {
                                r = mx_cli_error(cli, err);
                                break;
                        }
                        printf("%s\n", out);
                        free(out);
                }
        } else {
                mx_cli_print_json(stdout, arr);
        }
out:
        json_decref(arr);
        mx_error_free(err);
        return r;
}

int mx_cli_print_formatted(mx_cli *cli, const json_t *v, const char *format, const char *what)
{
        mx_error *err = NULL;
        char *out = NULL;
        int r = 0;

        if (strcmp(format, "json") == 0) {
                out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", out ? out : "{}");
        } else if (mx_template_render(&out, format, v, &err) < 0) {
                r = mx_cli_fail(cli, err, "%s", what);
                mx_error_free(err);
        } else {
                printf("%s\n", out);
        }
        free(out);
        return r;
}

mx_formatter *mx_cli_formatter(mx_cli *cli, const char *format, const char *default_table,
                               const json_t *headers)
{
        mx_error *err = NULL;
        mx_formatter *fmt = mx_formatter_new(format, default_table, headers, &err);

        if (!fmt)
                (void)mx_cli_usage_error(cli, "invalid --format: %s",
                                         err && err->message ? err->message : "?");
        mx_error_free(err);
        return fmt;
}

int mx_cli_formatter_put(mx_cli *cli, mx_formatter *f, json_t *row, const char *what)
{
        mx_error *err = NULL;
        int r = 0;

        if (mx_formatter_row(f, row, &err) < 0)
                r = what ? mx_cli_fail(cli, err, "%s", what) : mx_cli_error(cli, err);
        json_decref(row);
        mx_error_free(err);
        return r;
}

int mx_cli_add_label(mx_cli *cli, json_t *labels, const char *kv)
{
        const char *eq = strchr(kv, '=');
        char *k;

        if (!eq || eq == kv)
                return mx_cli_usage_error(cli, "invalid label '%s': want KEY=VALUE", kv);
        k = mx_cli_xasprintf("%.*s", (int)(eq - kv), kv);
        json_object_set_new(labels, k, json_string(eq + 1));
        free(k);
        return 0;
}

int mx_cli_remove_each(mx_cli *cli, int argc, char **argv, mx_cli_remove_fn remove_fn,
                       void *userdata)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        int r = 0;

        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        if (mx_cli_store(cli, &s, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        for (int i = optind; i < argc; i++) {
                if (remove_fn(cli, s, argv[i], userdata))
                        r = 1;
        }
        return r;
}

int mx_cli_transfer_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg, int *quiet)
{
        uint64_t num = 0;
        int k = mx_cli__registry_opt(cli, o, c, arg);

        if (k)
                return k;
        switch (c) {
        case 'q':
                *quiet = 1;
                return 1;
        case MX_CLI_OPT_PARALLEL:
                if (mx_cli_parse_count(arg, &num) < 0 || num == 0 || num > 64) {
                        (void)mx_cli_usage_error(cli, "invalid --parallel '%s'", arg);
                        return 2;
                }
                o->parallel = (int)num;
                return 1;
        default:
                return 0;
        }
}
