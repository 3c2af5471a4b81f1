/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/hosts text for a container and its peers (Docker's layout). */
#include <stdlib.h>
#include <string.h>

#include <myrmex/network.h>

#include "buf.h"
#include "error-internal.h"
#include "network-internal.h"

/* Names go into a file that the resolver parses line by line: keep them to hostname
 * characters so a peer's name can never add a line or an address. */
static int safe_names(const char *s)
{
        for (; *s; s++) {
                char c = *s;

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == ' '))
                        return 0;
        }
        return 1;
}

int mx_hosts__render(char **out, const char *self_ip, const char *self_names,
                     const mx_hosts_entry *peers, size_t n_peers, int with_localhost,
                     mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int r = 0;

        if (with_localhost)
                r |= mx_buf_puts(&b, "127.0.0.1\tlocalhost\n"
                                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                     "fe00::0\tip6-localnet\n"
                                     "ff00::0\tip6-mcastprefix\n"
                                     "ff02::1\tip6-allnodes\n"
                                     "ff02::2\tip6-allrouters\n");
        if (self_ip && *self_ip && self_names && *self_names && safe_names(self_names))
                r |= mx_buf_printf(&b, "%s\t%s\n", self_ip, self_names);
        for (size_t i = 0; i < n_peers; i++) {
                const char *ip = peers[i].ip, *names = peers[i].names;

                if (!ip || !*ip || !names || !*names || !safe_names(names) ||
                    strspn(ip, "0123456789abcdefABCDEF.:") != strlen(ip))
                        continue;
                r |= mx_buf_printf(&b, "%s\t%s\n", ip, names);
        }
        if (r < 0)
                return mx_error_oom(err);
        *out = mx_buf_detach(&b);
        if (!*out)
                return mx_error_oom(err);
        return 0;
}

static int resolv_value_ok(const char *s)
{
        if (!s || !*s || strlen(s) > 255)
                return 0;
        for (; *s; s++)
                if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '#' || *s == ';')
                        return 0;
        return 1;
}

static int is_loopback_ns(const char *ip)
{
        return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

int mx_network_resolv_conf(char **out, const char *host, const char *const *dns,
                           const char *const *search, const char *const *options, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        cleanup_buf mx_buf host_search = MX_BUF_INIT;
        cleanup_buf mx_buf host_ns = MX_BUF_INIT;
        cleanup_buf mx_buf host_opts = MX_BUF_INIT;
        int r = 0;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output");
        for (size_t i = 0; dns && dns[i]; i++)
                if (!resolv_value_ok(dns[i]) ||
                    strspn(dns[i], "0123456789abcdefABCDEF.:%") != strlen(dns[i]))
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid --dns '%s': want an IP address", dns[i]);
        for (size_t i = 0; search && search[i]; i++)
                if (!resolv_value_ok(search[i]))
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid --dns-search '%s'", search[i]);
        for (size_t i = 0; options && options[i]; i++)
                if (!resolv_value_ok(options[i]))
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid --dns-option '%s'", options[i]);
        /* What the host's file says (only the three keys that matter). */
        for (const char *line = host; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char buf[512], *save = NULL, *key, *val;

                if (len < sizeof(buf)) {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        key = strtok_r(buf, " \t", &save);
                        if (key && strcmp(key, "nameserver") == 0) {
                                val = strtok_r(NULL, " \t", &save);
                                if (val && resolv_value_ok(val) && !is_loopback_ns(val))
                                        r |= mx_buf_printf(&host_ns, "nameserver %s\n", val);
                        } else if (key &&
                                   (strcmp(key, "search") == 0 || strcmp(key, "options") == 0)) {
                                mx_buf *dst = key[0] == 's' ? &host_search : &host_opts;

                                mx_buf_truncate(dst, 0);
                                while ((val = strtok_r(NULL, " \t", &save)) != NULL)
                                        if (resolv_value_ok(val))
                                                r |= mx_buf_printf(dst, " %s", val);
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        if (search && search[0]) {
                r |= mx_buf_puts(&b, "search");
                for (size_t i = 0; search[i]; i++)
                        r |= mx_buf_printf(&b, " %s", search[i]);
                r |= mx_buf_putc(&b, '\n');
        } else if (host_search.len) {
                r |= mx_buf_printf(&b, "search%s\n", host_search.ptr);
        }
        if (dns && dns[0]) {
                for (size_t i = 0; dns[i]; i++)
                        r |= mx_buf_printf(&b, "nameserver %s\n", dns[i]);
        } else {
                r |= mx_buf_puts(&b, host_ns.ptr);
        }
        if ((options && options[0]) || host_opts.len) {
                r |= mx_buf_printf(&b, "options%s", host_opts.ptr);
                for (size_t i = 0; options && options[i]; i++)
                        r |= mx_buf_printf(&b, " %s", options[i]);
                r |= mx_buf_putc(&b, '\n');
        }
        if (r < 0)
                return mx_error_oom(err);
        *out = mx_buf_detach(&b);
        return *out ? 0 : mx_error_oom(err);
}

#define BLOCK_BEGIN "# BEGIN myrmex networks: peers by name, rewritten as containers come and go\n"
#define BLOCK_END   "# END myrmex networks\n"

int mx_hosts__merge(char **out, const char *existing, const char *block, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int in_block = 0, r = 0;

        for (const char *line = existing; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);

                if (strncmp(line, BLOCK_BEGIN, strlen("# BEGIN myrmex networks")) == 0)
                        in_block = 1;
                else if (in_block && strncmp(line, BLOCK_END, strlen(BLOCK_END) - 1) == 0)
                        in_block = 0;
                else if (!in_block) {
                        r |= mx_buf_put(&b, line, len);
                        if (!nl)
                                r |= mx_buf_putc(&b, '\n');
                }
                line = nl ? nl + 1 : NULL;
        }
        if (block && *block)
                r |= mx_buf_printf(&b, "%s%s%s", BLOCK_BEGIN, block, BLOCK_END);
        if (r < 0)
                return mx_error_oom(err);
        *out = mx_buf_detach(&b);
        return *out ? 0 : mx_error_oom(err);
}
