/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's side of networks, published ports, volumes and health checks: what a
 * container's configuration asks for is resolved once at create (networks checked, ports
 * parsed, volumes created and seeded, the HEALTHCHECK merged with the flags) and kept in the
 * container's configuration under keys starting with '_'; the monitor attaches the networks
 * before the first start of the process and detaches them after the last; rm forgets the
 * addresses and the volume references. The calls into src/network are the ones listed in
 * docs/internals/network.md.
 */
#include "netwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <myrmex/metrics.h>
#include <myrmex/network.h>
#include <myrmex/volume.h>

#include "error-internal.h"
#include "fs.h"
#include "json.h"
#include "strv.h"

/* Errors passed here are ignored on purpose: what is left is cleaned up by the next command
 * (stale attachments) or by volume prune; gcc's warn_unused_result ignores a (void) cast. */
static void ignore(int r)
{
        (void)r;
}

/* ---- networks and ports ------------------------------------------------------------------ */

static int is_mode(const char *s, const char *m)
{
        return s && strcmp(s, m) == 0;
}

static json_t *mapping_json(const mx_port_mapping *m)
{
        return json_pack("{s:s,s:i,s:i,s:i,s:s}", "HostIp", m->host_ip, "HostPort",
                         (int)m->host_port, "HostPortEnd", (int)m->host_port_end, "ContainerPort",
                         (int)m->container_port, "Protocol", m->protocol);
}

static int append_mappings(json_t *arr, mx_port_mapping *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (json_array_append_new(arr, mapping_json(&m[i])) < 0) {
                        free(m);
                        return -1;
                }
        }
        free(m);
        return 0;
}

int mx_runtime__mappings_from_json(const json_t *arr, mx_port_mapping **out, size_t *n_out)
{
        size_t n = json_array_size(arr), i;
        mx_port_mapping *m;
        json_t *v;

        *out = NULL;
        *n_out = 0;
        if (n == 0)
                return 0;
        m = calloc(n, sizeof(*m));
        if (!m)
                return -1;
        json_array_foreach(arr, i, v)
        {
                const char *ip = mx_json_str(v, "HostIp"), *proto = mx_json_str(v, "Protocol");

                snprintf(m[i].host_ip, sizeof(m[i].host_ip), "%s", ip ? ip : "");
                snprintf(m[i].protocol, sizeof(m[i].protocol), "%s", proto ? proto : "tcp");
                m[i].host_port = (uint16_t)mx_json_int(v, "HostPort", 0);
                m[i].host_port_end = (uint16_t)mx_json_int(v, "HostPortEnd", 0);
                m[i].container_port = (uint16_t)mx_json_int(v, "ContainerPort", 0);
        }
        *out = m;
        *n_out = n;
        return 0;
}

/* The image's ExposedPorts keys, NULL-terminated. */
static char **exposed_ports(const json_t *img_cfg)
{
        json_t *ep = json_object_get(img_cfg, "ExposedPorts");
        char **v = NULL;
        const char *k;
        json_t *x;

        json_object_foreach(ep, k, x)
        {
                if (mx_strv_push(&v, k) < 0) {
                        mx_strv_free(v);
                        return NULL;
                }
        }
        return v;
}

int mx_runtime__net_plan(mx_runtime *rt, json_t *cfg, const json_t *img_cfg, mx_error **err)
{
        const char *mode = mx_json_str(cfg, "network_mode");
        json_t *nets = json_object_get(cfg, "networks");
        cleanup_json json_t *names = json_array(), *ports = json_array();
        json_t *v, *p;
        size_t i;
        int r;

        if (!names || !ports)
                return mx_error_oom(err);
        if (nets && !json_is_null(nets) && !json_is_array(nets))
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "configuration key 'networks' must be a list of names");
        /* the seed's networks list may say none or host too */
        json_array_foreach(nets, i, v)
        {
                const char *n = json_string_value(v);

                if (!n || !*n)
                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                            "configuration key 'networks' holds a non-name");
                if (is_mode(n, "none") || is_mode(n, "host")) {
                        if (json_array_size(nets) > 1 || (mode && !is_mode(mode, n)))
                                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                    "network '%s' cannot be combined with "
                                                    "other networks",
                                                    n);
                        mode = n;
                }
        }
        if (!mode || !*mode || is_mode(mode, "default"))
                mode = json_array_size(nets) ? NULL : MX_NETWORK_DEFAULT;
        if (!is_mode(mode, "none") && !is_mode(mode, "host")) {
                if (mode)
                        json_array_append_new(names, json_string(mode));
                json_array_foreach(nets, i, v)
                {
                        const char *n = json_string_value(v);
                        int dup = 0;
                        size_t j;
                        json_t *w;

                        json_array_foreach(names, j, w)
                        {
                                if (strcmp(json_string_value(w), n) == 0)
                                        dup = 1;
                        }
                        if (!dup)
                                json_array_append_new(names, json_string(n));
                }
                json_array_foreach(names, i, v)
                {
                        mx_network_info *info = NULL;

                        r = mx_network_inspect(&info, rt->store, json_string_value(v), err);
                        if (r < 0)
                                return mx_error_wrap(err, MX_D_RUNTIME, "network '%s'",
                                                     json_string_value(v));
                        /* keep the name, whatever way it was given (ID prefix...) */
                        json_array_set_new(names, i, json_string(info->name));
                        mx_network_info_free(info);
                }
                mode = json_string_value(json_array_get(names, 0));
        }
        json_object_set_new(cfg, "network_mode", json_string(mode));
        /* ports: the seed's object (docker-py), the CLI's -p strings, -P */
        p = json_object_get(cfg, "ports");
        if (json_is_object(p) && json_object_size(p)) {
                cleanup_free char *text = mx_json_dump_compact(p);
                mx_port_mapping *m = NULL;
                size_t n = 0;

                if (!text)
                        return mx_error_oom(err);
                r = mx_port_parse_seed(&m, &n, text, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "configuration key 'ports'");
                if (append_mappings(ports, m, n) < 0)
                        return mx_error_oom(err);
        } else if (p && !json_is_null(p) && !json_is_object(p) && !json_is_array(p)) {
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "configuration key 'ports' must be an object or a list");
        }
        {
                json_t *lists[2] = {json_is_array(p) ? p : NULL, json_object_get(cfg, "publish")};

                for (int k = 0; k < 2; k++) {
                        json_array_foreach(lists[k], i, v)
                        {
                                mx_port_mapping *m = NULL;
                                size_t n = 0;
                                char num[16];
                                const char *s = json_string_value(v);

                                if (json_is_integer(v)) {
                                        snprintf(num, sizeof(num), "%lld",
                                                 (long long)json_integer_value(v));
                                        s = num;
                                }
                                if (!s)
                                        return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                                            "bad published port in the "
                                                            "configuration");
                                r = mx_port_parse(&m, &n, s, err);
                                if (r < 0)
                                        return mx_error_wrap(err, MX_D_RUNTIME, "publish '%s'", s);
                                if (append_mappings(ports, m, n) < 0)
                                        return mx_error_oom(err);
                        }
                }
        }
        if (json_is_true(json_object_get(cfg, "publish_all"))) {
                cleanup_strv char **exp = exposed_ports(img_cfg);
                mx_port_mapping *m = NULL;
                size_t n = 0;

                if (exp) {
                        r = mx_port_publish_all(&m, &n, (const char *const *)exp, err);
                        if (r < 0)
                                return mx_error_wrap(err, MX_D_RUNTIME, "publish exposed ports");
                        if (append_mappings(ports, m, n) < 0)
                                return mx_error_oom(err);
                }
        }
        if (json_array_size(names) == 0 && json_array_size(ports)) {
                /* Docker discards them under --network none|host (the CLI warns) */
                json_object_set_new(cfg, "_ports_discarded", json_true());
                json_array_clear(ports);
        }
        json_object_set(cfg, "_networks", names);
        json_object_set(cfg, "_ports", ports);
        return 0;
}

int mx_runtime__net_wanted(const json_t *cfg)
{
        return json_array_size(json_object_get(cfg, "_networks")) > 0;
}

char *mx_runtime__netns_path(const mx_runtime *rt, const char *id)
{
        char *p = NULL;

        return asprintf(&p, "%s/run/netns/%s", rt->root, id) < 0 ? NULL : p;
}

int mx_runtime__net_setup(mx_runtime *rt, const char *id, const char *name, const json_t *cfg,
                          mx_error **err)
{
        json_t *names = json_object_get(cfg, "_networks"), *v;
        mx_network_attach_opts o = MX_NETWORK_ATTACH_OPTS_INIT;
        cleanup_strv char **nets = NULL, **aliases = NULL;
        cleanup_free mx_port_mapping *ports = NULL;
        cleanup_free char *netns = NULL, *want = NULL;
        size_t n_ports = 0, i;
        const char *hn = mx_json_str(cfg, "hostname");
        char short_id[13];
        int r;

        if (json_array_size(names) == 0)
                return 0;
        {
                size_t cleaned = 0;

                /* what a dead container left (its monitor and process killed) goes first */
                ignore(mx_network_cleanup_stale(&cleaned, rt->store, NULL));
        }
        json_array_foreach(names, i, v)
        {
                if (mx_strv_push(&nets, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        if (mx_runtime__mappings_from_json(json_object_get(cfg, "_ports"), &ports, &n_ports) < 0)
                return mx_error_oom(err);
        snprintf(short_id, sizeof(short_id), "%.12s", id);
        json_array_foreach(json_object_get(cfg, "network_aliases"), i, v)
        {
                if (json_is_string(v) && mx_strv_push(&aliases, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        o.aliases = (const char *const *)aliases;
        o.container_name = name;
        o.hostname = hn && *hn ? hn : short_id;
        o.ports = ports;
        o.n_ports = n_ports;
        r = mx_network_setup(&netns, rt->store, id, (const char *const *)nets, &o, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "attach the networks of '%s'", name);
        want = mx_runtime__netns_path(rt, id);
        if (!want || strcmp(want, netns) != 0) {
                ignore(mx_network_detach(rt->store, id, NULL, NULL));
                return mx_error_set(err, MX_EFAIL, MX_D_RUNTIME, 0,
                                    "network namespace '%s' is not where the bundle expects it",
                                    netns);
        }
        return 0;
}

void mx_runtime__volumes_release(mx_runtime *rt, const char *id, int anonymous)
{
        ignore(mx_volume_release(rt->store, id, anonymous, NULL));
}

void mx_runtime__net_teardown(mx_runtime *rt, const char *id, int release, int volumes)
{
        if (release) {
                ignore(mx_network_release(rt->store, id, NULL, NULL));
                ignore(mx_volume_release(rt->store, id, volumes, NULL));
        } else {
                ignore(mx_network_detach(rt->store, id, NULL, NULL));
        }
}

void mx_runtime__net_cleanup_stale(mx_runtime *rt)
{
        ignore(mx_network_cleanup_stale(NULL, rt->store, NULL));
}

/* Docker's NetworkSettings for inspect, from the attachments. */
json_t *mx_runtime__net_settings(mx_runtime *rt, const char *id, const json_t *cfg)
{
        mx_network_attachment **atts = NULL;
        size_t n = 0;
        json_t *ns = json_object(), *nets = json_object(), *ports = json_object();
        const char *sandbox = "";
        json_t *want = json_object_get(cfg, "_ports");
        size_t i;
        json_t *v;

        /* configured ports without a host binding yet (not running) */
        json_array_foreach(want, i, v)
        {
                char key[32];

                snprintf(key, sizeof(key), "%d/%s", (int)mx_json_int(v, "ContainerPort", 0),
                         mx_json_str(v, "Protocol") ? mx_json_str(v, "Protocol") : "tcp");
                if (!json_object_get(ports, key))
                        json_object_set_new(ports, key, json_null());
        }
        if (mx_network_container_attachments(&atts, &n, rt->store, id, NULL) < 0)
                n = 0;
        for (size_t k = 0; k < n; k++) {
                mx_network_attachment *a = atts[k];
                json_t *e = json_object();

                json_object_set_new(e, "IPAddress", json_string(a->attached && a->ip ? a->ip : ""));
                json_object_set_new(e, "IPPrefixLen",
                                    json_integer(a->attached ? a->prefix_len : 0));
                json_object_set_new(e, "Gateway",
                                    json_string(a->attached && a->gateway ? a->gateway : ""));
                json_object_set_new(e, "MacAddress",
                                    json_string(a->attached && a->mac ? a->mac : ""));
                json_object_set_new(e, "NetworkID", json_string(""));
                json_object_set_new(e, "EndpointID", json_string(""));
                json_object_set_new(e, "Aliases", json_null());
                json_object_set_new(nets, a->network, e);
                if (a->attached && a->netns_path)
                        sandbox = a->netns_path;
                if (k == 0 && a->attached) {
                        json_object_set_new(ns, "IPAddress", json_string(a->ip ? a->ip : ""));
                        json_object_set_new(ns, "IPPrefixLen", json_integer(a->prefix_len));
                        json_object_set_new(ns, "Gateway",
                                            json_string(a->gateway ? a->gateway : ""));
                        json_object_set_new(ns, "MacAddress", json_string(a->mac ? a->mac : ""));
                }
                for (size_t j = 0; a->attached && j < a->n_ports; j++) {
                        const mx_port_mapping *m = &a->ports[j];
                        char key[32], hp[8];
                        json_t *arr;

                        snprintf(key, sizeof(key), "%d/%s", (int)m->container_port, m->protocol);
                        snprintf(hp, sizeof(hp), "%d", (int)m->host_port);
                        arr = json_object_get(ports, key);
                        if (!json_is_array(arr)) {
                                arr = json_array();
                                json_object_set_new(ports, key, arr);
                        }
                        json_array_append_new(arr, json_pack("{s:s,s:s}", "HostIp",
                                                             m->host_ip[0] ? m->host_ip : "0.0.0.0",
                                                             "HostPort", hp));
                }
        }
        json_object_set_new(ns, "SandboxKey", json_string(sandbox));
        json_object_set_new(ns, "Ports", ports);
        json_object_set_new(ns, "Networks", nets);
        if (!json_object_get(ns, "IPAddress")) {
                json_object_set_new(ns, "IPAddress", json_string(""));
                json_object_set_new(ns, "IPPrefixLen", json_integer(0));
                json_object_set_new(ns, "Gateway", json_string(""));
                json_object_set_new(ns, "MacAddress", json_string(""));
        }
        mx_network_attachment_list_free(atts, n);
        return ns;
}

/* ps's PORTS cell: the resolved ports while attached, else what was asked for. */
char *mx_runtime__ports_cell(mx_runtime *rt, const char *id, const json_t *cfg, int running)
{
        json_t *want = json_object_get(cfg, "_ports");
        char *cell = NULL;

        if (json_array_size(want) == 0)
                return strdup("");
        if (running) {
                mx_network_attachment **atts = NULL;
                size_t n = 0;

                if (mx_network_container_attachments(&atts, &n, rt->store, id, NULL) == 0) {
                        for (size_t k = 0; k < n && !cell; k++) {
                                if (atts[k]->attached && atts[k]->n_ports)
                                        cell = mx_port_format_list(atts[k]->ports,
                                                                   atts[k]->n_ports);
                        }
                }
                mx_network_attachment_list_free(atts, n);
        }
        if (!cell) {
                mx_port_mapping *m = NULL;
                size_t n = 0;

                if (mx_runtime__mappings_from_json(want, &m, &n) == 0) {
                        /* not published now: Docker shows the container side only */
                        mx_buf b = MX_BUF_INIT;

                        for (size_t i = 0; i < n; i++)
                                (void)mx_buf_printf(&b, "%s%d/%s", i ? ", " : "",
                                                    (int)m[i].container_port, m[i].protocol);
                        cell = mx_buf_detach(&b);
                }
                free(m);
        }
        return cell ? cell : strdup("");
}

/* ---- mounts ------------------------------------------------------------------------------ */

static json_t *oci_bind(const char *src, const char *dst, int ro, const char *propagation)
{
        json_t *o =
                json_pack("[s,s]", "rbind", propagation && *propagation ? propagation : "rprivate");

        if (ro)
                json_array_append_new(o, json_string("ro"));
        return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind", "source", src,
                         "options", o);
}

static int parse_specs(json_t *cfg, mx_mount_spec ***out, size_t *n_out, mx_error **err)
{
        json_t *vols = json_object_get(cfg, "volumes"), *mounts = json_object_get(cfg, "mounts");
        mx_mount_spec **specs = NULL;
        size_t n = 0, i;
        json_t *v;
        int r;

        if (vols && !json_is_null(vols) &&
            ((json_is_object(vols) && json_object_size(vols)) ||
             (json_is_array(vols) && json_array_size(vols)))) {
                cleanup_free char *text = mx_json_dump_compact(vols);

                if (!text)
                        return mx_error_oom(err);
                r = mx_mount_parse_seed(&specs, &n, text, err);
                if (r < 0)
                        return mx_error_wrap(err, MX_D_RUNTIME, "configuration key 'volumes'");
        } else if (vols && !json_is_null(vols) && !json_is_object(vols) && !json_is_array(vols)) {
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "configuration key '%s' must be an object or a list",
                                    "volumes");
        }
        json_array_foreach(mounts, i, v)
        {
                mx_mount_spec *m = NULL, **grown;

                if (!json_is_string(v)) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                         "configuration key 'mounts' must list --mount strings");
                        goto fail;
                }
                r = mx_mount_parse_mount(&m, json_string_value(v), err);
                if (r < 0) {
                        r = mx_error_wrap(err, MX_D_RUNTIME, "mount '%s'", json_string_value(v));
                        goto fail;
                }
                grown = realloc(specs, (n + 1) * sizeof(*specs));
                if (!grown) {
                        mx_mount_spec_free(m);
                        r = mx_error_oom(err);
                        goto fail;
                }
                specs = grown;
                specs[n++] = m;
        }
        *out = specs;
        *n_out = n;
        return 0;
fail:
        for (size_t k = 0; k < n; k++)
                mx_mount_spec_free(specs[k]);
        free(specs);
        return r;
}

int mx_runtime__mounts_plan(mx_runtime *rt, json_t *cfg, const char *id, const char *rootfs,
                            json_t **oci_out, mx_error **err)
{
        mx_mount_spec **specs = NULL;
        size_t n = 0;
        cleanup_json json_t *oci = json_array(), *docker = json_array();
        int r = 0;

        if (!oci || !docker)
                return mx_error_oom(err);
        r = parse_specs(cfg, &specs, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                mx_mount_spec *s = specs[i];

                if (!s->target || s->target[0] != '/' || strcmp(s->target, "/") == 0) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                         "invalid mount destination '%s'",
                                         s->target ? s->target : "");
                        break;
                }
                if (s->type == MX_MOUNT_BIND) {
                        struct stat st;

                        /* as docker -v does, a missing host directory is created */
                        if (stat(s->source, &st) < 0 &&
                            (errno != ENOENT || mx_fs_mkdir_p(s->source, 0755, err) < 0)) {
                                r = mx_error_errno(err, MX_D_RUNTIME, "bind mount source '%s'",
                                                   s->source);
                                break;
                        }
                        json_array_append_new(
                                oci, oci_bind(s->source, s->target, s->read_only, s->propagation));
                        json_array_append_new(
                                docker, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind",
                                                  "Source", s->source, "Destination", s->target,
                                                  "Mode", s->read_only ? "ro" : "", "RW",
                                                  !s->read_only, "Propagation",
                                                  s->propagation ? s->propagation : "rprivate"));
                } else if (s->type == MX_MOUNT_VOLUME) {
                        mx_volume_info *vol = NULL;

                        r = mx_volume_use(&vol, rt->store, s, id, rootfs, err);
                        if (r < 0) {
                                r = mx_error_wrap(err, MX_D_RUNTIME, "volume for '%s'", s->target);
                                break;
                        }
                        json_array_append_new(
                                oci, oci_bind(vol->mountpoint, s->target, s->read_only, NULL));
                        json_array_append_new(docker,
                                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type",
                                                        "volume", "Name", vol->name, "Source",
                                                        vol->mountpoint, "Destination", s->target,
                                                        "Driver", "local", "Mode",
                                                        s->read_only ? "ro" : "z", "RW",
                                                        !s->read_only, "Propagation", ""));
                        mx_volume_info_free(vol);
                } else {
                        json_t *o = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
                        char opt[64];

                        if (s->tmpfs_size) {
                                snprintf(opt, sizeof(opt), "size=%llu",
                                         (unsigned long long)s->tmpfs_size);
                                json_array_append_new(o, json_string(opt));
                        }
                        snprintf(opt, sizeof(opt), "mode=%o",
                                 s->tmpfs_mode ? (unsigned)s->tmpfs_mode : 01777u);
                        json_array_append_new(o, json_string(opt));
                        if (s->read_only)
                                json_array_append_new(o, json_string("ro"));
                        json_array_append_new(oci, json_pack("{s:s,s:s,s:s,s:o}", "destination",
                                                             s->target, "type", "tmpfs", "source",
                                                             "tmpfs", "options", o));
                        json_array_append_new(
                                docker, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "tmpfs",
                                                  "Source", "", "Destination", s->target, "Mode",
                                                  "", "RW", !s->read_only, "Propagation", ""));
                }
        }
        for (size_t i = 0; i < n; i++)
                mx_mount_spec_free(specs[i]);
        free(specs);
        if (r < 0) {
                ignore(mx_volume_release(rt->store, id, 1, NULL));
                return r;
        }
        json_object_set(cfg, "_mounts", docker);
        *oci_out = TAKE_PTR(oci);
        return 0;
}

/* ---- health checks ----------------------------------------------------------------------- */

static json_t *health_config_json(const mx_health_config *hc)
{
        json_t *test = json_array();

        for (char **t = hc->test; t && *t; t++)
                json_array_append_new(test, json_string(*t));
        return json_pack("{s:o,s:I,s:I,s:I,s:I,s:i}", "Test", test, "Interval",
                         (json_int_t)hc->interval_ns, "Timeout", (json_int_t)hc->timeout_ns,
                         "StartPeriod", (json_int_t)hc->start_period_ns, "StartInterval",
                         (json_int_t)hc->start_interval_ns, "Retries", hc->retries);
}

/* docker-py's healthcheck dict ({"test": .., "interval": ns, ...}) in Docker's shape. */
static json_t *healthcheck_from_seed(const json_t *h)
{
        static const char *const keys[][2] = {{"interval", "Interval"},
                                              {"timeout", "Timeout"},
                                              {"start_period", "StartPeriod"},
                                              {"retries", "Retries"}};
        json_t *o = json_object(), *test = json_object_get(h, "test");

        if (!test)
                test = json_object_get(h, "Test");
        if (json_is_string(test))
                json_object_set_new(o, "Test",
                                    json_pack("[s,s]", "CMD-SHELL", json_string_value(test)));
        else if (json_is_array(test))
                json_object_set(o, "Test", test);
        for (size_t i = 0; i < MX_ARRAY_SIZE(keys); i++) {
                json_t *v = json_object_get(h, keys[i][0]);

                if (!v)
                        v = json_object_get(h, keys[i][1]);
                if (json_is_integer(v))
                        json_object_set(o, keys[i][1], v);
        }
        return o;
}

int mx_runtime__health_plan(json_t *cfg, const json_t *img_cfg, mx_error **err)
{
        mx_health_config *hc = NULL;
        cleanup_free char *img_text = NULL;
        json_t *base = json_object_get(img_cfg, "Healthcheck");
        json_t *seed = json_object_get(cfg, "healthcheck");
        cleanup_json json_t *merged = NULL;
        json_t *retries = json_object_get(cfg, "health_retries");
        int r;

        if (json_is_object(seed)) {
                /* the configuration's healthcheck replaces the image's, keys it lacks kept */
                json_t *s = healthcheck_from_seed(seed);

                merged = json_is_object(base) ? json_deep_copy(base) : json_object();
                json_object_update(merged, s);
                json_decref(s);
                base = merged;
        }
        if (json_is_object(base)) {
                img_text = mx_json_dump_compact(base);
                if (!img_text)
                        return mx_error_oom(err);
        }
        r = mx_health_config_build(
                &hc, img_text, mx_json_str(cfg, "health_cmd"), mx_json_str(cfg, "health_interval"),
                mx_json_str(cfg, "health_timeout"), mx_json_str(cfg, "health_start_period"),
                json_is_integer(retries) ? (int)json_integer_value(retries) : -1,
                json_is_true(json_object_get(cfg, "no_healthcheck")), err);
        if (r < 0)
                return r;
        if (hc && hc->test && hc->test[0] && strcmp(hc->test[0], "NONE") != 0)
                json_object_set_new(cfg, "_healthcheck", health_config_json(hc));
        mx_health_config_free(hc);
        return 0;
}

int mx_runtime__health_config(mx_health_config **out, const json_t *cfg)
{
        json_t *h = json_object_get(cfg, "_healthcheck");
        cleanup_free char *text = NULL;

        *out = NULL;
        if (!json_is_object(h))
                return 0;
        text = mx_json_dump_compact(h);
        if (!text)
                return -1;
        return mx_health_config_build(out, text, NULL, NULL, NULL, NULL, -1, 0, NULL);
}

char *mx_runtime__health_path(const mx_runtime *rt, const char *id)
{
        char *p = NULL;

        return asprintf(&p, "%s/containers/%s/health.json", rt->root, id) < 0 ? NULL : p;
}

json_t *mx_runtime__health_read(const mx_runtime *rt, const char *id)
{
        cleanup_free char *path = mx_runtime__health_path(rt, id);
        mx_buf b = MX_BUF_INIT;
        json_t *j = NULL;

        if (path && mx_buf_read_file(&b, path, 1 << 20, NULL) >= 0)
                (void)mx_json_parse(&j, b.ptr, b.len, 1 << 20, 1, "health", NULL);
        mx_buf_clear(&b);
        return j;
}

/* ---- metrics ------------------------------------------------------------------------------ */

int mx_container_stats(mx_runtime *rt, const char *ref, int interval_ms, char **json_out,
                       mx_error **err)
{
        cleanup_free char *id = NULL;
        cleanup(mx_ctr_freep) mx_ctr *c = NULL;
        cleanup_json json_t *cfg = NULL, *health = NULL;
        mx_metrics_context ctx = {0};
        mx_container_metrics m;
        const char *cpus;
        char *text;
        int r;

        if (!rt || !ref || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "invalid argument");
        r = mx_container_resolve(rt, ref, &id, err);
        if (r < 0)
                return r;
        r = mx_runtime__db_get(rt->db, id, &c, err);
        if (r >= 0)
                r = mx_runtime__refresh(rt, c, err);
        if (r < 0)
                return r;
        if ((strcmp(c->state, "running") != 0 && strcmp(c->state, "paused") != 0) || c->pid <= 0)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0,
                                    "container '%s' is not running", c->name);
        if (mx_json_parse(&cfg, c->config_json, strlen(c->config_json), 1 << 20, 1, "config",
                          NULL) < 0)
                cfg = json_object();
        cpus = mx_json_str(json_object_get(cfg, "resources"), "cpu_limit");
        if (cpus) {
                int64_t quota = 0;
                uint64_t period = 0;

                if (mx_runtime__parse_cpus(cpus, &quota, &period) == 0 && quota > 0 && period)
                        ctx.cpu_limit = (double)quota / (double)period;
        }
        if (json_object_get(cfg, "_healthcheck")) {
                health = mx_runtime__health_read(rt, c->id);
                ctx.health =
                        mx_json_str(health, "Status") ? mx_json_str(health, "Status") : "starting";
        }
        ctx.container_name = c->name;
        ctx.started_unix_ns = c->started_at;
        ctx.restart_count = c->restart_count;
        r = mx_metrics_collect(&m, (int)c->pid, &ctx, interval_ms, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_RUNTIME, "stats of '%s'", c->name);
        text = mx_metrics_to_json(&m);
        if (!text)
                return mx_error_oom(err);
        *json_out = text;
        return 0;
}
