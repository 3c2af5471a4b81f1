/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file progress.h
 * Progress reports from long work (pulls, pushes, loads, unpacks, builds). The library
 * calls the callback; the application draws it (the CLI: bars on a terminal, plain lines
 * otherwise).
 */
#ifndef MYRMEX_PROGRESS_H
#define MYRMEX_PROGRESS_H

#include <myrmex/common.h>

MX_BEGIN_DECLS

typedef enum mx_progress_state {
        MX_PROGRESS_START = 0, /**< work on this item began; total may be known */
        MX_PROGRESS_UPDATE,    /**< current moved */
        MX_PROGRESS_DONE,      /**< the item is complete */
        MX_PROGRESS_SKIPPED,   /**< the item was already there ("Already exists") */
        MX_PROGRESS_FAILED,    /**< the item failed; the error comes back from the call */
} mx_progress_state;

typedef struct mx_progress_event {
        mx_progress_state state;
        const char *action; /**< "pull", "push", "unpack", "load", "save", "build", ... */
        const char *id;     /**< what it is about, e.g. a layer digest; borrowed */
        uint64_t current;   /**< bytes (or units) done so far */
        uint64_t total;     /**< 0 when unknown */
} mx_progress_event;

/** Called from the thread doing the work; must not call back into the same store call. */
typedef void (*mx_progress_cb)(const mx_progress_event *event, void *userdata);

MX_END_DECLS

#endif
