/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "network/network-internal.h"
#include "tap.h"

static const char runtime_hosts[] = "127.0.0.1\tlocalhost\n127.0.1.1\tweb\n10.9.9.9\tdb.example\n";

MX_TEST(hosts_render_with_and_without_localhost)
{
        mx_hosts_entry peers[] = {{"10.88.0.3", "db db-alias 0123456789ab"},
                                  {"10.88.0.4", "evil\n1.2.3.4 bank"},
                                  {"not-an-ip", "x"}};
        mx_error *err = NULL;
        char *s = NULL;

        ASSERT_OK(mx_hosts__render(&s, "10.88.0.2", "web-host web", peers, 3, 1, &err));
        ASSERT_TRUE(strncmp(s, "127.0.0.1\tlocalhost\n", 20) == 0);
        ASSERT_TRUE(strstr(s, "10.88.0.2\tweb-host web\n") != NULL);
        ASSERT_TRUE(strstr(s, "10.88.0.3\tdb db-alias 0123456789ab\n") != NULL);
        /* a name that would add a line is dropped, as is a bad address */
        ASSERT_TRUE(strstr(s, "bank") == NULL);
        ASSERT_TRUE(strstr(s, "not-an-ip") == NULL);
        free(s);
        ASSERT_OK(mx_hosts__render(&s, "10.88.0.2", "web", peers, 1, 0, &err));
        ASSERT_STREQ(s, "10.88.0.2\tweb\n10.88.0.3\tdb db-alias 0123456789ab\n");
        free(s);
}

MX_TEST(hosts_merge_keeps_the_runtime_lines)
{
        mx_error *err = NULL;
        char *a = NULL, *b = NULL, *c = NULL;

        ASSERT_OK(mx_hosts__merge(&a, runtime_hosts, "10.88.0.3\tdb\n", &err));
        ASSERT_TRUE(strncmp(a, runtime_hosts, strlen(runtime_hosts)) == 0);
        ASSERT_TRUE(strstr(a, "# BEGIN myrmex networks") != NULL);
        ASSERT_TRUE(strstr(a, "10.88.0.3\tdb\n# END myrmex networks\n") != NULL);
        /* replaced, not appended twice */
        ASSERT_OK(mx_hosts__merge(&b, a, "10.88.0.4\tcache\n", &err));
        ASSERT_TRUE(strstr(b, "10.88.0.3") == NULL);
        ASSERT_TRUE(strstr(b, "10.88.0.4\tcache\n") != NULL);
        ASSERT_TRUE(strstr(strstr(b, "# BEGIN") + 1, "# BEGIN") == NULL);
        /* an empty block removes it, leaving the runtime's text as it was */
        ASSERT_OK(mx_hosts__merge(&c, b, "", &err));
        ASSERT_STREQ(c, runtime_hosts);
        free(a);
        free(b);
        free(c);
        ASSERT_OK(mx_hosts__merge(&a, "no newline at end", NULL, &err));
        ASSERT_STREQ(a, "no newline at end\n");
        free(a);
}
