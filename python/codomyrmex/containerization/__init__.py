# SPDX-License-Identifier: Apache-2.0
"""codomyrmex.containerization: build, store, ship, run, scan, optimize and deploy OCI
containers through libmyrmex (ctypes, standard library only).

The six API functions live in capability modules added one by one; they are imported
lazily on first use, so a module that is missing (not written yet, or failing to import)
never breaks ``import codomyrmex.containerization`` or the other functions.
"""

import importlib

from .exceptions import (  # noqa: F401
    ContainerBuildError,
    ContainerizationError,
    ContainerManagementError,
    KubernetesError,
    OptimizationError,
    RegistryError,
    SecurityScanError,
)

# function -> the modules (relative) that may define it, first match wins
_PROVIDERS = {
    "build_containers": ("build",),
    "manage_containers": ("runtime", "containers"),
    "orchestrate_kubernetes": ("kube", "kubernetes"),
    "scan_container_security": ("scan", "security"),
    "manage_container_registry": ("registry",),
    "optimize_containers": ("optimize",),
}

__all__ = list(_PROVIDERS) + [
    "ContainerizationError",
    "ContainerBuildError",
    "ContainerManagementError",
    "KubernetesError",
    "SecurityScanError",
    "RegistryError",
    "OptimizationError",
]


def __getattr__(name):
    modules = _PROVIDERS.get(name)
    if modules is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    problems = []
    for mod in modules:
        try:
            m = importlib.import_module("." + mod, __name__)
        except ImportError as e:
            problems.append("%s: %s" % (mod, e))
            continue
        fn = getattr(m, name, None)
        if fn is not None:
            globals()[name] = fn
            return fn
        problems.append("%s: no %s" % (mod, name))
    raise AttributeError("%s.%s is not available in this version (%s)"
                         % (__name__, name, "; ".join(problems)))


def __dir__():
    return sorted(set(globals()) | set(__all__))
