/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network records in the store's SQLite database. The tables are created here with
 * CREATE TABLE IF NOT EXISTS on first use (prefixed net_ / vol_ so they never collide with
 * the store's own); the store's migration list can adopt them later unchanged.
 */
#include "netdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "error-internal.h"
#include "fs.h"
#include "json.h"
#include "network-internal.h"
#include "proc.h"
#include "strv.h"

const char mx_netdb__schema[] =
        "CREATE TABLE IF NOT EXISTS net_networks ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL,"
        " bridge TEXT NOT NULL UNIQUE, subnet TEXT NOT NULL, gateway TEXT NOT NULL,"
        " internal INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
        " labels TEXT NOT NULL DEFAULT '{}');"
        "CREATE TABLE IF NOT EXISTS net_attachments ("
        " container_id TEXT NOT NULL, network_id TEXT NOT NULL, ifname TEXT NOT NULL,"
        " netns TEXT NOT NULL, state TEXT NOT NULL, ip TEXT, prefix INTEGER NOT NULL DEFAULT 0,"
        " gateway TEXT, mac TEXT, ports TEXT NOT NULL DEFAULT '[]', result TEXT,"
        " names TEXT NOT NULL DEFAULT '', hostname TEXT NOT NULL DEFAULT '',"
        " owner_pid INTEGER NOT NULL DEFAULT 0,"
        " owner_start INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (container_id, network_id));"
        "CREATE INDEX IF NOT EXISTS net_attachments_net ON net_attachments(network_id);"
        "CREATE TABLE IF NOT EXISTS vol_volumes ("
        " name TEXT PRIMARY KEY, driver TEXT NOT NULL, created INTEGER NOT NULL,"
        " anonymous INTEGER NOT NULL DEFAULT 0, labels TEXT NOT NULL DEFAULT '{}',"
        " seeded INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS vol_refs ("
        " volume TEXT NOT NULL, container_id TEXT NOT NULL,"
        " PRIMARY KEY (volume, container_id));";

int mx_netdb__ensure(sqlite3 *db, mx_error **err)
{
        char *msg = NULL;

        if (sqlite3_exec(db, mx_netdb__schema, NULL, NULL, &msg) != SQLITE_OK) {
                int r = mx_error_set(err, MX_ECORRUPT, MX_D_STORE, 0,
                                     "create network and volume tables: %s", msg ? msg : "?");

                sqlite3_free(msg);
                return r;
        }
        return 0;
}

int mx_netdb__err(mx_error **err, sqlite3 *db, const char *what)
{
        int rc = sqlite3_errcode(db) & 0xff;
        int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? MX_EBUSY
                   : rc == SQLITE_CONSTRAINT                ? MX_EEXISTS
                   : rc == SQLITE_NOMEM                     ? MX_ENOMEM
                                                            : MX_EIO;

        return mx_error_set(err, code, MX_D_STORE, 0, "%s: %s", what, sqlite3_errmsg(db));
}

int mx_netdb__exec(sqlite3 *db, const char *sql, mx_error **err)
{
        char *msg = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                sqlite3_free(msg);
                return mx_netdb__err(err, db, sql);
        }
        return 0;
}

int mx_netdb__prepare(sqlite3_stmt **out, sqlite3 *db, const char *sql, mx_error **err)
{
        if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
                return mx_netdb__err(err, db, "prepare statement");
        return 0;
}

int mx_netdb__begin(sqlite3 *db, mx_error **err)
{
        return mx_netdb__exec(db, "BEGIN IMMEDIATE", err);
}

int mx_netdb__commit(sqlite3 *db, mx_error **err)
{
        return mx_netdb__exec(db, "COMMIT", err);
}

void mx_netdb__rollback(sqlite3 *db)
{
        if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

char *mx_netdb__col(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);

        return t ? strdup((const char *)t) : NULL;
}

int mx_net__random_hex(char out[65])
{
        unsigned char b[32];
        size_t got = 0;

        while (got < sizeof(b)) {
                ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                got += (size_t)n;
        }
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
        return 0;
}

void mx_net_rec_free(mx_net_rec *n)
{
        if (!n)
                return;
        free(n->id);
        free(n->name);
        free(n->driver);
        free(n->bridge);
        free(n->subnet);
        free(n->gateway);
        free(n->labels);
        free(n);
}

void mx_net__strv_free(char **v)
{
        mx_strv_free(v);
}

#define NET_COLS "id, name, driver, bridge, subnet, gateway, internal, created, labels"

static int rec_from_row(mx_net_rec **out, sqlite3_stmt *st, mx_error **err)
{
        mx_net_rec *n = calloc(1, sizeof(*n));

        if (!n)
                return mx_error_oom(err);
        n->id = mx_netdb__col(st, 0);
        n->name = mx_netdb__col(st, 1);
        n->driver = mx_netdb__col(st, 2);
        n->bridge = mx_netdb__col(st, 3);
        n->subnet = mx_netdb__col(st, 4);
        n->gateway = mx_netdb__col(st, 5);
        n->internal = sqlite3_column_int(st, 6);
        n->created = sqlite3_column_int64(st, 7);
        n->labels = mx_netdb__col(st, 8);
        if (!n->id || !n->name || !n->driver || !n->bridge || !n->subnet || !n->gateway ||
            !n->labels) {
                mx_net_rec_free(n);
                return mx_error_oom(err);
        }
        *out = n;
        return 0;
}

/* ---- IPv4 subnets -------------------------------------------------------------------- */

int mx_net__parse_cidr4(const char *s, uint32_t *net, int *prefix)
{
        char ip[32];
        const char *slash = strchr(s, '/');
        struct in_addr a;
        uint64_t p = 0;
        uint32_t mask;

        if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1] || strlen(slash + 1) > 2)
                return -1;
        memcpy(ip, s, (size_t)(slash - s));
        ip[slash - s] = '\0';
        if (inet_pton(AF_INET, ip, &a) != 1)
                return -1;
        for (const char *c = slash + 1; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -1;
                p = p * 10 + (uint64_t)(*c - '0');
        }
        if (p < 8 || p > 30)
                return -1; /* room for a gateway and at least one container */
        mask = (uint32_t)(0xffffffffu << (32 - p));
        *net = ntohl(a.s_addr) & mask;
        *prefix = (int)p;
        return 0;
}

static int overlaps(uint32_t a, int pa, uint32_t b, int pb)
{
        int p = pa < pb ? pa : pb;
        uint32_t mask = p == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - p));

        return (a & mask) == (b & mask);
}

static void fmt_ip(char out[16], uint32_t host_order)
{
        struct in_addr a = {.s_addr = htonl(host_order)};

        inet_ntop(AF_INET, &a, out, 16);
}

/* Host routes that a subnet must avoid: every one but the default route and the shared
 * default bridge's (mx0, the same for every store). Another store's user bridge (mx-...) is
 * avoided too: two bridges on one subnet break routing for both. This store's own networks
 * are in its database (db_overlap). */
static int host_routes_overlap(uint32_t net, int prefix)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;

        if (mx_buf_read_file(&b, "/proc/net/route", 1024 * 1024, NULL) < 0)
                return 0;
        for (const char *line = strchr(b.ptr, '\n'); line && line[1];
             line = strchr(line + 1, '\n')) {
                char ifname[32];
                unsigned int dst, gw, flags, refcnt, use, metric, mask;

                if (sscanf(line + 1, "%31s %x %x %x %u %u %u %x", ifname, &dst, &gw, &flags,
                           &refcnt, &use, &metric, &mask) != 8)
                        continue;
                if (mask == 0 || strcmp(ifname, "mx0") == 0)
                        continue;
                {
                        uint32_t d = ntohl(dst), m = ntohl(mask);
                        int p = 0;

                        while (p < 32 && (m & (0x80000000u >> p)))
                                p++;
                        if (overlaps(net, prefix, d, p))
                                return 1;
                }
        }
        return 0;
}

/* Does (net, prefix) overlap any recorded network? */
static int db_overlap(const mx_netctx *ctx, uint32_t net, int prefix, int *hit, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        *hit = 0;
        r = mx_netdb__prepare(&st, ctx->db, "SELECT subnet FROM net_networks", err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *s = (const char *)sqlite3_column_text(st, 0);
                uint32_t n2;
                int p2;

                if (s && mx_net__parse_cidr4(s, &n2, &p2) == 0 && overlaps(net, prefix, n2, p2))
                        *hit = 1;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_netdb__err(err, ctx->db, "list network subnets");
        return 0;
}

static int insert_network(const mx_netctx *ctx, const char *id, const char *name,
                          const char *bridge, const char *subnet, const char *gateway, int internal,
                          const char *labels, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int r, rc;

        r = mx_netdb__prepare(&st, ctx->db,
                              "INSERT INTO net_networks (" NET_COLS ") VALUES "
                              "(?1, ?2, 'bridge', ?3, ?4, ?5, ?6, ?7, ?8)",
                              err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, bridge, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, subnet, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, gateway, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, internal);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(st, 8, labels ? labels : "{}", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
                return mx_error_set(err, MX_EEXISTS, MX_D_NETWORK, 0,
                                    "network with name '%s' already exists", name);
        if (rc != SQLITE_DONE)
                return mx_netdb__err(err, ctx->db, "insert network");
        return 0;
}

/*
 * host-local's dataDir. The default network's bridge (mx0) and subnet are the same for every
 * store on the host, so its leases must be too: two stores with separate lease files would
 * hand one address to two containers on one bridge. They live under /run (a reboot wipes
 * the bridge and the leases together); $MYRMEX_SHARED_IPAM_DIR overrides it. User networks
 * have a bridge and a subnet of their own, and keep their leases in the store.
 */
static char *ipam_dir(const mx_netctx *ctx, const mx_net_rec *rec)
{
        const char *shared = getenv("MYRMEX_SHARED_IPAM_DIR");
        char *p = NULL;

        if (rec && rec->bridge && strcmp(rec->bridge, "mx0") == 0)
                return strdup(shared && *shared ? shared : "/run/myrmex/ipam");
        return asprintf(&p, "%s/networks/ipam", ctx->root) < 0 ? NULL : p;
}

static int write_conflist(const mx_netctx *ctx, const mx_net_rec *rec, mx_error **err)
{
        cleanup_json json_t *list = NULL;
        cleanup_free char *dir = NULL, *ipam = ipam_dir(ctx, rec), *path = NULL, *text = NULL;
        int r;

        if (!ipam || asprintf(&dir, "%s/networks", ctx->root) < 0 ||
            asprintf(&path, "%s/networks/%s.conflist", ctx->root, rec->name) < 0)
                return mx_error_oom(err);
        r = mx_fs_mkdir_p(ipam, 0700, err);
        if (r >= 0)
                r = mx_fs_mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        r = mx_cni__conflist(&list, rec, ipam, err);
        if (r < 0)
                return r;
        text = mx_json_dump_pretty(list);
        if (!text)
                return mx_error_oom(err);
        return mx_fs_write_atomic(path, text, strlen(text), 0644, err);
}

int mx_net__conflist_for(json_t **out, const mx_netctx *ctx, const mx_net_rec *rec, mx_error **err)
{
        cleanup_free char *ipam = ipam_dir(ctx, rec);

        if (!ipam)
                return mx_error_oom(err);
        if (mx_fs_mkdir_p(ipam, 0700, NULL) < 0)
                return mx_error_errno(err, MX_D_NETWORK, "create '%s'", ipam);
        return mx_cni__conflist(out, rec, ipam, err);
}

static int lookup_exact(mx_net_rec **out, const mx_netctx *ctx, const char *key, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        size_t klen = strlen(key);
        int rc, r, matches = 0;
        mx_net_rec *found = NULL;

        /* Name first, then full ID, then a unique ID prefix. */
        r = mx_netdb__prepare(&st, ctx->db,
                              "SELECT " NET_COLS " FROM net_networks WHERE name = ?1 "
                              "UNION ALL SELECT " NET_COLS " FROM net_networks WHERE "
                              "name != ?1 AND substr(id, 1, ?2) = ?1",
                              err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)klen);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *name = (const char *)sqlite3_column_text(st, 1);

                if (name && strcmp(name, key) == 0) {
                        mx_net_rec_free(found);
                        found = NULL;
                        r = rec_from_row(&found, st, err);
                        matches = r < 0 ? -1 : 1;
                        break;
                }
                matches++;
                if (matches == 1) {
                        r = rec_from_row(&found, st, err);
                        if (r < 0) {
                                matches = -1;
                                break;
                        }
                }
        }
        sqlite3_finalize(st);
        if (matches < 0)
                return r;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                mx_net_rec_free(found);
                return mx_netdb__err(err, ctx->db, "look up network");
        }
        if (matches > 1) {
                mx_net_rec_free(found);
                return mx_error_set(err, MX_EAMBIGUOUS, MX_D_NETWORK, 0,
                                    "network ID prefix '%s' is ambiguous", key);
        }
        if (!found)
                return mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, 0, "network '%s' not found",
                                    key);
        *out = found;
        return 0;
}

/* Create the default network once (any process may race us: INSERT is the arbiter). */
static int ensure_default(const mx_netctx *ctx, mx_error **err)
{
        static const char *const candidates[] = {MX_NETWORK_DEFAULT_SUBNET, "10.76.0.0/16",
                                                 "10.75.0.0/16", "172.30.0.0/16",
                                                 "192.168.250.0/24"};
        mx_net_rec *existing = NULL;
        char id[65];
        int r;

        if (lookup_exact(&existing, ctx, MX_NETWORK_DEFAULT, NULL) == 0) {
                mx_net_rec_free(existing);
                return 0;
        }
        if (mx_net__random_hex(id) < 0)
                return mx_error_errno(err, MX_D_NETWORK, "make a network ID");
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        if (lookup_exact(&existing, ctx, MX_NETWORK_DEFAULT, NULL) == 0) {
                mx_net_rec_free(existing);
                mx_netdb__rollback(ctx->db);
                return 0;
        }
        for (size_t i = 0; i < MX_ARRAY_SIZE(candidates); i++) {
                uint32_t net;
                int prefix, hit;
                char gw[16];
                mx_net_rec rec = {0};

                (void)mx_net__parse_cidr4(candidates[i], &net, &prefix);
                r = db_overlap(ctx, net, prefix, &hit, err);
                if (r < 0)
                        break;
                if (hit || host_routes_overlap(net, prefix))
                        continue;
                fmt_ip(gw, net + 1);
                r = insert_network(ctx, id, MX_NETWORK_DEFAULT, "mx0", candidates[i], gw, 0, "{}",
                                   err);
                if (r < 0)
                        break;
                r = mx_netdb__commit(ctx->db, err);
                if (r < 0)
                        break;
                rec.name = (char *)(uintptr_t)MX_NETWORK_DEFAULT;
                rec.bridge = (char *)(uintptr_t) "mx0";
                rec.subnet = (char *)(uintptr_t)candidates[i];
                rec.gateway = gw;
                return write_conflist(ctx, &rec, err);
        }
        mx_netdb__rollback(ctx->db);
        if (r < 0)
                return r;
        return mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, 0,
                            "no free subnet for the default network");
}

int mx_network__lookup(mx_net_rec **out, const mx_netctx *ctx, const char *name_or_id,
                       mx_error **err)
{
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        if (!name_or_id || !*name_or_id)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no network name");
        if (strcmp(name_or_id, MX_NETWORK_DEFAULT) == 0) {
                r = ensure_default(ctx, err);
                if (r < 0)
                        return r;
        }
        return lookup_exact(out, ctx, name_or_id, err);
}

int mx_network__create(mx_net_rec **out, const mx_netctx *ctx, const mx_network_create_opts *o,
                       mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *rec = NULL;
        char id[65], bridge[16], gw[16], subnet[32];
        uint32_t net = 0, gwn;
        int prefix = 0, r, hit = 0;

        if (!o || !o->name)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "a network needs a name");
        if (!mx_net__valid_name(o->name) || strlen(o->name) > 64)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "invalid network name '%s': use letters, digits and '_.-', "
                                    "starting with a letter or digit",
                                    o->name);
        if (strcmp(o->name, "none") == 0 || strcmp(o->name, "host") == 0 ||
            strcmp(o->name, MX_NETWORK_DEFAULT) == 0)
                return mx_error_set(err, MX_EEXISTS, MX_D_NETWORK, 0,
                                    "network name '%s' is reserved", o->name);
        if (o->driver && strcmp(o->driver, "bridge") != 0)
                return mx_error_set(err, MX_EUNSUPPORTED, MX_D_NETWORK, 0,
                                    "network driver '%s' is not supported (bridge)", o->driver);
        if (o->labels_json) {
                cleanup_json json_t *l = NULL;

                r = mx_json_parse(&l, o->labels_json, strlen(o->labels_json), 64 * 1024, 1,
                                  "labels", err);
                if (r < 0)
                        return r;
        }
        if (o->subnet) {
                if (mx_net__parse_cidr4(o->subnet, &net, &prefix) < 0)
                        return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                            "invalid subnet '%s' (IPv4 CIDR, prefix 8 to 30)",
                                            o->subnet);
        }
        if (o->gateway && !o->subnet)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "a gateway needs a subnet");
        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        r = ensure_default(ctx, err);
        if (r < 0)
                return r;
        if (mx_net__random_hex(id) < 0)
                return mx_error_errno(err, MX_D_NETWORK, "make a network ID");
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        if (o->subnet) {
                r = db_overlap(ctx, net, prefix, &hit, err);
                if (r < 0)
                        goto fail;
                if (hit) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                         "subnet '%s' overlaps another network's", o->subnet);
                        goto fail;
                }
        } else {
                int found = 0;

                for (uint32_t n = 0; n < 256 && !found; n++) {
                        net = (10u << 24) | (78u << 16) | (n << 8);
                        prefix = 24;
                        r = db_overlap(ctx, net, prefix, &hit, err);
                        if (r < 0)
                                goto fail;
                        if (!hit && !host_routes_overlap(net, prefix))
                                found = 1;
                }
                if (!found) {
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, 0,
                                         "no free subnet in 10.78.0.0/16: give --subnet");
                        goto fail;
                }
        }
        {
                char ipbuf[16];

                fmt_ip(ipbuf, net);
                snprintf(subnet, sizeof(subnet), "%s/%d", ipbuf, prefix);
        }
        if (o->gateway) {
                struct in_addr a;
                uint32_t mask = (uint32_t)(0xffffffffu << (32 - prefix));

                if (inet_pton(AF_INET, o->gateway, &a) != 1) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "invalid gateway '%s'",
                                         o->gateway);
                        goto fail;
                }
                gwn = ntohl(a.s_addr);
                if ((gwn & mask) != net || gwn == net || gwn == (net | ~mask)) {
                        r = mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                         "gateway '%s' is not a host address of subnet '%s'",
                                         o->gateway, subnet);
                        goto fail;
                }
        } else {
                gwn = net + 1;
        }
        fmt_ip(gw, gwn);
        snprintf(bridge, sizeof(bridge), "mx-%.12s", id);
        r = insert_network(ctx, id, o->name, bridge, subnet, gw, o->internal, o->labels_json, err);
        if (r < 0)
                goto fail;
        r = lookup_exact(&rec, ctx, o->name, err);
        if (r < 0)
                goto fail;
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail;
        r = write_conflist(ctx, rec, err);
        if (r < 0)
                return r;
        if (out)
                *out = TAKE_PTR(rec);
        return 0;
fail:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_network__list(mx_net_rec ***out, size_t *n_out, const mx_netctx *ctx, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        mx_net_rec **v = NULL;
        size_t n = 0;
        int rc, r;

        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        r = ensure_default(ctx, err);
        if (r < 0)
                return r;
        r = mx_netdb__prepare(&st, ctx->db, "SELECT " NET_COLS " FROM net_networks ORDER BY name",
                              err);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                mx_net_rec **g = realloc(v, (n + 1) * sizeof(*v));

                if (!g) {
                        r = mx_error_oom(err);
                        break;
                }
                v = g;
                r = rec_from_row(&v[n], st, err);
                if (r < 0)
                        break;
                n++;
        }
        sqlite3_finalize(st);
        if (r >= 0 && rc != SQLITE_DONE)
                r = mx_netdb__err(err, ctx->db, "list networks");
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        mx_net_rec_free(v[i]);
                free(v);
                return r;
        }
        *out = v;
        *n_out = n;
        return 0;
}

int mx_network__count_attached(size_t *out, const mx_netctx *ctx, const char *network_id,
                               mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int r = mx_netdb__prepare(&st, ctx->db,
                                  "SELECT count(*) FROM net_attachments WHERE network_id = ?1 AND "
                                  "state != 'detached'",
                                  err);

        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, network_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_finalize(st);
                return mx_netdb__err(err, ctx->db, "count attachments");
        }
        *out = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
}

static void delete_bridge(const char *bridge)
{
        const char *argv[] = {"ip", "link", "delete", bridge, "type", "bridge", NULL};
        int status;

        /* The bridge may not exist (never attached): not an error. */
        (void)mx_proc_run(argv, NULL, &status, NULL);
}

static int remove_rec(const mx_netctx *ctx, const mx_net_rec *rec, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        cleanup_free char *path = NULL;
        size_t n = 0;
        int r, rc;

        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        r = mx_network__count_attached(&n, ctx, rec->id, err);
        if (r < 0)
                goto fail;
        if (n > 0) {
                r = mx_error_set(err, MX_EBUSY, MX_D_NETWORK, 0,
                                 "network '%s' has %zu container(s) attached", rec->name, n);
                goto fail;
        }
        /* Stopped containers keep no endpoint (as in Docker): their records go too. */
        for (int i = 0; i < 2; i++) {
                r = mx_netdb__prepare(&st, ctx->db,
                                      i == 0 ? "DELETE FROM net_attachments WHERE network_id = ?1"
                                             : "DELETE FROM net_networks WHERE id = ?1",
                                      err);
                if (r < 0)
                        goto fail;
                sqlite3_bind_text(st, 1, rec->id, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE) {
                        r = mx_netdb__err(err, ctx->db, "delete network");
                        goto fail;
                }
        }
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail;
        if (asprintf(&path, "%s/networks/%s.conflist", ctx->root, rec->name) < 0)
                return mx_error_oom(err);
        (void)unlink(path);
        delete_bridge(rec->bridge);
        return 0;
fail:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_network__remove(const mx_netctx *ctx, const char *name_or_id, mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *rec = NULL;
        int r = mx_network__lookup(&rec, ctx, name_or_id, err);

        if (r < 0)
                return r;
        if (strcmp(rec->name, MX_NETWORK_DEFAULT) == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "the default network '%s' cannot be removed", rec->name);
        return remove_rec(ctx, rec, err);
}

int mx_network__prune(char ***removed_out, const mx_netctx *ctx, mx_error **err)
{
        mx_net_rec **all = NULL;
        char **removed = NULL;
        size_t n = 0;
        int r = mx_network__list(&all, &n, ctx, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                size_t used = 0;
                mx_error *e = NULL;

                if (strcmp(all[i]->name, MX_NETWORK_DEFAULT) == 0)
                        continue;
                r = mx_network__count_attached(&used, ctx, all[i]->id, err);
                if (r < 0 || used)
                        continue;
                if (remove_rec(ctx, all[i], &e) == 0) {
                        if (mx_strv_push(&removed, all[i]->name) < 0)
                                r = mx_error_oom(err);
                }
                mx_error_free(e); /* in use meanwhile: skip it, as Docker does */
        }
        for (size_t i = 0; i < n; i++)
                mx_net_rec_free(all[i]);
        free(all);
        if (r < 0) {
                mx_strv_free(removed);
                return r;
        }
        if (removed_out)
                *removed_out = removed;
        else
                mx_strv_free(removed);
        return 0;
}

int mx_network__info(mx_network_info **out, const mx_netctx *ctx, const mx_net_rec *rec,
                     mx_error **err)
{
        mx_network_info *i = calloc(1, sizeof(*i));
        int r;

        if (!i)
                return mx_error_oom(err);
        i->id = strdup(rec->id);
        i->name = strdup(rec->name);
        i->driver = strdup(rec->driver);
        i->bridge = strdup(rec->bridge);
        i->subnet = strdup(rec->subnet);
        i->gateway = strdup(rec->gateway);
        i->labels_json = strdup(rec->labels);
        i->internal = rec->internal;
        i->created = rec->created;
        if (!i->id || !i->name || !i->driver || !i->bridge || !i->subnet || !i->gateway ||
            !i->labels_json) {
                mx_network_info_free(i);
                return mx_error_oom(err);
        }
        r = mx_network__count_attached(&i->n_containers, ctx, rec->id, err);
        if (r < 0) {
                mx_network_info_free(i);
                return r;
        }
        *out = i;
        return 0;
}

void mx_network_info_free(mx_network_info *i)
{
        if (!i)
                return;
        free(i->id);
        free(i->name);
        free(i->driver);
        free(i->bridge);
        free(i->subnet);
        free(i->gateway);
        free(i->labels_json);
        free(i);
}

void mx_network_info_list_free(mx_network_info **list, size_t n)
{
        for (size_t i = 0; list && i < n; i++)
                mx_network_info_free(list[i]);
        free(list);
}
