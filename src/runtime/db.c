/* SPDX-License-Identifier: Apache-2.0 */
/* The containers table in the store's database (myrmex.db, WAL mode). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error-internal.h"
#include "fs.h"
#include "runtime-internal.h"
#include "store/store-internal.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS containers ("
                             " id TEXT PRIMARY KEY,"
                             " name TEXT NOT NULL UNIQUE,"
                             " image TEXT NOT NULL DEFAULT '',"
                             " image_id TEXT REFERENCES images(id),"
                             " config TEXT NOT NULL,"
                             " state TEXT NOT NULL,"
                             " pid INTEGER NOT NULL DEFAULT 0,"
                             " pid_start INTEGER NOT NULL DEFAULT 0,"
                             " monitor_pid INTEGER NOT NULL DEFAULT 0,"
                             " monitor_start INTEGER NOT NULL DEFAULT 0,"
                             " exit_code INTEGER NOT NULL DEFAULT 0,"
                             " created INTEGER NOT NULL,"
                             " started_at INTEGER NOT NULL DEFAULT 0,"
                             " finished_at INTEGER NOT NULL DEFAULT 0,"
                             " restart_count INTEGER NOT NULL DEFAULT 0,"
                             " oom_killed INTEGER NOT NULL DEFAULT 0,"
                             " stop_requested INTEGER NOT NULL DEFAULT 0,"
                             " error TEXT NOT NULL DEFAULT '')";

#define COLS                                                                                     \
        "id, name, image, image_id, config, state, pid, pid_start, monitor_pid, monitor_start, " \
        "exit_code, created, started_at, finished_at, restart_count, oom_killed, "               \
        "stop_requested, error, command"

static int db_err(sqlite3 *db, mx_error **err, const char *what)
{
        int rc = sqlite3_errcode(db);
        int code = rc == SQLITE_CONSTRAINT                      ? MX_EEXISTS
                   : (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? MX_EBUSY
                   : rc == SQLITE_CORRUPT                       ? MX_ECORRUPT
                                                                : MX_EIO;

        return mx_error_set(err, code, MX_D_STORE, 0, "%s: %s", what, sqlite3_errmsg(db));
}

void mx_ctr_free(mx_ctr *c)
{
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->image_id);
        free(c->config_json);
        free(c->state);
        free(c->error);
        free(c->command);
        free(c);
}

void mx_runtime__ctr_list_free(mx_ctr **list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                mx_ctr_free(list[i]);
        free(list);
}

int mx_runtime__db_schema(mx_store *store, mx_error **err)
{
        /* The runtime's own table, through the store's per-module migrations. image_id
         * references the image so that an image in use by a container cannot be removed. */
        static const char *const steps[] = {
                schema,
                /* 2: the command line as ps shows it, so listing never reads the bundles */
                "ALTER TABLE containers ADD COLUMN command TEXT NOT NULL DEFAULT ''",
        };

        return mx_store__schema(store, "runtime", steps, MX_ARRAY_SIZE(steps), err);
}

static char *col_str(sqlite3_stmt *st, int i)
{
        const unsigned char *s = sqlite3_column_text(st, i);

        return strdup(s ? (const char *)s : "");
}

static mx_ctr *row_to_ctr(sqlite3_stmt *st)
{
        mx_ctr *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->id = col_str(st, 0);
        c->name = col_str(st, 1);
        c->image = col_str(st, 2);
        c->image_id = col_str(st, 3);
        c->config_json = col_str(st, 4);
        c->state = col_str(st, 5);
        c->pid = sqlite3_column_int64(st, 6);
        c->pid_start = sqlite3_column_int64(st, 7);
        c->monitor_pid = sqlite3_column_int64(st, 8);
        c->monitor_start = sqlite3_column_int64(st, 9);
        c->exit_code = sqlite3_column_int64(st, 10);
        c->created = sqlite3_column_int64(st, 11);
        c->started_at = sqlite3_column_int64(st, 12);
        c->finished_at = sqlite3_column_int64(st, 13);
        c->restart_count = sqlite3_column_int64(st, 14);
        c->oom_killed = sqlite3_column_int64(st, 15);
        c->stop_requested = sqlite3_column_int64(st, 16);
        c->error = col_str(st, 17);
        c->command = col_str(st, 18);
        if (!c->id || !c->name || !c->image || !c->image_id || !c->config_json || !c->state ||
            !c->error || !c->command) {
                mx_ctr_free(c);
                return NULL;
        }
        return c;
}

int mx_runtime__db_insert(sqlite3 *db, const mx_ctr *c, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc;

        if (sqlite3_prepare_v2(db,
                               "INSERT INTO containers (id, name, image, image_id, config, state, "
                               "created, command) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               -1, &st, NULL) != SQLITE_OK)
                return db_err(db, err, "insert container");
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->image ? c->image : "", -1, SQLITE_STATIC);
        if (c->image_id && *c->image_id)
                sqlite3_bind_text(st, 4, c->image_id, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, c->config_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, c->state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, c->created);
        sqlite3_bind_text(st, 8, c->command ? c->command : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE ||
                    sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                        return mx_error_set(err, MX_EEXISTS, MX_D_RUNTIME, 0,
                                            "the container name '%s' is already in use", c->name);
                return db_err(db, err, "insert container");
        }
        return 0;
}

static int query(sqlite3 *db, const char *sql, const char *arg, mx_ctr ***out, size_t *n_out,
                 mx_error **err)
{
        sqlite3_stmt *st = NULL;
        mx_ctr **list = NULL;
        size_t n = 0;
        int rc;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                return db_err(db, err, "query containers");
        if (arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                mx_ctr *c = row_to_ctr(st), **nl;

                nl = c ? realloc(list, (n + 1) * sizeof(*list)) : NULL;
                if (!nl) {
                        mx_ctr_free(c);
                        mx_runtime__ctr_list_free(list, n);
                        sqlite3_finalize(st);
                        return mx_error_oom(err);
                }
                list = nl;
                list[n++] = c;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                mx_runtime__ctr_list_free(list, n);
                return db_err(db, err, "query containers");
        }
        *out = list;
        *n_out = n;
        return 0;
}

int mx_runtime__db_get(sqlite3 *db, const char *id, mx_ctr **out, mx_error **err)
{
        mx_ctr **list = NULL;
        size_t n = 0;
        int r = query(db, "SELECT " COLS " FROM containers WHERE id = ?", id, &list, &n, err);

        if (r < 0)
                return r;
        if (n == 0) {
                free(list);
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such container: %s",
                                    id);
        }
        *out = list[0];
        list[0] = NULL;
        mx_runtime__ctr_list_free(list, n);
        return 0;
}

int mx_runtime__db_resolve(sqlite3 *db, const char *ref, mx_ctr **out, mx_error **err)
{
        mx_ctr **list = NULL;
        size_t n = 0;
        cleanup_free char *pattern = NULL;
        int r;

        if (!ref || !*ref)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "empty container name");
        if (ref[0] == '/')
                ref++;
        r = query(db, "SELECT " COLS " FROM containers WHERE name = ? OR id = ?1", ref, &list, &n,
                  err);
        if (r < 0)
                return r;
        if (n == 0 && strspn(ref, "0123456789abcdef") == strlen(ref)) {
                free(list);
                list = NULL;
                if (asprintf(&pattern, "%s%%", ref) < 0)
                        return mx_error_oom(err);
                r = query(db, "SELECT " COLS " FROM containers WHERE id LIKE ?", pattern, &list, &n,
                          err);
                if (r < 0)
                        return r;
        }
        if (n == 0) {
                free(list);
                return mx_error_set(err, MX_ENOTFOUND, MX_D_RUNTIME, 0, "no such container: %s",
                                    ref);
        }
        if (n > 1) {
                mx_runtime__ctr_list_free(list, n);
                return mx_error_set(err, MX_EAMBIGUOUS, MX_D_RUNTIME, 0,
                                    "multiple containers match '%s'", ref);
        }
        *out = list[0];
        list[0] = NULL;
        mx_runtime__ctr_list_free(list, n);
        return 0;
}

int mx_runtime__db_list(sqlite3 *db, mx_ctr ***out, size_t *n_out, mx_error **err)
{
        return query(db, "SELECT " COLS " FROM containers ORDER BY created DESC", NULL, out, n_out,
                     err);
}

int mx_runtime__db_delete(sqlite3 *db, const char *id, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc;

        if (sqlite3_prepare_v2(db, "DELETE FROM containers WHERE id = ?", -1, &st, NULL) !=
            SQLITE_OK)
                return db_err(db, err, "delete container");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return db_err(db, err, "delete container");
        return 0;
}

int mx_runtime__db_update(sqlite3 *db, const char *id, mx_error **err, const char *set_fmt, ...)
{
        va_list ap;
        char *set;
        cleanup_free char *sql = NULL;
        sqlite3_stmt *st = NULL;
        int rc;

        va_start(ap, set_fmt);
        set = sqlite3_vmprintf(set_fmt, ap);
        va_end(ap);
        if (!set)
                return mx_error_oom(err);
        rc = asprintf(&sql, "UPDATE containers SET %s WHERE id = ?", set);
        sqlite3_free(set);
        if (rc < 0)
                return mx_error_oom(err);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                return db_err(db, err, "update container");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return db_err(db, err, "update container");
        return 0;
}
