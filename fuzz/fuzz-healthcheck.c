/* SPDX-License-Identifier: Apache-2.0 */
/* An image's Healthcheck object (untrusted image content): it must give a config, no check,
 * or an error, and a config must make a state machine that records probes sanely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/metrics.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_health_config *c = NULL;
        mx_error *err = NULL;
        char *s;

        if (size > 65536)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (mx_health_config_build(&c, s, NULL, NULL, NULL, NULL, -1, 0, &err) == 0) {
                if (c) {
                        mx_health *h = NULL;
                        char **argv = mx_health_probe_argv(c);
                        char *json;

                        if (!argv || !argv[0] || c->retries <= 0 || c->interval_ns <= 0)
                                abort();
                        for (char **p = argv; *p; p++)
                                free(*p);
                        free(argv);
                        if (mx_health_new(&h, c, 0, NULL) != 0)
                                abort();
                        for (int i = 0; i < 8; i++)
                                mx_health_record(h, (int64_t)(i + 1) * c->interval_ns, i, i + 1,
                                                 i % 3, i == 5, s);
                        json = mx_health_to_json(h);
                        if (!json)
                                abort();
                        free(json);
                        mx_health_free(h);
                        mx_health_config_free(c);
                }
        } else if (!err || !err->message) {
                abort();
        }
        mx_error_free(err);
        free(s);
        return 0;
}
