/* SPDX-License-Identifier: Apache-2.0 */
/* Image configurations: umoci's and Docker's real shapes, hostile ones, building one for
 * an import, and chain IDs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/image.h>

#include "tap.h"
#include "test-image-format.h"

#define D "data/formats/"

static const char l0[] = "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e";
static const char l1[] = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2";
static const char l2[] = "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06";

MX_TEST(config_parse_umoci_round_trips_byte_identical)
{
        static const char *const files[] = {D "oci-config-umoci.json", D "oci-config-minimal.json"};

        for (size_t f = 0; f < MX_ARRAY_SIZE(files); f++) {
                mx_image_config *cfg = NULL;
                mx_error *err = NULL;
                char *out = NULL;
                size_t len, out_len, raw_len;
                char *data = fmt_slurp(files[f], &len);
                const char *raw;

                ASSERT_OK_E(mx_image_config_parse(&cfg, data, len, &err), err);
                raw = mx_image_config_raw(cfg, &raw_len);
                ASSERT_EQ(raw_len, len);
                ASSERT_TRUE(memcmp(raw, data, len) == 0);
                ASSERT_OK_E(mx_image_config_to_json(&out, &out_len, cfg, &err), err);
                /* Go's json.Encoder (umoci) ends the blob with a newline; we don't. */
                if (len > 0 && data[len - 1] == '\n')
                        data[len - 1] = '\0';
                ASSERT_STREQ(out, data);
                mx_image_config_free(cfg);
                mx_free(out);
                free(data);
        }
}

MX_TEST(config_parse_umoci_fields)
{
        mx_image_config *cfg = NULL;
        mx_error *err = NULL;
        size_t len;
        char *data = fmt_slurp(D "oci-config-umoci.json", &len);

        ASSERT_OK_E(mx_image_config_parse(&cfg, data, len, &err), err);
        ASSERT_STREQ(cfg->architecture, "amd64");
        ASSERT_STREQ(cfg->os, "linux");
        ASSERT_TRUE(cfg->has_config);
        ASSERT_STREQ(cfg->config.user, "1000");
        ASSERT_STREQ(cfg->config.exposed_ports[0], "80/tcp");
        ASSERT_STREQ(cfg->config.env[0], "PATH=/bin");
        ASSERT_STREQ(cfg->config.cmd[0], "/bin/sh");
        ASSERT_NULL(cfg->config.entrypoint);
        ASSERT_STREQ(cfg->config.volumes[0], "/data");
        ASSERT_STREQ(cfg->config.working_dir, "/w");
        ASSERT_STREQ(mx_kv_get(cfg->config.labels, "a"), "b");
        ASSERT_STREQ(cfg->rootfs_type, "layers");
        ASSERT_EQ(cfg->n_diff_ids, 1);
        ASSERT_STREQ(cfg->diff_ids[0],
                     "sha256:fba4307ef1d7dd83f8a58585d0ea7ba8ba6547b845fc5d3efbee02ac34f692ed");
        ASSERT_NULL(cfg->diff_ids[1]);
        ASSERT_EQ(cfg->n_history, 2);
        ASSERT_STREQ(cfg->history[0].created_by, "umoci config");
        ASSERT_TRUE(cfg->history[0].empty_layer);
        ASSERT_TRUE(!cfg->history[1].empty_layer);
        mx_image_config_free(cfg);
        free(data);
}

MX_TEST(config_parse_docker_daemon_shape)
{
        mx_image_config *cfg = NULL, *again = NULL;
        mx_error *err = NULL;
        char *out = NULL, *out2 = NULL;
        size_t len, out_len;
        char *data = fmt_slurp(D "docker-config-daemon.json", &len);
        const mx_healthcheck *h;

        ASSERT_OK_E(mx_image_config_parse(&cfg, data, len, &err), err);
        ASSERT_STREQ(cfg->created, "2023-06-14T09:21:33.123456789Z");
        ASSERT_STREQ(cfg->config.user, "app");
        ASSERT_NULL(cfg->config.cmd); /* "Cmd": null */
        ASSERT_NULL(cfg->config.volumes);
        ASSERT_STREQ(cfg->config.entrypoint[2], "8080");
        ASSERT_STREQ(cfg->config.stop_signal, "SIGTERM");
        ASSERT_TRUE(cfg->config.args_escaped);
        ASSERT_STREQ(cfg->config.shell[0], "/bin/ash");
        ASSERT_STREQ(cfg->config.onbuild[0], "RUN echo child");
        ASSERT_STREQ(mx_kv_get(cfg->config.labels, "org.opencontainers.image.version"), "1.2.3");
        h = cfg->config.healthcheck;
        ASSERT_NOT_NULL(h);
        ASSERT_STREQ(h->test[0], "CMD-SHELL");
        ASSERT_EQ(h->interval, 30000000000LL);
        ASSERT_EQ(h->timeout, 5000000000LL);
        ASSERT_EQ(h->start_period, 10000000000LL);
        ASSERT_EQ(h->retries, 3);
        ASSERT_EQ(cfg->n_history, 4);
        ASSERT_STREQ(cfg->history[2].author, "ops");
        ASSERT_STREQ(cfg->history[2].comment, "buildkit.dockerfile.v0");
        ASSERT_STREQ(cfg->history[2].created, "2023-06-14T09:21:30.5+02:00");
        ASSERT_EQ(cfg->n_diff_ids, 2);
        /* The fields it models survive a round trip, and the second pass is stable. */
        ASSERT_OK_E(mx_image_config_to_json(&out, &out_len, cfg, &err), err);
        ASSERT_OK_E(mx_image_config_parse(&again, out, out_len, &err), err);
        ASSERT_EQ(again->config.healthcheck->retries, 3);
        ASSERT_STREQ(again->config.shell[1], "-c");
        ASSERT_NULL(again->config.cmd);
        ASSERT_OK_E(mx_image_config_to_json(&out2, NULL, again, &err), err);
        ASSERT_STREQ(out, out2);
        /* Docker's extra keys are not modelled, but the raw bytes keep them. */
        ASSERT_TRUE(strstr(out, "docker_version") == NULL);
        ASSERT_TRUE(strstr(mx_image_config_raw(cfg, NULL), "docker_version") != NULL);
        mx_image_config_free(cfg);
        mx_image_config_free(again);
        mx_free(out);
        mx_free(out2);
        free(data);
}

MX_TEST(config_parse_refuses_hostile_documents)
{
        static const struct {
                const char *file;
                int code;
                const char *fragment;
        } cases[] = {
                {D "bad/config-missing-os.json", MX_EFORMAT, "config field 'os': is missing"},
                {D "bad/config-rootfs-type.json", MX_EUNSUPPORTED, "'rootfs.type'"},
                {D "bad/config-bad-diffid.json", MX_EFORMAT, "'rootfs.diff_ids[0]'"},
                {D "bad/config-bad-created.json", MX_EFORMAT, "'created': 'yesterday'"},
                {D "bad/config-env-not-array.json", MX_EFORMAT, "'config.Env': must be an array"},
                {D "bad/config-healthcheck-negative.json", MX_EFORMAT,
                 "'config.Healthcheck.Retries'"},
                {D "bad/config-history-empty-layer-string.json", MX_EFORMAT,
                 "'history[0].empty_layer': must be a boolean"},
                {D "bad/config-missing-rootfs.json", MX_EFORMAT, "'rootfs': is missing"},
                {D "bad/malformed.json", MX_EFORMAT, "not valid JSON"},
                {D "bad/duplicate-keys.json", MX_EFORMAT, "duplicate"},
                {D "bad/deep-nesting.json", MX_EFORMAT, "not valid JSON"},
                {D "bad/not-an-object.json", MX_EFORMAT, "not a JSON object"},
                {D "oci-manifest-skopeo.json", MX_EFORMAT, "'architecture': is missing"},
        };

        for (size_t i = 0; i < MX_ARRAY_SIZE(cases); i++) {
                mx_image_config *cfg = NULL;
                mx_error *err = NULL;
                size_t len;
                char *data = fmt_slurp(cases[i].file, &len);
                int r = mx_image_config_parse(&cfg, data, len, &err);

                if (r != cases[i].code) {
                        char *msg = mx_error_format(err);

                        mx_tap_fail(__FILE__, __LINE__, "%s: got %d, expected %d: %s",
                                    cases[i].file, r, cases[i].code, msg ? msg : "(no error)");
                }
                ASSERT_NULL(cfg);
                ASSERT_ERROR(err, cases[i].code, MX_D_IMAGE, cases[i].fragment);
                mx_error_free(err);
                free(data);
        }
}

MX_TEST(config_parse_refuses_oversized)
{
        size_t len = MX_CONFIG_MAX_BYTES + 1;
        char *data = calloc(1, len);
        mx_image_config *cfg = NULL;
        mx_error *err = NULL;

        ASSERT_NOT_NULL(data);
        ASSERT_ERR(mx_image_config_parse(&cfg, data, len, &err), MX_ETOOBIG);
        ASSERT_ERROR(err, MX_ETOOBIG, MX_D_IMAGE, "config is 8388609 bytes");
        ASSERT_NULL(cfg);
        mx_error_free(err);
        free(data);
}

MX_TEST(config_copy_is_deep_and_keeps_raw)
{
        mx_image_config *cfg = NULL, *c = NULL;
        mx_error *err = NULL;
        char *a = NULL, *b = NULL;
        size_t len, raw_len;
        char *data = fmt_slurp(D "docker-config-daemon.json", &len);

        ASSERT_OK_E(mx_image_config_parse(&cfg, data, len, &err), err);
        ASSERT_OK_E(mx_image_config_copy(&c, cfg, &err), err);
        ASSERT_TRUE(c->config.healthcheck != cfg->config.healthcheck);
        ASSERT_EQ(c->config.healthcheck->retries, 3);
        ASSERT_TRUE(memcmp(mx_image_config_raw(c, &raw_len), data, len) == 0);
        ASSERT_EQ(raw_len, len);
        ASSERT_OK_E(mx_image_config_to_json(&a, NULL, cfg, &err), err);
        ASSERT_OK_E(mx_image_config_to_json(&b, NULL, c, &err), err);
        ASSERT_STREQ(a, b);
        /* Changing the copy leaves the original alone. */
        ASSERT_OK_E(mx_image_config_add_layer(c, l0, "more", 0, &err), err);
        ASSERT_EQ(cfg->n_diff_ids, 2);
        ASSERT_EQ(c->n_diff_ids, 3);
        ASSERT_NULL(mx_image_config_raw(c, NULL));
        /* A config that could not be written cannot be copied either. */
        free(cfg->architecture);
        cfg->architecture = NULL;
        mx_image_config_free(c);
        c = NULL;
        ASSERT_ERR(mx_image_config_copy(&c, cfg, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "copy config: config field 'architecture'");
        ASSERT_NULL(c);
        mx_image_config_free(cfg);
        mx_error_free(err);
        mx_free(a);
        mx_free(b);
        free(data);
}

MX_TEST(config_raw_of_built_config_is_null)
{
        mx_image_config *cfg = NULL;
        mx_error *err = NULL;
        size_t len = 99;

        ASSERT_OK_E(mx_image_config_new_for_layers(&cfg, NULL, 0, NULL, 0, &err), err);
        ASSERT_NULL(mx_image_config_raw(cfg, &len));
        ASSERT_EQ(len, 0);
        ASSERT_NULL(mx_image_config_raw(NULL, NULL));
        mx_image_config_free(cfg);
}

MX_TEST(config_new_for_layers)
{
        const char *ids[] = {l0, l1};
        mx_image_config *cfg = NULL, *parsed = NULL;
        mx_platform *host = NULL;
        mx_error *err = NULL;
        char *out = NULL;
        size_t len;

        ASSERT_OK_E(mx_image_config_new_for_layers(&cfg, ids, 2, "myrmex import", 1700000000, &err),
                    err);
        ASSERT_OK_E(mx_platform_host(&host, &err), err);
        ASSERT_STREQ(cfg->os, host->os);
        ASSERT_STREQ(cfg->architecture, host->architecture);
        ASSERT_STREQ(cfg->created, "2023-11-14T22:13:20Z");
        ASSERT_EQ(cfg->n_diff_ids, 2);
        ASSERT_STREQ(cfg->diff_ids[1], l1);
        ASSERT_EQ(cfg->n_history, 2);
        ASSERT_STREQ(cfg->history[0].created_by, "myrmex import");
        ASSERT_STREQ(cfg->history[0].created, "2023-11-14T22:13:20Z");
        ASSERT_TRUE(!cfg->history[0].empty_layer);
        /* An empty step, then a third layer. */
        ASSERT_OK_E(mx_image_config_add_layer(cfg, NULL, "ENV A=1", 1700000001, &err), err);
        ASSERT_OK_E(mx_image_config_add_layer(cfg, l2, NULL, 1700000002, &err), err);
        ASSERT_EQ(cfg->n_diff_ids, 3);
        ASSERT_EQ(cfg->n_history, 4);
        ASSERT_TRUE(cfg->history[2].empty_layer);
        ASSERT_NULL(cfg->history[3].created_by);
        ASSERT_STREQ(cfg->created, "2023-11-14T22:13:22Z");
        ASSERT_OK_E(mx_kv_set(&cfg->config.labels, "k", "v", &err), err);
        ASSERT_OK_E(mx_image_config_to_json(&out, &len, cfg, &err), err);
        ASSERT_TRUE(strncmp(out, "{\"created\":\"2023-11-14T22:13:22Z\",\"architecture\":", 49) ==
                    0);
        ASSERT_OK_E(mx_image_config_parse(&parsed, out, len, &err), err);
        ASSERT_EQ(parsed->n_diff_ids, 3);
        ASSERT_STREQ(mx_kv_get(parsed->config.labels, "k"), "v");
        mx_image_config_free(parsed);
        mx_image_config_free(cfg);
        mx_platform_free(host);
        mx_free(out);
}

MX_TEST(config_builders_refuse_bad_input)
{
        const char *ids[] = {l0, "sha256:short"};
        mx_image_config *cfg = NULL;
        mx_error *err = NULL;
        char *out = NULL;

        ASSERT_ERR(mx_image_config_new_for_layers(&cfg, ids, 2, NULL, 0, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "invalid diff_id 'sha256:short'");
        ASSERT_NULL(cfg);
        ASSERT_OK_E(mx_image_config_new_for_layers(&cfg, ids, 1, NULL, 0, &err), err);
        ASSERT_ERR(mx_image_config_add_layer(cfg, "nope", NULL, 0, &err), MX_EINVAL);
        ASSERT_ERR(mx_image_config_add_layer(cfg, l1, NULL, INT64_C(300000000000), &err),
                   MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "out of range");
        ASSERT_EQ(cfg->n_diff_ids, 1);
        ASSERT_EQ(cfg->n_history, 1);
        free(cfg->os);
        cfg->os = NULL;
        ASSERT_ERR(mx_image_config_to_json(&out, NULL, cfg, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "config field 'os': is missing");
        ASSERT_NULL(out);
        mx_image_config_free(cfg);
        mx_error_free(err);
}

MX_TEST(chain_id_per_oci_spec)
{
        const char *ids[] = {l0, l1, l2};
        char out[MX_DIGEST_BUF], step[MX_DIGEST_BUF];
        mx_error *err = NULL;

        ASSERT_OK_E(mx_chain_id(out, ids, 1, &err), err);
        ASSERT_STREQ(out, l0);
        ASSERT_OK_E(mx_chain_id(out, ids, 2, &err), err);
        /* sha256("<l0> <l1>"), computed independently. */
        ASSERT_STREQ(out,
                     "sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79");
        ASSERT_OK_E(mx_chain_id(out, ids, 3, &err), err);
        ASSERT_STREQ(out,
                     "sha256:7ad3896338947cc04ee0b35b50d400ff32538d63f42f85ec87feac78bf71a54d");
        ASSERT_OK_E(mx_chain_id_next(step, NULL, l0, &err), err);
        ASSERT_OK_E(mx_chain_id_next(step, step, l1, &err), err); /* aliasing allowed */
        ASSERT_OK_E(mx_chain_id_next(step, step, l2, &err), err);
        ASSERT_STREQ(step, out);
}

MX_TEST(chain_id_refuses_bad_input)
{
        const char *ids[] = {l0, "sha256:XYZ"};
        char out[MX_DIGEST_BUF] = "untouched";
        mx_error *err = NULL;

        ASSERT_ERR(mx_chain_id(out, ids, 2, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "chain id of layer 1");
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "'sha256:XYZ'");
        ASSERT_STREQ(out, "untouched");
        ASSERT_ERR(mx_chain_id(out, ids, 0, &err), MX_EINVAL);
        ASSERT_ERR(mx_chain_id_next(out, "bad", l0, &err), MX_EINVAL);
        ASSERT_ERROR(err, MX_EINVAL, MX_D_IMAGE, "parent chain id 'bad'");
        ASSERT_STREQ(out, "untouched");
        mx_error_free(err);
}
