# SPDX-License-Identifier: Apache-2.0
"""Tests of the Python package skeleton: loader, exception mapping, calling convention."""

import ctypes
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python"))

import codomyrmex.containerization as cz  # noqa: E402
from codomyrmex.containerization import _lib  # noqa: E402
from codomyrmex.containerization.exceptions import (  # noqa: E402
    ContainerBuildError, ContainerizationError, ContainerManagementError, KubernetesError,
    OptimizationError, RegistryError, SecurityScanError)


def build_lib_path():
    d = os.environ.get("MX_BUILD_DIR") or os.path.join(REPO, "build")
    return os.path.join(d, "libmyrmex.so")


class TestExceptions(unittest.TestCase):
    def test_hierarchy(self):
        for cls in (ContainerBuildError, ContainerManagementError, KubernetesError,
                    SecurityScanError, RegistryError, OptimizationError):
            self.assertTrue(issubclass(cls, ContainerizationError), cls)
            self.assertTrue(issubclass(cls, Exception))
        self.assertIs(cz.RegistryError, RegistryError)

    def test_package_exports(self):
        for name in ("build_containers", "manage_containers", "orchestrate_kubernetes",
                     "scan_container_security", "manage_container_registry",
                     "optimize_containers", "ContainerizationError"):
            self.assertIn(name, cz.__all__)

    def test_missing_function_is_attribute_error(self):
        with self.assertRaises(AttributeError):
            cz.no_such_function  # noqa: B018

    def test_missing_capability_module_does_not_break_the_package(self):
        saved = dict(cz._PROVIDERS)
        cz.__dict__.pop("optimize_containers", None)
        cz._PROVIDERS["optimize_containers"] = ("no_such_module_here",)
        try:
            with self.assertRaises(AttributeError) as cm:
                cz.optimize_containers  # noqa: B018
            self.assertIn("no_such_module_here", str(cm.exception))
            with self.assertRaises(ImportError):
                exec("from codomyrmex.containerization import optimize_containers", {})
            # the exceptions and the other names are still there
            self.assertTrue(issubclass(cz.OptimizationError, cz.ContainerizationError))
        finally:
            cz._PROVIDERS.clear()
            cz._PROVIDERS.update(saved)


class TestLoader(unittest.TestCase):
    def test_explicit_library_missing_names_it(self):
        env = {"MYRMEX_LIBRARY": "/nonexistent/libmyrmex.so"}
        with self.assertRaises(_lib.LibraryNotFoundError) as cm:
            _lib.load_library(env)
        msg = str(cm.exception)
        self.assertIn("/nonexistent/libmyrmex.so", msg)
        self.assertIn("MYRMEX_LIBRARY", msg)
        self.assertIsInstance(cm.exception, ContainerizationError)

    def test_explicit_library_not_a_library(self):
        env = {"MYRMEX_LIBRARY": os.path.abspath(__file__)}
        with self.assertRaises(_lib.LibraryNotFoundError) as cm:
            _lib.load_library(env)
        self.assertIn(os.path.abspath(__file__), str(cm.exception))

    def test_candidates_order(self):
        c = _lib.candidates({"MX_BUILD_DIR": "/x/b"})
        self.assertEqual(c[0], ("$MX_BUILD_DIR", "/x/b/libmyrmex.so"))
        self.assertTrue(c[1][1].endswith(os.path.join("build", "libmyrmex.so")))
        self.assertIn("libmyrmex.so.0", [p for _, p in c])
        # an explicit library is the only candidate
        self.assertEqual(len(_lib.candidates({"MYRMEX_LIBRARY": "/a.so"})), 1)

    def test_loads_build(self):
        if not os.path.exists(build_lib_path()):
            self.skipTest("libmyrmex.so is not built in %s" % os.path.dirname(build_lib_path()))
        lib = _lib.load_library({"MYRMEX_LIBRARY": build_lib_path()})
        self.assertRegex(lib.mx_version().decode(), r"^\d+\.\d+\.\d+")


def need_lib(test):
    if not os.environ.get("MYRMEX_LIBRARY"):
        if not os.path.exists(build_lib_path()):
            raise unittest.SkipTest("libmyrmex.so is not built in %s"
                                    % os.path.dirname(build_lib_path()))
        os.environ["MYRMEX_LIBRARY"] = build_lib_path()
    lib = _lib.lib()
    if not hasattr(lib, "mx_debug_make_error"):
        raise unittest.SkipTest("this libmyrmex has no debug entry points")
    return lib


class TestErrorMapping(unittest.TestCase):
    EXPECTED = {
        _lib.MX_D_SYS: ContainerizationError,
        _lib.MX_D_CORE: ContainerizationError,
        _lib.MX_D_STORE: ContainerizationError,
        _lib.MX_D_IMAGE: ContainerizationError,
        _lib.MX_D_BUILD: ContainerBuildError,
        _lib.MX_D_RUNTIME: ContainerManagementError,
        _lib.MX_D_KUBE: KubernetesError,
        _lib.MX_D_SCAN: SecurityScanError,
        _lib.MX_D_REGISTRY: RegistryError,
        _lib.MX_D_OPTIMIZE: OptimizationError,
        _lib.MX_D_NETWORK: ContainerManagementError,
    }

    def setUp(self):
        self.lib = need_lib(self)

    def make(self, domain, code, msg, inner=None):
        err = _lib.error_pointer()
        if inner:
            rc = self.lib.mx_debug_make_error(domain, code, msg.encode(), inner[0], inner[1],
                                              inner[2].encode(), inner[3], ctypes.byref(err))
        else:
            rc = self.lib.mx_debug_make_error(domain, code, msg.encode(), 0, 0, None, 0,
                                              ctypes.byref(err))
        self.assertEqual(rc, code)
        self.assertTrue(err)
        return err

    def test_every_domain(self):
        for domain, cls in self.EXPECTED.items():
            with self.subTest(domain=domain):
                err = self.make(domain, _lib.MX_EINVAL, "bad thing 'x'")
                with self.assertRaises(ContainerizationError) as cm:
                    _lib.raise_error(err, self.lib)
                self.assertIs(type(cm.exception), cls)
                self.assertEqual(str(cm.exception), "bad thing 'x'")
                self.assertEqual(cm.exception.code, _lib.MX_EINVAL)
                self.assertEqual(cm.exception.domain, domain)
                self.assertIsNone(cm.exception.__cause__)

    def test_outermost_domain_wins_and_cause_chain(self):
        err = self.make(_lib.MX_D_REGISTRY, _lib.MX_ENET, "push 'x'",
                        (_lib.MX_D_STORE, _lib.MX_ENOTFOUND, "open blob 'sha256:1'", 2))
        with self.assertRaises(RegistryError) as cm:
            _lib.raise_error(err, self.lib)
        e = cm.exception
        self.assertEqual(str(e), "push 'x': open blob 'sha256:1'")
        self.assertEqual(e.detail, "push 'x'")
        self.assertEqual(e.code, _lib.MX_ENET)
        self.assertEqual(e.domain_name, "registry")
        self.assertIs(type(e.__cause__), ContainerizationError)
        self.assertEqual(e.__cause__.code, _lib.MX_ENOTFOUND)
        self.assertEqual(e.__cause__.sys_errno, 2)
        self.assertEqual(e.__cause__.domain_name, "store")
        self.assertEqual(e.__cause__.code_name, "not found")

    def test_inner_capability_does_not_pick_class(self):
        err = self.make(_lib.MX_D_STORE, _lib.MX_EIO, "load image",
                        (_lib.MX_D_BUILD, _lib.MX_EFAIL, "inner build", 0))
        with self.assertRaises(ContainerizationError) as cm:
            _lib.raise_error(err, self.lib)
        self.assertIs(type(cm.exception), ContainerizationError)
        self.assertIs(type(cm.exception.__cause__), ContainerBuildError)

    def test_make_error_refuses_nonnegative_code(self):
        err = _lib.error_pointer()
        rc = self.lib.mx_debug_make_error(_lib.MX_D_STORE, 0, b"x", 0, 0, None, 0,
                                          ctypes.byref(err))
        self.assertEqual(rc, _lib.MX_EINVAL)
        self.assertEqual(err.contents.domain, _lib.MX_D_CORE)
        self.lib.mx_error_free(err)


class TestCallingConvention(unittest.TestCase):
    def setUp(self):
        self.lib = need_lib(self)

    def test_json_result(self):
        out = _lib.call_json(self.lib.mx_debug_echo_json, b'{"a": [1, 2], "b": "c"}')
        self.assertEqual(out, {"a": [1, 2], "b": "c", "echo": True})

    def test_json_error_raises(self):
        with self.assertRaises(ContainerizationError) as cm:
            _lib.call_json(self.lib.mx_debug_echo_json, b'{"a": ')
        self.assertEqual(cm.exception.code, _lib.MX_EFORMAT)
        self.assertIn("not valid JSON", str(cm.exception))

    def test_seed_call_raise_on_error_false(self):
        defaults = {"operation": "push", "success": True, "error_message": ""}

        def body():
            return _lib.call_json(self.lib.mx_debug_echo_json, b"[1]")

        out = _lib.seed_call(defaults, body, raise_on_error=False)
        self.assertFalse(out["success"])
        self.assertIn("not a JSON object", out["error_message"])
        self.assertEqual(out["operation"], "push")
        with self.assertRaises(ContainerizationError):
            _lib.seed_call(defaults, body, raise_on_error=True)

    def test_seed_call_success(self):
        out = _lib.seed_call({}, lambda: {"success": True}, raise_on_error=False)
        self.assertEqual(out, {"success": True})

    def test_version(self):
        self.assertRegex(_lib.version(), r"^\d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
