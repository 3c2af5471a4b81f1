/* SPDX-License-Identifier: Apache-2.0 */
/* `-p` / `-P` values as Docker reads them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/network.h>

#include "buf.h"
#include "error-internal.h"
#include "json.h"
#include "network-internal.h"
#include "parse.h"

#define MAX_RANGE 65536

static int parse_port(uint16_t *out, const char *s, size_t len)
{
        char tmp[8];
        uint64_t v;

        if (len == 0 || len >= sizeof(tmp))
                return -1;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        if (mx_parse_u64(tmp, &v) < 0 || v > 65535)
                return -1;
        *out = (uint16_t)v;
        return 0;
}

/* "80" or "80-90" -> [lo, hi]; port 0 is refused for containers, allowed for hosts only
 * as "any" when the whole value is empty (handled by the caller). */
static int parse_range(uint16_t *lo, uint16_t *hi, const char *s, size_t len)
{
        const char *dash = memchr(s, '-', len);

        if (!dash) {
                if (parse_port(lo, s, len) < 0)
                        return -1;
                *hi = *lo;
                return 0;
        }
        if (parse_port(lo, s, (size_t)(dash - s)) < 0 ||
            parse_port(hi, dash + 1, len - (size_t)(dash - s) - 1) < 0 || *hi < *lo)
                return -1;
        return 0;
}

static int valid_proto(const char *p)
{
        return strcmp(p, "tcp") == 0 || strcmp(p, "udp") == 0 || strcmp(p, "sctp") == 0;
}

static int valid_ip(const char *ip)
{
        unsigned char buf[16];

        return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

static int bad(mx_error **err, const char *spec, const char *why)
{
        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "invalid port specification '%s': %s",
                            spec, why);
}

int mx_port_parse(mx_port_mapping **out, size_t *n_out, const char *spec, mx_error **err)
{
        char ip[64] = "", proto[8] = "tcp";
        const char *rest, *slash, *hostpart = NULL, *cport;
        size_t hostlen = 0, cportlen;
        uint16_t hlo = 0, hhi = 0, clo, chi;
        cleanup_free mx_port_mapping *v = NULL;
        size_t n;

        if (!out || !n_out || !spec)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no port specification");
        if (strlen(spec) > 200)
                return bad(err, spec, "too long");
        rest = spec;
        /* Protocol suffix. */
        slash = strrchr(rest, '/');
        if (slash) {
                if (strlen(slash + 1) >= sizeof(proto) || !slash[1])
                        return bad(err, spec, "unknown protocol");
                snprintf(proto, sizeof(proto), "%s", slash + 1);
                for (char *c = proto; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char)(*c - 'A' + 'a');
                if (!valid_proto(proto))
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid port specification '%s': unknown protocol "
                                            "'%s' (tcp, udp or sctp)",
                                            spec, slash + 1);
        }
        size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

        /* Bracketed IPv6 host address. */
        if (len > 0 && rest[0] == '[') {
                const char *close = memchr(rest, ']', len);
                size_t iplen;

                if (!close || close + 1 >= rest + len || close[1] != ':')
                        return bad(err, spec, "unterminated IPv6 address");
                iplen = (size_t)(close - rest - 1);
                if (iplen == 0 || iplen >= sizeof(ip))
                        return bad(err, spec, "invalid IP address");
                memcpy(ip, rest + 1, iplen);
                ip[iplen] = '\0';
                if (!valid_ip(ip))
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid port specification '%s': invalid IP "
                                            "address '%s'",
                                            spec, ip);
                len -= (size_t)(close + 2 - rest);
                rest = close + 2;
                /* What remains is HOSTPORT:PORT. */
                const char *colon = memchr(rest, ':', len);

                if (!colon)
                        return bad(err, spec, "a host address needs HOSTPORT:PORT");
                hostpart = rest;
                hostlen = (size_t)(colon - rest);
                cport = colon + 1;
                cportlen = len - hostlen - 1;
        } else {
                /* Split on ':' from the right: PORT, HOSTPORT:PORT, IP:HOSTPORT:PORT. */
                const char *c1 = memchr(rest, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - rest)) : NULL;

                if (c2 && memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - rest)))
                        return bad(err, spec, "too many colons (bracket an IPv6 address)");
                if (!c1) {
                        cport = rest;
                        cportlen = len;
                } else if (!c2) {
                        hostpart = rest;
                        hostlen = (size_t)(c1 - rest);
                        cport = c1 + 1;
                        cportlen = len - hostlen - 1;
                } else {
                        size_t iplen = (size_t)(c1 - rest);

                        if (iplen >= sizeof(ip))
                                return bad(err, spec, "invalid IP address");
                        memcpy(ip, rest, iplen);
                        ip[iplen] = '\0';
                        if (iplen && !valid_ip(ip))
                                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                                    "invalid port specification '%s': invalid "
                                                    "IP address '%s'",
                                                    spec, ip);
                        hostpart = c1 + 1;
                        hostlen = (size_t)(c2 - c1 - 1);
                        cport = c2 + 1;
                        cportlen = len - (size_t)(c2 + 1 - rest);
                }
        }
        if (parse_range(&clo, &chi, cport, cportlen) < 0 || clo == 0)
                return bad(err, spec, "invalid container port");
        if (hostpart && hostlen > 0) {
                if (parse_range(&hlo, &hhi, hostpart, hostlen) < 0 || hlo == 0)
                        return bad(err, spec, "invalid host port");
                if (chi != clo && (uint32_t)(hhi - hlo) != (uint32_t)(chi - clo))
                        return bad(err, spec, "host and container port ranges differ in size");
        }
        n = (size_t)(chi - clo) + 1;
        v = calloc(n, sizeof(*v));
        if (!v)
                return mx_error_oom(err);
        for (size_t i = 0; i < n; i++) {
                snprintf(v[i].host_ip, sizeof(v[i].host_ip), "%s", ip);
                snprintf(v[i].protocol, sizeof(v[i].protocol), "%s", proto);
                v[i].container_port = (uint16_t)(clo + i);
                if (hlo == 0) {
                        v[i].host_port = 0;
                } else if (n > 1) {
                        v[i].host_port = (uint16_t)(hlo + i);
                } else {
                        v[i].host_port = hlo;
                        v[i].host_port_end = hhi != hlo ? hhi : 0;
                }
        }
        *out = TAKE_PTR(v);
        *n_out = n;
        return 0;
}

int mx_port_publish_all(mx_port_mapping **out, size_t *n_out, const char *const *exposed,
                        mx_error **err)
{
        cleanup_free mx_port_mapping *all = NULL;
        size_t n = 0;

        if (!out || !n_out)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output for ports");
        for (size_t i = 0; exposed && exposed[i]; i++) {
                const char *e = exposed[i];
                const char *slash = strchr(e, '/');
                char proto[8] = "tcp";
                uint16_t lo, hi;
                mx_port_mapping *grown;

                if (slash) {
                        if (strlen(slash + 1) >= sizeof(proto) || !valid_proto(slash + 1))
                                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                                    "invalid exposed port '%s'", e);
                        snprintf(proto, sizeof(proto), "%s", slash + 1);
                }
                if (parse_range(&lo, &hi, e, slash ? (size_t)(slash - e) : strlen(e)) < 0 ||
                    lo == 0)
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid exposed port '%s'", e);
                if (n + (size_t)(hi - lo) + 1 > MAX_RANGE)
                        return mx_error_set(err, MX_ETOOBIG, MX_D_NETWORK, 0,
                                            "too many exposed ports");
                grown = realloc(all, (n + (size_t)(hi - lo) + 1) * sizeof(*all));
                if (!grown)
                        return mx_error_oom(err);
                all = grown;
                for (uint32_t p = lo; p <= hi; p++) {
                        memset(&all[n], 0, sizeof(all[n]));
                        all[n].container_port = (uint16_t)p;
                        snprintf(all[n].protocol, sizeof(all[n].protocol), "%s", proto);
                        n++;
                }
        }
        *out = TAKE_PTR(all);
        *n_out = n;
        return 0;
}

char *mx_port_format(const mx_port_mapping *m)
{
        char *s = NULL;
        const char *ip = m->host_ip[0] ? m->host_ip : "0.0.0.0";
        int v6 = strchr(ip, ':') != NULL;

        if (asprintf(&s, "%u/%s -> %s%s%s:%u", m->container_port, m->protocol, v6 ? "[" : "", ip,
                     v6 ? "]" : "", m->host_port) < 0)
                return NULL;
        return s;
}

static int seed_bad(mx_error **err, const char *key, const char *why)
{
        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "invalid ports entry '%s': %s", key,
                            why);
}

/* One host-side value of a seed ports entry: null, a number, a string, or [ip, port]. */
static int seed_host(mx_port_mapping *m, const char *key, const json_t *v, mx_error **err)
{
        if (json_is_null(v))
                return 0;
        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
                        return seed_bad(err, key, "host port out of range");
                m->host_port = (uint16_t)json_integer_value(v);
                return 0;
        }
        if (json_is_string(v)) {
                uint16_t lo, hi;
                const char *s = json_string_value(v);

                if (parse_range(&lo, &hi, s, strlen(s)) < 0 || lo == 0)
                        return seed_bad(err, key, "bad host port");
                m->host_port = lo;
                m->host_port_end = hi != lo ? hi : 0;
                return 0;
        }
        if (json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= 2 &&
            json_is_string(json_array_get(v, 0))) {
                const char *ip = json_string_value(json_array_get(v, 0));

                if (strlen(ip) >= sizeof(m->host_ip) || (*ip && !valid_ip(ip)))
                        return seed_bad(err, key, "bad host address");
                snprintf(m->host_ip, sizeof(m->host_ip), "%s", ip);
                return json_array_size(v) == 2 ? seed_host(m, key, json_array_get(v, 1), err) : 0;
        }
        return seed_bad(err, key, "want a port, null, \"PORT\", [IP, PORT] or a list of ports");
}

int mx_port_parse_seed(mx_port_mapping **out, size_t *n_out, const char *ports_json, mx_error **err)
{
        cleanup_json json_t *o = NULL;
        cleanup_free mx_port_mapping *v = NULL;
        const char *key;
        json_t *val;
        size_t n = 0;
        int r;

        if (!out || !n_out || !ports_json)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no ports");
        r = mx_json_parse(&o, ports_json, strlen(ports_json), 1024 * 1024, 1, "ports", err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_NETWORK, "read the ports of the configuration");
        json_object_foreach(o, key, val)
        {
                const char *slash = strchr(key, '/');
                char proto[8] = "tcp";
                uint16_t cport;
                size_t k = json_is_array(val) && json_array_size(val) &&
                                           !json_is_string(json_array_get(val, 0))
                                   ? json_array_size(val)
                                   : 1;
                mx_port_mapping *g;

                if (slash && (strlen(slash + 1) >= sizeof(proto) || !valid_proto(slash + 1)))
                        return seed_bad(err, key, "unknown protocol");
                if (slash)
                        snprintf(proto, sizeof(proto), "%s", slash + 1);
                if (parse_port(&cport, key, slash ? (size_t)(slash - key) : strlen(key)) < 0 ||
                    cport == 0)
                        return seed_bad(err, key, "bad container port");
                if (n + k > MAX_RANGE)
                        return mx_error_set(err, MX_ETOOBIG, MX_D_NETWORK, 0, "too many ports");
                g = realloc(v, (n + k) * sizeof(*v));
                if (!g)
                        return mx_error_oom(err);
                v = g;
                for (size_t i = 0; i < k; i++) {
                        mx_port_mapping *m = &v[n + i];

                        memset(m, 0, sizeof(*m));
                        m->container_port = cport;
                        snprintf(m->protocol, sizeof(m->protocol), "%s", proto);
                        r = seed_host(m, key, k > 1 ? json_array_get(val, i) : val, err);
                        if (r < 0)
                                return r;
                }
                n += k;
        }
        *out = TAKE_PTR(v);
        *n_out = n;
        return 0;
}

char *mx_port_format_list(const mx_port_mapping *m, size_t n)
{
        mx_buf b = MX_BUF_INIT;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                const char *ip = m[i].host_ip[0] ? m[i].host_ip : "0.0.0.0";
                int v6 = strchr(ip, ':') != NULL;

                r |= mx_buf_printf(&b, "%s%s%s%s:%u->%u/%s", i ? ", " : "", v6 ? "[" : "", ip,
                                   v6 ? "]" : "", m[i].host_port, m[i].container_port,
                                   m[i].protocol);
        }
        if (r < 0) {
                mx_buf_clear(&b);
                return NULL;
        }
        return mx_buf_detach(&b);
}
