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
