/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex tag SOURCE TARGET: give an image another name. */
#include <stdio.h>

#include <myrmex/store.h>

#include "cli.h"

static int cmd_tag(mx_cli *cli, int argc, char **argv)
{
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "", NULL)) != -1) {
                switch (c) {
                default:
                        return cli->exit_code;
                }
        }
        if (argc - optind != 2)
                return mx_cli_usage_error(cli, "\"tag\" requires exactly 2 arguments");
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_store_tag(s, argv[optind], argv[optind + 1], &err) < 0)
                r = mx_cli_error(cli, err);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(tag, "tag", cmd_tag, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
               "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
