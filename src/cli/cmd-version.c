/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex version: the client's version, as docker version prints its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <myrmex/common.h>

#include "cli.h"

static int cmd_version(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {0},
        };
        const char *format = NULL;
        struct utsname u;
        json_t *v;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        const char *arch = strcmp(u.machine, "x86_64") == 0    ? "amd64"
                           : strcmp(u.machine, "aarch64") == 0 ? "arm64"
                                                               : u.machine;
        v = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Version", mx_version(), "ApiVersion", "1.0",
                      "Os", "linux", "Arch", arch, "KernelVersion", u.release);
        if (!v)
                return mx_cli_fail(cli, NULL, "out of memory");
        if (!format) {
                printf("myrmex version %s\n", mx_version());
                printf(" OS/Arch:        %s/%s\n", "linux", arch);
                printf(" Kernel Version: %s\n", u.release);
        } else {
                r = mx_cli_print_formatted(cli, v, format, "format");
        }
        json_decref(v);
        return r;
}

MX_CLI_COMMAND(version, "version", cmd_version, "[OPTIONS]", "Show the myrmex version information")
