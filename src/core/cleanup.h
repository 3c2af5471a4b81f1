/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup for internal code (never in public headers). */
#ifndef MX_CORE_CLEANUP_H
#define MX_CORE_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define cleanup(fn) __attribute__((cleanup(fn)))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                (void)close(*fd);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void)fclose(*f);
}

#define cleanup_free   cleanup(freep)
#define cleanup_close  cleanup(closep)
#define cleanup_fclose cleanup(fclosep)

/* Hand ownership away: returns the value and leaves NULL / -1 behind. */
#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) _taken = (p); \
                (p) = NULL;                 \
                _taken;                     \
        })
#define TAKE_FD(fd)                \
        ({                         \
                int _taken = (fd); \
                (fd) = -1;         \
                _taken;            \
        })

/* Declare name##p(T **) that calls fn(*p), for cleanup(name##p). */
#define MX_DEFINE_FREEP(type, fn)          \
        static inline void fn##p(type **p) \
        {                                  \
                fn(*p);                    \
        }

#define MX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
