# SPDX-License-Identifier: Apache-2.0
"""manage_containers: create, start, stop, remove, restart and read the logs of containers.

One C entry point does the work (``mx_manage_containers`` in include/myrmex/runtime.h); this
module only turns the seed's ContainerConfig (docker-py value shapes) into the library's
configuration JSON and marshals the result. Containers run under a detached monitor (the
``myrmex`` binary, found through $MYRMEX_BINARY, beside libmyrmex.so, or on PATH), so they
keep running after the Python process exits, as Docker's do.
"""

import ctypes
import json

from . import _lib

OPERATIONS = ("create", "start", "stop", "remove", "restart", "logs", "stats")

# kwargs passed through to the library
_OPTION_KEYS = ("root", "runtime", "timeout", "force", "tail", "start", "timestamps", "volumes",
                "interval_ms")

# ContainerConfig keys the library takes as they are (docker-py's shapes)
_CONFIG_KEYS = ("image", "name", "command", "environment", "ports", "volumes", "networks",
                "resources", "restart_policy", "labels", "entrypoint", "hostname",
                "extra_hosts", "user", "working_dir", "tty", "stdin_open", "read_only",
                "tmpfs", "cap_add", "cap_drop", "privileged", "security_opt", "init",
                "ulimits", "auto_remove", "rootfs", "network_mode", "log_opts", "stop_signal",
                "stop_timeout", "dns", "dns_search", "dns_options", "mounts", "publish_all",
                "healthcheck", "network_aliases")

_declared = False


def _fn():
    global _declared
    L = _lib.lib()
    f = L.mx_manage_containers
    if not _declared:
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                      ctypes.POINTER(ctypes.c_void_p),
                      ctypes.POINTER(ctypes.POINTER(_lib.MxError))]
        _declared = True
    return f


def _invalid(message):
    return _lib.ContainerManagementError(message, code=_lib.MX_EINVAL,
                                         code_name="invalid argument",
                                         domain=_lib.MX_D_RUNTIME, domain_name="runtime")


def _config(config):
    """The seed's ContainerConfig as the library's configuration object."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise _invalid("config must be a dict (the seed's ContainerConfig)")
    out = {}
    for k, v in config.items():
        if k not in _CONFIG_KEYS:
            raise _invalid("unknown ContainerConfig key '%s'" % k)
        if v is None:
            continue
        out[k] = v
    if "restart_policy" in out and isinstance(out["restart_policy"], dict):
        # docker-py's {"Name": "on-failure", "MaximumRetryCount": 3}
        rp = out["restart_policy"]
        name = rp.get("Name") or rp.get("name") or "no"
        n = rp.get("MaximumRetryCount") or rp.get("maximum_retry_count")
        out["restart_policy"] = "%s:%d" % (name, n) if name == "on-failure" and n else name
    res = out.get("resources")
    if isinstance(res, dict):
        out["resources"] = {k: (str(v) if k in ("cpu_limit", "memory_limit", "cpu_reservation",
                                                  "memory_reservation") else v)
                            for k, v in res.items() if v is not None}
    if isinstance(out.get("command"), str):
        pass  # the library splits a string command as shlex does
    env = out.get("environment")
    if isinstance(env, dict):
        out["environment"] = {str(k): "" if v is None else str(v) for k, v in env.items()}
    return out


def _options(kwargs):
    opts = {}
    for k, v in kwargs.items():
        if k not in _OPTION_KEYS:
            raise _invalid("manage_containers: unknown option '%s' (known: %s)"
                           % (k, ", ".join(_OPTION_KEYS)))
        if v is None:
            continue
        if k in ("force", "start", "timestamps", "volumes"):
            v = bool(v)
        elif k in ("timeout", "tail", "interval_ms"):
            v = int(v)
        else:
            v = str(v)
        opts[k] = v
    return opts


def manage_containers(operation, container_name, config=None, **kwargs):
    """Manage container lifecycle: create, start, stop, remove, restart, logs, stats.

    ``config`` (for create) is the seed's ContainerConfig: image, name, command,
    environment, ports ({"80/tcp": 8080}, {"80/tcp": ["127.0.0.1", 8080]}, {"53/udp": None}
    for any free port), volumes ({"/host": {"bind": "/path", "mode": "ro"}} binds,
    {"name": {"bind": "/path"}} named volumes seeded from the image on first use), networks
    (names; the default is "bridge", "none" and "host" as Docker's), resources
    ({"cpu_limit": "1.5", "memory_limit": "512m", ...}), restart_policy ("no", "always",
    "unless-stopped", "on-failure[:N]"), labels; also dns, mounts (--mount strings) and
    healthcheck (docker-py's {"test": [...], "interval": ns, ...}).

    kwargs: root (the store directory), runtime ("crun", "runc" or a path), timeout (stop,
    restart: seconds before SIGKILL), force (remove a running container), volumes (remove:
    its anonymous volumes too), tail (logs: last N lines), timestamps (logs), start (create:
    start it too), interval_ms (stats: the sampling interval, default 1000),
    raise_on_error (default True).

    Returns the seed's dictionary: operation, container_name, success, container_id,
    status, execution_time, logs, error_message, and for stats ``metrics``: the seed's
    ContainerMetrics as a dict. Raises ContainerManagementError on failure, or returns the
    dictionary with success False under raise_on_error=False.
    """
    raise_on_error = kwargs.pop("raise_on_error", True)
    defaults = {
        "operation": operation,
        "container_name": container_name,
        "success": False,
        "container_id": None,
        "status": None,
        "execution_time": 0.0,
        "logs": None,
        "error_message": None,
    }

    def body():
        if operation not in OPERATIONS:
            raise _invalid("unknown operation '%s' (%s)" % (operation, ", ".join(OPERATIONS)))
        if not container_name:
            raise _invalid("container_name is required")
        cfg = _config(config)
        opts = json.dumps(_options(kwargs))
        res = _lib.call_json(_fn(), _lib.encode(operation), _lib.encode(container_name),
                             _lib.encode(json.dumps(cfg) if cfg is not None else None),
                             _lib.encode(opts))
        out = dict(defaults)
        out.update(res)
        out["success"] = True
        if operation != "logs":
            out["logs"] = None
        out["error_message"] = None
        return out

    return _lib.seed_call(defaults, body, raise_on_error)


__all__ = ["manage_containers"]
