/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex image mount IMAGE / image unmount IMAGE|--all: read-only root filesystem views. */
#include <stdio.h>

#include <myrmex/common.h>
#include <myrmex/images.h>
#include <myrmex/store.h>

#include "cli.h"

static int cmd_image_mount(mx_cli *cli, int argc, char **argv)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        char *path = NULL;
        int c, r;

        while ((c = mx_cli_getopt(cli, argc, argv, "", NULL)) != -1) {
                switch (c) {
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 1))
                return 2;
        r = mx_cli_store(cli, &s, &err);
        if (r >= 0)
                r = mx_image_mount(s, argv[optind], &path, &err);
        if (r < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        printf("%s\n", path);
        mx_free(path);
        return 0;
}

static int cmd_image_unmount(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        bool all = false, force = false;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r;

        while ((c = mx_cli_getopt(cli, argc, argv, "af", opts)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (all ? mx_cli_want_args(cli, argc - optind, 0, 0)
                : mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        r = mx_cli_store(cli, &s, &err);
        if (r >= 0 && all)
                r = mx_image_unmount(s, NULL, 1, &err);
        for (int i = optind; r >= 0 && !all && i < argc; i++) {
                r = mx_image_unmount(s, argv[i], force, &err);
                if (r >= 0)
                        printf("%s\n", argv[i]);
        }
        if (r < 0)
                r = mx_cli_error(cli, err);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(image_mount, "image mount", cmd_image_mount, "IMAGE",
               "Mount an image's root filesystem read-only and print its path")
MX_CLI_COMMAND(image_unmount, "image unmount", cmd_image_unmount, "[OPTIONS] IMAGE... | --all",
               "Unmount an image's root filesystem")
MX_CLI_ALIAS(image_umount, "image umount", "image unmount")
