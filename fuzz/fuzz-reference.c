/* SPDX-License-Identifier: Apache-2.0 */
/* Image reference parsing: any bytes must give a reference or an error, never a crash, and
 * a parsed reference must reparse to the same normalized form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <myrmex/reference.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        mx_ref *ref = NULL, *again = NULL;
        mx_error *err = NULL;
        char *s;

        if (size > MX_REF_MAX_INPUT + 16)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (mx_ref_parse(&ref, s, &err) == 0) {
                if (mx_ref_parse(&again, mx_ref_string(ref), NULL) != 0 ||
                    strcmp(mx_ref_string(again), mx_ref_string(ref)) != 0)
                        abort();
                mx_ref_free(again);
                again = NULL;
                /* the familiar form names the same thing */
                if (mx_ref_parse(&again, mx_ref_familiar(ref), NULL) != 0 ||
                    strcmp(mx_ref_string(again), mx_ref_string(ref)) != 0)
                        abort();
                mx_ref_free(again);
                mx_ref_free(ref);
        } else if (!err || !err->message) {
                abort();
        }
        mx_error_free(err);
        (void)mx_ref_is_id_like(s);
        (void)mx_ref_is_id_prefix(s);
        free(s);
        return 0;
}
