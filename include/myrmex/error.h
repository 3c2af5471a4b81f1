/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file error.h
 * Error objects: a code, a domain, the errno or HTTP status where there is one, a
 * one-line message, and the error this one wraps.
 *
 * Every fallible function returns int: >= 0 on success, a negative MX_E* code on failure,
 * and fills *err when err is non-NULL. The caller owns *err and frees it with mx_error_free().
 */
#ifndef MYRMEX_ERROR_H
#define MYRMEX_ERROR_H

#include <myrmex/common.h>

MX_BEGIN_DECLS

/** Error codes; every function's negative return value is one of these. */
typedef enum mx_code {
        MX_OK = 0,
        MX_EFAIL = -1,        /**< unspecified failure */
        MX_ENOMEM = -2,       /**< out of memory */
        MX_EINVAL = -3,       /**< invalid argument or input */
        MX_ENOTFOUND = -4,    /**< no such image, blob, container, tag, file */
        MX_EEXISTS = -5,      /**< already exists */
        MX_EIO = -6,          /**< I/O error from the system */
        MX_EDIGEST = -7,      /**< content does not match its digest */
        MX_EFORMAT = -8,      /**< malformed input (JSON, tar, manifest, ...) */
        MX_EUNSUPPORTED = -9, /**< valid but not supported (media type, platform, ...) */
        MX_EBUSY = -10,       /**< in use (mounted image, running container, lock) */
        MX_EAMBIGUOUS = -11,  /**< an ID prefix matches more than one object */
        MX_EAUTH = -12,       /**< authentication or authorization refused */
        MX_ENET = -13,        /**< network failure */
        MX_ETIMEOUT = -14,    /**< timed out */
        MX_EUNSAFE = -15,     /**< refused as unsafe (path escape, device, ...) */
        MX_ECORRUPT = -16,    /**< the store is inconsistent */
        MX_EDENIED = -17,     /**< permission denied */
        MX_ECANCELED = -18,   /**< canceled by the caller */
        MX_ETOOBIG = -19,     /**< larger than a configured cap */
        MX_ETLS = -20,        /**< TLS verification failed */
} mx_code;

/** Which part of myrmex an error comes from; the outermost one picks the Python class. */
typedef enum mx_domain {
        MX_D_NONE = 0,
        MX_D_SYS,      /**< the operating system */
        MX_D_CORE,     /**< core helpers */
        MX_D_STORE,    /**< the content store and database */
        MX_D_IMAGE,    /**< image formats and layers */
        MX_D_BUILD,    /**< ContainerBuildError */
        MX_D_RUNTIME,  /**< ContainerManagementError */
        MX_D_KUBE,     /**< KubernetesError */
        MX_D_SCAN,     /**< SecurityScanError */
        MX_D_REGISTRY, /**< RegistryError */
        MX_D_OPTIMIZE, /**< OptimizationError */
        MX_D_NETWORK,  /**< container networking (maps to ContainerManagementError) */
} mx_domain;

typedef struct mx_error {
        int code;               /**< MX_E*, equals the failing function's return value */
        mx_domain domain;       /**< where it failed */
        int sys_errno;          /**< errno at the failure site, or 0 */
        int http_status;        /**< registry or Kubernetes response status, or 0 */
        char *message;          /**< one line, lowercase, no trailing period */
        struct mx_error *cause; /**< the error this one wraps, or NULL */
} mx_error;

/** Free an error chain. NULL is fine. The static out-of-memory error is never freed. */
MX_EXTERN void mx_error_free(mx_error *err);

/**
 * The whole chain as one line, "outer: inner: innermost". Caller frees with mx_free().
 * Returns NULL only when err is NULL or memory is exhausted.
 */
MX_EXTERN char *mx_error_format(const mx_error *err);

/** Name of a domain ("registry"), static storage. */
MX_EXTERN const char *mx_domain_name(mx_domain domain);

/** Name of a code ("not found"), static storage. */
MX_EXTERN const char *mx_code_name(int code);

MX_END_DECLS

#endif
