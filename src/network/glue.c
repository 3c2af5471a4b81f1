/* SPDX-License-Identifier: Apache-2.0 */
/* The public entry points: a store handle in, the module's context out, errors wrapped so
 * that the outermost domain is the module's. */
#include <stdlib.h>
#include <string.h>

#include <myrmex/network.h>
#include <myrmex/store.h>
#include <myrmex/volume.h>

#include "error-internal.h"
#include "netdb.h"
#include "network-internal.h"
#include "store/store-internal.h"

int mx_netctx__from_store(mx_netctx *out, struct mx_store *store, mx_error **err)
{
        static const char *const steps[] = {mx_netdb__schema};
        int r;

        if (!store)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no store");
        r = mx_store__schema(store, "network", steps, MX_ARRAY_SIZE(steps), err);
        if (r < 0)
                return r;
        out->db = mx_store__db(store);
        out->root = mx_store_root(store);
        out->cni_path = NULL;
        return 0;
}

/* Keep the outermost domain ours (the Python face picks the exception class from it). */
static int own(int r, mx_error **err, mx_domain d, const char *what, const char *name)
{
        if (r < 0 && err && *err && (*err)->domain != d)
                return mx_error_wrap(err, d, "%s '%s'", what, name ? name : "");
        return r;
}

#define CTX_OR_RETURN(store, domain)                                         \
        mx_netctx ctx;                                                       \
        do {                                                                 \
                int _r = mx_netctx__from_store(&ctx, (store), err);          \
                if (_r < 0)                                                  \
                        return own(_r, err, (domain), "open the store", ""); \
        } while (0)

int mx_network_create(mx_network_info **out, struct mx_store *store,
                      const mx_network_create_opts *opts, mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *rec = NULL;
        int r;

        if (!opts || opts->version != MX_NETWORK_CREATE_OPTS_VERSION)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0,
                                    "network create needs options of version %d",
                                    MX_NETWORK_CREATE_OPTS_VERSION);
        CTX_OR_RETURN(store, MX_D_NETWORK);
        r = mx_network__create(&rec, &ctx, opts, err);
        if (r >= 0 && out)
                r = mx_network__info(out, &ctx, rec, err);
        return own(r, err, MX_D_NETWORK, "create network", opts->name);
}

int mx_network_inspect(mx_network_info **out, struct mx_store *store, const char *name,
                       mx_error **err)
{
        cleanup(mx_net_rec_freep) mx_net_rec *rec = NULL;
        int r;

        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        r = mx_network__lookup(&rec, &ctx, name, err);
        if (r >= 0)
                r = mx_network__info(out, &ctx, rec, err);
        return own(r, err, MX_D_NETWORK, "inspect network", name);
}

int mx_network_list(mx_network_info ***out, size_t *n_out, struct mx_store *store, mx_error **err)
{
        mx_net_rec **recs = NULL;
        mx_network_info **v = NULL;
        size_t n = 0;
        int r;

        if (!out || !n_out)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        r = mx_network__list(&recs, &n, &ctx, err);
        if (r < 0)
                return own(r, err, MX_D_NETWORK, "list networks", "");
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                r = mx_error_oom(err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = mx_network__info(&v[i], &ctx, recs[i], err);
        for (size_t i = 0; i < n; i++)
                mx_net_rec_free(recs[i]);
        free(recs);
        if (r < 0) {
                mx_network_info_list_free(v, n);
                return own(r, err, MX_D_NETWORK, "list networks", "");
        }
        *out = v;
        *n_out = n;
        return 0;
}

int mx_network_remove(struct mx_store *store, const char *name, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__remove(&ctx, name, err), err, MX_D_NETWORK, "remove network", name);
}

int mx_network_prune(char ***removed_out, struct mx_store *store, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__prune(removed_out, &ctx, err), err, MX_D_NETWORK, "prune networks",
                   "");
}

int mx_network_attach(mx_network_attachment **out, struct mx_store *store, const char *cid,
                      const char *network, const mx_network_attach_opts *opts, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__attach(out, &ctx, cid, network, opts, err), err, MX_D_NETWORK,
                   "attach container", cid);
}

int mx_network_setup(char **netns_out, struct mx_store *store, const char *cid,
                     const char *const *networks, const mx_network_attach_opts *opts,
                     mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__setup(netns_out, &ctx, cid, networks, opts, err), err, MX_D_NETWORK,
                   "set up the networks of", cid);
}

int mx_network_detach(struct mx_store *store, const char *cid, const char *network, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__detach(&ctx, cid, network, err), err, MX_D_NETWORK,
                   "detach container", cid);
}

int mx_network_release(struct mx_store *store, const char *cid, const char *network, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__release(&ctx, cid, network, err), err, MX_D_NETWORK,
                   "release container", cid);
}

int mx_network_set_owner(struct mx_store *store, const char *cid, int pid, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__set_owner(&ctx, cid, pid, err), err, MX_D_NETWORK,
                   "record network owner of", cid);
}

int mx_network_cleanup_stale(size_t *n_cleaned_out, struct mx_store *store, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__cleanup_stale(n_cleaned_out, &ctx, err), err, MX_D_NETWORK,
                   "clean up stale networks", "");
}

int mx_network_container_attachments(mx_network_attachment ***out, size_t *n_out,
                                     struct mx_store *store, const char *cid, mx_error **err)
{
        if (!out || !n_out || !cid)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output or container");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__attachments(out, n_out, &ctx, cid, err), err, MX_D_NETWORK,
                   "list networks of", cid);
}

int mx_network_attachments(mx_network_attachment ***out, size_t *n_out, struct mx_store *store,
                           const char *network, mx_error **err)
{
        if (!out || !n_out || !network)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output or network");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__attachments_of(out, n_out, &ctx, network, err), err, MX_D_NETWORK,
                   "list containers of network", network);
}

int mx_network_hosts_file(char **out, struct mx_store *store, const char *cid, mx_error **err)
{
        if (!out || !cid)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output or container");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__hosts_file(out, &ctx, cid, err), err, MX_D_NETWORK,
                   "make the hosts file of", cid);
}

int mx_network_peers(char ***out, struct mx_store *store, const char *cid, mx_error **err)
{
        if (!out || !cid)
                return mx_error_set(err, MX_EINVAL, MX_D_NETWORK, 0, "no output or container");
        CTX_OR_RETURN(store, MX_D_NETWORK);
        return own(mx_network__peers(out, &ctx, cid, err), err, MX_D_NETWORK, "list peers of", cid);
}

/* ---- volumes ------------------------------------------------------------------------- */

int mx_volume_create(mx_volume_info **out, struct mx_store *store,
                     const mx_volume_create_opts *opts, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__create(out, &ctx, opts, 0, err), err, MX_D_RUNTIME, "create volume",
                   opts ? opts->name : "");
}

int mx_volume_inspect(mx_volume_info **out, struct mx_store *store, const char *name,
                      mx_error **err)
{
        if (!out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no output");
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__inspect(out, &ctx, name, err), err, MX_D_RUNTIME, "inspect volume",
                   name);
}

int mx_volume_list(mx_volume_info ***out, size_t *n_out, struct mx_store *store, mx_error **err)
{
        if (!out || !n_out)
                return mx_error_set(err, MX_EINVAL, MX_D_RUNTIME, 0, "no output");
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__list(out, n_out, &ctx, err), err, MX_D_RUNTIME, "list volumes", "");
}

int mx_volume_remove(struct mx_store *store, const char *name, int force, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__remove(&ctx, name, force, err), err, MX_D_RUNTIME, "remove volume",
                   name);
}

int mx_volume_prune(char ***removed_out, uint64_t *reclaimed_out, struct mx_store *store, int all,
                    mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__prune(removed_out, reclaimed_out, &ctx, all, err), err, MX_D_RUNTIME,
                   "prune volumes", "");
}

int mx_volume_use(mx_volume_info **out, struct mx_store *store, const mx_mount_spec *spec,
                  const char *cid, const char *image_rootfs, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__use(out, &ctx, spec, cid, image_rootfs, err), err, MX_D_RUNTIME,
                   "mount volume for", cid);
}

int mx_volume_release(struct mx_store *store, const char *cid, int remove_anonymous, mx_error **err)
{
        CTX_OR_RETURN(store, MX_D_RUNTIME);
        return own(mx_volume__release(&ctx, cid, remove_anonymous, err), err, MX_D_RUNTIME,
                   "release volumes of", cid);
}
