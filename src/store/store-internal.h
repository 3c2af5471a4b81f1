/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access to the store's database for sibling modules (imageops, registry, runtime, build,
 * scan...). They run their own statements and transactions on the store's connection and
 * own their own tables, created through mx_store__schema().
 *
 * Rules for other modules' tables:
 * - A table whose rows use an image declares `image_id TEXT REFERENCES images(id)` (no ON
 *   DELETE action): SQLite then refuses to delete a used image and mx_store_image_remove()
 *   and mx_store_prune() report it as in use (MX_EBUSY / skipped). Foreign keys are on.
 * - Write in mx_store__begin_immediate() ... mx_store__commit() (or __rollback()); call
 *   mx_fault_point() before a commit that makes something durable.
 * - Never hold a transaction open across slow work (network, unpacking).
 */
#ifndef MX_STORE_INTERNAL_H
#define MX_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include <myrmex/error.h>
#include <myrmex/store.h>

#include "cleanup.h"

MX_DEFINE_FREEP(mx_store, mx_store_free)
MX_DEFINE_FREEP(mx_image_record, mx_image_record_free)
MX_DEFINE_FREEP(mx_store_check_report, mx_store_check_report_free)
MX_DEFINE_FREEP(mx_store_prune_report, mx_store_prune_report_free)
MX_DEFINE_FREEP(mx_store_blob_writer, mx_store_blob_writer_free)

/* The store's connection (WAL, foreign keys on, 30 s busy timeout). Borrowed: valid until
 * mx_store_free(); use it only from the thread that owns the handle. */
sqlite3 *mx_store__db(mx_store *s);

/* BEGIN IMMEDIATE, retrying on SQLITE_BUSY for up to about a minute. MX_EBUSY when the
 * database stays locked, MX_EIO otherwise. Transactions nest: inside an open transaction
 * (opened here or with your own BEGIN) this makes a SAVEPOINT, and the matching commit
 * releases it. So the store's public functions may be called inside your transaction, and
 * their changes commit or roll back with it. Exceptions: mx_store_gc(), mx_store_prune()
 * and mx_store_check() with repair refuse to run inside a transaction (MX_EINVAL), as they
 * wait for other processes. Pair every begin with one commit or rollback. */
int mx_store__begin_immediate(mx_store *s, mx_error **err);

/* COMMIT, or RELEASE of the innermost savepoint (retrying on SQLITE_BUSY); on failure the
 * transaction is rolled back. */
int mx_store__commit(mx_store *s, mx_error **err);

/* Roll back the innermost transaction opened by mx_store__begin_immediate(); never fails
 * (a failure is logged at DEBUG). A no-op when the store opened none (it never touches a
 * transaction it did not open). */
void mx_store__rollback(mx_store *s);

/* Turn the connection's last error into an mx_error (MX_EBUSY for SQLITE_BUSY/LOCKED,
 * MX_EBUSY for a foreign key constraint, MX_EEXISTS for other constraints, MX_ENOMEM,
 * MX_ECORRUPT for a corrupt database, MX_EIO otherwise). what says what was being done. */
int mx_store__sql_error(mx_store *s, int rc, mx_error **err, const char *what);

/* Prepare a statement; on failure fills err. Finalize with sqlite3_finalize. */
int mx_store__prepare(mx_store *s, sqlite3_stmt **out, const char *sql, mx_error **err);

/* Run SQL without results (may hold several statements). */
int mx_store__exec(mx_store *s, const char *sql, mx_error **err);

/*
 * A module's schema: steps[i] is the SQL that takes module from version i to i + 1. Applied
 * in one BEGIN IMMEDIATE transaction each time the module's recorded version (table
 * schema_versions) is below n_steps; concurrent openers serialize on the transaction. Only
 * ever append steps. The store's own schema uses PRAGMA user_version instead.
 * Call it from the module's entry points (cheap when up to date: one SELECT).
 */
int mx_store__schema(mx_store *s, const char *module, const char *const *steps, size_t n_steps,
                     mx_error **err);

/* Root-relative directories, absolute paths; borrowed until mx_store_free(). */
const char *mx_store__blobs_dir(mx_store *s);  /* root/blobs/sha256 */
const char *mx_store__tmp_dir(mx_store *s);    /* root/tmp */
const char *mx_store__layers_dir(mx_store *s); /* root/layers */

/* The writer protection (gc.lock held shared): taken by blob writers, blob_has, tmp_path
 * and mx_store_hold(); released after mx_store_image_add() commits (when no blob writer is
 * open) or by mx_store_release(). */
int mx_store__lock_shared(mx_store *s, mx_error **err);
/* Exclusive: wait up to timeout_ms (0: try once) for writers to finish; MX_EBUSY after. The
 * handle's shared hold, if any, is given up. Undo with mx_store__unlock(). */
int mx_store__lock_exclusive(mx_store *s, int timeout_ms, mx_error **err);
void mx_store__unlock(mx_store *s);

/* How long gc, prune and repair wait for writers before MX_EBUSY (default 60000 ms). */
void mx_store__set_lock_timeout(mx_store *s, int timeout_ms);

/* Validate a sha256 digest for the store: MX_EINVAL (invalid) / MX_EUNSUPPORTED (other
 * algorithm), domain MX_D_STORE, naming what in the message. */
int mx_store__check_digest(const char *digest, const char *what, mx_error **err);

#endif
