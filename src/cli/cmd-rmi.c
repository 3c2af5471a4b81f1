/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex rmi: untag and remove images, printing Docker's Untagged:/Deleted: lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/images.h>
#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "cli.h"

static void strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                mx_free(*p);
        mx_free(v);
}

/* Whether removing `what` deletes the image (rather than dropping one of several tags). */
static bool would_delete(const mx_image_record *rec, const char *what)
{
        char *norm = NULL;
        size_t ntags = 0;
        bool is_tag = false;

        while (rec->tags && rec->tags[ntags])
                ntags++;
        if (ntags <= 1)
                return true;
        if (mx_ref_normalize(&norm, what, NULL) == 0) {
                for (size_t i = 0; i < ntags; i++)
                        is_tag = is_tag || strcmp(rec->tags[i], norm) == 0;
                mx_free(norm);
        }
        return !is_tag;
}

static int remove_one(mx_cli *cli, mx_store *s, const char *what, bool force)
{
        mx_image_record *rec = NULL;
        char **untagged = NULL, **deleted = NULL;
        mx_error *err = NULL;
        int r;

        if (force && mx_store_image_get(s, what, &rec, NULL) == 0 && rec->mounts > 0 &&
            would_delete(rec, what)) {
                /* -f on a mounted image: its mounts go first, as the store requires */
                if (mx_image_unmount(s, rec->id, 1, &err) < 0) {
                        r = mx_cli_fail(cli, err, "remove image '%s'", what);
                        mx_error_free(err);
                        mx_image_record_free(rec);
                        return r;
                }
        }
        mx_image_record_free(rec);
        if (mx_store_image_remove(s, what, force, &untagged, &deleted, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        for (char **p = untagged; p && *p; p++)
                printf("Untagged: %s\n", *p);
        for (char **p = deleted; p && *p; p++)
                printf("Deleted: %s\n", *p);
        strv_free(untagged);
        strv_free(deleted);
        return 0;
}

static int remove_each_one(mx_cli *cli, mx_store *s, const char *name, void *userdata)
{
        return remove_one(cli, s, name, *(const bool *)userdata);
}

static int cmd_rmi(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {"no-prune", no_argument, NULL, 'P'},
                {0},
        };
        bool force = false;
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'P':
                        break; /* layers are shared by chain ID and collected when unused */
                default:
                        return cli->exit_code;
                }
        }
        return mx_cli_remove_each(cli, argc, argv, remove_each_one, &force);
}

MX_CLI_COMMAND(rmi, "rmi", cmd_rmi, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images")
