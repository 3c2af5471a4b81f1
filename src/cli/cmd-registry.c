/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex registry tags|inspect|delete|catalog|copy: remote registries without the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/registry.h>

#include "cli.h"

/* Options every registry verb takes (shared with pull, push and login). */
#define OPT_TLS_VERIFY 0x7101
#define OPT_CERT_DIR   0x7102
#define OPT_AUTHFILE   0x7103
#define OPT_FORMAT     0x7104
#define OPT_PLATFORM   0x7105
#define OPT_ALL        0x7106
#define OPT_RAW        0x7107
#define OPT_CONFIG     0x7108
#define OPT_CREDS      0x7109

int mx_cli__registry_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg);

static char *creds_copy;

static void free_creds(void)
{
        if (creds_copy) {
                explicit_bzero(creds_copy, strlen(creds_copy));
                free(creds_copy);
                creds_copy = NULL;
        }
}

/* Returns 1 when c was one of the common options, 0 when not, 2 after a usage error. */
int mx_cli__registry_opt(mx_cli *cli, mx_registry_opts *o, int c, char *arg)
{
        switch (c) {
        case OPT_CREDS: {
                /* --creds USER[:PASSWORD] as skopeo takes it; the password is wiped from
                 * argv at once, but a prompt-free secret on a command line is visible to
                 * other users until then: login or --authfile are better */
                static int registered;
                char *colon;

                free_creds();
                if (!registered++)
                        atexit(free_creds);
                creds_copy = mx_cli_xstrdup(arg);
                colon = strchr(creds_copy, ':');
                if (colon) {
                        *colon = '\0';
                        o->password = colon + 1;
                        explicit_bzero(strchr(arg, ':') + 1, strlen(strchr(arg, ':') + 1));
                } else {
                        o->password = "";
                }
                o->username = creds_copy;
                return 1;
        }
        case OPT_TLS_VERIFY:
                if (!arg || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0) {
                        o->tls_verify = 1;
                } else if (strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
                        o->tls_verify = 0;
                } else {
                        (void)mx_cli_usage_error(cli, "invalid value '%s' for --tls-verify", arg);
                        return 2;
                }
                return 1;
        case OPT_CERT_DIR:
                o->cert_dir = arg;
                return 1;
        case OPT_AUTHFILE:
                o->auth_file = arg;
                return 1;
        case OPT_PLATFORM:
                o->platform = arg;
                return 1;
        default:
                return 0;
        }
}

/* clang-format off */
#define COMMON_LONGOPTS \
        {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY}, \
        {"cert-dir", required_argument, NULL, OPT_CERT_DIR}, \
        {"authfile", required_argument, NULL, OPT_AUTHFILE}, \
        {"creds", required_argument, NULL, OPT_CREDS}, \
        {"platform", required_argument, NULL, OPT_PLATFORM}, \
        {"format", required_argument, NULL, OPT_FORMAT}
/* clang-format on */

static int parse(mx_cli *cli, int argc, char **argv, mx_registry_opts *o, const char **format,
                 int *all, int *raw, int *config)
{
        static const struct option longopts[] = {
                COMMON_LONGOPTS,
                {"all", no_argument, NULL, OPT_ALL},
                {"raw", no_argument, NULL, OPT_RAW},
                {"config", no_argument, NULL, OPT_CONFIG},
                {0},
        };
        int c, k;

        while ((c = mx_cli_getopt(cli, argc, argv, "a", longopts)) != -1) {
                k = mx_cli__registry_opt(cli, o, c, optarg);
                if (k == 2)
                        return -1;
                if (k == 1)
                        continue;
                switch (c) {
                case OPT_FORMAT:
                        *format = optarg;
                        break;
                case 'a':
                case OPT_ALL:
                        *all = 1;
                        break;
                case OPT_RAW:
                        *raw = 1;
                        break;
                case OPT_CONFIG:
                        *config = 1;
                        break;
                default:
                        return -1;
                }
        }
        return 0;
}

static int cmd_tags(mx_cli *cli, int argc, char **argv)
{
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        const char *format = NULL;
        mx_error *err = NULL;
        char **tags = NULL;
        int all = 0, raw = 0, config = 0, r = 0;

        if (parse(cli, argc, argv, &o, &format, &all, &raw, &config) < 0)
                return cli->exit_code ? cli->exit_code : 2;
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"registry tags\" requires exactly 1 argument");
        if (mx_registry_list_tags(argv[optind], &o, &tags, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        if (format && strcmp(format, "json") == 0) {
                json_t *j = json_object(), *arr = json_array();
                const char *name = argv[optind];

                if (strncmp(name, "docker://", 9) == 0)
                        name += 9;
                for (char **t = tags; t && *t; t++)
                        json_array_append_new(arr, json_string(*t));
                json_object_set_new(j, "Repository", json_string(name));
                json_object_set_new(j, "Tags", arr);
                mx_cli_print_json(stdout, j);
                json_decref(j);
        } else {
                for (char **t = tags; t && *t; t++)
                        printf("%s\n", *t);
        }
        mx_registry_strv_free(tags);
        return r;
}

static int cmd_catalog(mx_cli *cli, int argc, char **argv)
{
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        const char *format = NULL;
        mx_error *err = NULL;
        char **repos = NULL;
        int all = 0, raw = 0, config = 0, r = 0;

        if (parse(cli, argc, argv, &o, &format, &all, &raw, &config) < 0)
                return cli->exit_code ? cli->exit_code : 2;
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"registry catalog\" requires exactly 1 argument");
        if (mx_registry_catalog(argv[optind], &o, &repos, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        if (format && strcmp(format, "json") == 0) {
                json_t *j = json_object(), *arr = json_array();

                for (char **t = repos; t && *t; t++)
                        json_array_append_new(arr, json_string(*t));
                json_object_set_new(j, "Repositories", arr);
                mx_cli_print_json(stdout, j);
                json_decref(j);
        } else {
                for (char **t = repos; t && *t; t++)
                        printf("%s\n", *t);
        }
        mx_registry_strv_free(repos);
        return r;
}

static int cmd_inspect(mx_cli *cli, int argc, char **argv)
{
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        const char *format = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len = 0;
        int all = 0, raw = 0, config = 0, r = 0;

        if (parse(cli, argc, argv, &o, &format, &all, &raw, &config) < 0)
                return cli->exit_code ? cli->exit_code : 2;
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"registry inspect\" requires exactly 1 argument");
        o.all_platforms = all;
        if (raw) {
                r = mx_registry_get_manifest(argv[optind], &o, &out, &len, NULL, NULL, &err);
                if (r >= 0)
                        fwrite(out, 1, len, stdout);
        } else {
                r = mx_registry_inspect(argv[optind], &o, &out, &err);
                if (r >= 0 && config) {
                        json_t *j = json_loads(out, 0, NULL);
                        json_t *c = json_object_get(j, "Config");

                        if (c)
                                mx_cli_print_json(stdout, c);
                        json_decref(j);
                } else if (r >= 0) {
                        printf("%s\n", out);
                }
        }
        if (r < 0)
                r = mx_cli_error(cli, err);
        mx_error_free(err);
        mx_free(out);
        return r;
}

static int cmd_delete(mx_cli *cli, int argc, char **argv)
{
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        const char *format = NULL;
        mx_error *err = NULL;
        char *digest = NULL;
        int all = 0, raw = 0, config = 0, r = 0;

        if (parse(cli, argc, argv, &o, &format, &all, &raw, &config) < 0)
                return cli->exit_code ? cli->exit_code : 2;
        if (argc - optind != 1)
                return mx_cli_usage_error(cli, "\"registry delete\" requires exactly 1 argument");
        if (mx_registry_delete(argv[optind], &o, &digest, &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("Deleted: %s\n", digest);
        mx_error_free(err);
        mx_free(digest);
        return r;
}

static int cmd_copy(mx_cli *cli, int argc, char **argv)
{
        mx_registry_opts o = MX_REGISTRY_OPTS_INIT;
        const char *format = NULL;
        mx_registry_result *res = NULL;
        mx_error *err = NULL;
        int all = 0, raw = 0, config = 0, r = 0;

        if (parse(cli, argc, argv, &o, &format, &all, &raw, &config) < 0)
                return cli->exit_code ? cli->exit_code : 2;
        if (argc - optind != 2)
                return mx_cli_usage_error(cli, "\"registry copy\" requires exactly 2 arguments");
        o.all_platforms = all;
        o.progress = mx_cli_progress_cb;
        o.progress_userdata = cli;
        r = mx_registry_copy(argv[optind], argv[optind + 1], &o, &res, &err);
        mx_cli_progress_end(cli);
        if (r < 0)
                r = mx_cli_error(cli, err);
        else
                printf("Digest: %s\n", res->digest);
        mx_registry_result_free(res);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(registry_tags, "registry tags", cmd_tags, "[OPTIONS] REPOSITORY",
               "List the tags of a remote repository")
MX_CLI_COMMAND(registry_catalog, "registry catalog", cmd_catalog, "[OPTIONS] REGISTRY",
               "List the repositories of a registry")
MX_CLI_COMMAND(registry_inspect, "registry inspect", cmd_inspect,
               "[OPTIONS] IMAGE (--raw: the manifest only, --config: the config only)",
               "Show a remote image's manifest and config")
MX_CLI_COMMAND(registry_delete, "registry delete", cmd_delete, "[OPTIONS] IMAGE",
               "Delete a manifest from a registry")
MX_CLI_COMMAND(registry_copy, "registry copy", cmd_copy, "[OPTIONS] [--all] SOURCE DESTINATION",
               "Copy an image from registry to registry")
