/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex push IMAGE [DESTINATION]: send a stored image to a registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/registry.h>

#include "cli.h"

#define OPT_TLS_VERIFY 0x7101
#define OPT_CERT_DIR   0x7102
#define OPT_AUTHFILE   0x7103
#define OPT_CHUNK      0x7112

static int cmd_push(mx_cli *cli, int argc, char **argv)
{
        static const struct option longopts[] = {
                {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
                {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
                {"authfile", required_argument, NULL, OPT_AUTHFILE},
                {"creds", required_argument, NULL, 0x7109},
                {"chunk-size", required_argument, NULL, OPT_CHUNK},
                {"parallel", required_argument, NULL, MX_CLI_OPT_PARALLEL},
                {"quiet", no_argument, NULL, 'q'},
                {0},
        };
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        mx_registry_result *res = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        const char *dest;
        uint64_t num = 0;
        int c, k, quiet = 0, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "q", longopts)) != -1) {
                k = mx_cli_transfer_opt(cli, &o, c, optarg, &quiet);
                if (k == 2)
                        return 2;
                if (k == 1)
                        continue;
                switch (c) {
                case OPT_CHUNK:
                        if (mx_cli_parse_count(optarg, &num) < 0)
                                return mx_cli_usage_error(cli, "invalid --chunk-size '%s'", optarg);
                        o.chunk_size = num;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return mx_cli_usage_error(cli, "\"push\" requires 1 or 2 arguments");
        dest = argc - optind == 2 ? argv[optind + 1] : NULL;
        if (!quiet) {
                o.progress = mx_cli_progress_cb;
                o.progress_userdata = cli;
        }
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_registry_push(s, argv[optind], dest, &o, &res, &err) < 0)
                r = 1;
        mx_cli_progress_end(cli);
        if (r) {
                r = mx_cli_error(cli, err);
        } else {
                printf("Digest: %s\n", res->digest);
        }
        mx_registry_result_free(res);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(push, "push", cmd_push, "[OPTIONS] IMAGE [DESTINATION]",
               "Upload an image to a registry")
