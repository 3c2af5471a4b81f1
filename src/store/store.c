/* SPDX-License-Identifier: Apache-2.0 */
/* Opening the store: directories, the database and its schema, locks and transactions. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <myrmex/log.h>
#include <myrmex/store.h>

#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "store-priv.h"
#include "strv.h"

#define BUSY_TIMEOUT_MS    30000
#define BEGIN_RETRY_MS     60000
#define GC_LOCK_TIMEOUT_MS 60000
#define STORE_DB_NAME      "myrmex.db"
#define STORE_LOCK_NAME    "gc.lock"

/*
 * The store's own schema. Step i takes PRAGMA user_version from i to i + 1; only ever
 * append. Other modules keep their tables in mx_store__schema() (table schema_versions).
 */
static const char *const store_schema_steps[] = {
        /* 0 -> 1 */
        "CREATE TABLE schema_versions (\n"
        "  module TEXT PRIMARY KEY,\n"
        "  version INTEGER NOT NULL\n"
        ");\n"
        "CREATE TABLE images (\n"
        "  id TEXT PRIMARY KEY,\n"
        "  manifest_digest TEXT NOT NULL,\n"
        "  manifest_media_type TEXT NOT NULL,\n"
        "  config_size INTEGER NOT NULL,\n"
        "  size INTEGER NOT NULL,\n"
        "  created TEXT,\n"
        "  os TEXT,\n"
        "  architecture TEXT,\n"
        "  variant TEXT,\n"
        "  added INTEGER NOT NULL,\n"
        "  mounts INTEGER NOT NULL DEFAULT 0\n"
        ");\n"
        "CREATE INDEX images_manifest ON images(manifest_digest);\n"
        "CREATE TABLE layers (\n"
        "  chain_id TEXT PRIMARY KEY,\n"
        "  diff_id TEXT NOT NULL,\n"
        "  parent TEXT,\n"
        "  unpacked INTEGER NOT NULL DEFAULT 0,\n"
        "  unpacked_size INTEGER NOT NULL DEFAULT -1\n"
        ");\n"
        "CREATE TABLE image_layers (\n"
        "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
        "  idx INTEGER NOT NULL,\n"
        "  diff_id TEXT NOT NULL,\n"
        "  digest TEXT NOT NULL,\n"
        "  media_type TEXT NOT NULL,\n"
        "  size INTEGER NOT NULL,\n"
        "  uncompressed_size INTEGER NOT NULL DEFAULT -1,\n"
        "  chain_id TEXT NOT NULL REFERENCES layers(chain_id),\n"
        "  PRIMARY KEY (image_id, idx)\n"
        ");\n"
        "CREATE INDEX image_layers_digest ON image_layers(digest);\n"
        "CREATE INDEX image_layers_chain ON image_layers(chain_id);\n"
        "CREATE TABLE tags (\n"
        "  ref TEXT PRIMARY KEY,\n"
        "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
        "  added INTEGER NOT NULL\n"
        ");\n"
        "CREATE INDEX tags_image ON tags(image_id);\n",
};

int64_t store_now(void)
{
        return (int64_t)time(NULL);
}

int store_check_handle(const mx_store *s, mx_error **err)
{
        if (!s || s->magic != STORE_MAGIC)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid store handle");
        return 0;
}

int store_check_handle_out(const mx_store *s, const void *out, mx_error **err)
{
        int r = store_check_handle(s, err);

        if (r < 0)
                return r;
        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        return 0;
}

int mx_store_default_root(char **out, mx_error **err)
{
        const char *env = getenv("MYRMEX_ROOT");
        char *path = NULL;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        if (env && *env) {
                path = strdup(env);
        } else if (geteuid() == 0) {
                path = strdup("/var/lib/myrmex");
        } else {
                const char *xdg = getenv("XDG_DATA_HOME");
                const char *home = getenv("HOME");

                if (xdg && xdg[0] == '/') {
                        if (asprintf(&path, "%s/myrmex", xdg) < 0)
                                path = NULL;
                } else {
                        if (!home || !*home) {
                                struct passwd *pw = getpwuid(geteuid());

                                home = pw ? pw->pw_dir : NULL;
                        }
                        if (!home || !*home)
                                return mx_error_set(err, MX_ENOTFOUND, MX_D_STORE, 0,
                                                    "no home directory for the default store "
                                                    "root; set MYRMEX_ROOT or use --root");
                        if (asprintf(&path, "%s/.local/share/myrmex", home) < 0)
                                path = NULL;
                }
        }
        if (!path)
                return mx_error_oom(err);
        *out = path;
        return 0;
}

int mx_store__sql_error(mx_store *s, int rc, mx_error **err, const char *what)
{
        const char *msg = s && s->db && sqlite3_errcode(s->db) == rc ? sqlite3_errmsg(s->db)
                                                                     : sqlite3_errstr(rc);
        int code;

        switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                code = MX_EBUSY;
                break;
        case SQLITE_NOMEM:
                return mx_error_oom(err);
        case SQLITE_CONSTRAINT:
                code = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? MX_EBUSY : MX_EEXISTS;
                break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                code = MX_ECORRUPT;
                break;
        case SQLITE_FULL:
                code = MX_ETOOBIG;
                break;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                code = MX_EDENIED;
                break;
        default:
                code = MX_EIO;
                break;
        }
        return mx_error_set(err, code, MX_D_STORE, 0, "%s: %s", what, msg);
}

sqlite3 *mx_store__db(mx_store *s)
{
        return s ? s->db : NULL;
}

const char *mx_store__blobs_dir(mx_store *s)
{
        return s->blobs_dir;
}

const char *mx_store__tmp_dir(mx_store *s)
{
        return s->tmp_dir;
}

const char *mx_store__layers_dir(mx_store *s)
{
        return s->layers_dir;
}

const char *mx_store_root(const mx_store *s)
{
        return s ? s->root : NULL;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mx_store__exec(mx_store *s, const char *sql, mx_error **err)
{
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return mx_store__sql_error(s, rc, err, "database statement");
        return 0;
}

int mx_store__prepare(mx_store *s, sqlite3_stmt **out, const char *sql, mx_error **err)
{
        int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);

        if (rc != SQLITE_OK) {
                *out = NULL;
                return mx_store__sql_error(s, rc, err, "prepare statement");
        }
        return 0;
}

#define TX_MAX_DEPTH 63

/* Transactions nest: inside an open transaction (the store's or a caller's own), a begin
 * is a SAVEPOINT and its commit a RELEASE, so every public function works inside a
 * sibling module's transaction. */
static int tx_begin(mx_store *s, const char *begin_sql, mx_error **err)
{
        char sql[64];
        int64_t start = mono_ms();
        int delay = 5, rc;

        if (s->tx_depth >= TX_MAX_DEPTH)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "transactions nested too deep");
        if (!sqlite3_get_autocommit(s->db)) {
                (void)snprintf(sql, sizeof(sql), "SAVEPOINT mx_sp_%u", s->tx_depth);
                rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        return mx_store__sql_error(s, rc, err, "begin nested transaction");
                s->tx_savepoints |= (uint64_t)1 << s->tx_depth;
                s->tx_depth++;
                return 0;
        }
        for (;;) {
                rc = sqlite3_exec(s->db, begin_sql, NULL, NULL, NULL);
                if (rc == SQLITE_OK)
                        break;
                if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
                        return mx_store__sql_error(s, rc, err, "begin transaction");
                if (mono_ms() - start > BEGIN_RETRY_MS)
                        return mx_store__sql_error(s, rc, err, "begin transaction");
                sleep_ms(delay);
                if (delay < 200)
                        delay *= 2;
        }
        s->tx_savepoints &= ~((uint64_t)1 << s->tx_depth);
        s->tx_depth++;
        return 0;
}

int mx_store__begin_immediate(mx_store *s, mx_error **err)
{
        return tx_begin(s, "BEGIN IMMEDIATE", err);
}

int store_begin_read(mx_store *s, mx_error **err)
{
        return tx_begin(s, "BEGIN", err);
}

static int tx_top_is_savepoint(mx_store *s)
{
        return (s->tx_savepoints >> (s->tx_depth - 1)) & 1;
}

int mx_store__commit(mx_store *s, mx_error **err)
{
        int64_t start = mono_ms();
        char sql[64];
        int rc;

        if (s->tx_depth == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "commit without a transaction");
        if (tx_top_is_savepoint(s)) {
                s->tx_depth--;
                (void)snprintf(sql, sizeof(sql), "RELEASE mx_sp_%u", s->tx_depth);
                rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
                if (rc != SQLITE_OK)
                        return mx_store__sql_error(s, rc, err, "commit nested transaction");
                return 0;
        }
        for (;;) {
                rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
                if (rc == SQLITE_OK) {
                        s->tx_depth--;
                        return 0;
                }
                if (((rc & 0xff) == SQLITE_BUSY) && mono_ms() - start < BEGIN_RETRY_MS) {
                        sleep_ms(20);
                        continue;
                }
                (void)mx_store__sql_error(s, rc, err, "commit transaction");
                mx_store__rollback(s);
                return err && *err ? (*err)->code : MX_EIO;
        }
}

void mx_store__rollback(mx_store *s)
{
        char sql[96];
        int rc;

        /* Never touch a transaction the store did not open. */
        if (!s || !s->db || s->tx_depth == 0)
                return;
        s->tx_depth--;
        if ((s->tx_savepoints >> s->tx_depth) & 1) {
                (void)snprintf(sql, sizeof(sql), "ROLLBACK TO mx_sp_%u; RELEASE mx_sp_%u",
                               s->tx_depth, s->tx_depth);
                rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        } else {
                /* SQLite may have rolled back already (after some errors): then it is done. */
                rc = sqlite3_get_autocommit(s->db)
                             ? SQLITE_OK
                             : sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
        if (rc != SQLITE_OK)
                mx_log(MX_LOG_DEBUG, "store: rollback failed: %s", sqlite3_errmsg(s->db));
}

int store_refuse_in_transaction(mx_store *s, const char *what, mx_error **err)
{
        if (!sqlite3_get_autocommit(s->db))
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0,
                                    "%s cannot run inside a database transaction", what);
        return 0;
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
        if (!v)
                return sqlite3_bind_null(st, idx);
        return sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
}

int store_query_strv(mx_store *s, const char *sql, const char *param, char ***out, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        cleanup_strv char **v = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, sql, err);
        if (r < 0)
                return r;
        if (param)
                store_bind_text(st, 1, param);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *t = (const char *)sqlite3_column_text(st, 0);

                if (mx_strv_push(&v, t ? t : "") < 0) {
                        sqlite3_finalize(st);
                        return mx_error_oom(err);
                }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_store__sql_error(s, rc, err, "query");
        if (!v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        return mx_error_oom(err);
        }
        *out = TAKE_PTR(v);
        return 0;
}

static int get_user_version(mx_store *s, int *out, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        r = mx_store__prepare(s, &st, "PRAGMA user_version", err);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_finalize(st);
                return mx_store__sql_error(s, rc, err, "read schema version");
        }
        *out = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return 0;
}

static int migrate(mx_store *s, mx_error **err)
{
        const int target = (int)MX_ARRAY_SIZE(store_schema_steps);
        int version = 0, r;

        r = get_user_version(s, &version, err);
        if (r < 0)
                return r;
        if (version == target)
                return 0;
        if (version > target)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_STORE, 0,
                                    "store schema version %d is newer than this myrmex (%d)",
                                    version, target);

        r = mx_store__begin_immediate(s, err);
        if (r < 0)
                return r;
        /* Another process may have migrated while we waited for the write lock. */
        r = get_user_version(s, &version, err);
        if (r < 0)
                goto fail;
        for (; version < target; version++) {
                char pragma[64];

                r = mx_store__exec(s, store_schema_steps[version], err);
                if (r < 0) {
                        mx_error_wrap(err, MX_D_STORE, "migrate store schema to version %d",
                                      version + 1);
                        goto fail;
                }
                (void)snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version + 1);
                r = mx_store__exec(s, pragma, err);
                if (r < 0)
                        goto fail;
        }
        mx_fault_point("store-schema-commit");
        return mx_store__commit(s, err);
fail:
        mx_store__rollback(s);
        return r;
}

int mx_store__schema(mx_store *s, const char *module, const char *const *steps, size_t n_steps,
                     mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int64_t version = 0;
        int rc, r;

        r = store_check_handle(s, err);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2; pass++) {
                /* pass 0: cheap check outside a transaction; pass 1: inside it */
                if (pass == 1) {
                        r = mx_store__begin_immediate(s, err);
                        if (r < 0)
                                return r;
                }
                r = mx_store__prepare(s, &st,
                                      "SELECT version FROM schema_versions WHERE module = ?", err);
                if (r < 0)
                        goto fail;
                store_bind_text(st, 1, module);
                rc = sqlite3_step(st);
                version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
                sqlite3_finalize(st);
                if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                        r = mx_store__sql_error(s, rc, err, "read schema version");
                        goto fail;
                }
                if (version > (int64_t)n_steps) {
                        r = mx_error_set(err, MX_EUNSUPPORTED, MX_D_STORE, 0,
                                         "store schema of '%s' is version %lld, newer than this "
                                         "myrmex (%zu)",
                                         module, (long long)version, n_steps);
                        goto fail;
                }
                if (version == (int64_t)n_steps) {
                        if (pass == 1)
                                mx_store__rollback(s);
                        return 0;
                }
        }
        for (; version < (int64_t)n_steps; version++) {
                r = mx_store__exec(s, steps[version], err);
                if (r < 0) {
                        mx_error_wrap(err, MX_D_STORE, "migrate schema of '%s' to version %lld",
                                      module, (long long)version + 1);
                        goto fail;
                }
        }
        r = mx_store__prepare(s, &st,
                              "INSERT INTO schema_versions (module, version) VALUES (?, ?) "
                              "ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                              err);
        if (r < 0)
                goto fail;
        store_bind_text(st, 1, module);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)n_steps);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                r = mx_store__sql_error(s, rc, err, "record schema version");
                goto fail;
        }
        mx_fault_point("store-module-schema-commit");
        return mx_store__commit(s, err);
fail:
        mx_store__rollback(s);
        return r;
}

/* ---- locks ---- */

int mx_store__lock_shared(mx_store *s, mx_error **err)
{
        if (s->lock_state != LOCK_NONE)
                return 0;
        while (flock(s->lock_fd, LOCK_SH) < 0) {
                if (errno != EINTR)
                        return mx_error_errno(err, MX_D_STORE, "lock '%s/%s'", s->root,
                                              STORE_LOCK_NAME);
        }
        s->lock_state = LOCK_SHARED_HELD;
        return 0;
}

int mx_store__lock_exclusive(mx_store *s, int timeout_ms, mx_error **err)
{
        int64_t start = mono_ms();
        int delay = 10;

        if (s->lock_state == LOCK_EXCL_HELD)
                return 0;
        /* Converting a shared flock is not atomic anyway; drop it explicitly. */
        if (s->lock_state == LOCK_SHARED_HELD)
                mx_store__unlock(s);
        for (;;) {
                if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
                        s->lock_state = LOCK_EXCL_HELD;
                        return 0;
                }
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return mx_error_errno(err, MX_D_STORE, "lock '%s/%s'", s->root,
                                              STORE_LOCK_NAME);
                if (mono_ms() - start >= timeout_ms)
                        return mx_error_set(err, MX_EBUSY, MX_D_STORE, 0,
                                            "the store '%s' is being written by another process; "
                                            "try again when it is done",
                                            s->root);
                sleep_ms(delay);
                if (delay < 200)
                        delay *= 2;
        }
}

void mx_store__unlock(mx_store *s)
{
        if (s->lock_state == LOCK_NONE)
                return;
        (void)flock(s->lock_fd, LOCK_UN);
        s->lock_state = LOCK_NONE;
}

void mx_store__set_lock_timeout(mx_store *s, int timeout_ms)
{
        if (s)
                s->lock_timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

void store_maybe_release(mx_store *s)
{
        if (s->lock_state == LOCK_SHARED_HELD && s->open_writers == 0)
                mx_store__unlock(s);
}

int mx_store_hold(mx_store *s, mx_error **err)
{
        int r = store_check_handle(s, err);

        if (r < 0)
                return r;
        return mx_store__lock_shared(s, err);
}

void mx_store_release(mx_store *s)
{
        if (s && s->magic == STORE_MAGIC)
                store_maybe_release(s);
}

/* ---- open / free ---- */

static int make_dirs(mx_store *s, mx_error **err)
{
        /* 0711 where container processes (any uid) must traverse to reach layer files. */
        static const struct {
                const char *name;
                mode_t mode;
        } dirs[] = {
                {"blobs", 0700},      {"blobs/sha256", 0700}, {"tmp", 0700},      {"layers", 0711},
                {"containers", 0711}, {"volumes", 0711},      {"networks", 0700}, {"mounts", 0711},
        };

        for (size_t i = 0; i < MX_ARRAY_SIZE(dirs); i++) {
                cleanup_free char *p = NULL;
                int r;

                if (asprintf(&p, "%s/%s", s->root, dirs[i].name) < 0)
                        return mx_error_oom(err);
                r = mx_fs_mkdir_p(p, dirs[i].mode, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int open_db(mx_store *s, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        const char *mode;
        int rc, r;

        rc = sqlite3_open_v2(s->db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if (rc != SQLITE_OK)
                return mx_store__sql_error(s, rc, err, "open database");
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);

        /* Also detects a file that is not a database (SQLITE_NOTADB). Switching a new
         * database to WAL needs an exclusive lock that the busy handler does not always wait
         * for (several processes creating the store at once), so retry here. */
        for (int64_t start = mono_ms();;) {
                r = mx_store__prepare(s, &st, "PRAGMA journal_mode = WAL", err);
                if (r < 0)
                        return r;
                rc = sqlite3_step(st);
                if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
                    mono_ms() - start < BEGIN_RETRY_MS) {
                        sqlite3_finalize(st);
                        sleep_ms(10);
                        continue;
                }
                break;
        }
        mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (rc != SQLITE_ROW || !mode || strcmp(mode, "wal") != 0) {
                r = rc == SQLITE_ROW
                            ? mx_error_set(err, MX_EIO, MX_D_STORE, 0,
                                           "database refused WAL mode ('%s')", mode ? mode : "")
                            : mx_store__sql_error(s, rc, err, "set WAL mode");
                sqlite3_finalize(st);
                return r;
        }
        sqlite3_finalize(st);
        /* FULL: a committed transaction survives power loss, which the ordering of file
         * removals after commits relies on. */
        r = mx_store__exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", err);
        if (r < 0)
                return r;
        return migrate(s, err);
}

void mx_store_free(mx_store *s)
{
        if (!s)
                return;
        if (s->db) {
                if (!sqlite3_get_autocommit(s->db))
                        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                (void)sqlite3_close_v2(s->db);
        }
        if (s->lock_fd >= 0)
                (void)close(s->lock_fd);
        free(s->root);
        free(s->blobs_dir);
        free(s->tmp_dir);
        free(s->layers_dir);
        free(s->db_path);
        s->magic = 0;
        free(s);
}

int mx_store_open(mx_store **out, const char *root, mx_error **err)
{
        cleanup(mx_store_freep) mx_store *s = NULL;
        cleanup_free char *dflt = NULL, *lock_path = NULL;
        char real[PATH_MAX];
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_STORE, 0, "invalid argument");
        if (!root || !*root) {
                r = mx_store_default_root(&dflt, err);
                if (r < 0)
                        return r;
                root = dflt;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return mx_error_oom(err);
        s->magic = STORE_MAGIC;
        s->lock_fd = -1;
        s->lock_timeout_ms = GC_LOCK_TIMEOUT_MS;

        r = mx_fs_mkdir_p(root, 0711, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "open store '%s'", root);
        if (!realpath(root, real))
                return mx_error_errno(err, MX_D_STORE, "open store '%s'", root);
        s->root = strdup(real);
        if (!s->root || asprintf(&s->blobs_dir, "%s/blobs/sha256", real) < 0 ||
            asprintf(&s->tmp_dir, "%s/tmp", real) < 0 ||
            asprintf(&s->layers_dir, "%s/layers", real) < 0 ||
            asprintf(&s->db_path, "%s/%s", real, STORE_DB_NAME) < 0 ||
            asprintf(&lock_path, "%s/%s", real, STORE_LOCK_NAME) < 0)
                return mx_error_oom(err);

        r = make_dirs(s, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "open store '%s'", real);
        s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
                return mx_error_errno(err, MX_D_STORE, "open store '%s': open '%s'", real,
                                      lock_path);
        r = open_db(s, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_STORE, "open store '%s'", real);

        *out = TAKE_PTR(s);
        return 0;
}
