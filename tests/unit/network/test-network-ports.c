/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include <myrmex/network.h>

#include "error-internal.h"
#include "tap.h"

static mx_port_mapping *parse(const char *spec, size_t *n)
{
        mx_port_mapping *v = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_port_parse(&v, n, spec, &err), err);
        return v;
}

MX_TEST(port_container_only)
{
        size_t n = 0;
        mx_port_mapping *v = parse("80", &n);

        ASSERT_EQ(n, 1);
        ASSERT_EQ(v[0].container_port, 80);
        ASSERT_EQ(v[0].host_port, 0);
        ASSERT_STREQ(v[0].protocol, "tcp");
        ASSERT_STREQ(v[0].host_ip, "");
        free(v);
}

MX_TEST(port_host_and_container_udp)
{
        size_t n = 0;
        mx_port_mapping *v = parse("8053:53/UDP", &n);

        ASSERT_EQ(n, 1);
        ASSERT_EQ(v[0].host_port, 8053);
        ASSERT_EQ(v[0].container_port, 53);
        ASSERT_STREQ(v[0].protocol, "udp");
        free(v);
}

MX_TEST(port_ip_host_container)
{
        size_t n = 0;
        mx_port_mapping *v = parse("127.0.0.1:8080:80", &n);

        ASSERT_EQ(n, 1);
        ASSERT_STREQ(v[0].host_ip, "127.0.0.1");
        ASSERT_EQ(v[0].host_port, 8080);
        ASSERT_EQ(v[0].container_port, 80);
        free(v);
}

MX_TEST(port_ip_random_host_port)
{
        size_t n = 0;
        mx_port_mapping *v = parse("127.0.0.1::80", &n);

        ASSERT_EQ(n, 1);
        ASSERT_STREQ(v[0].host_ip, "127.0.0.1");
        ASSERT_EQ(v[0].host_port, 0);
        free(v);
}

MX_TEST(port_ipv6_bracketed)
{
        size_t n = 0;
        mx_port_mapping *v = parse("[::1]:8080:80/tcp", &n);

        ASSERT_EQ(n, 1);
        ASSERT_STREQ(v[0].host_ip, "::1");
        ASSERT_EQ(v[0].host_port, 8080);
        free(v);
}

MX_TEST(port_ranges_expand)
{
        size_t n = 0;
        mx_port_mapping *v = parse("8000-8002:80-82", &n);

        ASSERT_EQ(n, 3);
        for (size_t i = 0; i < 3; i++) {
                ASSERT_EQ(v[i].host_port, 8000 + i);
                ASSERT_EQ(v[i].container_port, 80 + i);
        }
        free(v);
        v = parse("9000-9003", &n);
        ASSERT_EQ(n, 4);
        ASSERT_EQ(v[3].container_port, 9003);
        ASSERT_EQ(v[3].host_port, 0);
        free(v);
}

MX_TEST(port_host_range_single_container)
{
        size_t n = 0;
        mx_port_mapping *v = parse("8000-8010:80", &n);

        ASSERT_EQ(n, 1);
        ASSERT_EQ(v[0].host_port, 8000);
        ASSERT_EQ(v[0].host_port_end, 8010);
        free(v);
}

MX_TEST(port_rejects_bad_values)
{
        static const char *bad[] = {"",      "0",          "65536",           "80/icmp",
                                    "a:80",  "1:2:3:4",    "8000-8001:80-82", "300.1.1.1:80:80",
                                    "80-70", "[::1:80:80", "8080:",           "80/",
                                    ":80:"};

        for (size_t i = 0; i < MX_ARRAY_SIZE(bad); i++) {
                mx_port_mapping *v = NULL;
                size_t n = 0;
                mx_error *err = NULL;

                ASSERT_ERR(mx_port_parse(&v, &n, bad[i], &err), MX_EINVAL);
                ASSERT_NULL(v);
                ASSERT_EQ(err->domain, MX_D_NETWORK);
                ASSERT_TRUE(strstr(err->message, "invalid port specification") != NULL);
                mx_error_free(err);
        }
}

MX_TEST(port_publish_all_from_exposed)
{
        const char *exposed[] = {"80/tcp", "53/udp", "7000-7001/tcp", "9000", NULL};
        mx_port_mapping *v = NULL;
        size_t n = 0;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_port_publish_all(&v, &n, exposed, &err), err);
        ASSERT_EQ(n, 5);
        ASSERT_EQ(v[0].container_port, 80);
        ASSERT_STREQ(v[1].protocol, "udp");
        ASSERT_EQ(v[3].container_port, 7001);
        ASSERT_EQ(v[4].container_port, 9000);
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(v[i].host_port, 0);
        free(v);
        {
                const char *bad[] = {"80/xyz", NULL};

                ASSERT_ERR(mx_port_publish_all(&v, &n, bad, &err), MX_EINVAL);
                mx_error_free(err);
        }
}

MX_TEST(port_format_like_docker)
{
        mx_port_mapping m = {.host_port = 8080, .container_port = 80, .protocol = "tcp"};
        char *s = mx_port_format(&m);

        ASSERT_STREQ(s, "80/tcp -> 0.0.0.0:8080");
        free(s);
        snprintf(m.host_ip, sizeof(m.host_ip), "::1");
        s = mx_port_format(&m);
        ASSERT_STREQ(s, "80/tcp -> [::1]:8080");
        free(s);
}

MX_TEST(port_seed_shapes)
{
        mx_port_mapping *v = NULL;
        size_t n = 0;
        mx_error *err = NULL;
        char *s;

        ASSERT_OK_E(
                mx_port_parse_seed(&v, &n,
                                   "{\"80/tcp\": 8080, \"53/udp\": [\"127.0.0.1\", 5353], "
                                   "\"443\": null, \"9000/tcp\": [9001, 9002], \"22\": \"2222\"}",
                                   &err),
                err);
        ASSERT_EQ(n, 6);
        ASSERT_EQ(v[0].container_port, 80);
        ASSERT_EQ(v[0].host_port, 8080);
        ASSERT_STREQ(v[1].protocol, "udp");
        ASSERT_STREQ(v[1].host_ip, "127.0.0.1");
        ASSERT_EQ(v[1].host_port, 5353);
        ASSERT_EQ(v[2].container_port, 443);
        ASSERT_EQ(v[2].host_port, 0);
        ASSERT_STREQ(v[2].protocol, "tcp");
        ASSERT_EQ(v[3].host_port, 9001);
        ASSERT_EQ(v[4].host_port, 9002);
        ASSERT_EQ(v[4].container_port, 9000);
        ASSERT_EQ(v[5].host_port, 2222);
        s = mx_port_format_list(v, 2);
        ASSERT_STREQ(s, "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp");
        free(s);
        free(v);
        v = NULL;
        {
                static const char *bad[] = {"[]",
                                            "{\"x/tcp\": 1}",
                                            "{\"80/icmp\": 1}",
                                            "{\"80\": 70000}",
                                            "{\"80\": {\"a\": 1}}",
                                            "{\"80\": [\"300.0.0.1\", 1]}",
                                            "{\"0\": 1}"};

                for (size_t i = 0; i < MX_ARRAY_SIZE(bad); i++) {
                        ASSERT_TRUE(mx_port_parse_seed(&v, &n, bad[i], &err) < 0);
                        ASSERT_NULL(v);
                        ASSERT_EQ(err->domain, MX_D_NETWORK);
                        mx_error_free(err);
                        err = NULL;
                }
        }
}

MX_TEST(resolv_conf_like_docker)
{
        const char *host = "# generated\nsearch corp.example lan\nnameserver 127.0.0.53\n"
                           "nameserver 192.0.2.53\noptions edns0\n";
        const char *dns[] = {"10.0.0.2", NULL}, *search[] = {"svc.local", NULL},
                   *opts[] = {"ndots:2", NULL}, *bad[] = {"1.2.3.4\nnameserver 6.6.6.6", NULL};
        mx_error *err = NULL;
        char *s = NULL;

        /* The host's, minus the loopback resolver a namespace cannot reach. */
        ASSERT_OK(mx_network_resolv_conf(&s, host, NULL, NULL, NULL, &err));
        ASSERT_STREQ(s, "search corp.example lan\nnameserver 192.0.2.53\noptions edns0\n");
        free(s);
        ASSERT_OK(mx_network_resolv_conf(&s, host, dns, search, opts, &err));
        ASSERT_STREQ(s, "search svc.local\nnameserver 10.0.0.2\noptions edns0 ndots:2\n");
        free(s);
        ASSERT_OK(mx_network_resolv_conf(&s, NULL, NULL, NULL, NULL, &err));
        ASSERT_STREQ(s, "");
        free(s);
        ASSERT_ERR(mx_network_resolv_conf(&s, host, bad, NULL, NULL, &err), MX_EINVAL);
        ASSERT_TRUE(strstr(err->message, "--dns") != NULL);
        mx_error_free(err);
}
