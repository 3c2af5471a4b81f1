/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex cp: copy files between a container's root filesystem and the host. */
#include <stdio.h>

#include <myrmex/runtime.h>

#include "cli.h"

static int cmd_cp(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"archive", no_argument, NULL, 'a'},
                {"follow-link", no_argument, NULL, 'L'},
                {0},
        };
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "aL", opts)) != -1) {
                if (c != 'a' && c != 'L')
                        return cli->exit_code;
        }
        if (mx_cli_want_args(cli, argc - optind, 2, 2))
                return 2;
        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, &err) < 0 ||
            mx_container_copy(rt, argv[optind], argv[optind + 1], &err) < 0)
                r = mx_cli_error(cli, err);
        mx_error_free(err);
        mx_runtime_free(rt);
        return r;
}

MX_CLI_COMMAND(cp, "cp", cmd_cp,
               "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH CONTAINER:DEST_PATH",
               "Copy files/folders between a container and the local filesystem")
MX_CLI_ALIAS(container_cp, "container cp", "cp")
