/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image configurations: whatever parses must keep its raw bytes, serialize, re-parse and
 * serialize to the same bytes again; chain IDs over its diff_ids must compute.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_image_config *cfg = NULL, *again = NULL;
        mx_error *err = NULL;
        char chain[MX_DIGEST_BUF];
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0, rlen = 0;
        const char *raw;

        if (size > MX_CONFIG_MAX_BYTES + 16)
                return 0;
        if (mx_image_config_parse(&cfg, data, size, &err) < 0) {
                check(err && err->code < 0 && err->message && err->domain == MX_D_IMAGE);
                mx_error_free(err);
                return 0;
        }
        raw = mx_image_config_raw(cfg, &rlen);
        check(raw && rlen == size && memcmp(raw, data, size) == 0);
        check(cfg->diff_ids && cfg->n_diff_ids <= MX_IMAGE_MAX_ENTRIES);
        if (cfg->n_diff_ids)
                check(mx_chain_id(chain, (const char *const *)cfg->diff_ids, cfg->n_diff_ids,
                                  NULL) == 0);
        check(mx_image_config_to_json(&a, &alen, cfg, NULL) == 0);
        check(mx_image_config_parse(&again, a, alen, NULL) == 0);
        check(mx_image_config_to_json(&b, &blen, again, NULL) == 0);
        check(alen == blen && memcmp(a, b, alen) == 0);
        {
                mx_image_config *c = NULL;
                char *cj = NULL;

                check(mx_image_config_copy(&c, cfg, NULL) == 0);
                check(mx_image_config_to_json(&cj, NULL, c, NULL) == 0);
                check(strcmp(cj, a) == 0);
                mx_free(cj);
                mx_image_config_free(c);
        }
        mx_image_config_free(cfg);
        mx_image_config_free(again);
        mx_free(a);
        mx_free(b);
        return 0;
}
