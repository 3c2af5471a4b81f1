/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <myrmex/metrics.h>

#include "tap.h"

#define S 1000000000LL

static mx_health_config *cfg(const char *image, const char *cmd, const char *interval,
                             const char *start, int retries)
{
        mx_health_config *c = NULL;
        mx_error *err = NULL;

        ASSERT_OK_E(mx_health_config_build(&c, image, cmd, interval, NULL, start, retries, 0, &err),
                    err);
        ASSERT_NOT_NULL(c);
        return c;
}

MX_TEST(health_config_from_image_and_flags)
{
        mx_health_config *c =
                cfg("{\"Test\":[\"CMD\",\"wget\",\"-q\",\"http://localhost/\"],\"Interval\":"
                    "5000000000,\"Timeout\":2000000000,\"Retries\":4}",
                    NULL, NULL, NULL, -1);
        char **argv;

        ASSERT_EQ(c->interval_ns, 5 * S);
        ASSERT_EQ(c->timeout_ns, 2 * S);
        ASSERT_EQ(c->retries, 4);
        argv = mx_health_probe_argv(c);
        ASSERT_STREQ(argv[0], "wget");
        ASSERT_STREQ(argv[2], "http://localhost/");
        ASSERT_NULL(argv[3]);
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
        mx_health_config_free(c);

        /* Flags override the image; defaults fill the rest. */
        c = cfg("{\"Test\":[\"CMD\",\"true\"],\"Retries\":4}", "test -f /ready", "1s", "10s", 2);
        ASSERT_STREQ(c->test[0], "CMD-SHELL");
        ASSERT_EQ(c->interval_ns, 1 * S);
        ASSERT_EQ(c->timeout_ns, 30 * S);
        ASSERT_EQ(c->start_period_ns, 10 * S);
        ASSERT_EQ(c->retries, 2);
        argv = mx_health_probe_argv(c);
        ASSERT_STREQ(argv[0], "/bin/sh");
        ASSERT_STREQ(argv[1], "-c");
        ASSERT_STREQ(argv[2], "test -f /ready");
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
        mx_health_config_free(c);
}

MX_TEST(health_config_disabled_and_errors)
{
        mx_health_config *c = (mx_health_config *)1;
        mx_error *err = NULL;

        ASSERT_OK(mx_health_config_build(&c, "{\"Test\":[\"NONE\"]}", NULL, NULL, NULL, NULL, -1, 0,
                                         &err));
        ASSERT_NULL(c);
        c = (mx_health_config *)1;
        ASSERT_OK(mx_health_config_build(&c, "{\"Test\":[\"CMD\",\"true\"]}", NULL, NULL, NULL,
                                         NULL, -1, 1, &err));
        ASSERT_NULL(c);
        c = (mx_health_config *)1;
        ASSERT_OK(mx_health_config_build(&c, NULL, NULL, NULL, NULL, NULL, -1, 0, &err));
        ASSERT_NULL(c);
        c = NULL;
        ASSERT_ERR(mx_health_config_build(&c, NULL, "true", "soon", NULL, NULL, -1, 0, &err),
                   MX_EINVAL);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        ASSERT_TRUE(strstr(err->message, "'soon'") != NULL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_health_config_build(&c, "{\"Test\":\"CMD true\"}", NULL, NULL, NULL, NULL, -1,
                                          0, &err),
                   MX_EFORMAT);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_health_config_build(&c, "{\"Test\":[\"RUN\",\"x\"]}", NULL, NULL, NULL, NULL,
                                          -1, 0, &err),
                   MX_EINVAL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_health_config_build(&c, NULL, "true", NULL, NULL, NULL, -1, 1, &err),
                   MX_EINVAL);
        mx_error_free(err);
}

MX_TEST(health_starting_healthy_unhealthy)
{
        mx_health_config *c = cfg(NULL, "check", "1s", NULL, 3);
        mx_health *h = NULL;
        mx_error *err = NULL;
        int64_t t = 100 * S;

        ASSERT_OK(mx_health_new(&h, c, t, &err));
        ASSERT_EQ(mx_health_get_status(h), MX_HEALTH_STARTING);
        ASSERT_EQ(mx_health_next_probe_ns(h), t + S);
        t += S;
        ASSERT_EQ(mx_health_record(h, t, 1, 2, 0, 0, "ok"), MX_HEALTH_HEALTHY);
        ASSERT_EQ(mx_health_next_probe_ns(h), t + S);
        /* Two failures: still healthy, streak counts. */
        t += S;
        ASSERT_EQ(mx_health_record(h, t, 3, 4, 1, 0, "down"), MX_HEALTH_HEALTHY);
        t += S;
        ASSERT_EQ(mx_health_record(h, t, 5, 6, 1, 0, "down"), MX_HEALTH_HEALTHY);
        ASSERT_EQ(mx_health_failing_streak(h), 2);
        /* The third makes it unhealthy; a timeout counts as a failure. */
        t += S;
        ASSERT_EQ(mx_health_record(h, t, 7, 8, 0, 1, NULL), MX_HEALTH_UNHEALTHY);
        ASSERT_EQ(mx_health_failing_streak(h), 3);
        /* One success heals. */
        t += S;
        ASSERT_EQ(mx_health_record(h, t, 9, 10, 0, 0, "ok"), MX_HEALTH_HEALTHY);
        ASSERT_EQ(mx_health_failing_streak(h), 0);
        ASSERT_STREQ(mx_health_status_name(mx_health_get_status(h)), "healthy");
        mx_health_free(h);
        mx_health_config_free(c);
}

MX_TEST(health_start_period_failures_do_not_count)
{
        mx_health_config *c = cfg(NULL, "check", "1s", "5s", 1);
        mx_health *h = NULL;
        mx_error *err = NULL;

        ASSERT_OK(mx_health_new(&h, c, 0, &err));
        ASSERT_EQ(mx_health_record(h, 1 * S, 0, 0, 1, 0, "not yet"), MX_HEALTH_STARTING);
        ASSERT_EQ(mx_health_record(h, 2 * S, 0, 0, 1, 0, "not yet"), MX_HEALTH_STARTING);
        ASSERT_EQ(mx_health_failing_streak(h), 0);
        /* After the start period, one failure (retries 1) is enough. */
        ASSERT_EQ(mx_health_record(h, 6 * S, 0, 0, 1, 0, "no"), MX_HEALTH_UNHEALTHY);
        mx_health_free(h);

        /* A success inside the start period ends it: failures count from then on. */
        ASSERT_OK(mx_health_new(&h, c, 0, &err));
        ASSERT_EQ(mx_health_record(h, 1 * S, 0, 0, 0, 0, "ok"), MX_HEALTH_HEALTHY);
        ASSERT_EQ(mx_health_record(h, 2 * S, 0, 0, 1, 0, "no"), MX_HEALTH_UNHEALTHY);
        mx_health_free(h);
        mx_health_config_free(c);
}

MX_TEST(health_log_keeps_five_and_round_trips)
{
        mx_health_config *c = cfg(NULL, "check", "1s", NULL, 3);
        mx_health *h = NULL, *back = NULL;
        mx_error *err = NULL;
        char big[6000];
        char *json, *json2;

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ASSERT_OK(mx_health_new(&h, c, 0, &err));
        for (int i = 0; i < 7; i++)
                mx_health_record(h, (i + 1) * S, 1700000000LL * S + i * S,
                                 1700000000LL * S + i * S + 5000, i % 2, 0, i == 6 ? big : "out");
        json = mx_health_to_json(h);
        ASSERT_NOT_NULL(json);
        ASSERT_TRUE(strstr(json, "\"Status\":\"healthy\"") != NULL);
        ASSERT_TRUE(strstr(json, "\"Start\":\"2023-11-14T22:13:22.000000000Z\"") != NULL);
        /* Five entries, the oldest two dropped; output capped at 4096 bytes. */
        {
                int n = 0;

                for (const char *p = json; (p = strstr(p, "\"ExitCode\"")) != NULL; p++)
                        n++;
                ASSERT_EQ(n, 5);
                ASSERT_TRUE(strstr(json, "2023-11-14T22:13:20") == NULL);
                ASSERT_TRUE(strlen(json) < 4096 + 1024);
        }
        ASSERT_OK_E(mx_health_from_json(&back, c, json, 50 * S, &err), err);
        json2 = mx_health_to_json(back);
        ASSERT_STREQ(json2, json);
        free(json);
        free(json2);
        mx_health_free(back);
        ASSERT_ERR(mx_health_from_json(&back, c, "{\"Status\":\"great\"}", 0, &err), MX_EFORMAT);
        mx_error_free(err);
        mx_health_free(h);
        mx_health_config_free(c);
}
