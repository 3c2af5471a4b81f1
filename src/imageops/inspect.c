/* SPDX-License-Identifier: Apache-2.0 */
/* The data of `inspect IMAGE` and `history`, as Docker shows them, in JSON. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>
#include <myrmex/images.h>
#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "imageops-internal.h"
#include "json.h"
#include "store/store-internal.h"

MX_DEFINE_FREEP(mx_ref, mx_ref_free)
MX_DEFINE_FREEP(mx_image_config, mx_image_config_free)

static int load_config(mx_store *s, const mx_image_record *rec, json_t **raw_out,
                       mx_image_config **cfg_out, mx_error **err)
{
        mx_buf b = MX_BUF_INIT;
        int r;

        r = mx_imageops__blob_read(s, rec->id, MX_CONFIG_MAX_BYTES, &b, err);
        if (r >= 0)
                r = mx_json_parse(raw_out, b.ptr, b.len, MX_CONFIG_MAX_BYTES, 1, "image config",
                                  err);
        if (r >= 0 && cfg_out)
                r = mx_image_config_parse(cfg_out, b.ptr, b.len, err);
        mx_buf_clear(&b);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "config of image '%s'", rec->id);
        return 0;
}

static json_t *familiar_tags(const mx_image_record *rec, const char *manifest_digest)
{
        json_t *arr = json_array();

        for (size_t i = 0; rec->tags && rec->tags[i]; i++) {
                cleanup(mx_ref_freep) mx_ref *ref = NULL;
                cleanup_free char *s = NULL;

                if (mx_ref_parse(&ref, rec->tags[i], NULL) < 0)
                        continue;
                if (manifest_digest) {
                        size_t j;
                        json_t *v;
                        bool seen = false;

                        if (asprintf(&s, "%s@%s", mx_ref_familiar_name(ref), manifest_digest) < 0)
                                continue;
                        json_array_foreach(arr, j, v) seen =
                                seen || strcmp(json_string_value(v), s) == 0;
                        if (!seen)
                                json_array_append_new(arr, json_string(s));
                } else {
                        json_array_append_new(arr, json_string(mx_ref_familiar(ref)));
                }
        }
        return arr;
}

static int64_t image_size(const mx_image_record *rec)
{
        int64_t total = 0;

        for (size_t i = 0; i < rec->n_layers; i++)
                total += rec->layers[i].uncompressed_size >= 0 ? rec->layers[i].uncompressed_size
                                                               : rec->layers[i].size;
        return total;
}

static json_t *str_or_empty(const json_t *obj, const char *key)
{
        const char *v = mx_json_str(obj, key);

        return json_string(v ? v : "");
}

int mx_images_inspect_json(mx_store *s, const char *image, char **json_out, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup_json json_t *raw = NULL;
        cleanup_json json_t *out = NULL;
        json_t *layers, *rootfs, *config, *meta, *gd;
        char *text;
        int r;

        if (!s || !image || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "inspect: invalid arguments");
        r = mx_store_image_get(s, image, &rec, err);
        if (r >= 0)
                r = load_config(s, rec, &raw, NULL, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "inspect '%s'", image);
        out = json_object();
        layers = json_array();
        if (!out || !layers) {
                json_decref(layers);
                return mx_error_oom(err);
        }
        for (size_t i = 0; i < rec->n_layers; i++)
                json_array_append_new(layers, json_string(rec->layers[i].diff_id));
        config = json_object_get(raw, "config");
        rootfs = json_pack("{s:s, s:o}", "Type", "layers", "Layers", layers);
        meta = json_pack("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z");
        gd = json_pack("{s:n, s:s}", "Data", "Name", "overlay");
        json_object_set_new(out, "Id", json_string(rec->id));
        json_object_set_new(out, "RepoTags", familiar_tags(rec, NULL));
        json_object_set_new(out, "RepoDigests", familiar_tags(rec, rec->manifest_digest));
        json_object_set_new(out, "Parent", json_string(""));
        json_object_set_new(out, "Comment", str_or_empty(raw, "comment"));
        json_object_set_new(out, "Created", str_or_empty(raw, "created"));
        json_object_set_new(out, "DockerVersion", str_or_empty(raw, "docker_version"));
        json_object_set_new(out, "Author", str_or_empty(raw, "author"));
        json_object_set(out, "Config", json_is_object(config) ? config : json_null());
        json_object_set_new(out, "Architecture", str_or_empty(raw, "architecture"));
        if (mx_json_str(raw, "variant"))
                json_object_set_new(out, "Variant", str_or_empty(raw, "variant"));
        json_object_set_new(out, "Os", str_or_empty(raw, "os"));
        json_object_set_new(out, "Size", json_integer(image_size(rec)));
        json_object_set_new(out, "GraphDriver", gd);
        json_object_set_new(out, "RootFS", rootfs);
        json_object_set_new(out, "Metadata", meta);
        text = mx_json_dump_pretty(out);
        if (!text)
                return mx_error_oom(err);
        *json_out = text;
        return 0;
}

static json_t *history_row(const char *id, const char *created, const char *created_by,
                           int64_t size, const char *comment, json_t *tags)
{
        json_t *row = json_object();

        json_object_set_new(row, "ID", json_string(id));
        json_object_set_new(row, "CreatedAt", json_string(created ? created : ""));
        json_object_set_new(row, "CreatedBy", json_string(created_by ? created_by : ""));
        json_object_set_new(row, "Size", json_integer(size));
        json_object_set_new(row, "Comment", json_string(comment ? comment : ""));
        json_object_set_new(row, "Tags", tags ? tags : json_array());
        return row;
}

static int64_t layer_size(const mx_layer_record *l)
{
        return l->uncompressed_size >= 0 ? l->uncompressed_size : l->size;
}

int mx_images_history_json(mx_store *s, const char *image, char **json_out, mx_error **err)
{
        cleanup(mx_image_record_freep) mx_image_record *rec = NULL;
        cleanup(mx_image_config_freep) mx_image_config *cfg = NULL;
        cleanup_json json_t *raw = NULL;
        cleanup_json json_t *rows = NULL;
        size_t layer = 0;
        char *text;
        int r;

        if (!s || !image || !json_out)
                return mx_error_set(err, MX_EINVAL, MX_D_IMAGE, 0, "history: invalid arguments");
        r = mx_store_image_get(s, image, &rec, err);
        if (r >= 0)
                r = load_config(s, rec, &raw, &cfg, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_IMAGE, "history of '%s'", image);
        rows = json_array();
        if (!rows)
                return mx_error_oom(err);
        if (cfg->n_history > 0) {
                for (size_t i = 0; i < cfg->n_history; i++) {
                        const mx_history *h = &cfg->history[i];
                        int64_t size = 0;

                        if (!h->empty_layer && layer < rec->n_layers)
                                size = layer_size(&rec->layers[layer++]);
                        json_array_insert_new(rows, 0,
                                              history_row("<missing>", h->created, h->created_by,
                                                          size, h->comment, NULL));
                }
        } else {
                for (size_t i = 0; i < rec->n_layers; i++)
                        json_array_insert_new(rows, 0,
                                              history_row("<missing>", cfg->created, NULL,
                                                          layer_size(&rec->layers[i]), NULL, NULL));
        }
        if (json_array_size(rows) > 0) {
                json_t *top = json_array_get(rows, 0);

                json_object_set_new(top, "ID", json_string(rec->id));
                json_object_set_new(top, "Tags", familiar_tags(rec, NULL));
        }
        text = mx_json_dump_ordered(rows);
        if (!text)
                return mx_error_oom(err);
        *json_out = text;
        return 0;
}
