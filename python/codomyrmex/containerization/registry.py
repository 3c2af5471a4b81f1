# SPDX-License-Identifier: Apache-2.0
"""manage_container_registry: push, pull, tag, list and delete against OCI registries.

One C entry point does the work (``mx_manage_container_registry`` in
include/myrmex/registry.h); this module only marshals arguments and the result.
"""

import ctypes
import json

from . import _lib

OPERATIONS = ("push", "pull", "tag", "list", "delete")

# kwargs passed to the library as they are (anything else is refused, so a typo is seen)
_OPTION_KEYS = ("username", "password", "token", "target", "platform", "root", "tls_verify",
                "cert_dir", "auth_file", "unpack", "all_platforms")
_ALIASES = {"tag": "target", "new_tag": "target", "insecure": None}

_declared = False


def _fn():
    global _declared
    L = _lib.lib()
    f = L.mx_manage_container_registry
    if not _declared:
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                      ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.POINTER(_lib.MxError))]
        _declared = True
    return f


def _options(kwargs):
    opts = {}
    for k, v in kwargs.items():
        if k in _ALIASES:
            if _ALIASES[k] is None:  # insecure=True means tls_verify=False
                opts["tls_verify"] = not bool(v)
                continue
            k = _ALIASES[k]
        if k not in _OPTION_KEYS:
            raise _lib.RegistryError(
                "manage_container_registry: unknown option '%s' (known: %s)"
                % (k, ", ".join(_OPTION_KEYS)), code=_lib.MX_EINVAL, code_name="invalid argument",
                domain=_lib.MX_D_REGISTRY, domain_name="registry")
        if v is None:
            continue
        if k in ("tls_verify", "unpack", "all_platforms"):
            v = bool(v)
        elif k == "root":
            v = str(v)
        elif not isinstance(v, str):
            v = str(v)
        opts[k] = v
    return opts


def manage_container_registry(operation, image_name, registry_url=None, **kwargs):
    """Manage container registry operations: push, pull, tag, list, delete.

    ``registry_url`` ("host[:port]", or a URL whose http:// scheme asks for plain HTTP) names
    the registry image_name's repository is on; None uses the registry in image_name.
    kwargs: username, password, token (credentials; else the Docker config is used),
    target (the new reference for tag), platform ("os/arch[/variant]" for pull), root (the
    store directory), tls_verify, cert_dir, unpack (pull: make the image runnable, default
    True), raise_on_error (default True).

    Returns the seed's dictionary: operation, image_name, registry_url, success,
    image_digest, tags, size_mb, error_message. Raises RegistryError on failure, or returns
    the dictionary with success False under raise_on_error=False.
    """
    raise_on_error = kwargs.pop("raise_on_error", True)
    defaults = {
        "operation": operation,
        "image_name": image_name,
        "registry_url": registry_url,
        "success": False,
        "image_digest": None,
        "tags": [],
        "size_mb": 0.0,
        "error_message": None,
    }

    def body():
        if operation not in OPERATIONS:
            raise _lib.RegistryError(
                "unknown registry operation '%s' (%s)" % (operation, ", ".join(OPERATIONS)),
                code=_lib.MX_EINVAL, code_name="invalid argument", domain=_lib.MX_D_REGISTRY,
                domain_name="registry")
        if not image_name:
            raise _lib.RegistryError("image_name is required", code=_lib.MX_EINVAL,
                                     code_name="invalid argument", domain=_lib.MX_D_REGISTRY,
                                     domain_name="registry")
        opts = json.dumps(_options(kwargs))
        res = _lib.call_json(_fn(), _lib.encode(operation), _lib.encode(image_name),
                             _lib.encode(registry_url), _lib.encode(opts))
        out = dict(defaults)
        out.update(res)
        out["success"] = True
        if not out.get("image_digest"):
            out["image_digest"] = None
        return out

    return _lib.seed_call(defaults, body, raise_on_error)


__all__ = ["manage_container_registry"]
