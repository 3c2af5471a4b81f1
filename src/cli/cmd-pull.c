/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex pull IMAGE: fetch an image from a registry into the store. */
#include <stdio.h>
#include <string.h>

#include <myrmex/registry.h>

#include "cli.h"

#define OPT_TLS_VERIFY 0x7101
#define OPT_CERT_DIR   0x7102
#define OPT_AUTHFILE   0x7103
#define OPT_PLATFORM   0x7105
#define OPT_NO_UNPACK  0x7110

static int cmd_pull(mx_cli *cli, int argc, char **argv)
{
        static const struct option longopts[] = {
                {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
                {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
                {"authfile", required_argument, NULL, OPT_AUTHFILE},
                {"creds", required_argument, NULL, 0x7109},
                {"platform", required_argument, NULL, OPT_PLATFORM},
                {"no-unpack", no_argument, NULL, OPT_NO_UNPACK},
                {"parallel", required_argument, NULL, MX_CLI_OPT_PARALLEL},
                {"quiet", no_argument, NULL, 'q'},
                {0},
        };
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        mx_registry_result *res = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, k, quiet = 0, r = 0;

        o.unpack = 1;
        while ((c = mx_cli_getopt(cli, argc, argv, "q", longopts)) != -1) {
                k = mx_cli_transfer_opt(cli, &o, c, optarg, &quiet);
                if (k == 2)
                        return 2;
                if (k == 1)
                        continue;
                switch (c) {
                case OPT_NO_UNPACK:
                        o.unpack = 0;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"pull\" requires exactly 1 argument");
        if (!quiet) {
                o.progress = mx_cli_progress_cb;
                o.progress_userdata = cli;
        }
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_registry_pull(s, argv[optind], &o, &res, &err) < 0)
                r = 1;
        mx_cli_progress_end(cli);
        if (r) {
                r = mx_cli_error(cli, err);
        } else if (quiet) {
                printf("%s\n", res->reference);
        } else {
                printf("Digest: %s\n", res->digest);
                printf("Status: %s for %s\n",
                       res->blobs_moved ? "Downloaded newer image" : "Image is up to date",
                       res->reference);
                printf("%s\n", res->reference);
        }
        mx_registry_result_free(res);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(pull, "pull", cmd_pull, "[OPTIONS] NAME[:TAG|@DIGEST]",
               "Download an image from a registry")
