/* SPDX-License-Identifier: Apache-2.0 */
/* CNI plugin results: whatever a plugin prints must parse or fail cleanly, and a parsed
 * result must only point at interfaces it holds. */
#include <stdint.h>
#include <stdlib.h>

#include "network/network-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_cni_result *r = NULL;
        mx_error *err = NULL;

        if (size > MX_CNI_RESULT_MAX + 16)
                return 0;
        if (mx_cni__parse_result(&r, (const char *)data, size, &err) == 0) {
                char *ip = NULL, *gw = NULL, *mac = NULL;
                int prefix = -1;

                for (size_t i = 0; i < r->n_ips; i++)
                        if (r->ips[i].interface >= (int)r->n_ifaces || !r->ips[i].address)
                                abort();
                if (mx_cni__result_primary(r, &ip, &prefix, &gw, &mac, NULL) == 0 &&
                    (!ip || prefix < 0 || prefix > 32))
                        abort();
                free(ip);
                free(gw);
                free(mac);
                mx_cni_result_free(r);
        } else if (!err || !err->message) {
                abort();
        }
        mx_error_free(err);
        return 0;
}
