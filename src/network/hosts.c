/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/hosts text for a container and its peers (Docker's layout). */
#include <stdlib.h>
#include <string.h>

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
                     const mx_hosts_entry *peers, size_t n_peers, mx_error **err)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int r = 0;

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
