/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CNI side: conflist generation, running plugins as the CNI 1.0.0 spec says
 * (CNI_* environment, the network configuration on stdin, runtimeConfig for declared
 * capabilities, prevResult chaining), and parsing what they print.
 * We never run CHECK: portmap's CHECK fails on IPv4-only configurations.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error-internal.h"
#include "fault.h"
#include "json.h"
#include "network-internal.h"
#include "proc.h"
#include "strv.h"

#define MAX_LIST_ENTRIES 256

void mx_cni_result_free(mx_cni_result *r)
{
        if (!r)
                return;
        free(r->cni_version);
        for (size_t i = 0; i < r->n_ifaces; i++) {
                free(r->ifaces[i].name);
                free(r->ifaces[i].mac);
                free(r->ifaces[i].sandbox);
        }
        free(r->ifaces);
        for (size_t i = 0; i < r->n_ips; i++) {
                free(r->ips[i].address);
                free(r->ips[i].gateway);
        }
        free(r->ips);
        free(r);
}

static int dup_opt(char **dst, const json_t *obj, const char *key, int required, const char *what,
                   mx_error **err)
{
        json_t *v = json_object_get(obj, key);

        if (!v) {
                if (required)
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "cni result: %s has no '%s'", what, key);
                return 0;
        }
        if (!json_is_string(v))
                return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                    "cni result: %s '%s' is not a string", what, key);
        *dst = strdup(json_string_value(v));
        if (!*dst)
                return mx_error_oom(err);
        return 0;
}

static int valid_cidr(const char *s)
{
        const char *slash = strchr(s, '/');
        char ip[64];
        unsigned char buf[16];
        uint64_t len;
        int v6;
        char *end = NULL;

        if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1] || strlen(slash + 1) > 3)
                return 0;
        memcpy(ip, s, (size_t)(slash - s));
        ip[slash - s] = '\0';
        v6 = strchr(ip, ':') != NULL;
        if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, buf) != 1)
                return 0;
        len = 0;
        for (end = (char *)(uintptr_t)(slash + 1); *end; end++) {
                if (*end < '0' || *end > '9')
                        return 0;
                len = len * 10 + (uint64_t)(*end - '0');
        }
        return len <= (v6 ? 128u : 32u);
}

int mx_cni__parse_result(mx_cni_result **out, const char *data, size_t len, mx_error **err)
{
        cleanup(mx_cni_result_freep) mx_cni_result *res = NULL;
        cleanup_json json_t *root = NULL;
        json_t *ifaces, *ips, *v;
        size_t i;
        int r;

        r = mx_json_parse(&root, data, len, MX_CNI_RESULT_MAX, 1, "cni result", err);
        if (r < 0)
                return r;
        res = calloc(1, sizeof(*res));
        if (!res)
                return mx_error_oom(err);
        r = dup_opt(&res->cni_version, root, "cniVersion", 1, "result", err);
        if (r < 0)
                return r;
        ifaces = json_object_get(root, "interfaces");
        ips = json_object_get(root, "ips");
        if ((ifaces && !json_is_array(ifaces)) || (ips && !json_is_array(ips)))
                return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                    "cni result: interfaces and ips must be arrays");
        if (json_array_size(ifaces) > MAX_LIST_ENTRIES || json_array_size(ips) > MAX_LIST_ENTRIES)
                return mx_error_set(err, MX_ETOOBIG, MX_D_NETWORK, 0,
                                    "cni result: too many interfaces or addresses");
        if (json_array_size(ifaces)) {
                res->ifaces = calloc(json_array_size(ifaces), sizeof(*res->ifaces));
                if (!res->ifaces)
                        return mx_error_oom(err);
        }
        json_array_foreach(ifaces, i, v)
        {
                mx_cni_iface *f = &res->ifaces[res->n_ifaces++];

                if (!json_is_object(v))
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "cni result: interface %zu is not an object", i);
                if ((r = dup_opt(&f->name, v, "name", 1, "interface", err)) < 0 ||
                    (r = dup_opt(&f->mac, v, "mac", 0, "interface", err)) < 0 ||
                    (r = dup_opt(&f->sandbox, v, "sandbox", 0, "interface", err)) < 0)
                        return r;
        }
        if (json_array_size(ips)) {
                res->ips = calloc(json_array_size(ips), sizeof(*res->ips));
                if (!res->ips)
                        return mx_error_oom(err);
        }
        json_array_foreach(ips, i, v)
        {
                mx_cni_ip *ip = &res->ips[res->n_ips++];
                json_t *idx;
                unsigned char buf[16];

                ip->interface = -1;
                if (!json_is_object(v))
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "cni result: ip %zu is not an object", i);
                if ((r = dup_opt(&ip->address, v, "address", 1, "ip", err)) < 0 ||
                    (r = dup_opt(&ip->gateway, v, "gateway", 0, "ip", err)) < 0)
                        return r;
                if (!valid_cidr(ip->address))
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "cni result: ip address '%s' is not a CIDR",
                                            ip->address);
                if (ip->gateway && inet_pton(AF_INET, ip->gateway, buf) != 1 &&
                    inet_pton(AF_INET6, ip->gateway, buf) != 1)
                        return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                            "cni result: gateway '%s' is not an address",
                                            ip->gateway);
                idx = json_object_get(v, "interface");
                if (idx) {
                        if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
                            (size_t)json_integer_value(idx) >= res->n_ifaces)
                                return mx_error_set(err, MX_EFORMAT, MX_D_NETWORK, 0,
                                                    "cni result: ip %zu names a missing "
                                                    "interface",
                                                    i);
                        ip->interface = (int)json_integer_value(idx);
                }
        }
        *out = TAKE_PTR(res);
        return 0;
}

int mx_cni__result_primary(const mx_cni_result *r, char **ip_out, int *prefix_out, char **gw_out,
                           char **mac_out, mx_error **err)
{
        for (size_t i = 0; i < r->n_ips; i++) {
                const mx_cni_ip *ip = &r->ips[i];
                const char *slash = strchr(ip->address, '/');
                const char *mac = NULL;
                uint64_t prefix = 0;

                if (strchr(ip->address, ':'))
                        continue; /* IPv4 first: that is what we configure */
                if (ip->interface >= 0) {
                        const mx_cni_iface *f = &r->ifaces[ip->interface];

                        if (!f->sandbox || !*f->sandbox)
                                continue; /* a host-side address */
                        mac = f->mac;
                }
                for (const char *p = slash + 1; *p; p++)
                        prefix = prefix * 10 + (uint64_t)(*p - '0');
                if (ip_out) {
                        *ip_out = strndup(ip->address, (size_t)(slash - ip->address));
                        if (!*ip_out)
                                return mx_error_oom(err);
                }
                if (prefix_out)
                        *prefix_out = (int)prefix;
                if (gw_out)
                        *gw_out = ip->gateway ? strdup(ip->gateway) : NULL;
                if (mac_out)
                        *mac_out = mac ? strdup(mac) : NULL;
                return 0;
        }
        return mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, 0,
                            "cni result holds no IPv4 address for the container");
}

int mx_cni__conflist(json_t **out, const mx_net_rec *net, const char *data_dir, mx_error **err)
{
        cleanup_json json_t *list = NULL;
        json_t *range, *ipam, *bridge, *portmap, *fw;

        range = json_pack("{s:s,s:s}", "subnet", net->subnet, "gateway", net->gateway);
        ipam = json_pack("{s:s,s:[[o]],s:s}", "type", "host-local", "ranges", range, "dataDir",
                         data_dir);
        if (!ipam)
                return mx_error_oom(err);
        if (!net->internal &&
            json_object_set_new(ipam, "routes", json_pack("[{s:s}]", "dst", "0.0.0.0/0")) < 0) {
                json_decref(ipam);
                return mx_error_oom(err);
        }
        bridge = json_pack("{s:s,s:s,s:b,s:b,s:b,s:{s:b},s:o}", "type", "bridge", "bridge",
                           net->bridge, "isGateway", 1, "ipMasq", !net->internal, "hairpinMode", 1,
                           "capabilities", "ips", 1, "ipam", ipam);
        portmap = json_pack("{s:s,s:{s:b},s:b}", "type", "portmap", "capabilities", "portMappings",
                            1, "snat", 1);
        fw = json_pack("{s:s,s:s}", "type", "firewall", "backend", "iptables");
        list = json_pack("{s:s,s:s,s:[ooo]}", "cniVersion", MX_CNI_VERSION, "name", net->name,
                         "plugins", bridge, portmap, fw);
        if (!list)
                return mx_error_oom(err);
        *out = TAKE_PTR(list);
        return 0;
}

static char *find_plugin(const char *dirs, const char *type)
{
        cleanup_free char *copy = strdup(dirs);
        char *save = NULL;

        if (!copy)
                return NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = NULL;

                if (asprintf(&p, "%s/%s", d, type) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

static const char *cni_path(const mx_netctx *ctx)
{
        const char *p = ctx && ctx->cni_path ? ctx->cni_path : getenv("MYRMEX_CNI_PATH");

        return p && *p ? p : MX_CNI_DEFAULT_PATH;
}

/* A plugin error ({"code":N,"msg":"..","details":".."}) or its stderr as the message. */
static int plugin_error(mx_error **err, const char *type, const char *cmd, int status,
                        const mx_buf *out, const mx_buf *errb)
{
        cleanup_json json_t *e = NULL;
        const char *msg = NULL, *details = NULL;
        char tail[512] = "";

        if (out->len &&
            mx_json_parse(&e, out->ptr, out->len, 64 * 1024, 1, "plugin error", NULL) == 0) {
                msg = mx_json_str(e, "msg");
                details = mx_json_str(e, "details");
        }
        if (!msg) {
                const mx_buf *b = errb->len ? errb : out;
                size_t n = b->len;

                while (n && (b->ptr[n - 1] == '\n' || b->ptr[n - 1] == ' '))
                        n--;
                if (n >= sizeof(tail))
                        n = sizeof(tail) - 1;
                memcpy(tail, b->ptr, n);
                tail[n] = '\0';
                for (char *c = tail; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                msg = *tail ? tail : "no message";
        }
        return mx_error_set(
                err, MX_EFAIL, MX_D_NETWORK, 0, "cni plugin '%s' %s failed (%s%d): %s%s%s", type,
                cmd, status >= 128 ? "signal " : "exit ", status >= 128 ? status - 128 : status,
                msg, details && *details ? ": " : "", details && *details ? details : "");
}

int mx_cni__exec_plugin(json_t **result_out, const mx_netctx *ctx, const char *cmd,
                        const json_t *netconf, const char *container_id, const char *netns,
                        const char *ifname, mx_error **err)
{
        const char *type = mx_json_str(netconf, "type");
        const char *dirs = cni_path(ctx);
        cleanup_free char *exe = NULL, *conf = NULL;
        cleanup_strv char **env = NULL;
        mx_buf out = MX_BUF_INIT_CAP(MX_CNI_RESULT_MAX);
        mx_buf errb = MX_BUF_INIT_CAP(64 * 1024);
        mx_proc_opts po = {0};
        const char *path = getenv("PATH");
        int status = 0, r;
        char *kv = NULL;

        if (!type)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "cni config has no type");
        exe = find_plugin(dirs, type);
        if (!exe)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, ENOENT,
                                    "cni plugin '%s' not found in '%s' (install "
                                    "containernetworking-plugins)",
                                    type, dirs);
        conf = json_dumps(netconf, JSON_COMPACT);
        if (!conf)
                return mx_error_oom(err);
#define PUSHF(...)                                                                     \
        do {                                                                           \
                if (asprintf(&kv, __VA_ARGS__) < 0 || mx_strv_push_take(&env, kv) < 0) \
                        return mx_error_oom(err);                                      \
        } while (0)
        PUSHF("CNI_COMMAND=%s", cmd);
        PUSHF("CNI_CONTAINERID=%s", container_id);
        PUSHF("CNI_NETNS=%s", netns ? netns : "");
        PUSHF("CNI_IFNAME=%s", ifname);
        PUSHF("CNI_PATH=%s", dirs);
        PUSHF("PATH=%s", path && *path
                                 ? path
                                 : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
#undef PUSHF
        po.env = env;
        po.stdin_data = conf;
        po.stdin_len = strlen(conf);
        po.stdout_buf = &out;
        po.stderr_buf = &errb;
        po.timeout_ms = MX_CNI_TIMEOUT_MS;
        {
                const char *argv[] = {exe, NULL};

                r = mx_proc_run(argv, &po, &status, err);
        }
        if (r < 0) {
                mx_buf_clear(&out);
                mx_buf_clear(&errb);
                return mx_error_wrap(err, MX_D_NETWORK, "run cni plugin '%s' %s", type, cmd);
        }
        if (status != 0) {
                r = plugin_error(err, type, cmd, status, &out, &errb);
                mx_buf_clear(&out);
                mx_buf_clear(&errb);
                return r;
        }
        if (result_out) {
                json_t *res = NULL;

                r = mx_json_parse(&res, out.ptr, out.len, MX_CNI_RESULT_MAX, 1, "cni result", err);
                if (r < 0) {
                        mx_buf_clear(&out);
                        mx_buf_clear(&errb);
                        return mx_error_wrap(err, MX_D_NETWORK,
                                             "cni plugin '%s' %s printed no result", type, cmd);
                }
                *result_out = res;
        }
        mx_buf_clear(&out);
        mx_buf_clear(&errb);
        return 0;
}

/* The configuration one plugin of a list receives. */
static json_t *plugin_conf(const json_t *list, const json_t *plugin, const json_t *runtime_config,
                           const json_t *prev)
{
        json_t *c = json_deep_copy(plugin);
        json_t *caps = json_object_get(plugin, "capabilities");
        json_t *rc = NULL;
        const char *key;
        json_t *val;

        if (!c)
                return NULL;
        json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
        json_object_set(c, "name", json_object_get(list, "name"));
        json_object_del(c, "capabilities");
        json_object_foreach(caps, key, val)
        {
                json_t *arg = json_object_get(runtime_config, key);

                if (!json_is_true(val) || !arg)
                        continue;
                if (!rc)
                        rc = json_object();
                if (!rc)
                        break;
                json_object_set(rc, key, arg);
        }
        if (rc)
                json_object_set_new(c, "runtimeConfig", rc);
        if (prev)
                json_object_set(c, "prevResult", (json_t *)(uintptr_t)prev);
        return c;
}

int mx_cni__del_list(const mx_netctx *ctx, const json_t *conflist, const json_t *runtime_config,
                     const json_t *prev_result, const char *container_id, const char *netns,
                     const char *ifname, mx_error **err)
{
        json_t *plugins = json_object_get(conflist, "plugins");
        size_t n = json_array_size(plugins);
        int first = 0;

        for (size_t i = n; i-- > 0;) {
                cleanup_json json_t *c = plugin_conf(conflist, json_array_get(plugins, i),
                                                     runtime_config, prev_result);
                mx_error *e = NULL;
                int r;

                if (!c)
                        return mx_error_oom(err);
                r = mx_cni__exec_plugin(NULL, ctx, "DEL", c, container_id, netns, ifname, &e);
                mx_fault_point("cni-del-plugin");
                if (r < 0 && first == 0) {
                        first = r;
                        mx_error_move(err, &e);
                }
                mx_error_free(e);
        }
        return first;
}

int mx_cni__add_list(json_t **result_out, const mx_netctx *ctx, const json_t *conflist,
                     const json_t *runtime_config, const char *container_id, const char *netns,
                     const char *ifname, mx_cni_progress_fn progress, void *userdata,
                     mx_error **err)
{
        json_t *plugins = json_object_get(conflist, "plugins");
        cleanup_json json_t *prev = NULL;
        size_t n = json_array_size(plugins);

        if (!n)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "cni config has no plugins");
        for (size_t i = 0; i < n; i++) {
                cleanup_json json_t *c =
                        plugin_conf(conflist, json_array_get(plugins, i), runtime_config, prev);
                json_t *res = NULL;
                int r;

                if (!c)
                        return mx_error_oom(err);
                r = mx_cni__exec_plugin(&res, ctx, "ADD", c, container_id, netns, ifname, err);
                if (r >= 0 && progress)
                        progress(userdata, res);
                mx_fault_point("cni-add-plugin");
                if (r < 0) {
                        /* Spec: undo with DEL over the whole list, in reverse, ignoring what
                         * it reports; the ADD error is the one the caller needs. */
                        (void)mx_cni__del_list(ctx, conflist, runtime_config, prev, container_id,
                                               netns, ifname, NULL);
                        return r;
                }
                if (prev)
                        json_decref(prev);
                prev = res;
        }
        {
                cleanup(mx_cni_result_freep) mx_cni_result *parsed = NULL;
                cleanup_free char *txt = json_dumps(prev, JSON_COMPACT);
                int r;

                if (!txt)
                        return mx_error_oom(err);
                r = mx_cni__parse_result(&parsed, txt, strlen(txt), err);
                if (r < 0) {
                        (void)mx_cni__del_list(ctx, conflist, runtime_config, prev, container_id,
                                               netns, ifname, NULL);
                        return r;
                }
        }
        *result_out = TAKE_PTR(prev);
        return 0;
}

int mx_cni__loopback(const mx_netctx *ctx, const char *container_id, const char *netns,
                     mx_error **err)
{
        cleanup_json json_t *c = json_pack("{s:s,s:s,s:s}", "cniVersion", MX_CNI_VERSION, "name",
                                           "lo", "type", "loopback");
        json_t *res = NULL;
        int r;

        if (!c)
                return mx_error_oom(err);
        r = mx_cni__exec_plugin(&res, ctx, "ADD", c, container_id, netns, "lo", err);
        if (res)
                json_decref(res);
        return r;
}
