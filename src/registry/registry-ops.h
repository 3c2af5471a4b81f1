/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by pull, push, copy and the public entry points. */
#ifndef MX_REGISTRY_OPS_H
#define MX_REGISTRY_OPS_H

#include <myrmex/registry.h>
#include <myrmex/store.h>

#include "registry-internal.h"

/* A client for ref's registry configured from the public options. */
int mx_registry__client_for(mx_registry_client **out, const mx_reg_ref *ref,
                            const mx_registry_opts *opts, int plain_http, int use_mirrors,
                            mx_error **err);

/* Report progress when the caller asked for it. */
void mx_registry__progress(const mx_registry_opts *opts, mx_progress_state state,
                           const char *action, const char *id, uint64_t cur, uint64_t total);

/* Download blobs into the store in parallel, each verified against its digest. */
int mx_registry__fetch_to_store(mx_registry_client *c, mx_store *s, const char *repo,
                                char *const *digests, const int64_t *sizes, size_t n,
                                const mx_registry_opts *opts, uint64_t *moved, mx_error **err);

/* GET ref's manifest; an index is narrowed to opts->platform. top_digest_out is what the
 * reference resolved to, digest_out the image manifest's digest. */
int mx_registry__resolve_image(mx_registry_client *c, const mx_reg_ref *ref,
                               const mx_registry_opts *opts, char **top_digest_out, char **data_out,
                               size_t *len_out, char **mt_out, char **digest_out, mx_error **err);

#endif
