/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for forked or re-executed children: no asserts (they would jump into the parent's
 * harness); every function returns 0 or a negative code. */
#ifndef MX_STORE_TEST_CHILD_H
#define MX_STORE_TEST_CHILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/store.h>

#include "digest.h"

/* Same blob contents as test_image_record() in store-test-util.h. */
static inline int child_add_image(mx_store *s, const char *name, const char *const *layer_names,
                                  size_t n, const char *const *tags, char id_out[MX_DIGEST_BUF])
{
        mx_layer_record layers[8];
        mx_image_record rec;
        char buf[512], cfg[MX_DIGEST_BUF], man[MX_DIGEST_BUF];
        char digests[8][MX_DIGEST_BUF], diff_ids[8][MX_DIGEST_BUF];
        char mt[] = "application/vnd.oci.image.manifest.v1+json";
        char lt[] = "application/vnd.oci.image.layer.v1.tar+gzip";
        int r;

        if (n > 8)
                return MX_EINVAL;
        memset(&rec, 0, sizeof(rec));
        memset(layers, 0, sizeof(layers));
        for (size_t i = 0; i < n; i++) {
                snprintf(buf, sizeof(buf), "layer:%s", layer_names[i]);
                r = mx_store_blob_put(s, buf, strlen(buf), NULL, digests[i], NULL);
                if (r < 0)
                        return r;
                layers[i].digest = digests[i];
                layers[i].size = (int64_t)strlen(buf);
                snprintf(buf, sizeof(buf), "tar:%s", layer_names[i]);
                mx_digest_data(MX_DIGEST_SHA256, buf, strlen(buf), diff_ids[i]);
                layers[i].diff_id = diff_ids[i];
                layers[i].media_type = lt;
                layers[i].uncompressed_size = -1;
        }
        snprintf(buf, sizeof(buf), "config:%s", name);
        r = mx_store_blob_put(s, buf, strlen(buf), NULL, cfg, NULL);
        if (r < 0)
                return r;
        rec.config_size = (int64_t)strlen(buf);
        snprintf(buf, sizeof(buf), "manifest:%s", name);
        r = mx_store_blob_put(s, buf, strlen(buf), NULL, man, NULL);
        if (r < 0)
                return r;
        rec.id = cfg;
        rec.manifest_digest = man;
        rec.manifest_media_type = mt;
        rec.n_layers = n;
        rec.layers = layers;
        r = mx_store_image_add(s, &rec, tags, NULL);
        if (r < 0)
                return r;
        if (id_out)
                memcpy(id_out, cfg, strlen(cfg) + 1);
        return 0;
}

#endif
