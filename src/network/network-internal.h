/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside src/network: the CNI driver, namespace files, and the records in SQLite. */
#ifndef MX_NETWORK_INTERNAL_H
#define MX_NETWORK_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include <myrmex/metrics.h>
#include <myrmex/network.h>
#include <myrmex/volume.h>

#include "cleanup.h"

#define MX_CNI_VERSION      "1.0.0"
#define MX_CNI_DEFAULT_PATH "/usr/lib/cni"
#define MX_CNI_RESULT_MAX   (1024 * 1024)
#define MX_CNI_TIMEOUT_MS   120000
/* Not podman's 10.88.0.0/16 (nor its 10.89.N.0/24 user networks): both tools run side by side
 * on one host, and a second bridge on the same subnet breaks routing for both. */
#define MX_NETWORK_DEFAULT_SUBNET "10.77.0.0/16"

/* What every network function needs: the database and where the store lives. The public
 * functions fill it from the store handle; tests fill it by hand. */
typedef struct mx_netctx {
        sqlite3 *db;          /* borrowed */
        const char *root;     /* store root; networks/, volumes/, run/netns/ below it */
        const char *cni_path; /* NULL: $MYRMEX_CNI_PATH, then /usr/lib/cni */
} mx_netctx;

/* Filled from the store handle (glue.c). */
int mx_netctx__from_store(mx_netctx *out, struct mx_store *store, mx_error **err);

/* ---- CNI ---------------------------------------------------------------------------- */

/* A parsed CNI result (spec 1.0.0, and 0.4.0 which has the same shape). */
typedef struct mx_cni_ip {
        char *address; /* CIDR "10.88.0.2/16" */
        char *gateway; /* may be NULL */
        int interface; /* index into interfaces, -1 when absent */
} mx_cni_ip;

typedef struct mx_cni_iface {
        char *name;
        char *mac;     /* may be NULL */
        char *sandbox; /* may be NULL (host side) */
} mx_cni_iface;

typedef struct mx_cni_result {
        char *cni_version;
        mx_cni_iface *ifaces;
        size_t n_ifaces;
        mx_cni_ip *ips;
        size_t n_ips;
} mx_cni_result;

void mx_cni_result_free(mx_cni_result *r);
MX_DEFINE_FREEP(mx_cni_result, mx_cni_result_free)

/* Parse a result (untrusted: it comes from a plugin). MX_EFORMAT on anything malformed. */
int mx_cni__parse_result(mx_cni_result **out, const char *data, size_t len, mx_error **err);

/* The first IPv4 address of the interface inside the sandbox: ip (no prefix), prefix,
 * gateway, mac. Each output may be NULL. MX_ENOTFOUND when none. Caller frees strings. */
int mx_cni__result_primary(const mx_cni_result *r, char **ip, int *prefix, char **gateway,
                           char **mac, mx_error **err);

/* The network record the CNI config is generated from. */
typedef struct mx_net_rec {
        char *id;
        char *name;
        char *driver;
        char *bridge;
        char *subnet;
        char *gateway;
        int internal;
        int64_t created;
        char *labels;
} mx_net_rec;

void mx_net_rec_free(mx_net_rec *n);
MX_DEFINE_FREEP(mx_net_rec, mx_net_rec_free)

/* The conflist for a network: bridge (+host-local with data_dir), portmap, firewall. */
int mx_cni__conflist(json_t **out, const mx_net_rec *net, const char *ipam_data_dir,
                     mx_error **err);

/* Run one plugin. cmd is "ADD", "DEL" or "CHECK". The result of ADD is returned in
 * result_out (may be NULL for DEL). A plugin error becomes MX_EFAIL with its msg/details. */
int mx_cni__exec_plugin(json_t **result_out, const mx_netctx *ctx, const char *cmd,
                        const json_t *netconf, const char *container_id, const char *netns,
                        const char *ifname, mx_error **err);

/* Run a conflist (spec "Executing a plugin list"): ADD in order with prevResult chaining;
 * on failure the plugins already run are DELeted in reverse. runtime_config holds the
 * capability arguments (portMappings, ips); only plugins declaring a capability get it. */
/* progress, when set, gets the result so far after each plugin's ADD succeeded (before the
 * next one runs), so the caller can record it: a crash then still has a prevResult to DEL
 * with (the firewall plugin removes nothing without one). */
typedef void (*mx_cni_progress_fn)(void *userdata, const json_t *result_so_far);
int mx_cni__add_list(json_t **result_out, const mx_netctx *ctx, const json_t *conflist,
                     const json_t *runtime_config, const char *container_id, const char *netns,
                     const char *ifname, mx_cni_progress_fn progress, void *userdata,
                     mx_error **err);
/* DEL in reverse order with prev_result (NULL allowed); every plugin is run even when one
 * fails; the first error is returned. */
int mx_cni__del_list(const mx_netctx *ctx, const json_t *conflist, const json_t *runtime_config,
                     const json_t *prev_result, const char *container_id, const char *netns,
                     const char *ifname, mx_error **err);

/* Bring up lo inside netns with the loopback plugin. */
int mx_cni__loopback(const mx_netctx *ctx, const char *container_id, const char *netns,
                     mx_error **err);

/* ---- Network namespace files --------------------------------------------------------- */

/* Create dir/name as a new network namespace file (unshare + bind mount of
 * /proc/self/ns/net). MX_EEXISTS when it is already a namespace. */
int mx_netns__create(const char *path, mx_error **err);
/* Unmount and remove; a missing file is success. */
int mx_netns__remove(const char *path, mx_error **err);
/* 1 if path is a mounted network namespace file. */
int mx_netns__is_netns(const char *path);
/* 1 if any process on the host lives in the namespace at path. */
int mx_netns__has_processes(const char *path);

/* ---- Records ------------------------------------------------------------------------- */

int mx_netdb__ensure(sqlite3 *db, mx_error **err);

/* Networks */
int mx_network__create(mx_net_rec **out, const mx_netctx *ctx, const mx_network_create_opts *o,
                       mx_error **err);
int mx_network__lookup(mx_net_rec **out, const mx_netctx *ctx, const char *name_or_id,
                       mx_error **err);
int mx_network__list(mx_net_rec ***out, size_t *n_out, const mx_netctx *ctx, mx_error **err);
int mx_network__count_attached(size_t *out, const mx_netctx *ctx, const char *network_id,
                               mx_error **err);
int mx_network__remove(const mx_netctx *ctx, const char *name_or_id, mx_error **err);
int mx_network__prune(char ***removed_out, const mx_netctx *ctx, mx_error **err);
int mx_network__info(mx_network_info **out, const mx_netctx *ctx, const mx_net_rec *rec,
                     mx_error **err);

/* Attachments */
int mx_network__attach(mx_network_attachment **out, const mx_netctx *ctx, const char *container_id,
                       const char *network, const mx_network_attach_opts *opts, mx_error **err);
int mx_network__setup(char **netns_out, const mx_netctx *ctx, const char *container_id,
                      const char *const *networks, const mx_network_attach_opts *opts,
                      mx_error **err);
int mx_network__detach(const mx_netctx *ctx, const char *container_id, const char *network,
                       mx_error **err);
int mx_network__release(const mx_netctx *ctx, const char *container_id, const char *network,
                        mx_error **err);
int mx_network__set_owner(const mx_netctx *ctx, const char *container_id, int pid, mx_error **err);
int mx_network__cleanup_stale(size_t *n_out, const mx_netctx *ctx, mx_error **err);
int mx_network__attachments(mx_network_attachment ***out, size_t *n_out, const mx_netctx *ctx,
                            const char *container_id, mx_error **err);
int mx_network__attachments_of(mx_network_attachment ***out, size_t *n_out, const mx_netctx *ctx,
                               const char *network, mx_error **err);
int mx_network__hosts_file(char **out, const mx_netctx *ctx, const char *container_id,
                           mx_error **err);
int mx_network__peers(char ***out, const mx_netctx *ctx, const char *container_id, mx_error **err);

/* Ports stored as JSON in attachment rows. */
json_t *mx_ports__to_json(const mx_port_mapping *p, size_t n);
int mx_ports__from_json(mx_port_mapping **out, size_t *n_out, const json_t *arr, mx_error **err);

/* Hosts text from resolved entries (pure, tested on its own). */
typedef struct mx_hosts_entry {
        const char *ip;
        const char *names; /* space-separated */
} mx_hosts_entry;
int mx_hosts__render(char **out, const char *self_ip, const char *self_names,
                     const mx_hosts_entry *peers, size_t n_peers, int with_localhost,
                     mx_error **err);
/* existing hosts text with its myrmex block (if any) replaced by block (none when empty):
 * the runtime's own lines (localhost, --add-host) are kept as they are. */
int mx_hosts__merge(char **out, const char *existing, const char *block, mx_error **err);
/* Rewrite the myrmex block of <root>/containers/<id>/hosts (when that file exists), in place
 * (the container sees it through its bind mount). Best effort. */
void mx_network__hosts_refresh(const mx_netctx *ctx, const char *container_id, char **also);

/* Volumes */
int mx_volume__create(mx_volume_info **out, const mx_netctx *ctx, const mx_volume_create_opts *o,
                      int anonymous, mx_error **err);
int mx_volume__inspect(mx_volume_info **out, const mx_netctx *ctx, const char *name,
                       mx_error **err);
int mx_volume__list(mx_volume_info ***out, size_t *n_out, const mx_netctx *ctx, mx_error **err);
int mx_volume__remove(const mx_netctx *ctx, const char *name, int force, mx_error **err);
int mx_volume__prune(char ***removed_out, uint64_t *reclaimed_out, const mx_netctx *ctx, int all,
                     mx_error **err);
int mx_volume__use(mx_volume_info **out, const mx_netctx *ctx, const mx_mount_spec *spec,
                   const char *container_id, const char *image_rootfs, mx_error **err);
int mx_volume__release(const mx_netctx *ctx, const char *container_id, int remove_anonymous,
                       mx_error **err);

/* Helpers */
int mx_net__valid_name(const char *name);
void mx_net__strv_free(char **v);

MX_DEFINE_FREEP(mx_network_info, mx_network_info_free)
MX_DEFINE_FREEP(mx_network_attachment, mx_network_attachment_free)
MX_DEFINE_FREEP(mx_volume_info, mx_volume_info_free)
MX_DEFINE_FREEP(mx_mount_spec, mx_mount_spec_free)
MX_DEFINE_FREEP(mx_health, mx_health_free)
MX_DEFINE_FREEP(mx_health_config, mx_health_config_free)

#endif
