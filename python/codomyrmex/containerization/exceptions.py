# SPDX-License-Identifier: Apache-2.0
"""Exception classes of codomyrmex.containerization.

All six classes of the API derive from ContainerizationError, which is also raised for
failures of the store, image formats and the system that no capability wraps. Attributes
carry the library's error node: ``code`` (negative MX_E* value), ``code_name``, ``domain``
(MX_D_* value), ``domain_name``, ``sys_errno``, ``http_status`` and ``detail`` (this node's
own message); ``__cause__`` is the wrapped (inner) error.
"""


class ContainerizationError(Exception):
    """Base class of every error of the containerization module."""

    def __init__(self, message="", *, code=None, code_name=None, domain=None,
                 domain_name=None, sys_errno=0, http_status=0, detail=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_name = code_name
        self.domain = domain
        self.domain_name = domain_name
        self.sys_errno = sys_errno
        self.http_status = http_status
        self.detail = detail if detail is not None else message


class ContainerBuildError(ContainerizationError):
    """Dockerfile or build context issues, build failures."""


class ContainerManagementError(ContainerizationError):
    """Container lifecycle operation failures (runtime, networking)."""


class KubernetesError(ContainerizationError):
    """Kubernetes API or manifest issues."""


class SecurityScanError(ContainerizationError):
    """Scanning failures or vulnerabilities over a threshold."""


class RegistryError(ContainerizationError):
    """Registry authentication, network or protocol issues."""


class OptimizationError(ContainerizationError):
    """Image optimization failures."""


__all__ = [
    "ContainerizationError",
    "ContainerBuildError",
    "ContainerManagementError",
    "KubernetesError",
    "SecurityScanError",
    "RegistryError",
    "OptimizationError",
]
