/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex image prune: remove dangling (or with -a all unused) images. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "cli.h"

bool mx_cli_confirm(mx_cli *cli, const char *warning)
{
        char line[64];

        (void)cli;
        fprintf(stdout, "%s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
                fputc('\n', stdout);
                return false;
        }
        return line[0] == 'y' || line[0] == 'Y';
}

void mx_cli_print_prune(const mx_store_prune_report *rep)
{
        char size[32];

        if ((rep->untagged && rep->untagged[0]) || (rep->deleted && rep->deleted[0])) {
                printf("Deleted Images:\n");
                for (char **p = rep->untagged; p && *p; p++)
                        printf("untagged: %s\n", *p);
                for (char **p = rep->deleted; p && *p; p++)
                        printf("deleted: %s\n", *p);
                printf("\n");
        }
        mx_cli_human_size(size, sizeof(size), (double)rep->reclaimed, 3);
        printf("Total reclaimed space: %s\n", size);
}

static int cmd_image_prune(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},
                {"force", no_argument, NULL, 'f'},
                {"filter", required_argument, NULL, 'F'},
                {0},
        };
        bool all = false, force = false;
        mx_store *s = NULL;
        mx_store_prune_report *rep = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "af", opts)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'f':
                        force = true;
                        break;
                case 'F':
                        return mx_cli_usage_error(cli, "filter '%s' is not supported yet", optarg);
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!force && !mx_cli_confirm(cli, all ? "WARNING! This will remove all images without "
                                                 "at least one container associated to them."
                                               : "WARNING! This will remove all dangling images."))
                return 0;
        if (mx_cli_store(cli, &s, &err) < 0 || mx_store_prune(s, all, &rep, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        mx_cli_print_prune(rep);
        mx_store_prune_report_free(rep);
        return 0;
}

MX_CLI_COMMAND(image_prune, "image prune", cmd_image_prune, "[OPTIONS]", "Remove unused images")
