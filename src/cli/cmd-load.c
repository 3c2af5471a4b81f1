/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex load [-i FILE] [-q]: load images from an archive (stdin without -i). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/images.h>
#include <myrmex/store.h>

#include "cli.h"

static int cmd_load(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"input", required_argument, NULL, 'i'},
                {"quiet", no_argument, NULL, 'q'},
                {"platform", required_argument, NULL, 'P'},
                {0},
        };
        mx_images_load_opts lo = MX_IMAGES_LOAD_OPTS_INIT;
        const char *input = NULL;
        bool quiet = false;
        mx_store *s = NULL;
        mx_error *err = NULL;
        char **loaded = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "i:q", opts)) != -1) {
                switch (c) {
                case 'i':
                        input = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'P':
                        lo.platform = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!input && isatty(STDIN_FILENO))
                return mx_cli_usage_error(cli, "requested load from stdin, but stdin is empty "
                                               "(a terminal); use -i FILE or a pipe");
        if (!quiet) {
                lo.progress = mx_cli_progress_cb;
                lo.progress_userdata = cli;
        }
        r = mx_cli_store(cli, &s, &err);
        if (r >= 0)
                r = input ? mx_images_load_path(s, input, &lo, &loaded, &err)
                          : mx_images_load(s, STDIN_FILENO, &lo, &loaded, &err);
        if (!quiet)
                mx_cli_progress_end(cli);
        if (r < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        for (size_t i = 0; loaded && loaded[i]; i++) {
                if (strncmp(loaded[i], "sha256:", 7) == 0)
                        printf("Loaded image ID: %s\n", loaded[i]);
                else
                        printf("Loaded image: %s\n", loaded[i]);
        }
        mx_images_strv_free(loaded);
        return 0;
}

MX_CLI_COMMAND(load, "load", cmd_load, "[OPTIONS]",
               "Load images from a tar archive or OCI layout (stdin by default)")
