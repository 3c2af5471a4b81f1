/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the registry client's untrusted headers: WWW-Authenticate challenges
 * (RFC 7235 with quoted strings and token68), and, from the same bytes, the Link header's
 * next URL, Retry-After, a token server's JSON answer and a registry's JSON error body.
 * Checks invariants on what the challenge parser returns.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_reg_challenge *c = NULL;
        mx_error *err = NULL;
        char *s, *next, *tok = NULL, code[64], masked[256];
        long expires = 0;
        size_t n = 0;

        if (size > 16384)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        if (mx_registry__parse_challenges(&c, &n, s, &err) == 0) {
                assert(c && n >= 1 && n <= 16);
                for (size_t i = 0; i < n; i++) {
                        assert(c[i].scheme && c[i].scheme[0]);
                        for (const char *p = c[i].scheme; *p; p++)
                                assert(!(*p >= 'A' && *p <= 'Z'));
                }
                mx_registry__challenges_free(c, 16);
        } else {
                assert(c == NULL && err && err->code == MX_EFORMAT);
        }
        mx_error_free(err);
        err = NULL;

        next = mx_registry__link_next(s);
        free(next);
        (void)mx_registry__parse_retry_after(s);
        (void)mx_registry__error_code(s, size, code, sizeof(code));
        mx_registry__mask_header(masked, sizeof(masked), s);
        if (mx_registry__parse_token_response(&tok, &expires, s, size, &err) == 0) {
                assert(tok && *tok && expires >= 60);
                free(tok);
        }
        mx_error_free(err);
        free(s);
        return 0;
}
