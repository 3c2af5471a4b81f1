/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex volume create/ls/inspect/rm/prune: named volumes under the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myrmex/store.h>
#include <myrmex/volume.h>

#include "cli.h"

#define VOLUME_TABLE "table {{.Driver}}\t{{.Name}}"

static json_t *inspect_obj(const mx_volume_info *v)
{
        char created[64];

        mx_cli_rfc3339(created, sizeof(created), v->created);
        return json_pack("{s:s,s:s,s:o,s:s,s:s,s:{},s:s}", "CreatedAt", created, "Driver",
                         v->driver, "Labels", mx_cli_labels_json(v->labels_json), "Mountpoint",
                         v->mountpoint, "Name", v->name, "Options", "Scope", "local");
}

static int cmd_volume_create(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"driver", required_argument, NULL, 'd'},
                {"label", required_argument, NULL, 'L'},
                {"name", required_argument, NULL, 'N'},
                {0},
        };
        mx_volume_create_opts o = MX_VOLUME_CREATE_OPTS_INIT;
        mx_volume_info *v = NULL;
        json_t *labels = json_object();
        char *labels_txt = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "d:", opts)) != -1) {
                switch (c) {
                case 'd':
                        o.driver = optarg;
                        break;
                case 'N':
                        o.name = optarg;
                        break;
                case 'L':
                        r = mx_cli_add_label(cli, labels, optarg);
                        if (r) {
                                json_decref(labels);
                                return r;
                        }
                        break;
                default:
                        json_decref(labels);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 1)) {
                json_decref(labels);
                return 2;
        }
        if (optind < argc)
                o.name = argv[optind];
        labels_txt = json_dumps(labels, JSON_COMPACT);
        o.labels_json = labels_txt;
        if (mx_cli_store(cli, &s, &err) < 0 || mx_volume_create(&v, s, &o, &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("%s\n", v->name);
        mx_volume_info_free(v);
        free(labels_txt);
        json_decref(labels);
        mx_error_free(err);
        return r;
}

static int cmd_volume_ls(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"quiet", no_argument, NULL, 'q'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool quiet = false;
        const char *format = NULL;
        mx_volume_info **list = NULL;
        mx_formatter *fmt = NULL;
        json_t *headers = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        size_t n = 0;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "q", opts)) != -1) {
                switch (c) {
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
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (mx_cli_store(cli, &s, &err) < 0 || mx_volume_list(&list, &n, s, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        if (!quiet) {
                headers = json_pack("{s:s}", "Name", "VOLUME NAME");
                fmt = mx_cli_formatter(cli, format, VOLUME_TABLE, headers);
                if (!fmt) {
                        r = 2;
                        goto out;
                }
        }
        for (size_t i = 0; i < n; i++) {
                json_t *row;

                if (quiet) {
                        printf("%s\n", list[i]->name);
                        continue;
                }
                row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "Driver", list[i]->driver, "Name",
                                list[i]->name, "Mountpoint", list[i]->mountpoint, "Scope", "local",
                                "Size", "N/A", "Links", "N/A", "Labels",
                                mx_cli_labels_json(list[i]->labels_json));
                r = mx_cli_formatter_put(cli, fmt, row, NULL);
                if (r)
                        goto out;
        }
        if (fmt)
                mx_formatter_end(fmt);
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        mx_volume_info_list_free(list, n);
        mx_error_free(err);
        return r;
}

static int inspect_one(json_t **out, mx_store *s, const char *name, mx_error **err)
{
        mx_volume_info *v = NULL;

        if (mx_volume_inspect(&v, s, name, err) < 0)
                return -1;
        *out = inspect_obj(v);
        mx_volume_info_free(v);
        return 0;
}

static int cmd_volume_inspect(mx_cli *cli, int argc, char **argv)
{
        return mx_cli_inspect_verb(cli, argc, argv, inspect_one);
}

static int remove_one(mx_cli *cli, mx_store *s, const char *name, void *userdata)
{
        mx_error *err = NULL;
        int r = 0;

        if (mx_volume_remove(s, name, *(const bool *)userdata, &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("%s\n", name);
        mx_error_free(err);
        return r;
}

static int cmd_volume_rm(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        bool force = false;
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        return mx_cli_remove_each(cli, argc, argv, remove_one, &force);
}

static int cmd_volume_prune(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {"all", no_argument, NULL, 'a'},
                {0},
        };
        bool force = false, all = false;
        char **removed = NULL;
        uint64_t bytes = 0;
        char human[32];
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "fa", opts)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'a':
                        all = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!force && !mx_cli_confirm(cli, all ? "WARNING! This will remove all local volumes "
                                                 "not used by at least one container."
                                               : "WARNING! This will remove anonymous local "
                                                 "volumes not used by at least one container."))
                return 0;
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_volume_prune(&removed, &bytes, s, all, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        if (removed && removed[0]) {
                printf("Deleted Volumes:\n");
                for (char **p = removed; *p; p++)
                        printf("%s\n", *p);
                printf("\n");
        }
        mx_cli_human_size(human, sizeof(human), (double)bytes, 3);
        printf("Total reclaimed space: %s\n", human);
        for (char **p = removed; p && *p; p++)
                mx_free(*p);
        mx_free(removed);
        return 0;
}

MX_CLI_COMMAND(volume_create, "volume create", cmd_volume_create,
               "[-d local] [--label K=V] [VOLUME]", "Create a volume")
MX_CLI_COMMAND(volume_ls, "volume ls", cmd_volume_ls, "[-q] [--format FORMAT]", "List volumes")
MX_CLI_ALIAS(volume_list, "volume list", "volume ls")
MX_CLI_COMMAND(volume_inspect, "volume inspect", cmd_volume_inspect,
               "[-f FORMAT] VOLUME [VOLUME...]", "Display detailed information on volumes")
MX_CLI_COMMAND(volume_rm, "volume rm", cmd_volume_rm, "[-f] VOLUME [VOLUME...]",
               "Remove one or more volumes")
MX_CLI_ALIAS(volume_remove, "volume remove", "volume rm")
MX_CLI_COMMAND(volume_prune, "volume prune", cmd_volume_prune, "[-a] [-f]",
               "Remove unused local volumes")
