/* SPDX-License-Identifier: Apache-2.0 */
/* Registry configuration: mirrors and insecure registries, certificate directories. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error-internal.h"
#include "fs.h"
#include "json.h"
#include "parse.h"
#include "registry-internal.h"
#include "strv.h"

#define MAX_CONFIG   (1024 * 1024)
#define MAX_CA_FILE  (4 * 1024 * 1024)
#define SYSTEM_CA    "/etc/ssl/certs/ca-certificates.crt"
#define DEFAULT_CONF "/etc/myrmex/config.json"

void mx_registry__config_clear(mx_reg_config *c)
{
        if (!c)
                return;
        mx_strv_free(c->mirrors);
        mx_strv_free(c->insecure);
        memset(c, 0, sizeof(*c));
}

static int load_list(char ***out, json_t *arr, const char *key, const char *path, mx_error **err)
{
        size_t i;
        json_t *v;

        if (!arr)
                return 0;
        if (!json_is_array(arr))
                return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0, "'%s' in '%s' is not a list",
                                    key, path);
        json_array_foreach(arr, i, v)
        {
                if (!json_is_string(v))
                        return mx_error_set(err, MX_EFORMAT, MX_D_REGISTRY, 0,
                                            "'%s' in '%s' holds a non-string", key, path);
                if (mx_strv_push(out, json_string_value(v)) < 0)
                        return mx_error_oom(err);
        }
        return 0;
}

int mx_registry__config_load(mx_reg_config *out, const char *path, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        cleanup_json json_t *j = NULL;
        mx_reg_config c = {0};
        int r;

        if (!path)
                path = getenv("MYRMEX_CONFIG");
        if (!path || !*path)
                path = DEFAULT_CONF;
        if (!mx_fs_exists(path)) {
                *out = c;
                return 0;
        }
        r = mx_buf_read_file(&b, path, MAX_CONFIG, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read configuration");
        r = mx_json_parse(&j, b.ptr, b.len, MAX_CONFIG, 1, path, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_REGISTRY, "read configuration");
        r = load_list(&c.mirrors, json_object_get(j, "registry-mirrors"), "registry-mirrors", path,
                      err);
        if (r >= 0)
                r = load_list(&c.insecure, json_object_get(j, "insecure-registries"),
                              "insecure-registries", path, err);
        if (r < 0) {
                mx_registry__config_clear(&c);
                return r;
        }
        *out = c;
        return 0;
}

/* Split "host:port", "[v6]:port", "v6" into the host part (no brackets). */
static void host_only(char *out, size_t outsize, const char *hostport)
{
        const char *end;
        size_t n;

        if (hostport[0] == '[') {
                end = strchr(hostport, ']');
                n = end ? (size_t)(end - hostport - 1) : strlen(hostport + 1);
                hostport++;
        } else {
                end = strchr(hostport, ':');
                /* more than one ':' is a bare IPv6 address */
                if (end && strchr(end + 1, ':'))
                        end = NULL;
                n = end ? (size_t)(end - hostport) : strlen(hostport);
        }
        if (n >= outsize)
                n = outsize - 1;
        memcpy(out, hostport, n);
        out[n] = '\0';
}

int mx_registry__is_loopback(const char *hostport)
{
        char host[256];
        struct in_addr a4;
        struct in6_addr a6;

        host_only(host, sizeof(host), hostport);
        if (strcasecmp(host, "localhost") == 0)
                return 1;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return 0;
}

static int cidr_match(const char *cidr, const char *host)
{
        char net[64];
        const char *slash = strchr(cidr, '/');
        uint64_t bits;
        struct in_addr n4, h4;
        struct in6_addr n6, h6;
        size_t len;

        if (!slash)
                return 0;
        len = (size_t)(slash - cidr);
        if (len >= sizeof(net))
                return 0;
        memcpy(net, cidr, len);
        net[len] = '\0';
        if (mx_parse_u64(slash + 1, &bits) < 0)
                return 0;
        if (inet_pton(AF_INET, net, &n4) == 1 && inet_pton(AF_INET, host, &h4) == 1) {
                uint32_t mask;

                if (bits > 32)
                        return 0;
                mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
                return (ntohl(n4.s_addr) & mask) == (ntohl(h4.s_addr) & mask);
        }
        if (inet_pton(AF_INET6, net, &n6) == 1 && inet_pton(AF_INET6, host, &h6) == 1) {
                if (bits > 128)
                        return 0;
                for (unsigned i = 0; i < 16; i++) {
                        unsigned b = bits > i * 8 ? (unsigned)(bits - i * 8) : 0;
                        unsigned char m = b >= 8 ? 0xff : (unsigned char)(0xff << (8 - b));

                        if ((n6.s6_addr[i] & m) != (h6.s6_addr[i] & m))
                                return 0;
                }
                return 1;
        }
        return 0;
}

int mx_registry__config_is_insecure(const mx_reg_config *c, const char *hostport)
{
        char host[256];

        if (!c)
                return 0;
        host_only(host, sizeof(host), hostport);
        MX_STRV_FOREACH (e, c->insecure) {
                const char *v = e;

                if (strncmp(v, "http://", 7) == 0)
                        v += 7;
                else if (strncmp(v, "https://", 8) == 0)
                        v += 8;
                if (strcmp(v, hostport) == 0 || strcmp(v, host) == 0)
                        return 1;
                if (cidr_match(v, host))
                        return 1;
        }
        return 0;
}

int mx_registry__certs_dir_find(char **out, const char *const *bases, const char *hostport,
                                mx_error **err)
{
        static const char *const std_bases[] = {"/etc/myrmex/certs.d", "/etc/containers/certs.d",
                                                "/etc/docker/certs.d", NULL};

        if (!bases)
                bases = std_bases;
        if (strchr(hostport, '/') || strcmp(hostport, "..") == 0 || strcmp(hostport, ".") == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0, "invalid registry host '%s'",
                                    hostport);
        for (size_t i = 0; bases[i]; i++) {
                cleanup_free char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", bases[i], hostport) < 0)
                        return mx_error_oom(err);
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                        *out = TAKE_PTR(p);
                        return 0;
                }
        }
        *out = NULL;
        return 0;
}

void mx_registry__tls_clear(mx_reg_tls *t)
{
        if (!t)
                return;
        free(t->ca_pem);
        free(t->client_cert);
        free(t->client_key);
        memset(t, 0, sizeof(*t));
}

static int has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a > b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int mx_registry__tls_load(mx_reg_tls *out, const char *dir, mx_error **err)
{
        cleanup_strv char **names = NULL;
        cleanup_buf mx_buf ca = MX_BUF_INIT_CAP(64 * 1024 * 1024);
        mx_reg_tls t = {0};
        DIR *d;
        struct dirent *de;
        int have_ca = 0, r = 0;

        d = opendir(dir);
        if (!d)
                return mx_error_errno(err, MX_D_REGISTRY, "open certificate directory '%s'", dir);
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (mx_strv_push(&names, de->d_name) < 0) {
                        closedir(d);
                        return mx_error_oom(err);
                }
        }
        closedir(d);
        if (names)
                qsort(names, mx_strv_length(names), sizeof(char *), cmp_str);
        MX_STRV_FOREACH (name, names) {
                cleanup_free char *p = NULL;

                if (asprintf(&p, "%s/%s", dir, name) < 0)
                        return mx_error_oom(err);
                if (has_suffix(name, ".crt")) {
                        if (!have_ca && mx_fs_exists(SYSTEM_CA)) {
                                /* extra CAs add to the system's, as Docker does */
                                r = mx_buf_read_file(&ca, SYSTEM_CA, MAX_CA_FILE * 4, err);
                                if (r < 0)
                                        break;
                                if (ca.len && ca.ptr[ca.len - 1] != '\n')
                                        (void)mx_buf_putc(&ca, '\n');
                        }
                        have_ca = 1;
                        r = mx_buf_read_file(&ca, p, MAX_CA_FILE, err);
                        if (r < 0)
                                break;
                        if (ca.len && ca.ptr[ca.len - 1] != '\n' && mx_buf_putc(&ca, '\n') < 0) {
                                r = mx_error_oom(err);
                                break;
                        }
                } else if (has_suffix(name, ".cert")) {
                        cleanup_free char *key = NULL;
                        size_t n = strlen(p) - 5;

                        if (asprintf(&key, "%.*s.key", (int)n, p) < 0)
                                return mx_error_oom(err);
                        if (!mx_fs_exists(key)) {
                                r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                                 "client certificate '%s' has no key '%s'", p, key);
                                break;
                        }
                        if (!t.client_cert) {
                                t.client_cert = TAKE_PTR(p);
                                t.client_key = TAKE_PTR(key);
                        }
                } else if (has_suffix(name, ".key")) {
                        cleanup_free char *cert = NULL;
                        size_t n = strlen(p) - 4;

                        if (asprintf(&cert, "%.*s.cert", (int)n, p) < 0)
                                return mx_error_oom(err);
                        if (!mx_fs_exists(cert)) {
                                r = mx_error_set(err, MX_EINVAL, MX_D_REGISTRY, 0,
                                                 "client key '%s' has no certificate '%s'", p,
                                                 cert);
                                break;
                        }
                }
        }
        if (r < 0) {
                mx_registry__tls_clear(&t);
                return mx_error_wrap(err, MX_D_REGISTRY, "load certificates from '%s'", dir);
        }
        if (have_ca) {
                t.ca_len = ca.len;
                t.ca_pem = mx_buf_detach(&ca);
                if (!t.ca_pem) {
                        mx_registry__tls_clear(&t);
                        return mx_error_oom(err);
                }
        }
        *out = t;
        return 0;
}
