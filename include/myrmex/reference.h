/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file reference.h
 * Image references ("busybox", "user/app:1", "localhost:5000/x@sha256:...") parsed and
 * normalized exactly as Docker does (distribution/reference's ParseNormalizedNamed):
 *
 * - The first '/'-separated component is a registry domain when it contains '.' or ':' or is
 *   "localhost"; otherwise the domain is "docker.io".
 * - "index.docker.io" is rewritten to "docker.io"; a single-component path on docker.io gets
 *   "library/" ("busybox" -> "docker.io/library/busybox").
 * - Path components match `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`; uppercase letters in the
 *   repository path are refused ("repository name must be lowercase"); the domain may hold
 *   uppercase letters, a port and an IPv6 literal in brackets.
 * - A tag matches `[\w][\w.-]{0,127}`; a digest is "algorithm:hex" and is validated
 *   ("sha256:" + 64 lowercase hex, "sha512:" + 128).
 * - domain + "/" + path is at most 255 characters.
 * - A 64-character lowercase hex string is refused as a name (it is an image ID).
 *
 * Every parse error is MX_EINVAL in domain MX_D_IMAGE, with a message naming the input in
 * single quotes. The functions are reentrant; an mx_ref is immutable after parsing and may
 * be shared read-only between threads.
 */
#ifndef MYRMEX_REFERENCE_H
#define MYRMEX_REFERENCE_H

#include <myrmex/common.h>
#include <myrmex/error.h>

MX_BEGIN_DECLS

/** A parsed, normalized image reference. Opaque; free with mx_ref_free(). */
typedef struct mx_ref mx_ref;

/** The tag added by mx_ref_string() when a reference has neither tag nor digest. */
#define MX_REF_DEFAULT_TAG "latest"

/** Longest accepted input to mx_ref_parse() (bytes, without the NUL). */
#define MX_REF_MAX_INPUT 4096

/**
 * Parse and normalize a reference.
 *
 * @param out  on success, the new reference; the caller owns it (mx_ref_free()).
 *             Untouched on failure.
 * @param s    the reference as a user wrote it: "busybox", "busybox:1.36",
 *             "docker.io/library/busybox:latest", "ghcr.io/o/r@sha256:...",
 *             "localhost:5000/x:1@sha256:...".
 * @param err  filled on failure (may be NULL).
 * @return 0; MX_EINVAL (domain MX_D_IMAGE) for a malformed reference, with a message such as
 *         "invalid reference 'Busybox': repository name must be lowercase";
 *         MX_ENOMEM.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_ref_parse(mx_ref **out, const char *s, mx_error **err);

/** Free a reference. NULL is fine. */
MX_EXTERN void mx_ref_free(mx_ref *ref);

/** Copy a reference; NULL on out-of-memory. The caller owns the copy. */
MX_EXTERN mx_ref *mx_ref_dup(const mx_ref *ref);

/**
 * A copy of ref with its tag replaced by tag (its digest dropped), e.g. for "pull -a" or
 * for tagging. tag must match the tag grammar.
 * @return 0, MX_EINVAL (MX_D_IMAGE) for a bad tag, MX_ENOMEM. *out owned by the caller.
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_ref_with_tag(mx_ref **out, const mx_ref *ref,
                                                    const char *tag, mx_error **err);

/** The registry domain, e.g. "docker.io", "localhost:5000". Borrowed, lives as long as ref. */
MX_EXTERN const char *mx_ref_domain(const mx_ref *ref);

/** The repository path, e.g. "library/busybox". Borrowed. */
MX_EXTERN const char *mx_ref_path(const mx_ref *ref);

/** The tag as written, or NULL when none was given (no default is added). Borrowed. */
MX_EXTERN const char *mx_ref_tag(const mx_ref *ref);

/** The digest ("sha256:..."), or NULL when none was given. Borrowed. */
MX_EXTERN const char *mx_ref_digest(const mx_ref *ref);

/** domain + "/" + path, e.g. "docker.io/library/busybox". Borrowed. */
MX_EXTERN const char *mx_ref_name(const mx_ref *ref);

/**
 * The full normalized form: name, ":tag" if any, "@digest" if any; ":latest" is added only
 * when there is neither tag nor digest. E.g. "docker.io/library/busybox:latest",
 * "docker.io/library/busybox@sha256:...". This is the key tags are stored under. Borrowed.
 */
MX_EXTERN const char *mx_ref_string(const mx_ref *ref);

/**
 * Docker's short ("familiar") form of mx_ref_string(): "docker.io/library/" and "docker.io/"
 * dropped. E.g. "busybox:latest", "user/x:1", "localhost:5000/x:1", "busybox@sha256:...".
 * Borrowed.
 */
MX_EXTERN const char *mx_ref_familiar(const mx_ref *ref);

/**
 * The familiar name without tag or digest, as Docker shows it in the REPOSITORY column:
 * "busybox", "user/x", "localhost:5000/x". Borrowed.
 */
MX_EXTERN const char *mx_ref_familiar_name(const mx_ref *ref);

/**
 * 1 when s looks like an image ID rather than a name: 12 to 64 lowercase hex characters, or
 * "sha256:" followed by 1 to 64 lowercase hex characters. 0 otherwise (also for NULL).
 * Note that short hex strings are also valid names; lookups try names first.
 */
MX_EXTERN int mx_ref_is_id_like(const char *s);

/**
 * 1 when s is an ID prefix as lookups accept it: 1 to 64 lowercase hex characters,
 * optionally preceded by "sha256:". 0 otherwise.
 */
MX_EXTERN int mx_ref_is_id_prefix(const char *s);

/**
 * Normalize a reference string in one call: *out gets mx_ref_string() of the parsed
 * reference (caller frees with mx_free()). Same errors as mx_ref_parse().
 */
MX_EXTERN MX_WARN_UNUSED_RESULT int mx_ref_normalize(char **out, const char *s, mx_error **err);

MX_END_DECLS

#endif
