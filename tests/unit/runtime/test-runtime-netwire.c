/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's side of networks, ports, mounts and health checks: what create resolves and
 * what the bundle gets (the plugins themselves run in the integration tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "fs.h"
#include "json.h"
#include "runtime/netwire.h"
#include "runtime/runtime-internal.h"
#include "tap.h"

static json_t *spec_for(const char *config_text, const char *netns, json_t *mounts, int *rc,
                        mx_error **err)
{
        json_t *cfg = json_loads(config_text, 0, NULL), *spec = NULL;
        mx_spec_input in = {0};
        struct rlimit lim = {1024, 20000};

        in.config = cfg;
        in.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        in.name = "test";
        in.rootfs = mx_tap_tmpdir();
        in.container_dir = mx_tap_tmpdir();
        in.cgroup_mode = MX_CGROUP_HYBRID;
        in.nofile_hard = &lim;
        in.netns_path = netns;
        in.mounts = mounts;
        *rc = mx_runtime__spec_build(&spec, &in, err);
        json_decref(cfg);
        return spec;
}

static const json_t *find_ns(const json_t *spec, const char *type)
{
        size_t i;
        json_t *n;

        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
        {
                if (strcmp(mx_json_str(n, "type"), type) == 0)
                        return n;
        }
        return NULL;
}

MX_TEST(netns_path_goes_into_the_bundle)
{
        mx_error *err = NULL;
        int rc;
        json_t *spec = spec_for("{\"command\": [\"true\"], \"network_mode\": \"bridge\"}",
                                "/store/run/netns/abc", NULL, &rc, &err);
        const json_t *ns;

        ASSERT_OK_E(rc, err);
        ns = find_ns(spec, "network");
        ASSERT_NOT_NULL(ns);
        ASSERT_STREQ(mx_json_str(ns, "path"), "/store/run/netns/abc");
        json_decref(spec);
        /* none: a new namespace without a path; host: none at all */
        spec = spec_for("{\"command\": [\"true\"], \"network_mode\": \"none\"}", NULL, NULL, &rc,
                        &err);
        ASSERT_OK_E(rc, err);
        ASSERT_NOT_NULL(find_ns(spec, "network"));
        ASSERT_NULL(mx_json_str(find_ns(spec, "network"), "path"));
        json_decref(spec);
        spec = spec_for("{\"command\": [\"true\"], \"network_mode\": \"host\"}", NULL, NULL, &rc,
                        &err);
        ASSERT_OK_E(rc, err);
        ASSERT_NULL(find_ns(spec, "network"));
        json_decref(spec);
}

MX_TEST(resolved_mounts_replace_the_volumes_key)
{
        mx_error *err = NULL;
        int rc;
        json_t *mounts =
                json_pack("[{s:s,s:s,s:s,s:[s,s,s]}]", "destination", "/data", "type", "bind",
                          "source", "/store/volumes/v/_data", "options", "rbind", "rprivate", "ro");
        json_t *spec = spec_for("{\"command\": [\"true\"], \"volumes\": [\"v:/data:ro\"]}", NULL,
                                mounts, &rc, &err);
        size_t i, n = 0;
        json_t *m;

        ASSERT_OK_E(rc, err);
        json_array_foreach(json_object_get(spec, "mounts"), i, m)
        {
                if (strcmp(mx_json_str(m, "destination"), "/data") == 0) {
                        n++;
                        ASSERT_STREQ(mx_json_str(m, "source"), "/store/volumes/v/_data");
                }
        }
        ASSERT_EQ(n, 1);
        json_decref(spec);
        json_decref(mounts);
}

MX_TEST(ports_are_parsed_and_discarded_under_none)
{
        mx_error *err = NULL;
        json_t *cfg = json_loads("{\"network_mode\": \"none\", \"publish\": [\"8080:80\"], "
                                 "\"ports\": {\"53/udp\": null}}",
                                 0, NULL);
        mx_runtime rt = {0};

        ASSERT_OK_E(mx_runtime__net_plan(&rt, cfg, NULL, &err), err);
        ASSERT_EQ(json_array_size(json_object_get(cfg, "_networks")), 0);
        ASSERT_EQ(json_array_size(json_object_get(cfg, "_ports")), 0);
        ASSERT_TRUE(json_is_true(json_object_get(cfg, "_ports_discarded")));
        ASSERT_EQ(mx_runtime__net_wanted(cfg), 0);
        json_decref(cfg);
        /* the seed's networks list may say host; a malformed port names itself */
        cfg = json_loads("{\"networks\": [\"host\"]}", 0, NULL);
        ASSERT_OK_E(mx_runtime__net_plan(&rt, cfg, NULL, &err), err);
        ASSERT_STREQ(mx_json_str(cfg, "network_mode"), "host");
        json_decref(cfg);
        cfg = json_loads("{\"network_mode\": \"none\", \"publish\": [\"80:x\"]}", 0, NULL);
        ASSERT_ERR(mx_runtime__net_plan(&rt, cfg, NULL, &err), MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "80:x") != NULL);
        mx_error_free(err);
        err = NULL;
        json_decref(cfg);
        cfg = json_loads("{\"networks\": [\"none\", \"other\"]}", 0, NULL);
        ASSERT_ERR(mx_runtime__net_plan(&rt, cfg, NULL, &err), MX_EINVAL);
        mx_error_free(err);
        json_decref(cfg);
}

MX_TEST(port_mappings_round_trip_through_the_record)
{
        json_t *arr = json_pack("[{s:s,s:i,s:i,s:i,s:s}]", "HostIp", "127.0.0.1", "HostPort", 8080,
                                "HostPortEnd", 0, "ContainerPort", 80, "Protocol", "udp");
        mx_port_mapping *m = NULL;
        size_t n = 0;

        ASSERT_EQ(mx_runtime__mappings_from_json(arr, &m, &n), 0);
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(m[0].host_ip, "127.0.0.1");
        ASSERT_EQ(m[0].host_port, 8080);
        ASSERT_EQ(m[0].container_port, 80);
        ASSERT_STREQ(m[0].protocol, "udp");
        free(m);
        json_decref(arr);
}

MX_TEST(health_check_merges_image_seed_and_flags)
{
        mx_error *err = NULL;
        json_t *img = json_loads("{\"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], "
                                 "\"Interval\": 5000000000, \"Retries\": 7}}",
                                 0, NULL);
        json_t *cfg = json_loads("{\"health_interval\": \"2s\"}", 0, NULL);
        json_t *hc;
        mx_health_config *c = NULL;

        ASSERT_OK_E(mx_runtime__health_plan(cfg, img, &err), err);
        hc = json_object_get(cfg, "_healthcheck");
        ASSERT_NOT_NULL(hc);
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(hc, "Test"), 1)), "true");
        ASSERT_EQ(mx_json_int(hc, "Interval", 0), 2000000000LL);
        ASSERT_EQ(mx_json_int(hc, "Retries", 0), 7);
        ASSERT_EQ(mx_runtime__health_config(&c, cfg), 0);
        ASSERT_NOT_NULL(c);
        ASSERT_EQ(c->retries, 7);
        mx_health_config_free(c);
        json_decref(cfg);
        /* docker-py's healthcheck object replaces the image's test */
        cfg = json_loads("{\"healthcheck\": {\"test\": \"curl -f x\", \"retries\": 2}}", 0, NULL);
        ASSERT_OK_E(mx_runtime__health_plan(cfg, img, &err), err);
        hc = json_object_get(cfg, "_healthcheck");
        ASSERT_STREQ(json_string_value(json_array_get(json_object_get(hc, "Test"), 0)),
                     "CMD-SHELL");
        ASSERT_EQ(mx_json_int(hc, "Retries", 0), 2);
        ASSERT_EQ(mx_json_int(hc, "Interval", 0), 5000000000LL);
        json_decref(cfg);
        /* --no-healthcheck: no check at all */
        cfg = json_loads("{\"no_healthcheck\": true}", 0, NULL);
        ASSERT_OK_E(mx_runtime__health_plan(cfg, img, &err), err);
        ASSERT_NULL(json_object_get(cfg, "_healthcheck"));
        ASSERT_EQ(mx_runtime__health_config(&c, cfg), 0);
        ASSERT_NULL(c);
        json_decref(cfg);
        /* a bad duration is refused, naming the flag */
        cfg = json_loads("{\"health_timeout\": \"soon\"}", 0, NULL);
        ASSERT_ERR(mx_runtime__health_plan(cfg, img, &err), MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "soon") != NULL);
        mx_error_free(err);
        json_decref(cfg);
        json_decref(img);
}

MX_TEST(etc_files_on_networks_and_with_dns)
{
        mx_error *err = NULL;
        const char *dir = mx_tap_tmpdir();
        char path[4200];
        mx_buf b = MX_BUF_INIT;
        json_t *cfg = json_loads("{\"network_mode\": \"bridge\", \"_networks\": [\"bridge\"], "
                                 "\"dns\": [\"192.0.2.53\"], \"dns_search\": [\"example.org\"], "
                                 "\"dns_options\": [\"ndots:2\"]}",
                                 0, NULL);

        ASSERT_OK_E(mx_runtime__write_etc_files(dir, cfg, "myhost", &err), err);
        snprintf(path, sizeof(path), "%s/resolv.conf", dir);
        ASSERT_OK(mx_buf_read_file(&b, path, 65536, NULL));
        ASSERT_TRUE(strstr(b.ptr, "nameserver 192.0.2.53\n") != NULL);
        ASSERT_TRUE(strstr(b.ptr, "search example.org\n") != NULL);
        ASSERT_TRUE(strstr(b.ptr, "options ndots:2\n") != NULL);
        mx_buf_clear(&b);
        /* on a CNI network the address line comes from the network module, not 127.0.1.1 */
        snprintf(path, sizeof(path), "%s/hosts", dir);
        ASSERT_OK(mx_buf_read_file(&b, path, 65536, NULL));
        ASSERT_TRUE(strstr(b.ptr, "127.0.0.1\tlocalhost") != NULL);
        ASSERT_NULL(strstr(b.ptr, "127.0.1.1"));
        mx_buf_clear(&b);
        json_decref(cfg);
        cfg = json_loads("{\"network_mode\": \"none\", \"dns\": [\"bad value\"]}", 0, NULL);
        ASSERT_TRUE(mx_runtime__write_etc_files(dir, cfg, "myhost", &err) < 0);
        mx_error_free(err);
        json_decref(cfg);
}
