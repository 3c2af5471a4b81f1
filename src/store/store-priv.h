/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/store: the handle's layout and helpers shared by the store's files. */
#ifndef MX_STORE_PRIV_H
#define MX_STORE_PRIV_H

#include <sqlite3.h>
#include <stdint.h>

#include <myrmex/reference.h>
#include <myrmex/store.h>

#include "store-internal.h"

#define STORE_MAGIC 0x6d787374u /* "mxst" */

enum { LOCK_NONE = 0, LOCK_SHARED_HELD = 1, LOCK_EXCL_HELD = 2 };

struct mx_store {
        unsigned magic;
        char *root;
        char *blobs_dir;
        char *tmp_dir;
        char *layers_dir;
        char *db_path;
        sqlite3 *db;
        int lock_fd;
        int lock_state;
        int open_writers;
        int lock_timeout_ms;
        unsigned tx_depth;      /* transactions opened through mx_store__begin_* */
        uint64_t tx_savepoints; /* bit i: level i is a SAVEPOINT (nested), else BEGIN */
};

MX_DEFINE_FREEP(mx_ref, mx_ref_free)

/* Check the handle; returns MX_EINVAL (domain STORE) when s is NULL or not a store. */
int store_check_handle(const mx_store *s, mx_error **err);

/* The same, and MX_EINVAL when the output pointer of a query is NULL. */
int store_check_handle_out(const mx_store *s, const void *out, mx_error **err);

/* root/blobs/sha256/<hex> of a digest already validated. */
char *store_blob_file(mx_store *s, const char *digest);

/* root/layers/<hex> of a chain ID already validated. */
char *store_layer_file(mx_store *s, const char *chain_id);

/* Bind helpers: text (NULL binds NULL). */
int store_bind_text(sqlite3_stmt *st, int idx, const char *v);

/* Run a query returning one text column per row (binding up to one text parameter);
 * *out gets a NULL-terminated list (never NULL on success). */
int store_query_strv(mx_store *s, const char *sql, const char *param, char ***out, mx_error **err);

/* Resolve inside an open transaction or not. by_tag_out (may be NULL) receives the
 * normalized tag when what named a tag, else NULL. */
int store_resolve(mx_store *s, const char *what, char **id_out, char **by_tag_out, mx_error **err);

/* Load one image's record by exact ID; MX_ENOTFOUND when absent. */
int store_load_record(mx_store *s, const char *id, mx_image_record **out, mx_error **err);

/* Delete layer rows no image uses; adds their chain IDs to *deleted when non-NULL. */
int store_prune_layer_rows(mx_store *s, char ***deleted, uint64_t *count, mx_error **err);

/* Garbage collection body; the caller holds the exclusive lock. */
int store_gc_locked(mx_store *s, mx_store_gc_report *report, mx_error **err);

/* Try to collect garbage now without waiting (after rmi); silently does nothing when
 * another process writes or the handle itself holds writer protection. */
void store_gc_opportunistic(mx_store *s);

/* Release the shared hold if nothing in this handle still needs it. */
void store_maybe_release(mx_store *s);

/* IDs of images that rows of other modules' tables reference through a foreign key on
 * images(id) (containers, ...), sorted; never NULL on success. */
int store_images_in_use(mx_store *s, char ***out, mx_error **err);

/* A deferred (read) transaction, nesting like mx_store__begin_immediate(); end it with
 * mx_store__rollback() (or __commit()). */
int store_begin_read(mx_store *s, mx_error **err);

/* MX_EINVAL when a transaction is open on the connection: gc, prune and repair wait for
 * other processes and must not hold the database's write lock while they do. */
int store_refuse_in_transaction(mx_store *s, const char *what, mx_error **err);

/* Current time in Unix seconds. */
int64_t store_now(void);

#endif
