/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI driver against stand-in plugins (shell scripts) that record what they were given. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "json.h"
#include "network/network-internal.h"
#include "tap.h"

static const char good_result[] =
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"mx0\",\"mac\":\"aa:bb:cc:00:00:01\"}"
        ","
        "{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:00:00:02\"},{\"name\":\"eth0\",\"mac\":"
        "\"aa:bb:cc:00:00:03\",\"sandbox\":\"/run/netns/x\"}],\"ips\":[{\"address\":"
        "\"10.88.0.5/16\",\"gateway\":\"10.88.0.1\",\"interface\":2}],\"routes\":[{\"dst\":"
        "\"0.0.0.0/0\"}],\"dns\":{}}";

MX_TEST(cni_result_parses_and_finds_primary)
{
        mx_cni_result *r = NULL;
        mx_error *err = NULL;
        char *ip = NULL, *gw = NULL, *mac = NULL;
        int prefix = 0;

        ASSERT_OK_E(mx_cni__parse_result(&r, good_result, strlen(good_result), &err), err);
        ASSERT_EQ(r->n_ifaces, 3);
        ASSERT_EQ(r->n_ips, 1);
        ASSERT_EQ(r->ips[0].interface, 2);
        ASSERT_OK(mx_cni__result_primary(r, &ip, &prefix, &gw, &mac, &err));
        ASSERT_STREQ(ip, "10.88.0.5");
        ASSERT_EQ(prefix, 16);
        ASSERT_STREQ(gw, "10.88.0.1");
        ASSERT_STREQ(mac, "aa:bb:cc:00:00:03");
        free(ip);
        free(gw);
        free(mac);
        mx_cni_result_free(r);
}

MX_TEST(cni_result_rejects_malformed)
{
        static const char *bad[] = {
                "",
                "[]",
                "{\"ips\":[]}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":{}}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/33\"}]}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":0}]}",
                "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/"
                "8\",\"gateway\":\"x\"}]}",
                "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"mac\":\"x\"}]}",
                "{\"cniVersion\":\"1.0.0\",\"interfaces\":[1]}",
                "{\"cniVersion\":5}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                mx_cni_result *r = NULL;
                mx_error *err = NULL;

                ASSERT_TRUE(mx_cni__parse_result(&r, bad[i], strlen(bad[i]), &err) < 0);
                ASSERT_NULL(r);
                ASSERT_NOT_NULL(err);
                mx_error_free(err);
        }
}

MX_TEST(cni_result_without_ipv4_is_not_found)
{
        const char *v6 = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::2/64\"}]}";
        mx_cni_result *r = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_cni__parse_result(&r, v6, strlen(v6), &err));
        ASSERT_ERR(mx_cni__result_primary(r, NULL, NULL, NULL, NULL, &err), MX_ENOTFOUND);
        ASSERT_EQ(err->domain, MX_D_NETWORK);
        mx_error_free(err);
        mx_cni_result_free(r);
}

MX_TEST(cni_conflist_shape)
{
        char name[] = "web", bridge[] = "mx-abc", subnet[] = "10.89.3.0/24", gw[] = "10.89.3.1";
        mx_net_rec n = {.name = name, .bridge = bridge, .subnet = subnet, .gateway = gw};
        json_t *l = NULL, *p;
        mx_error *err = NULL;

        ASSERT_OK(mx_cni__conflist(&l, &n, "/store/networks/ipam", &err));
        ASSERT_STREQ(mx_json_str(l, "cniVersion"), "1.0.0");
        ASSERT_STREQ(mx_json_str(l, "name"), "web");
        p = json_object_get(l, "plugins");
        ASSERT_EQ(json_array_size(p), 3);
        ASSERT_STREQ(mx_json_str(json_array_get(p, 0), "type"), "bridge");
        ASSERT_STREQ(mx_json_str(json_array_get(p, 0), "bridge"), "mx-abc");
        ASSERT_TRUE(json_is_true(json_object_get(json_array_get(p, 0), "ipMasq")));
        ASSERT_TRUE(json_is_true(json_object_get(json_array_get(p, 0), "isGateway")));
        {
                json_t *ipam = json_object_get(json_array_get(p, 0), "ipam");
                json_t *range =
                        json_array_get(json_array_get(json_object_get(ipam, "ranges"), 0), 0);

                ASSERT_STREQ(mx_json_str(ipam, "type"), "host-local");
                ASSERT_STREQ(mx_json_str(ipam, "dataDir"), "/store/networks/ipam");
                ASSERT_STREQ(mx_json_str(range, "subnet"), "10.89.3.0/24");
                ASSERT_STREQ(mx_json_str(range, "gateway"), "10.89.3.1");
        }
        ASSERT_STREQ(mx_json_str(json_array_get(p, 1), "type"), "portmap");
        ASSERT_TRUE(json_is_true(json_object_get(
                json_object_get(json_array_get(p, 1), "capabilities"), "portMappings")));
        ASSERT_STREQ(mx_json_str(json_array_get(p, 2), "type"), "firewall");
        json_decref(l);
        n.internal = 1;
        ASSERT_OK(mx_cni__conflist(&l, &n, "/d", &err));
        ASSERT_TRUE(json_is_false(
                json_object_get(json_array_get(json_object_get(l, "plugins"), 0), "ipMasq")));
        json_decref(l);
}

/* Stand-in plugins: each logs "CMD TYPE IFNAME NETNS" and saves its stdin per command. */
static void write_plugin(const char *dir, const char *name, int fail)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        ASSERT_NOT_NULL(f);
        fprintf(f,
                "#!/bin/sh\n"
                "conf=$(cat)\n"
                "echo \"$CNI_COMMAND %s $CNI_IFNAME $CNI_NETNS $CNI_CONTAINERID\" >> %s/log\n"
                "printf '%%s' \"$conf\" > %s/stdin-%s-$CNI_COMMAND\n",
                name, dir, dir, name);
        if (fail)
                fprintf(f, "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"boom\","
                           "\"details\":\"it broke\"}'\nexit 1\n");
        else
                fprintf(f, "[ \"$CNI_COMMAND\" = ADD ] && printf '%%s' '%s'\nexit 0\n",
                        good_result);
        fclose(f);
        ASSERT_EQ(chmod(path, 0755), 0);
}

static char *slurp(const char *dir, const char *name)
{
        char path[4096];
        mx_buf b = MX_BUF_INIT;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (mx_buf_read_file(&b, path, 1 << 20, NULL) < 0)
                return NULL;
        return mx_buf_detach(&b);
}

static json_t *test_list(const char *mid)
{
        return json_pack("{s:s,s:s,s:[{s:s,s:{s:b}},{s:s,s:{s:b}},{s:s}]}", "cniVersion", "1.0.0",
                         "name", "t", "plugins", "type", "one", "capabilities", "ips", 1, "type",
                         mid, "capabilities", "portMappings", 1, "type", "three");
}

static int progress_calls;

static void count_progress(void *userdata, const json_t *result)
{
        ASSERT_NOT_NULL(json_object_get(result, "ips"));
        (*(int *)userdata)++;
}

MX_TEST(cni_add_chains_prev_result_and_capabilities)
{
        const char *dir = mx_tap_tmpdir();
        mx_netctx ctx = {.cni_path = dir};
        json_t *list = test_list("two"), *res = NULL, *stdin_two, *rc;
        mx_error *err = NULL;
        char *log, *s;

        write_plugin(dir, "one", 0);
        write_plugin(dir, "two", 0);
        write_plugin(dir, "three", 0);
        rc = json_pack("{s:[{s:i,s:i,s:s}],s:[s]}", "portMappings", "hostPort", 8080,
                       "containerPort", 80, "protocol", "tcp", "ips", "10.88.0.9/16");
        ASSERT_OK_E(mx_cni__add_list(&res, &ctx, list, rc, "cid1", "/ns/path", "eth0",
                                     count_progress, &progress_calls, &err),
                    err);
        ASSERT_EQ(progress_calls, 3);
        ASSERT_NOT_NULL(res);
        log = slurp(dir, "log");
        ASSERT_STREQ(log, "ADD one eth0 /ns/path cid1\nADD two eth0 /ns/path cid1\n"
                          "ADD three eth0 /ns/path cid1\n");
        free(log);
        /* The first plugin has no prevResult and gets only the capability it declares. */
        s = slurp(dir, "stdin-one-ADD");
        ASSERT_TRUE(strstr(s, "prevResult") == NULL);
        ASSERT_TRUE(strstr(s, "\"runtimeConfig\":{\"ips\":[\"10.88.0.9/16\"]}") != NULL);
        ASSERT_TRUE(strstr(s, "\"name\":\"t\"") != NULL);
        ASSERT_TRUE(strstr(s, "\"cniVersion\":\"1.0.0\"") != NULL);
        ASSERT_TRUE(strstr(s, "capabilities") == NULL);
        free(s);
        s = slurp(dir, "stdin-two-ADD");
        ASSERT_OK(mx_json_parse(&stdin_two, s, strlen(s), 1 << 20, 1, "stdin", &err));
        ASSERT_NOT_NULL(json_object_get(stdin_two, "prevResult"));
        ASSERT_NOT_NULL(
                json_object_get(json_object_get(stdin_two, "runtimeConfig"), "portMappings"));
        ASSERT_NULL(json_object_get(json_object_get(stdin_two, "runtimeConfig"), "ips"));
        json_decref(stdin_two);
        free(s);
        s = slurp(dir, "stdin-three-ADD");
        ASSERT_TRUE(strstr(s, "runtimeConfig") == NULL);
        free(s);

        /* DEL runs in reverse with the final result as prevResult for every plugin. */
        {
                char p[4096];

                snprintf(p, sizeof(p), "%s/log", dir);
                unlink(p);
        }
        ASSERT_OK_E(mx_cni__del_list(&ctx, list, rc, res, "cid1", "", "eth0", &err), err);
        log = slurp(dir, "log");
        ASSERT_STREQ(log, "DEL three eth0  cid1\nDEL two eth0  cid1\nDEL one eth0  cid1\n");
        free(log);
        s = slurp(dir, "stdin-one-DEL");
        ASSERT_TRUE(strstr(s, "\"prevResult\"") != NULL);
        free(s);
        json_decref(res);
        json_decref(rc);
        json_decref(list);
}

MX_TEST(cni_add_failure_is_clear_and_rolled_back)
{
        const char *dir = mx_tap_tmpdir();
        mx_netctx ctx = {.cni_path = dir};
        json_t *list = test_list("fail"), *res = NULL;
        mx_error *err = NULL;
        char *log;

        write_plugin(dir, "one", 0);
        write_plugin(dir, "fail", 1);
        write_plugin(dir, "three", 0);
        ASSERT_ERR(
                mx_cni__add_list(&res, &ctx, list, NULL, "cid2", "/ns", "eth0", NULL, NULL, &err),
                MX_EFAIL);
        ASSERT_NULL(res);
        ASSERT_EQ(err->domain, MX_D_NETWORK);
        ASSERT_TRUE(strstr(err->message, "cni plugin 'fail' ADD failed") != NULL);
        ASSERT_TRUE(strstr(err->message, "boom: it broke") != NULL);
        mx_error_free(err);
        err = NULL;
        log = slurp(dir, "log");
        /* ADD one, ADD fail, then DEL of the whole list in reverse. */
        ASSERT_STREQ(log, "ADD one eth0 /ns cid2\nADD fail eth0 /ns cid2\nDEL three eth0 /ns cid2\n"
                          "DEL fail eth0 /ns cid2\nDEL one eth0 /ns cid2\n");
        free(log);
        json_decref(list);

        /* A missing plugin names itself and the package. */
        list = test_list("absent");
        ASSERT_ERR(
                mx_cni__add_list(&res, &ctx, list, NULL, "cid3", "/ns", "eth0", NULL, NULL, &err),
                MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "'absent'") != NULL);
        ASSERT_TRUE(strstr(err->message, "containernetworking-plugins") != NULL);
        mx_error_free(err);
        json_decref(list);
}
