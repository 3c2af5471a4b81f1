/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small TAP harness. MX_TEST(name) { ... } defines a test; tap-main.c runs them all in
 * order of definition and prints TAP. Asserts print both values and end the current test.
 * A test calls SKIP("why") to skip; a test binary whose every test skipped exits 77.
 */
#ifndef MX_TAP_H
#define MX_TAP_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <myrmex/error.h>

typedef void (*mx_test_fn)(void);

void mx_tap_register(const char *name, mx_test_fn fn);
void mx_tap_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4), noreturn));
void mx_tap_skip(const char *why) __attribute__((noreturn));
/* A scratch directory unique to the running test, removed after it. */
const char *mx_tap_tmpdir(void);
/* Path of a file under the test data directory (tests/) given by MX_TEST_DATA_DIR. */
const char *mx_tap_data(const char *rel);

#define MX_TEST(name)                                                  \
        static void test_##name(void);                                 \
        __attribute__((constructor)) static void register_##name(void) \
        {                                                              \
                mx_tap_register(#name, test_##name);                   \
        }                                                              \
        static void test_##name(void)

#define SKIP(why) mx_tap_skip(why)

#define ASSERT_TRUE(x)                                                            \
        do {                                                                      \
                if (!(x))                                                         \
                        mx_tap_fail(__FILE__, __LINE__, "expected true: %s", #x); \
        } while (0)

#define ASSERT_EQ(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long)(a), _b = (long long)(b);                                \
                if (_a != _b)                                                                      \
                        mx_tap_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b); \
        } while (0)

#define ASSERT_NE(a, b)                                                                     \
        do {                                                                                \
                long long _a = (long long)(a), _b = (long long)(b);                         \
                if (_a == _b)                                                               \
                        mx_tap_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, _a); \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                \
        do {                                                                              \
                const char *_a = (a), *_b = (b);                                          \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                    \
                        mx_tap_fail(__FILE__, __LINE__, "%s == %s: '%s' != '%s'", #a, #b, \
                                    _a ? _a : "(null)", _b ? _b : "(null)");              \
        } while (0)

#define ASSERT_NULL(p)                                                            \
        do {                                                                      \
                if ((p) != NULL)                                                  \
                        mx_tap_fail(__FILE__, __LINE__, "expected NULL: %s", #p); \
        } while (0)

#define ASSERT_NOT_NULL(p)                                                            \
        do {                                                                          \
                if ((p) == NULL)                                                      \
                        mx_tap_fail(__FILE__, __LINE__, "expected non-NULL: %s", #p); \
        } while (0)

/* The call must succeed (>= 0); on failure the error chain is printed. */
#define ASSERT_OK(call)                                                                      \
        do {                                                                                 \
                mx_error *_e = NULL;                                                         \
                (void)_e;                                                                    \
                int _r = (call);                                                             \
                if (_r < 0)                                                                  \
                        mx_tap_fail(__FILE__, __LINE__, "%s failed with %d (%s)", #call, _r, \
                                    mx_code_name(_r));                                       \
        } while (0)

/* The call must fail with exactly code. */
#define ASSERT_ERR(call, code)                                                                     \
        do {                                                                                       \
                int _r = (call);                                                                   \
                if (_r != (code))                                                                  \
                        mx_tap_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)",   \
                                    #call, _r, mx_code_name(_r), (int)(code), mx_code_name(code)); \
        } while (0)

/* Like ASSERT_OK but prints err's chain (err is an mx_error * variable). */
#define ASSERT_OK_E(call, err)                                                              \
        do {                                                                                \
                int _r = (call);                                                            \
                if (_r < 0) {                                                               \
                        char *_m = mx_error_format(err);                                    \
                        mx_tap_fail(__FILE__, __LINE__, "%s failed with %d: %s", #call, _r, \
                                    _m ? _m : "(no error)");                                \
                }                                                                           \
        } while (0)

#endif
