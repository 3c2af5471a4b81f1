/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports of a container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/network.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>

#include "cli.h"

static int cmd_port(mx_cli *cli, int argc, char **argv)
{
        mx_runtime_opts ro = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        mx_network_attachment **atts = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        char *id = NULL;
        char want_proto[8] = "tcp";
        unsigned long want_port = 0;
        size_t n = 0;
        int c, r = 0, printed = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "", NULL)) != -1)
                return cli->exit_code;
        if (mx_cli_want_args(cli, argc - optind, 1, 2))
                return 2;
        if (optind + 1 < argc) {
                const char *spec = argv[optind + 1];
                const char *slash = strchr(spec, '/');
                const char *end = spec;

                while (*end >= '0' && *end <= '9' && want_port <= 65535)
                        want_port = want_port * 10 + (unsigned long)(*end++ - '0');
                if (end == spec || want_port == 0 || want_port > 65535 || (*end && *end != '/') ||
                    (slash && strlen(slash + 1) >= sizeof(want_proto)))
                        return mx_cli_usage_error(cli, "invalid port '%s'", spec);
                if (slash)
                        snprintf(want_proto, sizeof(want_proto), "%s", slash + 1);
        }
        ro.root = cli->root;
        if (mx_runtime_open(&rt, &ro, &err) < 0 ||
            mx_container_resolve(rt, argv[optind], &id, &err) < 0) {
                /* Not a runtime container: maybe a namespace attached with network connect
                 * --netns, known by the ID given there. */
                mx_error *first = err;

                err = NULL;
                if (mx_cli_store(cli, &s, &err) < 0 ||
                    mx_network_container_attachments(&atts, &n, s, argv[optind], &err) < 0 ||
                    n == 0) {
                        r = mx_cli_error(cli, first);
                        mx_error_free(first);
                        goto out;
                }
                mx_error_free(first);
                id = mx_cli_xstrdup(argv[optind]);
        } else if (mx_cli_store(cli, &s, &err) < 0 ||
                   mx_network_container_attachments(&atts, &n, s, id, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if (!atts[i]->attached)
                        continue;
                for (size_t j = 0; j < atts[i]->n_ports; j++) {
                        const mx_port_mapping *m = &atts[i]->ports[j];
                        char *line;

                        if (want_port && (m->container_port != want_port ||
                                          strcmp(m->protocol, want_proto) != 0))
                                continue;
                        line = mx_port_format(m);
                        if (!line)
                                continue;
                        /* With a port given, Docker prints only the host side. */
                        printf("%s\n", want_port ? strstr(line, "-> ") + 3 : line);
                        free(line);
                        printed++;
                }
        }
        if (want_port && !printed)
                r = mx_cli_fail(cli, NULL, "no public port '%lu/%s' published for %s", want_port,
                                want_proto, argv[optind]);
out:
        mx_network_attachment_list_free(atts, n);
        free(id);
        mx_runtime_free(rt);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(port, "port", cmd_port, "CONTAINER [PRIVATE_PORT[/PROTO]]",
               "List port mappings or a specific mapping for the container")
