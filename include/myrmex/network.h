/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file network.h
 * Container networks on the CNI plugins (bridge, host-local, portmap, firewall, loopback):
 * network objects kept in the store, attaching a container's network namespace to them,
 * published ports, and the /etc/hosts text that lets peers reach each other by name.
 *
 * Errors carry the domain MX_D_NETWORK. Every function is safe to call from several
 * processes on one store at once (SQLite transactions; host-local and iptables lock on
 * their own). None is thread-safe on one store handle unless the store says so.
 */
#ifndef MYRMEX_NETWORK_H
#define MYRMEX_NETWORK_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/* The store handle is struct mx_store (include/myrmex/store.h); named by its tag here so
 * this header does not depend on that one. */
struct mx_store;

/** Name of the network every container joins when none is named, as in Docker. */
#define MX_NETWORK_DEFAULT "bridge"

/* ------------------------------------------------------------------------------------ */
/* Published ports                                                                       */

/** One published port. host_port 0 means "pick a free port at attach time". */
typedef struct mx_port_mapping {
        char host_ip[64];        /**< "" for every address, else an IPv4/IPv6 literal */
        uint16_t host_port;      /**< first host port, 0: any free port */
        uint16_t host_port_end;  /**< 0, or the last port of a host range to pick one from */
        uint16_t container_port; /**< port inside the container */
        char protocol[8];        /**< "tcp", "udp" or "sctp" */
} mx_port_mapping;

/**
 * Parse one `-p` / `--publish` value as Docker does: `[IP:][HOSTPORT:]PORT[/PROTO]`, where
 * HOSTPORT and PORT may be ranges (`8000-8009:80-89`, same length; a host range with one
 * container port picks one free host port from the range) and an IPv6 IP is bracketed
 * (`[::1]:8080:80`). `IP::PORT` publishes on IP with a free host port.
 *
 * @param out   receives an array of *n_out mappings (one per port of a range); the caller
 *              frees it with mx_free()
 * @return 0, or MX_EINVAL (domain MX_D_NETWORK) on a malformed value
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_port_parse(mx_port_mapping **out, size_t *n_out,
                                                  const char *spec, mx_error **err);

/**
 * Mappings for `-P`: every exposed port (image ExposedPorts keys such as "80/tcp",
 * "53/udp", or "8000-8002/tcp") published on a free host port.
 * @param exposed NULL-terminated list
 * @param out     caller frees with mx_free()
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_port_publish_all(mx_port_mapping **out, size_t *n_out,
                                                        const char *const *exposed, mx_error **err);

/**
 * Format a mapping as `docker port` prints it: "80/tcp -> 0.0.0.0:8080".
 * Caller frees with mx_free(). NULL on OOM.
 */
MX_EXTERN char *mx_port_format(const mx_port_mapping *m);

/**
 * The seed's ContainerConfig `ports` (docker-py's shapes) as mappings:
 * `{"80/tcp": 8080}`, `{"80": 8080}` (tcp), `{"80/tcp": null}` (any free host port),
 * `{"80/tcp": ["127.0.0.1", 8080]}` (address and port), `{"80/tcp": [8080, 8081]}` (several
 * host ports), `{"80/tcp": "8080"}`. Caller frees *out with mx_free().
 * @return 0, MX_EINVAL / MX_EFORMAT (domain MX_D_NETWORK) naming the bad key
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_port_parse_seed(mx_port_mapping **out, size_t *n_out,
                                                       const char *ports_json, mx_error **err);

/**
 * `docker ps`'s PORTS cell for mappings: "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp".
 * Caller frees with mx_free(). NULL on OOM.
 */
MX_EXTERN char *mx_port_format_list(const mx_port_mapping *m, size_t n);

/**
 * A container's /etc/resolv.conf: `dns` servers (--dns) when given, else the host's
 * nameservers minus loopback ones (unreachable from a network namespace, as Docker drops
 * them), else none; `search` (--dns-search) replaces the host's search line when given;
 * `options` (--dns-option) are added. host_resolv_conf is the host file's text (may be NULL).
 * Every value is checked (no spaces, no newlines). Caller frees *out with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_resolv_conf(char **out, const char *host_resolv_conf, const char *const *dns,
                       const char *const *search, const char *const *options, mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* Network objects                                                                       */

/** A network as `network inspect` shows it. Free with mx_network_info_free(). */
typedef struct mx_network_info {
        char *id;            /**< 64 hex */
        char *name;          /**< user name, "bridge" for the default */
        char *driver;        /**< "bridge" */
        char *bridge;        /**< Linux bridge device, e.g. "mx0" */
        char *subnet;        /**< IPv4 CIDR */
        char *gateway;       /**< IPv4 address */
        int internal;        /**< 1: no masquerade, no route out */
        int64_t created;     /**< Unix seconds */
        char *labels_json;   /**< JSON object text, "{}" when none */
        size_t n_containers; /**< containers attached right now */
} mx_network_info;

/** Free a network record; NULL is fine. */
MX_EXTERN void mx_network_info_free(mx_network_info *info);
/** Free an array returned by mx_network_list(). */
MX_EXTERN void mx_network_info_list_free(mx_network_info **list, size_t n);

#define MX_NETWORK_CREATE_OPTS_VERSION 1
typedef struct mx_network_create_opts {
        int version;             /**< MX_NETWORK_CREATE_OPTS_VERSION */
        const char *name;        /**< required: [a-zA-Z0-9][a-zA-Z0-9_.-]* up to 64 chars */
        const char *driver;      /**< NULL or "bridge" (the only driver) */
        const char *subnet;      /**< NULL: the first free 10.78.N.0/24 */
        const char *gateway;     /**< NULL: the subnet's first address */
        int internal;            /**< 1: no NAT to the outside */
        const char *labels_json; /**< NULL or a JSON object of strings */
} mx_network_create_opts;
#define MX_NETWORK_CREATE_OPTS_INIT                                             \
        {                                                                       \
                MX_NETWORK_CREATE_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, NULL \
        }

/**
 * Create a user network (no device is made until a container attaches).
 * @param out NULL or receives the new record (caller frees)
 * @return 0; MX_EEXISTS for a taken name; MX_EINVAL for a bad name, subnet or gateway, or a
 *         subnet overlapping another network's
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_create(mx_network_info **out, struct mx_store *store,
                                                      const mx_network_create_opts *opts,
                                                      mx_error **err);

/**
 * Look a network up by name, full ID or unique ID prefix. The default "bridge" network is
 * created on first use. @return 0, MX_ENOTFOUND, MX_EAMBIGUOUS
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_inspect(mx_network_info **out,
                                                       struct mx_store *store,
                                                       const char *name_or_id, mx_error **err);

/** All networks, sorted by name (the default one included). Free with mx_network_info_list_free. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_list(mx_network_info ***out, size_t *n_out,
                                                    struct mx_store *store, mx_error **err);

/**
 * Remove a network. Refuses the default network (MX_EINVAL) and one with containers
 * attached (MX_EBUSY). Its bridge device is deleted when it exists.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_remove(struct mx_store *store,
                                                      const char *name_or_id, mx_error **err);

/**
 * Remove every user network no container uses.
 * @param removed_out NULL, or receives a NULL-terminated list of the names removed
 *                    (free each and the list with mx_free())
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_prune(char ***removed_out, struct mx_store *store,
                                                     mx_error **err);

/* ------------------------------------------------------------------------------------ */
/* Attaching containers                                                                  */

/** What one attachment gave the container. Free with mx_network_attachment_free(). */
typedef struct mx_network_attachment {
        char *container_id;
        char *network;    /**< network name */
        char *netns_path; /**< bind-mounted namespace file for linux.namespaces[].path */
        char *ifname;     /**< "eth0", "eth1", ... */
        char *ip;         /**< address without prefix, e.g. "10.88.0.2" */
        int prefix_len;   /**< e.g. 16 */
        char *gateway;
        char *mac;
        mx_port_mapping *ports; /**< what was published, host ports resolved */
        size_t n_ports;
        int attached; /**< 1: plumbed now; 0: recorded only (container stopped) */
        char *name;   /**< the container name given at attach, or NULL */
} mx_network_attachment;

MX_EXTERN void mx_network_attachment_free(mx_network_attachment *a);
MX_EXTERN void mx_network_attachment_list_free(mx_network_attachment **list, size_t n);

#define MX_NETWORK_ATTACH_OPTS_VERSION 1
typedef struct mx_network_attach_opts {
        int version;                  /**< MX_NETWORK_ATTACH_OPTS_VERSION */
        const char *container_name;   /**< name peers use in /etc/hosts (may be NULL) */
        const char *hostname;         /**< the container's hostname (may be NULL) */
        const char *const *aliases;   /**< NULL-terminated extra names, or NULL */
        const mx_port_mapping *ports; /**< published ports (only on the first network) */
        size_t n_ports;
        int owner_pid; /**< process that keeps this alive; 0: the caller */
        /** NULL: myrmex makes the namespace file (and removes it on detach); else an
         * existing namespace made by someone else (`ip netns add`, another sandbox), joined
         * and never removed by myrmex */
        const char *netns_path;
} mx_network_attach_opts;
#define MX_NETWORK_ATTACH_OPTS_INIT                                                \
        {                                                                          \
                MX_NETWORK_ATTACH_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, 0, NULL \
        }

/**
 * Attach a container to a network: create its network namespace file (once per
 * container, shared by all its networks, loopback brought up), run the network's CNI
 * chain (bridge+host-local, portmap, firewall) with CNI ADD, and record address, MAC and
 * ports. A container attached before (then detached by stop) asks host-local for the
 * same address again, so a restarted container keeps its address when it is still free.
 * Attaching an already attached container to the same network returns the existing
 * attachment. On failure nothing is left plumbed.
 *
 * @param out NULL or receives the attachment (caller frees)
 * @return 0; MX_ENOTFOUND (network); MX_EEXISTS (host port taken); MX_EFAIL and the
 *         plugin's message when a CNI plugin fails
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_attach(mx_network_attachment **out, struct mx_store *store, const char *container_id,
                  const char *network, const mx_network_attach_opts *opts, mx_error **err);

/**
 * The start path in one call: attach the container to each of networks in order (NULL or
 * empty: the default network), with opts->ports on the first one only, and hand back the
 * namespace path for config.json's linux.namespaces. On failure every network attached by
 * this call is detached again.
 * @param netns_path_out caller frees with mx_free()
 * @param networks NULL-terminated names or IDs, or NULL
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_setup(char **netns_path_out, struct mx_store *store, const char *container_id,
                 const char *const *networks, const mx_network_attach_opts *opts, mx_error **err);

/**
 * Undo mx_network_attach for one network, or for all of the container's networks when
 * network is NULL: CNI DEL (with the cached ADD result as prevResult), and once no network
 * is left plumbed the namespace file is unmounted and removed. The address stays recorded
 * so that the next attach asks for it again. Idempotent: a container never attached, or
 * already detached, or whose namespace is gone, is success.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_detach(struct mx_store *store,
                                                      const char *container_id, const char *network,
                                                      mx_error **err);

/**
 * Forget a container: detach it from network (NULL: from every network) and drop the
 * records, so its address is no longer kept (`rm`, `network disconnect`). Idempotent.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_release(struct mx_store *store,
                                                       const char *container_id,
                                                       const char *network, mx_error **err);

/**
 * Record the process that now keeps the container's network alive (its monitor, or the
 * container's init). Until then the attaching process counts.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_set_owner(struct mx_store *store, const char *container_id, int pid, mx_error **err);

/**
 * Detach every container whose owner process is gone and that has no process left in its
 * namespace (a container killed with its monitor, a client killed mid-attach). Safe to
 * call from every command. @param n_cleaned_out NULL or the number of containers cleaned
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_cleanup_stale(size_t *n_cleaned_out, struct mx_store *store, mx_error **err);

/** The container's attachments, attached or only recorded. Free with _list_free. */
MX_EXTERN MX_WARN_UNUSED_RESULT int
mx_network_container_attachments(mx_network_attachment ***out, size_t *n_out,
                                 struct mx_store *store, const char *container_id, mx_error **err);

/** Every container on a network (attached now or only recorded), by attach order. */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_attachments(mx_network_attachment ***out,
                                                           size_t *n_out, struct mx_store *store,
                                                           const char *network, mx_error **err);

/**
 * The container's /etc/hosts: localhost lines, its own address with its hostname and name,
 * and every peer attached on a network it shares, by name and aliases.
 * @param out caller frees with mx_free()
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_hosts_file(char **out, struct mx_store *store,
                                                          const char *container_id, mx_error **err);

/**
 * IDs of the containers sharing a network with this one (whose hosts files to rewrite
 * after it comes or goes). NULL-terminated; free each and the list with mx_free().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_network_peers(char ***out, struct mx_store *store,
                                                     const char *container_id, mx_error **err);

MX_END_DECLS

#endif
