/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex save [-o PATH] [--format docker-archive|oci-archive|oci-dir] IMAGE... */
#include <stdio.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "cli.h"

static int cmd_save(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"output", required_argument, NULL, 'o'},
                {"format", required_argument, NULL, 'F'},
                {"quiet", no_argument, NULL, 'q'},
                {0},
        };
        mx_images_save_opts so = MX_IMAGES_SAVE_OPTS_INIT;
        mx_save_format fmt = MX_SAVE_DOCKER_ARCHIVE;
        const char *output = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "o:q", opts)) != -1) {
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'F':
                        if (mx_save_format_parse(&fmt, optarg, &err) < 0) {
                                mx_error_free(err);
                                return mx_cli_usage_error(
                                        cli,
                                        "invalid --format '%s': use docker-archive, oci-archive "
                                        "or oci-dir",
                                        optarg);
                        }
                        break;
                case 'q':
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, -1))
                return 2;
        if (fmt == MX_SAVE_OCI_DIR && !output)
                return mx_cli_usage_error(cli, "--format oci-dir needs -o DIRECTORY");
        if (!output && isatty(STDOUT_FILENO))
                return mx_cli_fail(cli, NULL,
                                   "cowardly refusing to save to a terminal. Use the "
                                   "-o flag or redirect");
        if (cli->stderr_tty && output) {
                so.progress = mx_cli_progress_cb;
                so.progress_userdata = cli;
        }
        r = mx_cli_store(cli, &s, &err);
        if (r >= 0) {
                const char *const *images = (const char *const *)(argv + optind);

                if (output)
                        r = mx_images_save_path(s, images, fmt, output, &so, &err);
                else
                        r = mx_images_save(s, images, fmt, STDOUT_FILENO, &so, &err);
        }
        if (so.progress)
                mx_cli_progress_end(cli);
        if (r < 0)
                r = mx_cli_error(cli, err);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(save, "save", cmd_save, "[OPTIONS] IMAGE [IMAGE...]",
               "Save one or more images to a tar archive or OCI layout (stdout by default)")
