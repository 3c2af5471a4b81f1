/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file common.h
 * Macros shared by every public myrmex header.
 */
#ifndef MYRMEX_COMMON_H
#define MYRMEX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MX_BEGIN_DECLS extern "C" {
#define MX_END_DECLS   }
#else
#define MX_BEGIN_DECLS
#define MX_END_DECLS
#endif

#define MX_EXTERN             __attribute__((visibility("default")))
#define MX_WARN_UNUSED_RESULT __attribute__((warn_unused_result))

MX_BEGIN_DECLS

/** The library's version string, e.g. "0.1.0". Static storage. */
MX_EXTERN const char *mx_version(void);

/**
 * Free memory that the library returned as a plain buffer (strings, JSON texts).
 * Never pass library objects; they have their own _free functions.
 */
MX_EXTERN void mx_free(void *ptr);

MX_END_DECLS

#endif
