/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex inspect: Docker's inspect objects as a JSON array, containers first, then images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/images.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>

#include "cli.h"

/* The runtime module may be absent from a build; containers are then simply not found. */
#pragma weak mx_runtime_open
#pragma weak mx_runtime_free
#pragma weak mx_container_inspect

typedef enum { TYPE_ANY, TYPE_IMAGE, TYPE_CONTAINER } obj_type;

static int inspect_container(mx_cli *cli, mx_runtime **rt, const char *what, json_t **out,
                             mx_error **err)
{
        char *text = NULL;
        int r;

        if (!mx_runtime_open || !mx_container_inspect)
                return MX_ENOTFOUND;
        if (!*rt) {
                mx_runtime_opts opts = MX_RUNTIME_OPTS_INIT;

                opts.root = cli->root;
                r = mx_runtime_open(rt, &opts, err);
                if (r < 0)
                        return r;
        }
        r = mx_container_inspect(*rt, what, &text, err);
        if (r < 0)
                return r;
        *out = json_loads(text, 0, NULL);
        mx_free(text);
        return *out ? 0 : MX_EFORMAT;
}

static int inspect_image(mx_cli *cli, const char *what, json_t **out, mx_error **err)
{
        mx_store *s = NULL;
        char *text = NULL;
        int r;

        r = mx_cli_store(cli, &s, err);
        if (r < 0)
                return r;
        r = mx_images_inspect_json(s, what, &text, err);
        if (r < 0)
                return r;
        *out = json_loads(text, JSON_DECODE_ANY, NULL);
        mx_free(text);
        return *out ? 0 : MX_EFORMAT;
}

static int cmd_inspect(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"type", required_argument, NULL, 't'},
                {"size", no_argument, NULL, 's'},
                {0},
        };
        const char *format = NULL;
        obj_type type = TYPE_ANY;
        mx_runtime *rt = NULL;
        json_t *arr = json_array();
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f:s", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 't':
                        if (strcmp(optarg, "image") == 0) {
                                type = TYPE_IMAGE;
                        } else if (strcmp(optarg, "container") == 0) {
                                type = TYPE_CONTAINER;
                        } else {
                                json_decref(arr);
                                return mx_cli_usage_error(
                                        cli, "\"%s\" is not a valid value for --type", optarg);
                        }
                        break;
                case 's':
                        break; /* sizes are always there */
                default:
                        json_decref(arr);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1)) {
                json_decref(arr);
                return 2;
        }
        for (int i = optind; i < argc; i++) {
                const char *what = argv[i];
                mx_error *err = NULL;
                json_t *obj = NULL;
                int q = MX_ENOTFOUND;

                if (type != TYPE_IMAGE) {
                        q = inspect_container(cli, &rt, what, &obj, &err);
                        if (q < 0 && q != MX_ENOTFOUND && type == TYPE_CONTAINER) {
                                r = mx_cli_error(cli, err);
                                mx_error_free(err);
                                continue;
                        }
                }
                if (q < 0 && type != TYPE_CONTAINER) {
                        mx_error_free(err);
                        err = NULL;
                        q = inspect_image(cli, what, &obj, &err);
                }
                if (q == MX_ENOTFOUND) {
                        fflush(stdout);
                        fprintf(stderr, "myrmex: error: no such %s: '%s'\n",
                                type == TYPE_IMAGE       ? "image"
                                : type == TYPE_CONTAINER ? "container"
                                                         : "object",
                                what);
                        r = 1;
                } else if (q < 0) {
                        r = mx_cli_error(cli, err);
                } else {
                        json_array_append_new(arr, obj);
                }
                mx_error_free(err);
        }
        if (format) {
                size_t i;
                json_t *obj;

                json_array_foreach(arr, i, obj)
                {
                        mx_error *err = NULL;
                        char *out = NULL;

                        if (mx_template_render(&out, format, obj, &err) < 0) {
                                r = mx_cli_fail(cli, err, "template");
                                mx_error_free(err);
                                break;
                        }
                        printf("%s\n", out);
                        free(out);
                }
        } else {
                mx_cli_print_json(stdout, arr);
        }
        if (rt)
                mx_runtime_free(rt);
        json_decref(arr);
        return r;
}

MX_CLI_COMMAND(inspect, "inspect", cmd_inspect, "[OPTIONS] NAME|ID [NAME|ID...]",
               "Return low-level information on containers or images")
