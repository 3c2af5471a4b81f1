/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's wiring of networks, ports, volumes and health checks (netwire.c). */
#ifndef MX_RUNTIME_NETWIRE_H
#define MX_RUNTIME_NETWIRE_H

#include <jansson.h>

#include <myrmex/metrics.h>
#include <myrmex/network.h>

#include "runtime-internal.h"

/* At create: resolve networks (checked to exist) and ports into cfg "_networks", "_ports"
 * (and "_ports_discarded" under none/host); normalizes "network_mode". */
int mx_runtime__net_plan(mx_runtime *rt, json_t *cfg, const json_t *img_cfg, mx_error **err);
/* 1 when the container joins CNI networks (its bundle names our namespace file). */
int mx_runtime__net_wanted(const json_t *cfg);
/* <root>/run/netns/<id>: where src/network puts the container's namespace. */
char *mx_runtime__netns_path(const mx_runtime *rt, const char *id);
/* "_ports" objects back to mappings (caller frees *out). -1 on OOM. */
int mx_runtime__mappings_from_json(const json_t *arr, mx_port_mapping **out, size_t *n_out);
/* In the monitor, before the first start: attach every network (all or none). */
int mx_runtime__net_setup(mx_runtime *rt, const char *id, const char *name, const json_t *cfg,
                          mx_error **err);
/* After the last exit (release = 0) or at rm (release = 1, volumes = rm -v). */
void mx_runtime__net_teardown(mx_runtime *rt, const char *id, int release, int volumes);
/* Drop a container's volume references (anonymous: remove its anonymous volumes). */
void mx_runtime__volumes_release(mx_runtime *rt, const char *id, int anonymous);
/* Detach what dead containers left behind. Errors ignored. */
void mx_runtime__net_cleanup_stale(mx_runtime *rt);
/* inspect's NetworkSettings. */
json_t *mx_runtime__net_settings(mx_runtime *rt, const char *id, const json_t *cfg);
/* ps's PORTS cell (caller frees). */
char *mx_runtime__ports_cell(mx_runtime *rt, const char *id, const json_t *cfg, int running);

/* At create, after the root filesystem is mounted: volumes created, used and seeded from
 * rootfs, binds and tmpfs; *oci_out the OCI mounts for the bundle; cfg "_mounts" gets
 * Docker's inspect Mounts. */
int mx_runtime__mounts_plan(mx_runtime *rt, json_t *cfg, const char *id, const char *rootfs,
                            json_t **oci_out, mx_error **err);

/* At create: the image's HEALTHCHECK merged with the flags into cfg "_healthcheck". */
int mx_runtime__health_plan(json_t *cfg, const json_t *img_cfg, mx_error **err);
/* The container's health check (NULL: none). */
int mx_runtime__health_config(mx_health_config **out, const json_t *cfg);
/* containers/<id>/health.json: State.Health, written by the monitor. */
char *mx_runtime__health_path(const mx_runtime *rt, const char *id);
json_t *mx_runtime__health_read(const mx_runtime *rt, const char *id);

#endif
