/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex system check | df | prune: store maintenance, with Docker's output shapes. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <myrmex/network.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>
#include <myrmex/volume.h>

#include "cli.h"

/* The runtime module may be absent from a build: there are then no containers to prune. */
#pragma weak mx_runtime_open
#pragma weak mx_runtime_free
#pragma weak mx_container_prune
#pragma weak mx_network_prune
#pragma weak mx_volume_prune
#pragma weak mx_volume_list
#pragma weak mx_volume_info_list_free
#pragma weak mx_container_list

/* ---- system check ----------------------------------------------------------------------- */

static json_t *strv_json(char **v)
{
        json_t *a = json_array();

        for (char **p = v; p && *p; p++)
                json_array_append_new(a, json_string(*p));
        return a;
}

static int cmd_system_check(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"repair", no_argument, NULL, 'r'},
                {"verbose", no_argument, NULL, 'v'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool repair = false, verbose = false, json = false;
        mx_store *s = NULL;
        mx_store_check_report *rep = NULL, *after = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "v", opts)) != -1) {
                switch (c) {
                case 'r':
                        repair = true;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'F':
                        if (strcmp(optarg, "json") != 0)
                                return mx_cli_usage_error(cli, "--format takes 'json'");
                        json = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (mx_cli_store(cli, &s, &err) < 0 || mx_store_check(s, repair, &rep, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        /* after a repair, what is left is what counts */
        if (repair && mx_store_check(s, 0, &after, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        const mx_store_check_report *final = after ? after : rep;
        if (json) {
                json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "Root", mx_store_root(s),
                                      "Problems", strv_json(rep->problems), "Garbage",
                                      strv_json(rep->garbage), "Repaired", strv_json(rep->repaired),
                                      "Remaining", strv_json(final->problems), "Clean",
                                      final->n_problems == 0);
                char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

                printf("%s\n", t ? t : "{}");
                free(t);
                json_decref(o);
        } else {
                for (char **p = rep->problems; p && *p; p++)
                        printf("problem: %s\n", *p);
                for (char **p = rep->repaired; p && *p; p++)
                        printf("repaired: %s\n", *p);
                if (verbose) {
                        for (char **p = rep->garbage; p && *p; p++)
                                printf("garbage: %s\n", *p);
                }
                if (after) {
                        for (char **p = after->problems; p && *p; p++)
                                printf("remaining: %s\n", *p);
                }
                if (final->n_problems == 0)
                        printf("%s: no problems found%s\n", mx_store_root(s),
                               rep->n_problems ? " after repair" : "");
                else
                        printf("%s: %zu problem%s%s\n", mx_store_root(s), final->n_problems,
                               final->n_problems == 1 ? "" : "s",
                               repair ? " remain after repair" : " (run with --repair)");
                if (rep->n_garbage && !repair)
                        printf("%zu unreferenced item%s (removed by 'myrmex system prune')\n",
                               rep->n_garbage, rep->n_garbage == 1 ? "" : "s");
        }
        if (final->n_problems)
                r = 1;
out:
        mx_store_check_report_free(rep);
        mx_store_check_report_free(after);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(system_check, "system check", cmd_system_check, "[OPTIONS]",
               "Check the store's consistency (--repair to fix it)")

/* ---- system df -------------------------------------------------------------------------- */

#define DF_TABLE "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
#define DF_IMAGES_TABLE                                                                           \
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}" \
        "\t{{.UniqueSize}}\t{{.Containers}}"

/* Apparent size of a directory tree (regular files), not following links or mounts. */
static uint64_t walk_total;

static int walk_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)path;
        (void)ftw;
        if (flag == FTW_F && S_ISREG(st->st_mode))
                walk_total += (uint64_t)st->st_size;
        return 0;
}

static uint64_t dir_size(const char *path)
{
        walk_total = 0;
        (void)nftw(path, walk_add, 16, FTW_PHYS | FTW_MOUNT);
        return walk_total;
}

/* The store counts images and layers; volumes and containers belong to their modules, so
 * their rows come from those modules' listings when they are built in. */
static void df_fill_volumes(mx_cli *cli, mx_store *s, mx_store_df_entry *e)
{
        mx_volume_info **vols = NULL;
        size_t n = 0;

        (void)cli;
        if (e->total || !mx_volume_list || mx_volume_list(&vols, &n, s, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                uint64_t size = vols[i]->mountpoint ? dir_size(vols[i]->mountpoint) : 0;

                e->total++;
                e->size += size;
                if (vols[i]->ref_count)
                        e->active++;
                else
                        e->reclaimable += size;
        }
        if (mx_volume_info_list_free)
                mx_volume_info_list_free(vols, n);
}

static void df_fill_containers(mx_cli *cli, mx_store *s, mx_store_df_entry *e)
{
        mx_runtime_opts opts = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        char *text = NULL;
        json_t *list;
        size_t i;
        json_t *c;

        if (e->total || !mx_runtime_open || !mx_container_list)
                return;
        opts.root = cli->root;
        if (mx_runtime_open(&rt, &opts, NULL) < 0)
                return;
        if (mx_container_list(rt, MX_LIST_ALL, &text, NULL) == 0) {
                list = json_loads(text, 0, NULL);
                json_array_foreach(list, i, c)
                {
                        const char *id = json_string_value(json_object_get(c, "ID"));
                        const char *state = json_string_value(json_object_get(c, "State"));
                        char *dir = id ? mx_cli_xasprintf("%s/containers/%s", mx_store_root(s), id)
                                       : NULL;
                        uint64_t size = dir ? dir_size(dir) : 0;

                        free(dir);
                        e->total++;
                        e->size += size;
                        if (state &&
                            (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
                             strcmp(state, "restarting") == 0))
                                e->active++;
                        else
                                e->reclaimable += size;
                }
                json_decref(list);
        }
        mx_free(text);
        mx_runtime_free(rt);
}

static json_t *df_row(const char *type, uint64_t total, uint64_t active, uint64_t size,
                      uint64_t reclaimable, bool percent)
{
        char t[32], a[32], sz[32], rc[64];

        snprintf(t, sizeof(t), "%llu", (unsigned long long)total);
        snprintf(a, sizeof(a), "%llu", (unsigned long long)active);
        mx_cli_human_size(sz, sizeof(sz), (double)size, 4);
        mx_cli_human_size(rc, sizeof(rc), (double)reclaimable, 4);
        if (percent && size > 0) {
                size_t n = strlen(rc);

                snprintf(rc + n, sizeof(rc) - n, " (%llu%%)",
                         (unsigned long long)(reclaimable * 100 / size));
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Active", a, "Reclaimable", rc, "Size", sz,
                         "TotalCount", t, "Type", type);
}

static int df_verbose(mx_cli *cli, mx_store *s, const mx_store_df_report *df, const char *format)
{
        mx_image_record **recs = NULL;
        size_t n = 0;
        mx_error *err = NULL;
        json_t *headers = mx_cli_image_headers();
        mx_formatter *fmt = NULL;
        char bc[32];
        int r = 0;

        if (mx_store_image_list(s, &recs, &n, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        fmt = mx_cli_formatter(cli, format, DF_IMAGES_TABLE, headers);
        if (!fmt) {
                r = 2;
                goto out;
        }
        printf("Images space usage:\n\n");
        time_t now = time(NULL);
        for (size_t i = 0; i < n; i++) {
                size_t ntags = 0;

                while (recs[i]->tags && recs[i]->tags[ntags])
                        ntags++;
                for (size_t t = 0; t < (ntags ? ntags : 1); t++) {
                        json_t *row = mx_cli_image_row(recs[i], ntags ? recs[i]->tags[t] : NULL,
                                                       false, now);
                        char sz[32];

                        mx_cli_human_size(sz, sizeof(sz), (double)mx_cli_image_size(recs[i]), 4);
                        json_object_set_new(row, "SharedSize", json_string("0B"));
                        json_object_set_new(row, "UniqueSize", json_string(sz));
                        json_object_set_new(row, "Containers", json_string("0"));
                        (void)mx_formatter_row(fmt, row, NULL);
                        json_decref(row);
                }
        }
        mx_formatter_end(fmt);
        printf("\nContainers space usage:\n\n");
        printf("CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    "
               "NAMES\n");
        printf("\nLocal Volumes space usage:\n\n");
        printf("VOLUME NAME   LINKS     SIZE\n");
        mx_cli_human_size(bc, sizeof(bc), (double)df->build_cache.size, 4);
        printf("\nBuild cache usage: %s\n\n", bc);
        printf("CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n");
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        mx_image_record_list_free(recs, n);
        mx_error_free(err);
        return r;
}

static int cmd_system_df(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"verbose", no_argument, NULL, 'v'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool verbose = false;
        const char *format = NULL;
        mx_store *s = NULL;
        mx_store_df_report df;
        mx_error *err = NULL;
        mx_formatter *fmt = NULL;
        json_t *headers = NULL, *rows[4];
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "v", opts)) != -1) {
                switch (c) {
                case 'v':
                        verbose = true;
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
        if (mx_cli_store(cli, &s, &err) < 0 || mx_store_df(s, &df, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        df_fill_volumes(cli, s, &df.volumes);
        df_fill_containers(cli, s, &df.containers);
        if (verbose)
                return df_verbose(cli, s, &df, format);

        headers = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL",
                            "Active", "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
        fmt = mx_cli_formatter(cli, format, DF_TABLE, headers);
        if (!fmt) {
                r = 2;
                goto out;
        }
        /* what images occupy here: their blobs plus their unpacked layers */
        rows[0] =
                df_row("Images", df.images.total, df.images.active, df.images.size + df.layers.size,
                       df.images.reclaimable + df.layers.reclaimable, true);
        rows[1] = df_row("Containers", df.containers.total, df.containers.active,
                         df.containers.size, df.containers.reclaimable, true);
        rows[2] = df_row("Local Volumes", df.volumes.total, df.volumes.active, df.volumes.size,
                         df.volumes.reclaimable, true);
        rows[3] = df_row("Build Cache", df.build_cache.total, df.build_cache.active,
                         df.build_cache.size, df.build_cache.reclaimable, false);
        for (size_t i = 0; i < 4; i++) {
                if (r == 0 && mx_formatter_row(fmt, rows[i], &err) < 0)
                        r = mx_cli_fail(cli, err, "format");
                json_decref(rows[i]);
        }
        if (r == 0)
                mx_formatter_end(fmt);
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(system_df, "system df", cmd_system_df, "[OPTIONS]", "Show disk usage")

/* ---- system prune ----------------------------------------------------------------------- */

/* Remove stopped containers through the runtime when it is built in; prints their IDs. */
static int prune_containers(mx_cli *cli)
{
        mx_runtime_opts opts = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        char *text = NULL;
        int r = 0;

        if (!mx_runtime_open || !mx_container_prune)
                return 0;
        opts.root = cli->root;
        if (mx_runtime_open(&rt, &opts, &err) < 0) {
                /* no OCI runtime installed means no containers either */
                mx_error_free(err);
                return 0;
        }
        if (mx_container_prune(rt, &text, &err) < 0) {
                r = mx_cli_fail(cli, err, "prune containers");
        } else {
                json_t *o = json_loads(text, 0, NULL);
                json_t *ids = json_object_get(o, "ContainersDeleted");

                if (json_array_size(ids)) {
                        size_t i;
                        json_t *id;

                        printf("Deleted Containers:\n");
                        json_array_foreach(ids, i, id) printf("%s\n", json_string_value(id));
                        printf("\n");
                }
                json_decref(o);
        }
        mx_free(text);
        mx_error_free(err);
        mx_runtime_free(rt);
        return r;
}

static void print_names(const char *title, char **names)
{
        if (!names || !names[0])
                return;
        printf("%s:\n", title);
        for (char **p = names; *p; p++)
                printf("%s\n", *p);
        printf("\n");
}

static void free_names(char **names)
{
        for (char **p = names; p && *p; p++)
                mx_free(*p);
        mx_free(names);
}

/* Networks no container uses, and with --volumes the anonymous volumes, when those modules
 * are built in. Adds the bytes freed to *reclaimed. */
static int prune_networks_volumes(mx_cli *cli, mx_store *s, bool volumes, uint64_t *reclaimed)
{
        mx_error *err = NULL;
        char **names = NULL;
        int r = 0;

        if (mx_network_prune) {
                if (mx_network_prune(&names, s, &err) < 0)
                        r = mx_cli_fail(cli, err, "prune networks");
                else
                        print_names("Deleted Networks", names);
                free_names(names);
                names = NULL;
                mx_error_free(err);
                err = NULL;
        }
        if (volumes && mx_volume_prune) {
                uint64_t bytes = 0;

                if (mx_volume_prune(&names, &bytes, s, 0, &err) < 0) {
                        r = mx_cli_fail(cli, err, "prune volumes");
                } else {
                        print_names("Deleted Volumes", names);
                        *reclaimed += bytes;
                }
                free_names(names);
                mx_error_free(err);
        }
        return r;
}

static int cmd_system_prune(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"force", no_argument, NULL, 'f'},
                {"volumes", no_argument, NULL, 'V'},
                {0},
        };
        bool all = false, force = false, volumes = false;
        mx_store *s = NULL;
        mx_store_prune_report *rep = NULL;
        mx_error *err = NULL;
        uint64_t reclaimed = 0;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "af", opts)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'f':
                        force = true;
                        break;
                case 'V':
                        volumes = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!force && !mx_cli_confirm(cli, all ? "WARNING! This will remove:\n"
                                                 "  - all stopped containers\n"
                                                 "  - all networks not used by at least one "
                                                 "container\n"
                                                 "  - all images without at least one container "
                                                 "associated to them\n"
                                                 "  - unused data in the store"
                                               : "WARNING! This will remove:\n"
                                                 "  - all stopped containers\n"
                                                 "  - all networks not used by at least one "
                                                 "container\n"
                                                 "  - all dangling images\n"
                                                 "  - unused data in the store"))
                return 0;
        r = prune_containers(cli);
        if (mx_cli_store(cli, &s, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        if (prune_networks_volumes(cli, s, volumes, &reclaimed))
                r = 1;
        if (mx_store_prune(s, all, &rep, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        /* one total for everything, as Docker prints it */
        rep->reclaimed += reclaimed;
        mx_cli_print_prune(rep);
        mx_store_prune_report_free(rep);
        return r;
}

MX_CLI_COMMAND(system_prune, "system prune", cmd_system_prune, "[OPTIONS]",
               "Remove unused data: stopped containers, dangling (-a: unused) images, garbage")
