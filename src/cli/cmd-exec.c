/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex exec: run a command in a running container with our stdio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/runtime.h>

#include "cli.h"

static int cmd_exec(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"interactive", no_argument, NULL, 'i'},   {"tty", no_argument, NULL, 't'},
                {"env", required_argument, NULL, 'e'},     {"user", required_argument, NULL, 'u'},
                {"workdir", required_argument, NULL, 'w'}, {"detach", no_argument, NULL, 'd'},
                {"privileged", no_argument, NULL, 'P'},    {0},
        };
        json_t *ex = json_pack("{s:[],s:[],s:b}", "args", "env", "interactive", 0);
        mx_runtime *rt = NULL;
        mx_runtime_opts o = MX_RUNTIME_OPTS_INIT;
        mx_error *err = NULL;
        char *text;
        int c, code = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "+ite:u:w:d", opts)) != -1) {
                switch (c) {
                case 'i':
                        json_object_set_new(ex, "interactive", json_true());
                        break;
                case 't':
                        json_object_set_new(ex, "tty", json_true());
                        break;
                case 'e':
                        if (strchr(optarg, '=')) {
                                json_array_append_new(json_object_get(ex, "env"),
                                                      json_string(optarg));
                        } else if (getenv(optarg)) {
                                char *kv = mx_cli_xasprintf("%s=%s", optarg, getenv(optarg));

                                json_array_append_new(json_object_get(ex, "env"), json_string(kv));
                                free(kv);
                        }
                        break;
                case 'u':
                        json_object_set_new(ex, "user", json_string(optarg));
                        break;
                case 'w':
                        json_object_set_new(ex, "working_dir", json_string(optarg));
                        break;
                case 'd':
                case 'P':
                        break;
                default:
                        json_decref(ex);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 2, -1)) {
                json_decref(ex);
                return 2;
        }
        for (int i = optind + 1; i < argc; i++)
                json_array_append_new(json_object_get(ex, "args"), json_string(argv[i]));
        if (json_is_true(json_object_get(ex, "tty")) && !isatty(0))
                json_object_set_new(ex, "tty", json_false());
        text = json_dumps(ex, JSON_COMPACT);
        json_decref(ex);
        o.root = cli->root;
        if (mx_runtime_open(&rt, &o, &err) < 0 ||
            mx_container_exec(rt, argv[optind], text, &code, &err) < 0)
                code = mx_cli_fail_code(cli, 126, err, "exec");
        free(text);
        mx_error_free(err);
        mx_runtime_free(rt);
        return code;
}

MX_CLI_COMMAND(exec, "exec", cmd_exec, "[OPTIONS] CONTAINER COMMAND [ARG...]",
               "Execute a command in a running container")
MX_CLI_ALIAS(container_exec, "container exec", "exec")
