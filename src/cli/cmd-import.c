/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex import ROOTFS.tar|- [NAME[:TAG]]: make a one-layer image from a tarball. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/common.h>
#include <myrmex/images.h>
#include <myrmex/store.h>

#include "cli.h"

static int cmd_import(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"message", required_argument, NULL, 'm'},
                {0},
        };
        mx_images_import_opts io = MX_IMAGES_IMPORT_OPTS_INIT;
        const char *src, *ref = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        char *id = NULL;
        int c, fd = STDIN_FILENO, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "m:", opts)) != -1) {
                switch (c) {
                case 'm':
                        io.message = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 2))
                return 2;
        src = argv[optind];
        if (argc - optind == 2)
                ref = argv[optind + 1];
        if (strcmp(src, "-") != 0) {
                fd = open(src, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        perror(src);
                        return mx_cli_fail(cli, NULL, "open '%s'", src);
                }
        } else if (isatty(STDIN_FILENO)) {
                return mx_cli_usage_error(cli,
                                          "stdin is a terminal; pipe a tarball or name a file");
        }
        /* Docker streams a local file as stdin, so its message says "Imported from -" too */
        io.source = "-";
        r = mx_cli_store(cli, &s, &err);
        if (r >= 0)
                r = mx_images_import(s, fd, ref, &io, &id, &err);
        if (fd != STDIN_FILENO)
                (void)close(fd);
        if (r < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        printf("%s\n", id);
        mx_free(id);
        return 0;
}

MX_CLI_COMMAND(import, "import", cmd_import, "[OPTIONS] file|- [REPOSITORY[:TAG]]",
               "Import the contents from a tarball to create a filesystem image")
