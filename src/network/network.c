/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attaching containers to networks. Order of durable steps, so that a crash anywhere
 * leaves something the next command can clean up:
 *   1. row 'attaching' (owner pid recorded)  2. namespace file  3. CNI ADD
 *   4. row 'attached' with the cached result
 * and for detach: CNI DEL (with the cached result), row 'detached', namespace removed.
 * A row left 'attaching' or 'attached' whose owner is dead and whose namespace holds no
 * process is stale: mx_network_cleanup_stale() runs the DEL for it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "error-internal.h"
#include "fault.h"
#include "fs.h"
#include "json.h"
#include "netdb.h"
#include "network-internal.h"
#include "proc.h"
#include "strv.h"

/* ---- durability ---------------------------------------------------------------------- */

/*
 * Network rows describe state that a reboot wipes anyway (namespaces, veths, iptables
 * rules), so they need to survive a killed process, not a power cut: WAL with synchronous
 * NORMAL gives exactly that without an fsync per commit (each one cost 20-80 ms on a busy
 * disk, several per attach). The store's setting is put back afterwards.
 */
typedef struct sync_guard {
        sqlite3 *db;
        int saved;
} sync_guard;

static sync_guard relax_sync(sqlite3 *db)
{
        sync_guard g = {db, -1};
        sqlite3_stmt *st = NULL;

        if (!sqlite3_get_autocommit(db) ||
            sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL) != SQLITE_OK)
                return g; /* inside the caller's transaction: leave it alone */
        if (sqlite3_step(st) == SQLITE_ROW)
                g.saved = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (g.saved > 1 &&
            sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
                g.saved = -1;
        return g;
}

static void restore_sync(sync_guard *g)
{
        char sql[48];

        if (!g->db || g->saved <= 1)
                return;
        snprintf(sql, sizeof(sql), "PRAGMA synchronous = %d", g->saved);
        (void)sqlite3_exec(g->db, sql, NULL, NULL, NULL);
}

#define RELAXED_SYNC(db) cleanup(restore_sync) sync_guard _sync_guard = relax_sync(db)

/* ---- ports as JSON ------------------------------------------------------------------- */

json_t *mx_ports__to_json(const mx_port_mapping *p, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                json_t *o =
                        json_pack("{s:s,s:i,s:i,s:i,s:s}", "hostIP", p[i].host_ip, "hostPort",
                                  p[i].host_port, "hostPortEnd", p[i].host_port_end,
                                  "containerPort", p[i].container_port, "protocol", p[i].protocol);

                if (!o || json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

int mx_ports__from_json(mx_port_mapping **out, size_t *n_out, const json_t *arr, mx_error **err)
{
        size_t n = json_array_size(arr), i;
        mx_port_mapping *v = NULL;
        json_t *o;

        if (n) {
                v = calloc(n, sizeof(*v));
                if (!v)
                        return mx_error_oom(err);
        }
        json_array_foreach(arr, i, o)
        {
                const char *ip = mx_json_str(o, "hostIP"), *proto = mx_json_str(o, "protocol");

                snprintf(v[i].host_ip, sizeof(v[i].host_ip), "%s", ip ? ip : "");
                snprintf(v[i].protocol, sizeof(v[i].protocol), "%s", proto ? proto : "tcp");
                v[i].host_port = (uint16_t)mx_json_int(o, "hostPort", 0);
                v[i].host_port_end = (uint16_t)mx_json_int(o, "hostPortEnd", 0);
                v[i].container_port = (uint16_t)mx_json_int(o, "containerPort", 0);
        }
        *out = v;
        *n_out = n;
        return 0;
}

/* ---- small helpers ------------------------------------------------------------------- */

static int valid_container_id(const char *id)
{
        return id && mx_net__valid_name(id) && strlen(id) <= 128;
}

static int64_t proc_start_time(int pid)
{
        char path[64];
        cleanup_buf mx_buf b = MX_BUF_INIT;
        const char *p;
        unsigned long long start = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        if (mx_buf_read_file(&b, path, 64 * 1024, NULL) < 0)
                return -1;
        p = strrchr(b.ptr, ')');
        if (!p)
                return -1;
        /* Fields after the command: state is field 3, starttime field 22. A zombie is dead:
         * it holds no namespace and an init that reaps lazily may keep it for seconds. */
        p += 2;
        if (*p == 'Z' || *p == 'X')
                return -1;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p, ' ');
                if (p)
                        p++;
        }
        if (!p || sscanf(p, "%llu", &start) != 1)
                return -1;
        return (int64_t)start;
}

static int owner_alive(int pid, int64_t start)
{
        if (pid <= 0)
                return 0;
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return 0;
        /* A reused pid is another process. */
        return start <= 0 || proc_start_time(pid) == start;
}

static char *netns_path_for(const mx_netctx *ctx, const char *cid)
{
        char *p = NULL;

        return asprintf(&p, "%s/run/netns/%s", ctx->root, cid) < 0 ? NULL : p;
}

/* Pick a free host port for a mapping (0, or a range) by binding to it. */
static int port_free(const char *ip, const char *proto, uint16_t port)
{
        struct sockaddr_storage ss = {0};
        socklen_t len;
        int type = strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
        int fd, ok;

        if (strcmp(proto, "sctp") == 0)
                return 1; /* not probed */
        if (ip[0] && strchr(ip, ':')) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(port);
                if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
                        return 0;
                len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

                s4->sin_family = AF_INET;
                s4->sin_port = htons(port);
                s4->sin_addr.s_addr = htonl(INADDR_ANY);
                if (ip[0] && inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
                        return 0;
                len = sizeof(*s4);
        }
        fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 0;
        ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
        if (ok && port == 0) {
                struct sockaddr_storage got;
                socklen_t gl = sizeof(got);

                if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
                        ok = ntohs(ss.ss_family == AF_INET6
                                           ? ((struct sockaddr_in6 *)&got)->sin6_port
                                           : ((struct sockaddr_in *)&got)->sin_port);
                else
                        ok = 0;
        }
        (void)close(fd);
        return ok;
}

/* Host ports other attached containers publish right now (iptables DNAT binds nothing). */
static int port_taken_in_db(const mx_netctx *ctx, const char *cid, const mx_port_mapping *m,
                            uint16_t port)
{
        sqlite3_stmt *st = NULL;
        int taken = 0;

        if (mx_netdb__prepare(&st, ctx->db,
                              "SELECT ports FROM net_attachments WHERE container_id != ?1 AND "
                              "state != 'detached'",
                              NULL) < 0)
                return 0;
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        while (!taken && sqlite3_step(st) == SQLITE_ROW) {
                const char *txt = (const char *)sqlite3_column_text(st, 0);
                cleanup_json json_t *a = NULL;
                size_t i;
                json_t *o;

                if (!txt ||
                    mx_json_parse(&a, txt, strlen(txt), MX_CNI_RESULT_MAX, 0, "ports", NULL) < 0)
                        continue;
                json_array_foreach(a, i, o)
                {
                        const char *proto = mx_json_str(o, "protocol");
                        const char *ip = mx_json_str(o, "hostIP");

                        if (mx_json_int(o, "hostPort", 0) == port && proto &&
                            strcmp(proto, m->protocol) == 0 &&
                            (!ip || !*ip || !m->host_ip[0] || strcmp(ip, m->host_ip) == 0))
                                taken = 1;
                }
        }
        sqlite3_finalize(st);
        return taken;
}

static int resolve_ports(mx_port_mapping *v, size_t n, const mx_netctx *ctx, const char *cid,
                         mx_error **err)
{
        for (size_t i = 0; i < n; i++) {
                mx_port_mapping *m = &v[i];

                if (m->host_port == 0) {
                        int got = 0;

                        for (int tries = 0; tries < 16 && !got; tries++) {
                                int p = port_free(m->host_ip, m->protocol, 0);

                                if (p > 0 && !port_taken_in_db(ctx, cid, m, (uint16_t)p))
                                        got = p;
                        }
                        if (!got)
                                return mx_error_set(err, MX_EBUSY, MX_D_NETWORK, 0,
                                                    "no free host port for %u/%s",
                                                    m->container_port, m->protocol);
                        m->host_port = (uint16_t)got;
                } else if (m->host_port_end > m->host_port) {
                        uint32_t p;

                        for (p = m->host_port; p <= m->host_port_end; p++)
                                if (port_free(m->host_ip, m->protocol, (uint16_t)p) &&
                                    !port_taken_in_db(ctx, cid, m, (uint16_t)p))
                                        break;
                        if (p > m->host_port_end)
                                return mx_error_set(err, MX_EBUSY, MX_D_NETWORK, 0,
                                                    "no free host port in %u-%u for %u/%s",
                                                    m->host_port, m->host_port_end,
                                                    m->container_port, m->protocol);
                        m->host_port = (uint16_t)p;
                        m->host_port_end = 0;
                } else if (!port_free(m->host_ip, m->protocol, m->host_port) ||
                           port_taken_in_db(ctx, cid, m, m->host_port)) {
                        return mx_error_set(err, MX_EEXISTS, MX_D_NETWORK, 0,
                                            "host port %s%s%u/%s is already in use", m->host_ip,
                                            m->host_ip[0] ? ":" : "", m->host_port, m->protocol);
                }
        }
        return 0;
}

static json_t *runtime_config(const mx_port_mapping *p, size_t n, const char *want_ip)
{
        json_t *rc = json_object();
        json_t *pm = json_array();

        if (!rc || !pm) {
                json_decref(rc);
                json_decref(pm);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_pack("{s:i,s:i,s:s}", "hostPort", p[i].host_port, "containerPort",
                                      p[i].container_port, "protocol", p[i].protocol);

                if (o && p[i].host_ip[0])
                        json_object_set_new(o, "hostIP", json_string(p[i].host_ip));
                if (!o || json_array_append_new(pm, o) < 0) {
                        json_decref(rc);
                        json_decref(pm);
                        return NULL;
                }
        }
        json_object_set_new(rc, "portMappings", pm);
        if (want_ip && *want_ip)
                json_object_set_new(rc, "ips", json_pack("[s]", want_ip));
        return rc;
}

/* ---- attachment rows ----------------------------------------------------------------- */

typedef struct att_row {
        char *container_id, *network_id, *ifname, *netns, *state, *ip, *gateway, *mac, *ports,
                *result, *names, *hostname;
        int prefix;
        int owner_pid;
        int64_t owner_start;
} att_row;

static void att_row_free(att_row *r)
{
        if (!r)
                return;
        free(r->container_id);
        free(r->network_id);
        free(r->ifname);
        free(r->netns);
        free(r->state);
        free(r->ip);
        free(r->gateway);
        free(r->mac);
        free(r->ports);
        free(r->result);
        free(r->names);
        free(r->hostname);
        free(r);
}
MX_DEFINE_FREEP(att_row, att_row_free)

static void att_rows_free(att_row **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                att_row_free(v[i]);
        free(v);
}

#define ATT_COLS                                                                            \
        "container_id, network_id, ifname, netns, state, ip, gateway, mac, ports, result, " \
        "names, hostname, prefix, owner_pid, owner_start"

static att_row *row_from_stmt(sqlite3_stmt *st)
{
        att_row *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->container_id = mx_netdb__col(st, 0);
        r->network_id = mx_netdb__col(st, 1);
        r->ifname = mx_netdb__col(st, 2);
        r->netns = mx_netdb__col(st, 3);
        r->state = mx_netdb__col(st, 4);
        r->ip = mx_netdb__col(st, 5);
        r->gateway = mx_netdb__col(st, 6);
        r->mac = mx_netdb__col(st, 7);
        r->ports = mx_netdb__col(st, 8);
        r->result = mx_netdb__col(st, 9);
        r->names = mx_netdb__col(st, 10);
        r->hostname = mx_netdb__col(st, 11);
        r->prefix = sqlite3_column_int(st, 12);
        r->owner_pid = sqlite3_column_int(st, 13);
        r->owner_start = sqlite3_column_int64(st, 14);
        if (!r->container_id || !r->network_id || !r->ifname || !r->netns || !r->state ||
            !r->ports || !r->names || !r->hostname) {
                att_row_free(r);
                return NULL;
        }
        return r;
}

/* Rows matching a WHERE clause with up to two text parameters. */
static int select_rows(att_row ***out, size_t *n_out, const mx_netctx *ctx, const char *where,
                       const char *p1, const char *p2, mx_error **err)
{
        cleanup_free char *sql = NULL;
        sqlite3_stmt *st = NULL;
        att_row **v = NULL;
        size_t n = 0;
        int rc, r;

        if (asprintf(&sql, "SELECT " ATT_COLS " FROM net_attachments WHERE %s ORDER BY seq",
                     where) < 0)
                return mx_error_oom(err);
        r = mx_netdb__prepare(&st, ctx->db, sql, err);
        if (r < 0)
                return r;
        if (p1)
                sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
        if (p2)
                sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                att_row **g = realloc(v, (n + 1) * sizeof(*v));

                if (!g || !(g[n] = row_from_stmt(st))) {
                        if (g)
                                v = g;
                        sqlite3_finalize(st);
                        att_rows_free(v, n);
                        return mx_error_oom(err);
                }
                v = g;
                n++;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
                att_rows_free(v, n);
                return mx_netdb__err(err, ctx->db, "read network attachments");
        }
        *out = v;
        *n_out = n;
        return 0;
}

static int exec_bind(const mx_netctx *ctx, const char *sql, const char *const *args, size_t nargs,
                     mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int r = mx_netdb__prepare(&st, ctx->db, sql, err), rc;

        if (r < 0)
                return r;
        for (size_t i = 0; i < nargs; i++) {
                if (args[i])
                        sqlite3_bind_text(st, (int)i + 1, args[i], -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(st, (int)i + 1);
        }
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return mx_netdb__err(err, ctx->db, "update network attachment");
        return 0;
}

static int row_to_attachment(mx_network_attachment **out, const mx_netctx *ctx, const att_row *row,
                             mx_error **err)
{
        cleanup(mx_network_attachment_freep) mx_network_attachment *a = NULL;
        cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;
        cleanup_json json_t *ports = NULL;
        sqlite3_stmt *st = NULL;
        int r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return mx_error_oom(err);
        r = mx_netdb__prepare(&st, ctx->db, "SELECT name FROM net_networks WHERE id = ?1", err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, row->network_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                a->network = mx_netdb__col(st, 0);
        else
                a->network = strdup(row->network_id);
        sqlite3_finalize(st);
        a->container_id = strdup(row->container_id);
        a->netns_path = strdup(row->netns);
        a->ifname = strdup(row->ifname);
        a->ip = row->ip ? strdup(row->ip) : NULL;
        a->gateway = row->gateway ? strdup(row->gateway) : NULL;
        a->mac = row->mac ? strdup(row->mac) : NULL;
        a->prefix_len = row->prefix;
        a->attached = strcmp(row->state, "attached") == 0;
        if (row->names[0] && strlen(row->names) > 13) {
                /* names is "NAME [ALIAS...] SHORTID": the first word unless it is the ID */
                size_t len = strcspn(row->names, " ");

                if (strncmp(row->names, row->container_id, len) != 0 || len != 12) {
                        a->name = strndup(row->names, len);
                        if (!a->name)
                                return mx_error_oom(err);
                }
        }
        if (!a->network || !a->container_id || !a->netns_path || !a->ifname ||
            (row->ip && !a->ip) || (row->gateway && !a->gateway) || (row->mac && !a->mac))
                return mx_error_oom(err);
        r = mx_json_parse(&ports, row->ports, strlen(row->ports), MX_CNI_RESULT_MAX, 0, "ports",
                          err);
        if (r < 0)
                return r;
        r = mx_ports__from_json(&a->ports, &a->n_ports, ports, err);
        if (r < 0)
                return r;
        *out = TAKE_PTR(a);
        return 0;
}

void mx_network_attachment_free(mx_network_attachment *a)
{
        if (!a)
                return;
        free(a->container_id);
        free(a->network);
        free(a->netns_path);
        free(a->ifname);
        free(a->ip);
        free(a->gateway);
        free(a->mac);
        free(a->ports);
        free(a->name);
        free(a);
}

void mx_network_attachment_list_free(mx_network_attachment **list, size_t n)
{
        for (size_t i = 0; list && i < n; i++)
                mx_network_attachment_free(list[i]);
        free(list);
}

/* ---- detach -------------------------------------------------------------------------- */

static int count_live_rows(const mx_netctx *ctx, const char *cid, size_t *out, mx_error **err)
{
        sqlite3_stmt *st = NULL;
        int r = mx_netdb__prepare(&st, ctx->db,
                                  "SELECT count(*) FROM net_attachments WHERE container_id = ?1 "
                                  "AND state != 'detached'",
                                  err);

        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_finalize(st);
                return mx_netdb__err(err, ctx->db, "count attachments");
        }
        *out = (size_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
}

/*
 * The bridge plugin removes its masquerade rules only when it finds the container's
 * interface in the namespace; a namespace that is gone (a killed sandbox, a reboot) would
 * leave them behind forever. They are named deterministically (plugins/pkg/utils:
 * "CNI-" + sha512(network name + container ID)[:24], comment `name: "N" id: "C"`), so we
 * remove them the way the plugin would have.
 */
static void teardown_masq(const char *net_name, const char *cid, const char *ip)
{
        char digest[MX_DIGEST_MAX], chain[32];
        cleanup_free char *key = NULL, *comment = NULL;
        int status;

        if (!ip || !*ip || asprintf(&key, "%s%s", net_name, cid) < 0 ||
            asprintf(&comment, "name: \"%s\" id: \"%s\"", net_name, cid) < 0)
                return;
        mx_digest_data(MX_DIGEST_SHA512, key, strlen(key), digest);
        snprintf(chain, sizeof(chain), "CNI-%.24s", mx_digest_hex(digest));
        {
                const char *del[] = {"iptables",    "-w",      "-t",        "nat",   "-D",
                                     "POSTROUTING", "-s",      ip,          "-j",    chain,
                                     "-m",          "comment", "--comment", comment, NULL};
                const char *flush[] = {"iptables", "-w", "-t", "nat", "-F", chain, NULL};
                const char *drop[] = {"iptables", "-w", "-t", "nat", "-X", chain, NULL};

                /* Each may find nothing (already clean): not an error. */
                (void)mx_proc_run(del, NULL, &status, NULL);
                (void)mx_proc_run(flush, NULL, &status, NULL);
                (void)mx_proc_run(drop, NULL, &status, NULL);
        }
}

/* CNI DEL for one row that is (or may be) plumbed, then mark it detached. */
static int detach_row(const mx_netctx *ctx, const att_row *row, mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;
        cleanup_json json_t *list = NULL, *prev = NULL, *rc = NULL, *ports_j = NULL;
        cleanup_free mx_port_mapping *ports = NULL;
        size_t n_ports = 0;
        int r, gone;

        if (strcmp(row->state, "detached") == 0)
                return 0;
        r = mx_network__lookup(&net, ctx, row->network_id, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_NETWORK, "detach '%s'", row->container_id);
        r = mx_net__conflist_for(&list, ctx, net, err);
        if (r < 0)
                return r;
        if (row->result && mx_json_parse(&prev, row->result, strlen(row->result), MX_CNI_RESULT_MAX,
                                         1, "cached cni result", NULL) < 0)
                prev = NULL; /* a damaged cache must not block the cleanup */
        if (mx_json_parse(&ports_j, row->ports, strlen(row->ports), MX_CNI_RESULT_MAX, 0, "ports",
                          NULL) == 0)
                (void)mx_ports__from_json(&ports, &n_ports, ports_j, NULL);
        rc = runtime_config(ports, n_ports, NULL);
        if (!rc)
                return mx_error_oom(err);
        /* A namespace that is gone (host reboot, killed mid-create) is passed as "": the
         * plugins then clean up their host side only, as the spec asks. */
        gone = !mx_netns__is_netns(row->netns);
        r = mx_cni__del_list(ctx, list, rc, prev, row->container_id, gone ? "" : row->netns,
                             row->ifname, err);
        if (r < 0)
                return mx_error_wrap(err, MX_D_NETWORK, "detach '%s' from network '%s'",
                                     row->container_id, net->name);
        if (gone && !net->internal)
                teardown_masq(net->name, row->container_id, row->ip);
        {
                const char *args[] = {row->container_id, row->network_id};

                r = exec_bind(ctx,
                              "UPDATE net_attachments SET state = 'detached', result = NULL "
                              "WHERE container_id = ?1 AND network_id = ?2",
                              args, 2, err);
        }
        mx_fault_point("network-detached");
        return r;
}

static int maybe_remove_netns(const mx_netctx *ctx, const char *cid, mx_error **err)
{
        cleanup_free char *path = netns_path_for(ctx, cid);
        size_t live = 0;
        int r;

        /* Only the file myrmex made (a namespace given by the caller stays theirs). */
        if (!path)
                return mx_error_oom(err);
        r = count_live_rows(ctx, cid, &live, err);
        if (r < 0)
                return r;
        if (live)
                return 0;
        return mx_netns__remove(path, err);
}

int mx_network__detach(const mx_netctx *ctx, const char *cid, const char *network, mx_error **err)
{
        RELAXED_SYNC(ctx->db);
        char **peers_before = NULL;
        att_row **rows = NULL;
        size_t n = 0;
        int r, first = 0;

        if (!valid_container_id(cid))
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "invalid container ID '%s'",
                                    cid ? cid : "");
        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        if (mx_network__peers(&peers_before, ctx, cid, NULL) < 0)
                peers_before = NULL;
        if (network) {
                cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;

                r = mx_network__lookup(&net, ctx, network, err);
                if (r < 0) {
                        mx_strv_free(peers_before);
                        return r;
                }
                r = select_rows(&rows, &n, ctx, "container_id = ?1 AND network_id = ?2", cid,
                                net->id, err);
        } else {
                r = select_rows(&rows, &n, ctx, "container_id = ?1", cid, NULL, err);
        }
        if (r < 0) {
                mx_strv_free(peers_before);
                return r;
        }
        /* Reverse order of attachment, like the plugin chains themselves. */
        for (size_t i = n; i-- > 0;) {
                mx_error *e = NULL;

                r = detach_row(ctx, rows[i], &e);
                if (r < 0 && !first) {
                        first = r;
                        mx_error_move(err, &e);
                }
                mx_error_free(e);
        }
        att_rows_free(rows, n);
        mx_network__hosts_refresh(ctx, cid, peers_before);
        mx_strv_free(peers_before);
        if (first)
                return first;
        return maybe_remove_netns(ctx, cid, err);
}

int mx_network__release(const mx_netctx *ctx, const char *cid, const char *network, mx_error **err)
{
        RELAXED_SYNC(ctx->db);
        cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;
        int r = mx_network__detach(ctx, cid, network, err);

        if (r < 0)
                return r;
        if (!network) {
                const char *args[] = {cid};

                return exec_bind(ctx, "DELETE FROM net_attachments WHERE container_id = ?1", args,
                                 1, err);
        }
        r = mx_network__lookup(&net, ctx, network, err);
        if (r < 0)
                return r;
        {
                const char *args[] = {cid, net->id};

                return exec_bind(ctx,
                                 "DELETE FROM net_attachments WHERE container_id = ?1 AND "
                                 "network_id = ?2",
                                 args, 2, err);
        }
}

/* ---- attach -------------------------------------------------------------------------- */

typedef struct add_progress {
        const mx_netctx *ctx;
        const char *cid;
        const char *net_id;
} add_progress;

/* Record each step's result, so that a crash mid-chain can still be undone (DEL needs the
 * prevResult to find the firewall's rules). Best effort: the final UPDATE is the one that
 * counts. */
static void record_progress(void *userdata, const json_t *result)
{
        const add_progress *p = userdata;
        cleanup_free char *txt = json_dumps(result, JSON_COMPACT);
        const char *args[] = {p->cid, p->net_id, txt};

        if (txt)
                (void)exec_bind(p->ctx,
                                "UPDATE net_attachments SET result = ?3 WHERE container_id = ?1 "
                                "AND network_id = ?2",
                                args, 3, NULL);
}

/* Is w one of the space-separated words of list? */
static int word_in(const char *list, const char *w)
{
        size_t n = strlen(w);

        for (const char *p = list; p && *p;) {
                size_t len = strcspn(p, " ");

                if (len == n && strncmp(p, w, n) == 0)
                        return 1;
                p += len;
                p += strspn(p, " ");
        }
        return 0;
}

static char *join_names(const mx_network_attach_opts *o, const char *cid)
{
        cleanup_buf mx_buf b = MX_BUF_INIT;
        int r = 0;

        if (o && o->container_name && *o->container_name)
                r |= mx_buf_puts(&b, o->container_name);
        for (size_t i = 0; o && o->aliases && o->aliases[i]; i++)
                if (mx_net__valid_name(o->aliases[i]))
                        r |= mx_buf_printf(&b, "%s%s", b.len ? " " : "", o->aliases[i]);
        /* Docker also resolves a container by its short ID. */
        r |= mx_buf_printf(&b, "%s%.12s", b.len ? " " : "", cid);
        if (r < 0)
                return NULL;
        return mx_buf_detach(&b);
}

int mx_network__attach(mx_network_attachment **out, const mx_netctx *ctx, const char *cid,
                       const char *network, const mx_network_attach_opts *o, mx_error **err)
{
        RELAXED_SYNC(ctx->db);
        cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;
        cleanup(att_row_freep) att_row *existing = NULL;
        cleanup_free char *netns = NULL, *names = NULL, *ports_txt = NULL, *result_txt = NULL;
        cleanup_free char *ip = NULL, *gw = NULL, *mac = NULL, *want_ip = NULL;
        cleanup_free mx_port_mapping *ports = NULL;
        cleanup_json json_t *list = NULL, *rc = NULL, *result = NULL, *ports_j = NULL;
        cleanup(mx_cni_result_freep) mx_cni_result *parsed = NULL;
        char ifname[16], owner_pid[16], owner_start[24], prefix_s[8];
        size_t n_ports = o ? o->n_ports : 0;
        add_progress prog;
        int r, created_netns = 0, prefix = 0;
        int pid = o && o->owner_pid > 0 ? o->owner_pid : (int)getpid();

        if (!valid_container_id(cid))
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "invalid container ID '%s'",
                                    cid ? cid : "");
        if (o && o->version != MX_NETWORK_ATTACH_OPTS_VERSION)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "unknown attach options version %d", o->version);
        if (!network)
                network = MX_NETWORK_DEFAULT;
        if (strcmp(network, "none") == 0 || strcmp(network, "host") == 0)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "network '%s' is handled by the runtime, not attached",
                                    network);
        r = mx_network__lookup(&net, ctx, network, err);
        if (r < 0)
                return r;
        netns = o && o->netns_path ? strdup(o->netns_path) : netns_path_for(ctx, cid);
        names = join_names(o, cid);
        if (!netns || !names)
                return mx_error_oom(err);

        /* Already attached and plumbed: hand back what we have. */
        {
                att_row **rows = NULL;
                size_t n = 0;

                r = select_rows(&rows, &n, ctx, "container_id = ?1 AND network_id = ?2", cid,
                                net->id, err);
                if (r < 0)
                        return r;
                if (n)
                        existing = TAKE_PTR(rows[0]);
                att_rows_free(rows, n);
        }
        if (existing && strcmp(existing->state, "attached") == 0 &&
            mx_netns__is_netns(existing->netns)) {
                if (!out)
                        return 0;
                return row_to_attachment(out, ctx, existing, err);
        }
        if (existing && strcmp(existing->state, "detached") != 0) {
                /* Half-done before (a crash): undo it first, then attach afresh. */
                r = detach_row(ctx, existing, err);
                if (r < 0)
                        return r;
        }
        if (existing && existing->ip && *existing->ip &&
            asprintf(&want_ip, "%s/%d", existing->ip, existing->prefix) < 0)
                return mx_error_oom(err);

        if (n_ports) {
                ports = calloc(n_ports, sizeof(*ports));
                if (!ports)
                        return mx_error_oom(err);
                memcpy(ports, o->ports, n_ports * sizeof(*ports));
                for (size_t i = 0; i < n_ports; i++)
                        if (!ports[i].protocol[0])
                                snprintf(ports[i].protocol, sizeof(ports[i].protocol), "tcp");
        }

        /* 1. The row, so that a crash from here on is found by the stale cleanup. */
        r = mx_netdb__begin(ctx->db, err);
        if (r < 0)
                return r;
        if (existing) {
                snprintf(ifname, sizeof(ifname), "%s", existing->ifname);
        } else {
                sqlite3_stmt *st = NULL;
                int used[64] = {0};

                r = mx_netdb__prepare(&st, ctx->db,
                                      "SELECT ifname FROM net_attachments WHERE container_id = ?1",
                                      err);
                if (r < 0)
                        goto fail_tx;
                sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
                while (sqlite3_step(st) == SQLITE_ROW) {
                        const char *f = (const char *)sqlite3_column_text(st, 0);
                        unsigned k;

                        if (f && sscanf(f, "eth%u", &k) == 1 && k < 64)
                                used[k] = 1;
                }
                sqlite3_finalize(st);
                for (unsigned k = 0; k < 64; k++) {
                        if (!used[k]) {
                                snprintf(ifname, sizeof(ifname), "eth%u", k);
                                break;
                        }
                        if (k == 63) {
                                r = mx_error_set(err, MX_ETOOBIG, MX_D_NETWORK, 0,
                                                 "container '%s' is on too many networks", cid);
                                goto fail_tx;
                        }
                }
        }
        r = resolve_ports(ports, n_ports, ctx, cid, err);
        if (r < 0)
                goto fail_tx;
        ports_j = mx_ports__to_json(ports, n_ports);
        ports_txt = ports_j ? json_dumps(ports_j, JSON_COMPACT) : NULL;
        if (!ports_txt) {
                r = mx_error_oom(err);
                goto fail_tx;
        }
        snprintf(owner_pid, sizeof(owner_pid), "%d", pid);
        snprintf(owner_start, sizeof(owner_start), "%lld", (long long)proc_start_time(pid));
        {
                const char *args[] = {cid,
                                      net->id,
                                      ifname,
                                      netns,
                                      ports_txt,
                                      names,
                                      o && o->hostname ? o->hostname : "",
                                      owner_pid,
                                      owner_start};

                r = exec_bind(ctx,
                              "INSERT INTO net_attachments (container_id, network_id, ifname, "
                              "netns, state, ports, names, hostname, owner_pid, owner_start, seq) "
                              "VALUES (?1, ?2, ?3, ?4, 'attaching', ?5, ?6, ?7, ?8, ?9, (SELECT "
                              "coalesce(max(seq), 0) + 1 FROM net_attachments)) "
                              "ON CONFLICT (container_id, network_id) DO UPDATE SET "
                              "state = 'attaching', netns = ?4, ports = ?5, names = ?6, "
                              "hostname = ?7, owner_pid = ?8, owner_start = ?9",
                              args, MX_ARRAY_SIZE(args), err);
        }
        if (r < 0)
                goto fail_tx;
        r = mx_netdb__commit(ctx->db, err);
        if (r < 0)
                goto fail_tx;
        mx_fault_point("network-attach-recorded");

        /* 2. The namespace, shared by all of the container's networks. */
        if (o && o->netns_path) {
                if (!mx_netns__is_netns(netns)) {
                        r = mx_error_set(err, MX_ENOTFOUND, MX_D_NETWORK, 0,
                                         "'%s' is not a network namespace", netns);
                        goto fail;
                }
        } else if (!mx_netns__is_netns(netns)) {
                cleanup_free char *dir = NULL;

                if (asprintf(&dir, "%s/run/netns", ctx->root) < 0) {
                        r = mx_error_oom(err);
                        goto fail;
                }
                r = mx_fs_mkdir_p(dir, 0700, err);
                if (r < 0)
                        goto fail;
                r = mx_netns__create(netns, err);
                if (r < 0)
                        goto fail;
                created_netns = 1;
                r = mx_cni__loopback(ctx, cid, netns, err);
                if (r < 0)
                        goto fail;
        }

        /* 3. CNI ADD; ask for the address the container had, fall back to any. */
        r = mx_net__conflist_for(&list, ctx, net, err);
        if (r < 0)
                goto fail;
        rc = runtime_config(ports, n_ports, want_ip);
        if (!rc) {
                r = mx_error_oom(err);
                goto fail;
        }
        prog.ctx = ctx;
        prog.cid = cid;
        prog.net_id = net->id;
        r = mx_cni__add_list(&result, ctx, list, rc, cid, netns, ifname, record_progress, &prog,
                             err);
        if (r < 0 && want_ip) {
                mx_error_free(err ? *err : NULL);
                if (err)
                        *err = NULL;
                json_object_del(rc, "ips");
                r = mx_cni__add_list(&result, ctx, list, rc, cid, netns, ifname, record_progress,
                                     &prog, err);
        }
        if (r < 0) {
                r = mx_error_wrap(err, MX_D_NETWORK, "attach container '%s' to network '%s'", cid,
                                  net->name);
                goto fail;
        }
        mx_fault_point("network-cni-added");
        result_txt = json_dumps(result, JSON_COMPACT);
        if (!result_txt) {
                r = mx_error_oom(err);
                goto fail_del;
        }
        r = mx_cni__parse_result(&parsed, result_txt, strlen(result_txt), err);
        if (r >= 0)
                r = mx_cni__result_primary(parsed, &ip, &prefix, &gw, &mac, err);
        if (r < 0)
                goto fail_del;

        /* 4. Record what the plugins did. */
        snprintf(prefix_s, sizeof(prefix_s), "%d", prefix);
        {
                const char *args[] = {cid, net->id, ip, gw, mac, result_txt, prefix_s};

                r = exec_bind(ctx,
                              "UPDATE net_attachments SET state = 'attached', ip = ?3, "
                              "gateway = ?4, mac = ?5, result = ?6, prefix = CAST(?7 AS INTEGER) "
                              "WHERE container_id = ?1 AND network_id = ?2",
                              args, MX_ARRAY_SIZE(args), err);
        }
        if (r < 0)
                goto fail_del;
        mx_fault_point("network-attached");
        mx_network__hosts_refresh(ctx, cid, NULL);
        if (out) {
                att_row **rows = NULL;
                size_t n = 0;

                r = select_rows(&rows, &n, ctx, "container_id = ?1 AND network_id = ?2", cid,
                                net->id, err);
                if (r < 0)
                        return r;
                if (n == 0) {
                        att_rows_free(rows, n);
                        return mx_error_set(err, MX_ECORRUPT, MX_D_NETWORK, 0,
                                            "attachment of '%s' vanished", cid);
                }
                r = row_to_attachment(out, ctx, rows[0], err);
                att_rows_free(rows, n);
                return r;
        }
        return 0;

fail_del:
        (void)mx_cni__del_list(ctx, list, rc, result, cid, netns, ifname, NULL);
fail : {
        /* Leave the row as it was before (or drop a new one), and the namespace only
         * if another network still uses it. */
        const char *args[] = {cid, net->id};

        if (existing)
                (void)exec_bind(ctx,
                                "UPDATE net_attachments SET state = 'detached', "
                                "result = NULL WHERE container_id = ?1 AND "
                                "network_id = ?2",
                                args, 2, NULL);
        else
                (void)exec_bind(ctx,
                                "DELETE FROM net_attachments WHERE container_id = ?1 "
                                "AND network_id = ?2",
                                args, 2, NULL);
        (void)created_netns;
        (void)maybe_remove_netns(ctx, cid, NULL);
}
        return r;
fail_tx:
        mx_netdb__rollback(ctx->db);
        return r;
}

int mx_network__setup(char **netns_out, const mx_netctx *ctx, const char *cid,
                      const char *const *networks, const mx_network_attach_opts *opts,
                      mx_error **err)
{
        static const char *const dflt[] = {MX_NETWORK_DEFAULT, NULL};
        mx_network_attach_opts o = MX_NETWORK_ATTACH_OPTS_INIT;
        cleanup_free char *netns = NULL;
        size_t i;
        int r = 0;

        if (!netns_out)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output for setup");
        if (opts)
                o = *opts;
        if (!networks || !networks[0])
                networks = dflt;
        for (i = 0; networks[i] && r >= 0; i++) {
                cleanup(mx_network_attachment_freep) mx_network_attachment *a = NULL;

                if (i > 0) {
                        o.ports = NULL;
                        o.n_ports = 0;
                }
                r = mx_network__attach(&a, ctx, cid, networks[i], &o, err);
                if (r >= 0 && !netns) {
                        netns = strdup(a->netns_path);
                        if (!netns)
                                r = mx_error_oom(err);
                }
        }
        if (r < 0) {
                /* Undo what this call attached (not what was there before it). */
                while (i-- > 0)
                        (void)mx_network__detach(ctx, cid, networks[i], NULL);
                return r;
        }
        *netns_out = TAKE_PTR(netns);
        return 0;
}

/* ---- owner, stale cleanup ------------------------------------------------------------ */

int mx_network__set_owner(const mx_netctx *ctx, const char *cid, int pid, mx_error **err)
{
        char p[16], s[24];
        const char *args[] = {cid, p, s};
        int r;

        if (!valid_container_id(cid) || pid <= 0)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "invalid container ID or pid for network owner");
        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        snprintf(p, sizeof(p), "%d", pid);
        snprintf(s, sizeof(s), "%lld", (long long)proc_start_time(pid));
        return exec_bind(ctx,
                         "UPDATE net_attachments SET owner_pid = CAST(?2 AS INTEGER), "
                         "owner_start = CAST(?3 AS INTEGER) WHERE container_id = ?1",
                         args, 3, err);
}

int mx_network__cleanup_stale(size_t *n_out, const mx_netctx *ctx, mx_error **err)
{
        RELAXED_SYNC(ctx->db);
        att_row **rows = NULL;
        size_t n = 0, cleaned = 0;
        char **done = NULL;
        int r, first = 0;

        r = mx_netdb__ensure(ctx->db, err);
        if (r < 0)
                return r;
        r = select_rows(&rows, &n, ctx, "state != 'detached'", NULL, NULL, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const att_row *row = rows[i];
                mx_error *e = NULL;

                if (mx_strv_contains(done, row->container_id))
                        continue;
                if (owner_alive(row->owner_pid, row->owner_start) ||
                    mx_netns__has_processes(row->netns))
                        continue;
                if (mx_strv_push(&done, row->container_id) < 0) {
                        first = first ? first : mx_error_oom(err);
                        break;
                }
                r = mx_network__detach(ctx, row->container_id, NULL, &e);
                if (r < 0 && !first) {
                        first = r;
                        mx_error_move(err, &e);
                } else if (r >= 0) {
                        cleaned++;
                }
                mx_error_free(e);
        }
        att_rows_free(rows, n);
        mx_strv_free(done);
        if (first)
                return first;
        if (n_out)
                *n_out = cleaned;
        return 0;
}

int mx_network__attachments(mx_network_attachment ***out, size_t *n_out, const mx_netctx *ctx,
                            const char *cid, mx_error **err)
{
        att_row **rows = NULL;
        mx_network_attachment **v = NULL;
        size_t n = 0;
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        r = select_rows(&rows, &n, ctx, "container_id = ?1", cid, NULL, err);
        if (r < 0)
                return r;
        if (n) {
                v = calloc(n, sizeof(*v));
                if (!v) {
                        att_rows_free(rows, n);
                        return mx_error_oom(err);
                }
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = row_to_attachment(&v[i], ctx, rows[i], err);
        att_rows_free(rows, n);
        if (r < 0) {
                mx_network_attachment_list_free(v, n);
                return r;
        }
        *out = v;
        *n_out = n;
        return 0;
}

int mx_network__attachments_of(mx_network_attachment ***out, size_t *n_out, const mx_netctx *ctx,
                               const char *network, mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *net = NULL;
        att_row **rows = NULL;
        mx_network_attachment **v = NULL;
        size_t n = 0;
        int r = mx_network__lookup(&net, ctx, network, err);

        if (r < 0)
                return r;
        r = select_rows(&rows, &n, ctx, "network_id = ?1", net->id, NULL, err);
        if (r < 0)
                return r;
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v) {
                att_rows_free(rows, n);
                return mx_error_oom(err);
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = row_to_attachment(&v[i], ctx, rows[i], err);
        att_rows_free(rows, n);
        if (r < 0) {
                mx_network_attachment_list_free(v, n);
                return r;
        }
        *out = v;
        *n_out = n;
        return 0;
}

/* ---- hosts and peers ----------------------------------------------------------------- */

static int hosts_text(char **out, const mx_netctx *ctx, const char *cid, int with_localhost,
                      mx_error **err);

int mx_network__hosts_file(char **out, const mx_netctx *ctx, const char *cid, mx_error **err)
{
        return hosts_text(out, ctx, cid, 1, err);
}

static int hosts_text(char **out, const mx_netctx *ctx, const char *cid, int with_localhost,
                      mx_error **err)
{
        att_row **self = NULL, **peers = NULL;
        size_t n_self = 0, n_peers = 0, n_ent = 0;
        mx_hosts_entry *ent = NULL;
        cleanup_free char *self_names = NULL;
        const char *self_ip = NULL;
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        r = select_rows(&self, &n_self, ctx, "container_id = ?1 AND state = 'attached'", cid, NULL,
                        err);
        if (r < 0)
                return r;
        r = select_rows(&peers, &n_peers, ctx,
                        "container_id != ?1 AND state = 'attached' AND network_id IN (SELECT "
                        "network_id FROM net_attachments WHERE container_id = ?1 AND state = "
                        "'attached')",
                        cid, NULL, err);
        if (r < 0) {
                att_rows_free(self, n_self);
                return r;
        }
        if (n_self) {
                const att_row *s = self[0];

                self_ip = s->ip;
                /* the hostname first, unless it is already one of the names (the short ID
                 * is the default hostname and always a name) */
                if (*s->hostname && !word_in(s->names, s->hostname)) {
                        if (asprintf(&self_names, "%s %s", s->hostname, s->names) < 0)
                                r = mx_error_oom(err);
                } else {
                        self_names = strdup(s->names);
                        if (!self_names)
                                r = mx_error_oom(err);
                }
        }
        if (r >= 0 && n_peers) {
                ent = calloc(n_peers, sizeof(*ent));
                if (!ent)
                        r = mx_error_oom(err);
        }
        for (size_t i = 0; r >= 0 && i < n_peers; i++) {
                ent[n_ent].ip = peers[i]->ip;
                ent[n_ent].names = peers[i]->names;
                n_ent++;
        }
        if (r >= 0)
                r = mx_hosts__render(out, self_ip, self_names, ent, n_ent, with_localhost, err);
        free(ent);
        att_rows_free(self, n_self);
        att_rows_free(peers, n_peers);
        return r;
}

int mx_network__peers(char ***out, const mx_netctx *ctx, const char *cid, mx_error **err)
{
        att_row **peers = NULL;
        size_t n = 0;
        char **ids = NULL;
        int r = mx_netdb__ensure(ctx->db, err);

        if (r < 0)
                return r;
        r = select_rows(&peers, &n, ctx,
                        "container_id != ?1 AND state = 'attached' AND network_id IN (SELECT "
                        "network_id FROM net_attachments WHERE container_id = ?1)",
                        cid, NULL, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                if (!mx_strv_contains(ids, peers[i]->container_id) &&
                    mx_strv_push(&ids, peers[i]->container_id) < 0)
                        r = mx_error_oom(err);
        att_rows_free(peers, n);
        if (r < 0) {
                mx_strv_free(ids);
                return r;
        }
        if (!ids) {
                ids = calloc(1, sizeof(*ids));
                if (!ids)
                        return mx_error_oom(err);
        }
        *out = ids;
        return 0;
}

static void refresh_one(const mx_netctx *ctx, const char *cid)
{
        cleanup_free char *path = NULL, *block = NULL, *merged = NULL;
        cleanup_buf mx_buf cur = MX_BUF_INIT;
        cleanup_close int fd = -1;
        size_t off = 0, len;

        if (asprintf(&path, "%s/containers/%s/hosts", ctx->root, cid) < 0)
                return;
        if (mx_buf_read_file(&cur, path, 1024 * 1024, NULL) < 0)
                return; /* not a runtime container (or no hosts file): nothing to keep current */
        if (hosts_text(&block, ctx, cid, 0, NULL) < 0 ||
            mx_hosts__merge(&merged, cur.ptr, block, NULL) < 0)
                return;
        if (strcmp(merged, cur.ptr) == 0)
                return;
        /* In place, not by rename: the running container holds this inode. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        len = strlen(merged);
        while (off < len) {
                ssize_t w = write(fd, merged + off, len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                off += (size_t)w;
        }
}

void mx_network__hosts_refresh(const mx_netctx *ctx, const char *cid, char **also)
{
        char **peers = NULL;

        refresh_one(ctx, cid);
        if (mx_network__peers(&peers, ctx, cid, NULL) == 0) {
                MX_STRV_FOREACH (p, peers) {
                        refresh_one(ctx, p);
                }
        }
        MX_STRV_FOREACH (p, also) {
                if (!mx_strv_contains(peers, p))
                        refresh_one(ctx, p);
        }
        mx_strv_free(peers);
}
