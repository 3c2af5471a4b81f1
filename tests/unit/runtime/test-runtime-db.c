/* SPDX-License-Identifier: Apache-2.0 */
/* The containers table (through the store's migrations) and the OCI runtime driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <myrmex/store.h>

#include "runtime/runtime-internal.h"
#include "store/store-internal.h"
#include "tap.h"

static mx_store *open_store(void)
{
        mx_store *s = NULL;
        char root[4096];

        snprintf(root, sizeof(root), "%s/store", mx_tap_tmpdir());
        if (mx_store_open(&s, root, NULL) < 0 || mx_runtime__db_schema(s, NULL) < 0)
                mx_tap_fail(__FILE__, __LINE__, "cannot open a store in %s", root);
        return s;
}

static void add(sqlite3 *db, const char *id, const char *name)
{
        mx_ctr c = {0};
        mx_error *err = NULL;

        c.id = (char *)(uintptr_t)id;
        c.name = (char *)(uintptr_t)name;
        c.image = (char *)(uintptr_t) "busybox";
        c.config_json = (char *)(uintptr_t) "{}";
        c.state = (char *)(uintptr_t) "created";
        c.command = (char *)(uintptr_t) "sh -c true";
        c.created = 1;
        ASSERT_OK_E(mx_runtime__db_insert(db, &c, &err), err);
}

#define ID_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B "aaaa000000000000000000000000000000000000000000000000000000000002"
#define ID_C "cccc000000000000000000000000000000000000000000000000000000000003"

MX_TEST(db_resolves_names_ids_and_prefixes)
{
        mx_store *s = open_store();
        sqlite3 *db = mx_store__db(s);
        mx_ctr *c = NULL;
        mx_error *err = NULL;

        add(db, ID_A, "alpha");
        add(db, ID_B, "beta");
        add(db, ID_C, "gamma");
        ASSERT_OK_E(mx_runtime__db_resolve(db, "beta", &c, &err), err);
        ASSERT_STREQ(c->id, ID_B);
        ASSERT_STREQ(c->command, "sh -c true");
        mx_ctr_free(c);
        ASSERT_OK_E(mx_runtime__db_resolve(db, "/gamma", &c, &err), err);
        ASSERT_STREQ(c->name, "gamma");
        mx_ctr_free(c);
        ASSERT_OK_E(mx_runtime__db_resolve(db, ID_A, &c, &err), err);
        ASSERT_STREQ(c->name, "alpha");
        mx_ctr_free(c);
        ASSERT_OK_E(mx_runtime__db_resolve(db, "ccc", &c, &err), err);
        ASSERT_STREQ(c->name, "gamma");
        mx_ctr_free(c);
        c = NULL;
        ASSERT_ERR(mx_runtime__db_resolve(db, "aaaa", &c, &err), MX_EAMBIGUOUS);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        ASSERT_NULL(c);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_runtime__db_resolve(db, "nope", &c, &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "no such container: nope") != NULL);
        mx_error_free(err);
        err = NULL;
        ASSERT_ERR(mx_runtime__db_resolve(db, "", &c, &err), MX_EINVAL);
        mx_error_free(err);
        mx_store_free(s);
}

MX_TEST(db_refuses_a_second_name_and_updates_with_quoting)
{
        mx_store *s = open_store();
        sqlite3 *db = mx_store__db(s);
        mx_ctr c = {0}, *got = NULL, **list = NULL;
        mx_error *err = NULL;
        size_t n = 0;

        add(db, ID_A, "alpha");
        c.id = (char *)(uintptr_t)ID_B;
        c.name = (char *)(uintptr_t) "alpha";
        c.config_json = (char *)(uintptr_t) "{}";
        c.state = (char *)(uintptr_t) "created";
        ASSERT_ERR(mx_runtime__db_insert(db, &c, &err), MX_EEXISTS);
        ASSERT_TRUE(strstr(err->message, "'alpha' is already in use") != NULL);
        mx_error_free(err);
        err = NULL;
        ASSERT_OK_E(mx_runtime__db_update(db, ID_A, &err, "error = %Q, exit_code = %d",
                                          "it's 'quoted'", 42),
                    err);
        ASSERT_OK_E(mx_runtime__db_get(db, ID_A, &got, &err), err);
        ASSERT_STREQ(got->error, "it's 'quoted'");
        ASSERT_EQ(got->exit_code, 42);
        mx_ctr_free(got);
        ASSERT_OK_E(mx_runtime__db_list(db, &list, &n, &err), err);
        ASSERT_EQ(n, 1);
        mx_runtime__ctr_list_free(list, n);
        ASSERT_OK_E(mx_runtime__db_delete(db, ID_A, &err), err);
        ASSERT_ERR(mx_runtime__db_get(db, ID_A, &got, &err), MX_ENOTFOUND);
        mx_error_free(err);
        mx_store_free(s);
}

MX_TEST(db_schema_is_idempotent)
{
        mx_store *s = open_store();

        ASSERT_OK(mx_runtime__db_schema(s, NULL));
        ASSERT_OK(mx_runtime__db_schema(s, NULL));
        mx_store_free(s);
}

MX_TEST(driver_finds_and_runs_a_runtime)
{
        mx_driver d = {0};
        mx_error *err = NULL;
        mx_buf out = MX_BUF_INIT;
        mx_driver_io io = {-1, -1, -1, NULL, &out};
        const char *args[] = {"state", "x", NULL};
        int status = -1;

        /* any program with the runtime's command line: echo prints what it was given */
        ASSERT_OK_E(mx_driver_init(&d, "/bin/echo", mx_tap_tmpdir(), &err), err);
        ASSERT_STREQ(d.name, "echo");
        ASSERT_EQ(d.hide_controllers, 0); /* only crun gets the workaround */
        ASSERT_OK_E(mx_driver_run(&d, args, &io, &status, &err), err);
        ASSERT_EQ(status, 0);
        ASSERT_TRUE(strstr(out.ptr, "--root ") != NULL);
        ASSERT_TRUE(strstr(out.ptr, "/run/echo state x") != NULL);
        mx_buf_clear(&out);
        mx_driver_clear(&d);

        ASSERT_OK_E(mx_driver_init(&d, "/bin/false", mx_tap_tmpdir(), &err), err);
        ASSERT_ERR(mx_driver_simple(&d, args, &err), MX_EFAIL);
        ASSERT_EQ(err->domain, MX_D_RUNTIME);
        ASSERT_TRUE(strstr(err->message, "false state") != NULL);
        mx_error_free(err);
        err = NULL;
        mx_driver_clear(&d);

        ASSERT_ERR(mx_driver_init(&d, "/no/such/runtime", mx_tap_tmpdir(), &err), MX_ENOTFOUND);
        ASSERT_TRUE(strstr(err->message, "'/no/such/runtime'") != NULL);
        mx_error_free(err);
}

MX_TEST(process_liveness_uses_the_start_time)
{
        int64_t st = mx_runtime__proc_start_time(getpid());

        ASSERT_TRUE(st > 0);
        ASSERT_TRUE(mx_runtime__proc_alive(getpid(), st));
        ASSERT_TRUE(!mx_runtime__proc_alive(getpid(), st + 1)); /* a reused pid */
        ASSERT_EQ(mx_runtime__proc_start_time(0), -1);
        ASSERT_TRUE(!mx_runtime__proc_alive(-1, 0));
}
