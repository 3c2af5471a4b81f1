/* SPDX-License-Identifier: Apache-2.0 */
/* myrmex network create/ls/inspect/rm/prune: CNI bridge networks kept in the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/network.h>
#include <myrmex/runtime.h>
#include <myrmex/store.h>

#include "cli.h"

#define NETWORK_TABLE "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

static json_t *ls_row(const mx_network_info *n, bool no_trunc)
{
        char created[64], id[80];

        mx_cli_go_time(created, sizeof(created), (time_t)n->created);
        snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, n->id);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "ID", id, "Name", n->name, "Driver",
                         n->driver, "Scope", "local", "CreatedAt", created, "IPv6", "false",
                         "Internal", n->internal ? "true" : "false", "Labels",
                         mx_cli_labels_json(n->labels_json));
}

static json_t *inspect_obj(mx_store *s, const mx_network_info *n)
{
        char created[64];
        json_t *obj, *containers = json_object();
        mx_network_attachment **atts = NULL;
        size_t na = 0;

        mx_cli_rfc3339(created, sizeof(created), n->created);
        if (mx_network_attachments(&atts, &na, s, n->id, NULL) == 0) {
                for (size_t i = 0; i < na; i++) {
                        char addr[80];

                        if (!atts[i]->attached)
                                continue;
                        snprintf(addr, sizeof(addr), "%s/%d", atts[i]->ip ? atts[i]->ip : "",
                                 atts[i]->prefix_len);
                        json_object_set_new(
                                containers, atts[i]->container_id,
                                json_pack("{s:s,s:s,s:s,s:s}", "Name",
                                          atts[i]->name ? atts[i]->name : atts[i]->container_id,
                                          "MacAddress", atts[i]->mac ? atts[i]->mac : "",
                                          "IPv4Address", addr, "IPv6Address", ""));
                }
                mx_network_attachment_list_free(atts, na);
        }
        obj = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:{},s:[{s:s,s:s}]},s:b,s:b,s:b,"
                        "s:{s:s},s:I,s:{s:s},s:o}",
                        "Name", n->name, "Id", n->id, "Created", created, "Scope", "local",
                        "Driver", n->driver, "EnableIPv6", 0, "IPAM", "Driver", "default",
                        "Options", "Config", "Subnet", n->subnet, "Gateway", n->gateway, "Internal",
                        n->internal, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "",
                        "ContainerCount", (json_int_t)n->n_containers, "Options",
                        "com.docker.network.bridge.name", n->bridge, "Labels",
                        mx_cli_labels_json(n->labels_json));
        if (obj)
                json_object_set_new(obj, "Containers", containers);
        else
                json_decref(containers);
        return obj;
}

/* What a dead container left behind is cleaned up by the next command that looks. */
static void cleanup_stale(mx_cli *cli, mx_store *s)
{
        mx_error *err = NULL;

        if (mx_network_cleanup_stale(NULL, s, &err) < 0) {
                char *msg = mx_error_format(err);

                mx_cli_warn(cli, "clean up stale networks: %s, ignoring", msg ? msg : "?");
                mx_free(msg);
        }
        mx_error_free(err);
}

static int cmd_network_create(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"driver", required_argument, NULL, 'd'},  {"subnet", required_argument, NULL, 'S'},
                {"gateway", required_argument, NULL, 'G'}, {"internal", no_argument, NULL, 'I'},
                {"label", required_argument, NULL, 'L'},   {0},
        };
        mx_network_create_opts o = MX_NETWORK_CREATE_OPTS_INIT;
        mx_network_info *info = NULL;
        json_t *labels = json_object();
        char *labels_txt = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "d:", opts)) != -1) {
                switch (c) {
                case 'd':
                        o.driver = optarg;
                        break;
                case 'S':
                        o.subnet = optarg;
                        break;
                case 'G':
                        o.gateway = optarg;
                        break;
                case 'I':
                        o.internal = 1;
                        break;
                case 'L':
                        r = mx_cli_add_label(cli, labels, optarg);
                        if (r) {
                                json_decref(labels);
                                return r;
                        }
                        break;
                default:
                        json_decref(labels);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 1, 1)) {
                json_decref(labels);
                return 2;
        }
        o.name = argv[optind];
        labels_txt = json_dumps(labels, JSON_COMPACT);
        o.labels_json = labels_txt;
        if (mx_cli_store(cli, &s, &err) < 0 || mx_network_create(&info, s, &o, &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("%s\n", info->id);
        mx_network_info_free(info);
        free(labels_txt);
        json_decref(labels);
        mx_error_free(err);
        return r;
}

static int cmd_network_ls(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"quiet", no_argument, NULL, 'q'},
                {"no-trunc", no_argument, NULL, 'T'},
                {"format", required_argument, NULL, 'F'},
                {0},
        };
        bool quiet = false, no_trunc = false;
        const char *format = NULL;
        mx_network_info **list = NULL;
        mx_formatter *fmt = NULL;
        json_t *headers = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        size_t n = 0;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "q", opts)) != -1) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        no_trunc = true;
                        break;
                case 'F':
                        format = optarg;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (mx_cli_store(cli, &s, &err) == 0)
                cleanup_stale(cli, s);
        if (!s || mx_network_list(&list, &n, s, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        if (!quiet) {
                headers = json_pack("{s:s}", "ID", "NETWORK ID");
                fmt = mx_cli_formatter(cli, format, NETWORK_TABLE, headers);
                if (!fmt) {
                        r = 2;
                        goto out;
                }
        }
        for (size_t i = 0; i < n; i++) {
                json_t *row;

                if (quiet) {
                        printf("%.*s\n", no_trunc ? 64 : 12, list[i]->id);
                        continue;
                }
                row = ls_row(list[i], no_trunc);
                r = mx_cli_formatter_put(cli, fmt, row, NULL);
                if (r)
                        goto out;
        }
        if (fmt)
                mx_formatter_end(fmt);
out:
        mx_formatter_free(fmt);
        json_decref(headers);
        mx_network_info_list_free(list, n);
        mx_error_free(err);
        return r;
}

static int inspect_one(json_t **out, mx_store *s, const char *name, mx_error **err)
{
        mx_network_info *info = NULL;

        if (mx_network_inspect(&info, s, name, err) < 0)
                return -1;
        *out = inspect_obj(s, info);
        mx_network_info_free(info);
        return 0;
}

static int cmd_network_inspect(mx_cli *cli, int argc, char **argv)
{
        return mx_cli_inspect_verb(cli, argc, argv, inspect_one);
}

static int remove_one(mx_cli *cli, mx_store *s, const char *name, void *userdata)
{
        mx_error *err = NULL;
        int r = 0;

        (void)userdata;
        if (mx_network_remove(s, name, &err) < 0)
                r = mx_cli_error(cli, err);
        else
                printf("%s\n", name);
        mx_error_free(err);
        return r;
}

static int cmd_network_rm(mx_cli *cli, int argc, char **argv)
{
        int c;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", NULL)) != -1) {
                switch (c) {
                case 'f':
                        break;
                default:
                        return cli->exit_code;
                }
        }
        return mx_cli_remove_each(cli, argc, argv, remove_one, NULL);
}

static int cmd_network_prune(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        bool force = false;
        char **removed = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", opts)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                default:
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 0, 0))
                return 2;
        if (!force && !mx_cli_confirm(cli, "WARNING! This will remove all custom networks not "
                                           "used by at least one container."))
                return 0;
        if (mx_cli_store(cli, &s, &err) == 0)
                cleanup_stale(cli, s);
        if (!s || mx_network_prune(&removed, s, &err) < 0) {
                r = mx_cli_error(cli, err);
                mx_error_free(err);
                return r;
        }
        if (removed && removed[0]) {
                printf("Deleted Networks:\n");
                for (char **p = removed; *p; p++)
                        printf("%s\n", *p);
        }
        for (char **p = removed; p && *p; p++)
                mx_free(*p);
        mx_free(removed);
        return 0;
}

static int add_port(mx_cli *cli, mx_port_mapping **all, size_t *n, const char *spec)
{
        mx_port_mapping *v = NULL, *grown;
        size_t k = 0;
        mx_error *err = NULL;

        if (mx_port_parse(&v, &k, spec, &err) < 0) {
                int r = mx_cli_error(cli, err);

                mx_error_free(err);
                return r ? 2 : 2;
        }
        grown = realloc(*all, (*n + k) * sizeof(**all));
        if (!grown)
                abort();
        memcpy(grown + *n, v, k * sizeof(*v));
        *all = grown;
        *n += k;
        mx_free(v);
        return 0;
}

/*
 * The runtime's container ref -> its ID and the namespace to join: the one myrmex made for
 * it (*ns_out NULL) when it exists, else the namespace its process runs in.
 */
static int resolve_container(mx_cli *cli, mx_store *s, const char *ref, char **id_out,
                             char **name_out, char **ns_out, int *pid_out)
{
        mx_runtime_opts ro = MX_RUNTIME_OPTS_INIT;
        mx_runtime *rt = NULL;
        mx_error *err = NULL;
        char *insp = NULL, *own = NULL;
        json_t *j = NULL, *state;
        int r = 0;

        ro.root = cli->root;
        if (mx_runtime_open(&rt, &ro, &err) < 0 ||
            mx_container_resolve(rt, ref, id_out, &err) < 0 ||
            mx_container_inspect(rt, *id_out, &insp, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        j = json_loads(insp, 0, NULL);
        if (json_is_array(j)) {
                json_t *first = json_incref(json_array_get(j, 0));

                json_decref(j);
                j = first;
        }
        {
                const char *name = json_string_value(json_object_get(j, "Name"));

                if (name && *name)
                        *name_out = mx_cli_xstrdup(name[0] == '/' ? name + 1 : name);
        }
        own = mx_cli_xasprintf("%s/run/netns/%s", mx_store_root(s), *id_out);
        if (access(own, F_OK) == 0)
                goto out; /* started on a myrmex network: the same namespace */
        state = json_object_get(j, "State");
        if (!json_is_true(json_object_get(state, "Running")) ||
            json_integer_value(json_object_get(state, "Pid")) <= 0) {
                r = mx_cli_fail(cli, NULL, "container '%s' is not running: start it first", ref);
                goto out;
        }
        *pid_out = (int)json_integer_value(json_object_get(state, "Pid"));
        *ns_out = mx_cli_xasprintf("/proc/%d/ns/net", *pid_out);
out:
        json_decref(j);
        free(own);
        mx_free(insp);
        mx_runtime_free(rt);
        mx_error_free(err);
        return r;
}

static int cmd_network_connect(mx_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                {"netns", required_argument, NULL, 'N'},
                {"publish", required_argument, NULL, 'p'},
                {"alias", required_argument, NULL, 'A'},
                {"name", required_argument, NULL, 'n'},
                {"hostname", required_argument, NULL, 'H'},
                {"owner-pid", required_argument, NULL, 'O'},
                {0},
        };
        mx_network_attach_opts o = MX_NETWORK_ATTACH_OPTS_INIT;
        mx_network_attachment *a = NULL;
        mx_port_mapping *ports = NULL;
        char *id = NULL, *proc_ns = NULL, *container_name = NULL;
        const char *aliases[17] = {NULL};
        size_t n_ports = 0, n_alias = 0;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "p:", opts)) != -1) {
                switch (c) {
                case 'N':
                        o.netns_path = optarg;
                        break;
                case 'p':
                        r = add_port(cli, &ports, &n_ports, optarg);
                        if (r) {
                                free(ports);
                                return r;
                        }
                        break;
                case 'A':
                        if (n_alias < 16)
                                aliases[n_alias++] = optarg;
                        break;
                case 'n':
                        o.container_name = optarg;
                        break;
                case 'H':
                        o.hostname = optarg;
                        break;
                case 'O': {
                        const char *d = optarg;
                        long pid = 0;

                        while (*d >= '0' && *d <= '9' && pid < 1 << 22)
                                pid = pid * 10 + (*d++ - '0');
                        if (*d || pid <= 0 || pid >= 1 << 22) {
                                free(ports);
                                return mx_cli_usage_error(cli, "invalid --owner-pid '%s'", optarg);
                        }
                        o.owner_pid = (int)pid;
                        break;
                }
                default:
                        free(ports);
                        return cli->exit_code;
                }
        }
        if (mx_cli_want_args(cli, argc - optind, 2, 2)) {
                free(ports);
                return 2;
        }
        o.ports = ports;
        o.n_ports = n_ports;
        o.aliases = n_alias ? aliases : NULL;
        if (mx_cli_store(cli, &s, &err) < 0) {
                r = mx_cli_error(cli, err);
                goto out;
        }
        cleanup_stale(cli, s);
        if (!o.netns_path) {
                /* A container of the runtime: join the namespace it runs in. */
                r = resolve_container(cli, s, argv[optind + 1], &id, &container_name, &proc_ns,
                                      &o.owner_pid);
                if (r)
                        goto out;
                o.netns_path = proc_ns;
                if (!o.container_name)
                        o.container_name = container_name;
        }
        if (mx_network_attach(&a, s, id ? id : argv[optind + 1], argv[optind], &o, &err) < 0)
                r = mx_cli_error(cli, err);
out:
        mx_network_attachment_free(a);
        free(id);
        free(proc_ns);
        free(container_name);
        free(ports);
        mx_error_free(err);
        return r;
}

static int cmd_network_disconnect(mx_cli *cli, int argc, char **argv)
{
        char *id = NULL;
        mx_store *s = NULL;
        mx_error *err = NULL;
        int c, r = 0;

        while ((c = mx_cli_getopt(cli, argc, argv, "f", NULL)) != -1) {
                if (c != 'f')
                        return cli->exit_code;
        }
        if (mx_cli_want_args(cli, argc - optind, 2, 2))
                return 2;
        {
                /* A runtime container by name or ID prefix; else the ID given to connect
                 * --netns as it is. */
                mx_runtime_opts ro = MX_RUNTIME_OPTS_INIT;
                mx_runtime *rt = NULL;

                ro.root = cli->root;
                if (mx_runtime_open(&rt, &ro, NULL) == 0 &&
                    mx_container_resolve(rt, argv[optind + 1], &id, NULL) < 0)
                        id = NULL;
                mx_runtime_free(rt);
        }
        if (mx_cli_store(cli, &s, &err) < 0 ||
            mx_network_release(s, id ? id : argv[optind + 1], argv[optind], &err) < 0)
                r = mx_cli_error(cli, err);
        free(id);
        mx_error_free(err);
        return r;
}

MX_CLI_COMMAND(network_create, "network create", cmd_network_create,
               "[--subnet CIDR] [--gateway IP] [--internal] [--label K=V] NETWORK",
               "Create a network")
MX_CLI_COMMAND(network_ls, "network ls", cmd_network_ls, "[-q] [--no-trunc] [--format FORMAT]",
               "List networks")
MX_CLI_ALIAS(network_list, "network list", "network ls")
MX_CLI_COMMAND(network_inspect, "network inspect", cmd_network_inspect,
               "[-f FORMAT] NETWORK [NETWORK...]", "Display detailed information on networks")
MX_CLI_COMMAND(network_rm, "network rm", cmd_network_rm, "NETWORK [NETWORK...]",
               "Remove one or more networks")
MX_CLI_ALIAS(network_remove, "network remove", "network rm")
MX_CLI_COMMAND(network_prune, "network prune", cmd_network_prune, "[-f]",
               "Remove all unused networks")
MX_CLI_COMMAND(network_connect, "network connect", cmd_network_connect,
               "[--netns PATH [--owner-pid PID]] [-p SPEC]... [--alias NAME]... [--name NAME] "
               "NETWORK CONTAINER",
               "Connect a container (or, with --netns, any network namespace) to a network")
MX_CLI_COMMAND(network_disconnect, "network disconnect", cmd_network_disconnect,
               "NETWORK CONTAINER", "Disconnect a container from a network")
