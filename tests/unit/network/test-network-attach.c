/* SPDX-License-Identifier: Apache-2.0 */
/* Paths here are short scratch paths; truncation cannot happen. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
/*
 * Network records on a scratch database, and attach/detach through the real CNI plugins
 * into namespaces this test makes (root only; skipped, saying why, otherwise).
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "network/netdb.h"
#include "network/network-internal.h"
#include "proc.h"
#include "tap.h"

static sqlite3 *db;

static size_t mx_strv_len_for_test(char **v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

static int mx_fs_exists_for_test(const char *p)
{
        struct stat st;

        return lstat(p, &st) == 0;
}
static mx_netctx ctx;

static void setup(void)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/myrmex.db", mx_tap_tmpdir());
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 30000);
        ctx.db = db;
        ctx.root = mx_tap_tmpdir();
        ctx.cni_path = NULL;
}

static void teardown(void)
{
        sqlite3_close(db);
        db = NULL;
}

static void need_root_and_plugins(void)
{
        if (geteuid() != 0)
                SKIP("attaching networks needs root");
        if (access("/usr/lib/cni/bridge", X_OK) != 0)
                SKIP("containernetworking-plugins is not installed in /usr/lib/cni");
}

MX_TEST(networks_default_create_lookup_remove)
{
        mx_net_rec *r = NULL, *r2 = NULL, **all = NULL;
        mx_network_create_opts o = MX_NETWORK_CREATE_OPTS_INIT;
        mx_error *err = NULL;
        char prefix[8];
        size_t n = 0;

        setup();
        ASSERT_OK_E(mx_network__lookup(&r, &ctx, "bridge", &err), err);
        ASSERT_STREQ(r->bridge, "mx0");
        ASSERT_STREQ(r->driver, "bridge");
        mx_net_rec_free(r);

        o.name = "backend";
        ASSERT_OK_E(mx_network__create(&r, &ctx, &o, &err), err);
        ASSERT_TRUE(strncmp(r->subnet, "10.78.", 6) == 0);
        ASSERT_EQ(strlen(r->bridge), 15);
        /* The conflist is on disk for people and tools to read. */
        {
                char p[4096];
                struct stat st;

                snprintf(p, sizeof(p), "%s/networks/backend.conflist", ctx.root);
                ASSERT_EQ(stat(p, &st), 0);
        }
        /* A second network gets the next subnet; by ID prefix it is found. */
        o.name = "frontend";
        ASSERT_OK_E(mx_network__create(&r2, &ctx, &o, &err), err);
        ASSERT_TRUE(strcmp(r->subnet, r2->subnet) != 0);
        snprintf(prefix, sizeof(prefix), "%.6s", r2->id);
        mx_net_rec_free(r2);
        ASSERT_OK(mx_network__lookup(&r2, &ctx, prefix, &err));
        ASSERT_STREQ(r2->name, "frontend");
        mx_net_rec_free(r2);

        /* Refusals. */
        o.name = "backend";
        ASSERT_ERR(mx_network__create(&r2, &ctx, &o, &err), MX_EEXISTS);
        mx_error_free(err);
        err = NULL;
        o.name = "x y";
        ASSERT_ERR(mx_network__create(&r2, &ctx, &o, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_NETWORK);
        mx_error_free(err);
        err = NULL;
        o.name = "overlap";
        o.subnet = r->subnet;
        ASSERT_ERR(mx_network__create(&r2, &ctx, &o, &err), MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "overlaps") != NULL);
        mx_error_free(err);
        err = NULL;
        o.subnet = "192.168.77.0/24";
        o.gateway = "192.168.78.1";
        ASSERT_ERR(mx_network__create(&r2, &ctx, &o, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        o.gateway = "192.168.77.254";
        ASSERT_OK_E(mx_network__create(&r2, &ctx, &o, &err), err);
        ASSERT_STREQ(r2->gateway, "192.168.77.254");
        mx_net_rec_free(r2);
        o.subnet = "not-a-subnet";
        o.name = "bad";
        o.gateway = NULL;
        ASSERT_ERR(mx_network__create(&r2, &ctx, &o, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_network__lookup(&r2, &ctx, "nosuch", &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "'nosuch'") != NULL);
        mx_error_free(err);
        err = NULL;

        ASSERT_OK(mx_network__list(&all, &n, &ctx, &err));
        ASSERT_EQ(n, 4);
        ASSERT_STREQ(all[0]->name, "backend");
        ASSERT_STREQ(all[1]->name, "bridge");
        for (size_t i = 0; i < n; i++)
                mx_net_rec_free(all[i]);
        free(all);

        ASSERT_ERR(mx_network__remove(&ctx, "bridge", &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK_E(mx_network__remove(&ctx, "backend", &err), err);
        ASSERT_ERR(mx_network__lookup(&r2, &ctx, "backend", &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        {
                char **removed = NULL;

                ASSERT_OK(mx_network__prune(&removed, &ctx, &err));
                ASSERT_EQ(mx_strv_len_for_test(removed), 2);
                mx_net__strv_free(removed);
        }
        mx_net_rec_free(r);
        teardown();
}

static char alpha_hosts[4300];

static int mkdir_p_for_test(const char *p)
{
        return mx_fs_mkdir_p(p, 0755, NULL);
}

static char *slurp_for_test(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = calloc(1, 65536);
        size_t n;

        ASSERT_NOT_NULL(f);
        n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static int exited_pid(void)
{
        pid_t p = fork();

        if (p == 0)
                _exit(0);
        waitpid(p, NULL, 0);
        return (int)p;
}

static int link_exists_in(const char *netns, const char *dev)
{
        char arg[4200];
        const char *argv[] = {"nsenter", arg, "ip", "link", "show", dev, NULL};
        int status = -1;

        snprintf(arg, sizeof(arg), "--net=%s", netns);
        return mx_proc_run(argv, NULL, &status, NULL) == 0 && status == 0;
}

MX_TEST(attach_detach_real_plugins_keep_address)
{
        mx_network_create_opts o = MX_NETWORK_CREATE_OPTS_INIT;
        mx_network_attach_opts ao = MX_NETWORK_ATTACH_OPTS_INIT;
        mx_network_attachment *a = NULL, *b = NULL;
        mx_port_mapping pm = {.host_ip = "127.0.0.1", .container_port = 80, .protocol = "tcp"};
        mx_net_rec *net = NULL;
        mx_error *err = NULL;
        char lease[4096], *hosts = NULL, **peers = NULL;
        struct stat st;
        size_t cleaned = 0;

        need_root_and_plugins();
        setup();
        o.name = "mxunit";
        o.subnet = "10.199.7.0/24";
        ASSERT_OK_E(mx_network__create(&net, &ctx, &o, &err), err);
        ao.container_name = "alpha";
        ao.hostname = "alpha-host";
        ao.ports = &pm;
        ao.n_ports = 1;
        /* alpha is a runtime container: its hosts file exists and is kept current */
        {
                char d[4096], p[4200];
                FILE *f;

                snprintf(d, sizeof(d), "%s/containers/c0ffee01", ctx.root);
                ASSERT_EQ(mkdir_p_for_test(d), 0);
                snprintf(p, sizeof(p), "%s/hosts", d);
                f = fopen(p, "we");
                ASSERT_NOT_NULL(f);
                fputs("127.0.0.1\tlocalhost\n192.0.2.99\textra.example\n", f);
                fclose(f);
                snprintf(alpha_hosts, sizeof(alpha_hosts), "%s", p);
        }
        ASSERT_OK_E(mx_network__attach(&a, &ctx, "c0ffee01", "mxunit", &ao, &err), err);
        ASSERT_EQ(a->attached, 1);
        ASSERT_TRUE(strncmp(a->ip, "10.199.7.", 9) == 0);
        ASSERT_EQ(a->prefix_len, 24);
        ASSERT_STREQ(a->gateway, "10.199.7.1");
        ASSERT_STREQ(a->ifname, "eth0");
        ASSERT_NOT_NULL(a->mac);
        ASSERT_EQ(a->n_ports, 1);
        ASSERT_TRUE(a->ports[0].host_port > 0); /* resolved from "any" */
        ASSERT_TRUE(mx_netns__is_netns(a->netns_path));
        ASSERT_TRUE(link_exists_in(a->netns_path, "eth0"));
        snprintf(lease, sizeof(lease), "%s/networks/ipam/mxunit/%s", ctx.root, a->ip);
        ASSERT_EQ(stat(lease, &st), 0);

        /* Attaching again returns the same attachment. */
        ASSERT_OK_E(mx_network__attach(&b, &ctx, "c0ffee01", "mxunit", &ao, &err), err);
        ASSERT_STREQ(b->ip, a->ip);
        mx_network_attachment_free(b);

        /* A peer sees alpha by name; alpha's own line has its hostname. */
        ao.container_name = "beta";
        ao.hostname = NULL;
        ao.ports = NULL;
        ao.n_ports = 0;
        ASSERT_OK_E(mx_network__attach(&b, &ctx, "beef0002", "mxunit", &ao, &err), err);
        ASSERT_TRUE(strcmp(b->ip, a->ip) != 0);
        ASSERT_OK(mx_network__hosts_file(&hosts, &ctx, "beef0002", &err));
        {
                char want[256];

                snprintf(want, sizeof(want), "%s\talpha c0ffee01\n", a->ip);
                ASSERT_TRUE(strstr(hosts, want) != NULL);
                snprintf(want, sizeof(want), "%s\tbeta beef0002\n", b->ip);
                ASSERT_TRUE(strstr(hosts, want) != NULL);
                ASSERT_TRUE(strstr(hosts, "127.0.0.1\tlocalhost\n") != NULL);
        }
        free(hosts);
        ASSERT_OK(mx_network__hosts_file(&hosts, &ctx, "c0ffee01", &err));
        ASSERT_TRUE(strstr(hosts, "alpha-host alpha c0ffee01") != NULL);
        free(hosts);
        {
                char *text = slurp_for_test(alpha_hosts), want[256];

                /* the runtime's lines stay; the block names alpha itself and its peer */
                ASSERT_TRUE(strncmp(text, "127.0.0.1\tlocalhost\n192.0.2.99\textra.example\n",
                                    43) == 0);
                snprintf(want, sizeof(want), "%s\tbeta beef0002\n", b->ip);
                ASSERT_TRUE(strstr(text, want) != NULL);
                snprintf(want, sizeof(want), "%s\talpha-host alpha c0ffee01\n", a->ip);
                ASSERT_TRUE(strstr(text, want) != NULL);
                free(text);
        }
        ASSERT_OK(mx_network__peers(&peers, &ctx, "c0ffee01", &err));
        ASSERT_STREQ(peers[0], "beef0002");
        ASSERT_NULL(peers[1]);
        mx_net__strv_free(peers);

        /* beta goes: alpha's hosts file forgets it */
        ASSERT_OK_E(mx_network__detach(&ctx, "beef0002", NULL, &err), err);
        {
                char *text = slurp_for_test(alpha_hosts);

                ASSERT_TRUE(strstr(text, "beta") == NULL);
                ASSERT_TRUE(strstr(text, "extra.example") != NULL);
                free(text);
        }

        /* Network in use: refused. */
        ASSERT_ERR(mx_network__remove(&ctx, "mxunit", &err), MX_EBUSY);
        mx_error_free(err);
        err = NULL;

        /* Stop: detach removes the namespace and the lease but keeps the address on record;
         * a second detach is a no-op. Start again: the same address. */
        ASSERT_OK_E(mx_network__detach(&ctx, "c0ffee01", NULL, &err), err);
        ASSERT_TRUE(!mx_fs_exists_for_test(a->netns_path));
        ASSERT_TRUE(stat(lease, &st) < 0);
        ASSERT_OK_E(mx_network__detach(&ctx, "c0ffee01", NULL, &err), err);
        ao.container_name = "alpha";
        mx_network_attachment_free(b); /* beta's */
        ASSERT_OK_E(mx_network__attach(&b, &ctx, "c0ffee01", "mxunit", &ao, &err), err);
        ASSERT_STREQ(b->ip, a->ip);
        mx_network_attachment_free(b);

        /* The container dies with its owner: the next command cleans it up. */
        ASSERT_OK(mx_network__set_owner(&ctx, "c0ffee01", exited_pid(), &err));
        ASSERT_OK_E(mx_network__cleanup_stale(&cleaned, &ctx, &err), err);
        ASSERT_EQ(cleaned, 1);
        ASSERT_TRUE(stat(lease, &st) < 0);
        ASSERT_TRUE(!mx_fs_exists_for_test(a->netns_path));

        ASSERT_OK_E(mx_network__release(&ctx, "c0ffee01", NULL, &err), err);
        ASSERT_OK_E(mx_network__release(&ctx, "beef0002", NULL, &err), err);
        ASSERT_OK_E(mx_network__release(&ctx, "beef0002", NULL, &err), err);
        ASSERT_OK_E(mx_network__remove(&ctx, "mxunit", &err), err);
        mx_network_attachment_free(a);
        mx_net_rec_free(net);
        teardown();
}

MX_TEST(setup_two_networks_in_one_namespace)
{
        mx_network_create_opts o = MX_NETWORK_CREATE_OPTS_INIT;
        mx_network_attach_opts ao = MX_NETWORK_ATTACH_OPTS_INIT;
        mx_port_mapping pm = {.container_port = 8080, .protocol = "tcp"};
        const char *nets[] = {"mxs1", "mxs2", NULL}, *bad[] = {"mxs1", "nosuch", NULL};
        mx_network_attachment **atts = NULL;
        mx_error *err = NULL;
        char *ns = NULL;
        size_t n = 0;

        need_root_and_plugins();
        setup();
        o.name = "mxs1";
        o.subnet = "10.199.8.0/24";
        ASSERT_OK_E(mx_network__create(NULL, &ctx, &o, &err), err);
        o.name = "mxs2";
        o.subnet = "10.199.9.0/24";
        ASSERT_OK_E(mx_network__create(NULL, &ctx, &o, &err), err);
        ao.ports = &pm;
        ao.n_ports = 1;
        ASSERT_OK_E(mx_network__setup(&ns, &ctx, "5e7up001", nets, &ao, &err), err);
        ASSERT_TRUE(mx_netns__is_netns(ns));
        ASSERT_TRUE(link_exists_in(ns, "eth0"));
        ASSERT_TRUE(link_exists_in(ns, "eth1"));
        ASSERT_OK(mx_network__attachments(&atts, &n, &ctx, "5e7up001", &err));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(atts[0]->ifname, "eth0");
        ASSERT_EQ(atts[0]->n_ports, 1); /* ports on the first network only */
        ASSERT_EQ(atts[1]->n_ports, 0);
        ASSERT_STREQ(atts[1]->netns_path, ns);
        mx_network_attachment_list_free(atts, n);
        ASSERT_OK_E(mx_network__release(&ctx, "5e7up001", NULL, &err), err);
        ASSERT_TRUE(!mx_fs_exists_for_test(ns));
        free(ns);
        ns = NULL;
        /* A failing second network undoes the first. */
        ASSERT_ERR(mx_network__setup(&ns, &ctx, "5e7up002", bad, NULL, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        ASSERT_NULL(ns);
        ASSERT_OK(mx_network__attachments(&atts, &n, &ctx, "5e7up002", &err));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(atts[0]->attached, 0);
        mx_network_attachment_list_free(atts, n);
        ASSERT_OK(mx_network__release(&ctx, "5e7up002", NULL, &err));
        ASSERT_OK_E(mx_network__remove(&ctx, "mxs1", &err), err);
        ASSERT_OK_E(mx_network__remove(&ctx, "mxs2", &err), err);
        teardown();
}

MX_TEST(attach_refuses_bad_input)
{
        mx_error *err = NULL;
        mx_network_attachment *a = NULL;

        setup();
        ASSERT_ERR(mx_network__attach(&a, &ctx, "../etc", "bridge", NULL, &err), MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_NETWORK);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_network__attach(&a, &ctx, "c1", "nosuchnet", NULL, &err), MX_ENOTFOUND);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_network__attach(&a, &ctx, "c1", "host", NULL, &err), MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_NULL(a);
        /* Detaching what was never attached is fine. */
        ASSERT_OK(mx_network__detach(&ctx, "neverseen", NULL, &err));
        ASSERT_OK(mx_network__release(&ctx, "neverseen", NULL, &err));
        teardown();
}
