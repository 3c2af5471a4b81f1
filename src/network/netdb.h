/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite helpers shared by the network and volume records. */
#ifndef MX_NETWORK_NETDB_H
#define MX_NETWORK_NETDB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include <myrmex/error.h>

#include "network-internal.h"

extern const char mx_netdb__schema[];
int mx_netdb__err(mx_error **err, sqlite3 *db, const char *what);
int mx_netdb__exec(sqlite3 *db, const char *sql, mx_error **err);
int mx_netdb__prepare(sqlite3_stmt **out, sqlite3 *db, const char *sql, mx_error **err);
int mx_netdb__begin(sqlite3 *db, mx_error **err);
int mx_netdb__commit(sqlite3 *db, mx_error **err);
void mx_netdb__rollback(sqlite3 *db);
/* strdup of a text column, NULL when NULL (or OOM). */
char *mx_netdb__col(sqlite3_stmt *st, int i);

/* 64 random hex digits + NUL; -1 with errno on failure. */
int mx_net__random_hex(char out[65]);
/* IPv4 CIDR with prefix 8..30 -> network (host order) and prefix; -1 if invalid. */
int mx_net__parse_cidr4(const char *s, uint32_t *net, int *prefix);
/* The CNI conflist of a network in this store. */
int mx_net__conflist_for(json_t **out, const mx_netctx *ctx, const mx_net_rec *rec, mx_error **err);

#endif
