# SPDX-License-Identifier: Apache-2.0
"""ctypes access to libmyrmex, shared by every capability module.

Finding the library, in order: the file named by $MYRMEX_LIBRARY (an error if it is set but
unusable); the repository's build directory ($MX_BUILD_DIR, then <repo>/build) when running
from a source tree; the system's library path (libmyrmex.so.0, libmyrmex.so).

Calling convention shared by the capability modules: C functions of the form

    int mx_<x>(<inputs>..., char **result_json, mx_error **err);

return 0 and a JSON text (freed with mx_free), or a negative MX_E* code and an error chain.
``call_json(fn, *args)`` makes such a call and returns the parsed JSON, or raises the
exception class chosen by the OUTERMOST error's domain, the inner errors chained as
``__cause__``. ``seed_call(defaults, fn, raise_on_error)`` wraps a seed function body so
that with raise_on_error=False a failure returns the seed's dictionary with ``success``
False and ``error_message`` set instead of raising.
"""

import ctypes
import ctypes.util
import json
import os
import threading

from .exceptions import (
    ContainerBuildError,
    ContainerizationError,
    ContainerManagementError,
    KubernetesError,
    OptimizationError,
    RegistryError,
    SecurityScanError,
)

# include/myrmex/error.h: enum mx_domain
MX_D_NONE = 0
MX_D_SYS = 1
MX_D_CORE = 2
MX_D_STORE = 3
MX_D_IMAGE = 4
MX_D_BUILD = 5
MX_D_RUNTIME = 6
MX_D_KUBE = 7
MX_D_SCAN = 8
MX_D_REGISTRY = 9
MX_D_OPTIMIZE = 10
MX_D_NETWORK = 11

# include/myrmex/error.h: enum mx_code
MX_CODES = {
    0: "MX_OK", -1: "MX_EFAIL", -2: "MX_ENOMEM", -3: "MX_EINVAL", -4: "MX_ENOTFOUND",
    -5: "MX_EEXISTS", -6: "MX_EIO", -7: "MX_EDIGEST", -8: "MX_EFORMAT",
    -9: "MX_EUNSUPPORTED", -10: "MX_EBUSY", -11: "MX_EAMBIGUOUS", -12: "MX_EAUTH",
    -13: "MX_ENET", -14: "MX_ETIMEOUT", -15: "MX_EUNSAFE", -16: "MX_ECORRUPT",
    -17: "MX_EDENIED", -18: "MX_ECANCELED", -19: "MX_ETOOBIG", -20: "MX_ETLS",
}
globals().update({name: code for code, name in MX_CODES.items()})

DOMAIN_EXCEPTIONS = {
    MX_D_BUILD: ContainerBuildError,
    MX_D_RUNTIME: ContainerManagementError,
    MX_D_NETWORK: ContainerManagementError,
    MX_D_KUBE: KubernetesError,
    MX_D_SCAN: SecurityScanError,
    MX_D_REGISTRY: RegistryError,
    MX_D_OPTIMIZE: OptimizationError,
    # store, image, system, core and anything unknown
}


def exception_class(domain):
    """The exception class for an error whose outermost domain is `domain`."""
    return DOMAIN_EXCEPTIONS.get(domain, ContainerizationError)


class MxError(ctypes.Structure):
    """Mirror of struct mx_error (include/myrmex/error.h)."""


MxError._fields_ = [
    ("code", ctypes.c_int),
    ("domain", ctypes.c_int),
    ("sys_errno", ctypes.c_int),
    ("http_status", ctypes.c_int),
    ("message", ctypes.c_char_p),
    ("cause", ctypes.POINTER(MxError)),
]


class LibraryNotFoundError(ContainerizationError, OSError):
    """libmyrmex.so could not be loaded; the message lists every place tried."""


_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def candidates(environ=None):
    """The (description, path) pairs tried, in order."""
    env = os.environ if environ is None else environ
    out = []
    if env.get("MYRMEX_LIBRARY"):
        out.append(("$MYRMEX_LIBRARY", env["MYRMEX_LIBRARY"]))
        return out
    if env.get("MX_BUILD_DIR"):
        out.append(("$MX_BUILD_DIR", os.path.join(env["MX_BUILD_DIR"], "libmyrmex.so")))
    out.append(("the repository's build directory", os.path.join(_REPO, "build",
                                                                    "libmyrmex.so")))
    found = ctypes.util.find_library("myrmex")
    for name in ([found] if found else []) + ["libmyrmex.so.0", "libmyrmex.so"]:
        out.append(("the system library path", name))
    return out


def load_library(environ=None):
    """Load libmyrmex and declare the core functions; raises LibraryNotFoundError."""
    tried = []
    for what, path in candidates(environ):
        if os.sep in path and not os.path.exists(path):
            tried.append("%s (%s): no such file" % (path, what))
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s): %s" % (path, what, e))
            continue
        _declare(lib)
        return lib
    raise LibraryNotFoundError(
        "cannot load libmyrmex; tried: " + "; ".join(tried) +
        ". Build it (meson setup build && ninja -C build) or set MYRMEX_LIBRARY to its path",
        code=MX_ENOTFOUND, code_name="not found", domain=MX_D_SYS, domain_name="system")


def _declare(lib):
    P = ctypes.POINTER
    lib.mx_version.restype = ctypes.c_char_p
    lib.mx_version.argtypes = []
    lib.mx_free.restype = None
    lib.mx_free.argtypes = [ctypes.c_void_p]
    lib.mx_error_free.restype = None
    lib.mx_error_free.argtypes = [P(MxError)]
    lib.mx_domain_name.restype = ctypes.c_char_p
    lib.mx_domain_name.argtypes = [ctypes.c_int]
    lib.mx_code_name.restype = ctypes.c_char_p
    lib.mx_code_name.argtypes = [ctypes.c_int]
    if hasattr(lib, "mx_debug_make_error"):
        lib.mx_debug_make_error.restype = ctypes.c_int
        lib.mx_debug_make_error.argtypes = [
            ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p, ctypes.c_int, P(P(MxError))]
    if hasattr(lib, "mx_debug_echo_json"):
        lib.mx_debug_echo_json.restype = ctypes.c_int
        lib.mx_debug_echo_json.argtypes = [ctypes.c_char_p, P(ctypes.c_void_p),
                                           P(P(MxError))]


_lib = None
_lock = threading.Lock()


def lib():
    """The loaded library (loaded on first use, once)."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib = load_library()
    return _lib


def _decode(b):
    return b.decode("utf-8", "replace") if b else ""


def exception_from_error(err_ptr, library=None):
    """Turn an mx_error chain (POINTER(MxError)) into an exception; does not free it.

    The outermost node picks the class and its message is the whole chain
    ("outer: inner: innermost"), as the CLI prints it; each inner node becomes the
    __cause__ of the one above, with the class of its own domain.
    """
    L = library
    nodes = []
    p = err_ptr
    while p:
        nodes.append(p.contents)
        p = p.contents.cause
    if not nodes:
        return ContainerizationError("unknown error (the library gave no details)")
    messages = [_decode(n.message) or (_decode(L.mx_code_name(n.code)) if L else "error")
                for n in nodes]
    exc = None
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        cls = exception_class(n.domain)
        e = cls(": ".join(messages[i:]), code=n.code,
                code_name=_decode(L.mx_code_name(n.code)) if L else MX_CODES.get(n.code),
                domain=n.domain,
                domain_name=_decode(L.mx_domain_name(n.domain)) if L else None,
                sys_errno=n.sys_errno, http_status=n.http_status, detail=messages[i])
        if exc is not None:
            e.__cause__ = exc
        exc = e
    return exc


def raise_error(err_ptr, library=None):
    """Raise the exception for an mx_error chain, freeing the chain."""
    L = library or lib()
    exc = exception_from_error(err_ptr, L)
    if err_ptr:
        L.mx_error_free(err_ptr)
    raise exc


def error_pointer():
    """A fresh mx_error* to pass by reference as the last argument."""
    return ctypes.POINTER(MxError)()


def call(fn, *args):
    """Call `int fn(*args, mx_error **err)`; return its non-negative result or raise."""
    err = error_pointer()
    rc = fn(*args, ctypes.byref(err))
    if rc < 0:
        raise_error(err)
    return rc


def call_json(fn, *args):
    """Call `int fn(*args, char **result_json, mx_error **err)` and parse the JSON result.

    `fn` must have restype c_int and its result_json argument declared as
    POINTER(c_void_p) (so the text can be freed with mx_free).
    """
    L = lib()
    result = ctypes.c_void_p()
    err = error_pointer()
    rc = fn(*args, ctypes.byref(result), ctypes.byref(err))
    if rc < 0:
        if result:
            L.mx_free(result)
        raise_error(err, L)
    if not result:
        return None
    try:
        text = ctypes.string_at(result).decode("utf-8")
    finally:
        L.mx_free(result)
    return json.loads(text)


def encode(s):
    """A str (or None) as bytes for a const char * argument."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return os.fsencode(s) if isinstance(s, os.PathLike) else str(s).encode("utf-8")


def seed_call(defaults, body, raise_on_error=True):
    """Run body() and return its dict; on ContainerizationError either raise (default) or
    return `defaults` updated with success False and error_message set."""
    try:
        result = body()
    except ContainerizationError as e:
        if raise_on_error:
            raise
        out = dict(defaults)
        out["success"] = False
        out["error_message"] = str(e)
        return out
    return result


def version():
    """The library's version string."""
    return _decode(lib().mx_version())
