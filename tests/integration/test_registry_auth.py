# SPDX-License-Identifier: Apache-2.0
"""Auth and trust against real docker-registry set-ups.

- htpasswd basic auth over TLS with a CA the test makes: TLS verification (failure without
  the CA, --cert-dir, the per-registry certs.d directory, --tls-verify=false), login/logout
  and the Docker config (auths, mode 0600), a credential helper, secrets kept out of logs;
- bearer tokens from tests/integration/tokenserver.py that the registry verifies
  (auth.token): tokens cached per scope, a token signed by another key and a token for
  another scope are refused by the registry;
- distinct errors for wrong credentials, unknown repository, unknown tag, TLS failure and a
  refused connection (CLI and Python).
"""

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import registry_support as rs  # noqa: E402
from tokenserver import TokenServer  # noqa: E402

USER, PASSWORD = "alice", "s3cret-Pa55"
PYTHON_DIR = os.path.join(harness.REPO, "python")


def py(code, env):
    e = dict(os.environ)
    e.update(env)
    e["PYTHONPATH"] = PYTHON_DIR
    e["MX_BUILD_DIR"] = harness.build_dir()
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                        timeout=300)
    if cp.returncode != 0:
        raise AssertionError(cp.stderr)
    return json.loads(cp.stdout.strip().splitlines()[-1])


class BasicAuthTLS(harness.MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        rs.require_tools("docker-registry", "htpasswd", "openssl", "skopeo")
        cls.reg = harness.Registry(htpasswd=(USER, PASSWORD), tls=True).start()
        cls.certs = os.path.join(cls.reg.dir, "client-certs")
        os.makedirs(cls.certs)
        shutil.copy(cls.reg.ca_cert, os.path.join(cls.certs, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()

    def setUp(self):
        super().setUp()
        self.docker = os.path.join(self.tmp, "docker")
        os.makedirs(self.docker)
        self.env = {"DOCKER_CONFIG": self.docker, "REGISTRY_AUTH_FILE": "",
                    "XDG_RUNTIME_DIR": self.tmp}
        self.mx.env.update(self.env)

    def login(self, password=PASSWORD, *extra):
        return self.mx.run("login", "--cert-dir", self.certs, "-u", USER, "--password-stdin",
                           *extra, self.reg.host, input=password + "\n", check=False)

    def test_tls_is_verified(self):
        # no CA: a verification failure, never a fallback to plain HTTP
        cp = self.mx.run("registry", "tags", self.reg.host + "/x", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("TLS verification of '%s' failed" % self.reg.host, cp.stderr)
        # with the CA, the registry asks for credentials
        cp = self.mx.run("registry", "tags", "--cert-dir", self.certs, self.reg.host + "/x",
                         check=False)
        self.assertIn("authentication required", cp.stderr)
        # --tls-verify=false skips verification
        cp = self.mx.run("registry", "tags", "--tls-verify=false", self.reg.host + "/x",
                         check=False)
        self.assertIn("authentication required", cp.stderr)

    def test_creds_flag(self):
        self.mx.import_busybox("busybox:1")
        ref = self.reg.host + "/auth/creds:1"
        self.mx.out("push", "--cert-dir", self.certs, "--creds", "%s:%s" % (USER, PASSWORD),
                    "busybox:1", ref)
        tags = self.mx.out("registry", "tags", "--cert-dir", self.certs, "--creds",
                           "%s:%s" % (USER, PASSWORD), self.reg.host + "/auth/creds")
        self.assertEqual(tags, "1")
        cp = self.mx.run("pull", "--cert-dir", self.certs, "--creds", USER + ":bad", ref,
                         check=False)
        self.assertIn("credentials refused", cp.stderr)

    def test_certs_d_directory(self):
        d = os.path.join("/etc/containers/certs.d", self.reg.host)
        if os.path.exists(d):
            self.skipTest("%s exists already" % d)
        harness.require_root()
        os.makedirs(d)
        self.addCleanup(shutil.rmtree, d, True)
        shutil.copy(self.reg.ca_cert, os.path.join(d, "ca.crt"))
        cp = self.mx.run("registry", "tags", self.reg.host + "/x", check=False)
        self.assertIn("authentication required", cp.stderr)
        self.assertNotIn("TLS", cp.stderr)

    def test_insecure_registries_config(self):
        # listed insecure: verification is off for that registry only
        conf = os.path.join(self.tmp, "config.json")
        with open(conf, "w") as f:
            json.dump({"insecure-registries": ["127.0.0.0/8"]}, f)
        cp = self.mx.run("registry", "tags", self.reg.host + "/x", check=False,
                         env={"MYRMEX_CONFIG": conf})
        self.assertIn("authentication required", cp.stderr)
        with open(conf, "w") as f:
            json.dump({"insecure-registries": ["10.0.0.0/8", "other:1"]}, f)
        cp = self.mx.run("registry", "tags", self.reg.host + "/x", check=False,
                         env={"MYRMEX_CONFIG": conf})
        self.assertIn("TLS verification", cp.stderr)

    def test_wrong_password_refused(self):
        cp = self.login("wrong")
        self.assertEqual(cp.returncode, 1)
        self.assertIn("credentials refused", cp.stderr)
        self.assertNotIn("wrong", cp.stderr.replace("wrong username", ""))
        self.assertFalse(os.path.exists(os.path.join(self.docker, "config.json")))

    def test_login_push_pull_logout(self):
        cp = self.login()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.strip(), "Login Succeeded")
        cfg_path = os.path.join(self.docker, "config.json")
        self.assertEqual(stat.S_IMODE(os.stat(cfg_path).st_mode), 0o600)
        with open(cfg_path) as f:
            cfg = json.load(f)
        self.assertEqual(base64.b64decode(cfg["auths"][self.reg.host]["auth"]).decode(),
                         "%s:%s" % (USER, PASSWORD))
        # skopeo reads the same file (Docker's format)
        self.mx.import_busybox("busybox:1")
        ref = self.reg.host + "/auth/busybox:1"
        push = self.mx.run("--log-level", "trace", "push", "--cert-dir", self.certs,
                           "busybox:1", ref, check=False)
        self.assertEqual(push.returncode, 0, push.stderr[-2000:])
        # the trace shows requests but never the secret
        self.assertIn("authorization: Basic ***", push.stderr.lower().replace("basic", "Basic"))
        b64 = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        self.assertNotIn(PASSWORD, push.stderr)
        self.assertNotIn(b64, push.stderr)
        info = json.loads(rs.run("skopeo", "inspect", "--cert-dir", self.certs, "--authfile",
                                 cfg_path, "docker://" + ref).stdout)
        mx2 = harness.Myrmex(env=self.env)
        self.addCleanup(mx2.cleanup)
        out = mx2.out("pull", "--cert-dir", self.certs, ref)
        self.assertIn("Digest: " + info["Digest"], out)
        self.assertIn("Removing login credentials",
                      self.mx.out("logout", self.reg.host))
        with open(cfg_path) as f:
            self.assertNotIn(self.reg.host, json.load(f).get("auths", {}))
        cp = mx2.run("pull", "--cert-dir", self.certs, ref, check=False)
        self.assertIn("authentication required", cp.stderr)
        cp = self.mx.run("logout", self.reg.host, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("not logged in", cp.stderr)

    def test_credential_helper(self):
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        helper = os.path.join(bindir, "docker-credential-mxtest")
        store = os.path.join(self.tmp, "helper-store.json")
        with open(helper, "w") as f:
            f.write("#!/bin/sh\nS=%s\ncase \"$1\" in\n"
                    "get) read -r s; [ -f $S ] && cat $S || { echo 'credentials not found in "
                    "native keychain'; exit 1; };;\n"
                    "store) cat > $S;;\nerase) rm -f $S;;\nesac\n" % store)
        os.chmod(helper, 0o755)
        with open(os.path.join(self.docker, "config.json"), "w") as f:
            json.dump({"credsStore": "mxtest"}, f)
        env = {"PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin")}
        self.mx.env.update(env)
        cp = self.login()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(store) as f:
            saved = json.load(f)
        self.assertEqual(saved["Username"], USER)
        self.assertEqual(saved["ServerURL"], self.reg.host)
        with open(os.path.join(self.docker, "config.json")) as f:
            self.assertNotIn(PASSWORD, f.read())
        # the helper's credentials are used
        cp = self.mx.run("registry", "tags", "--cert-dir", self.certs,
                         self.reg.host + "/nothing", check=False)
        self.assertIn("NAME_UNKNOWN", cp.stderr)
        self.assertNotIn("authentication required", cp.stderr)
        self.mx.out("logout", self.reg.host)
        self.assertFalse(os.path.exists(store))

    def test_python_credentials_and_errors(self):
        self.mx.import_busybox("busybox:1")
        code = """
import json
from codomyrmex.containerization import manage_container_registry as m, RegistryError
root, reg, certs = %r, %r, %r
out = {}
def err(**kw):
    try:
        m('list', kw.pop('image', 'auth/busybox'), reg, **kw)
    except RegistryError as e:
        return [e.code, e.http_status, str(e)]
out['push'] = m('push', 'busybox:1', reg, root=root, username=%r, password=%r, cert_dir=certs)
out['wrong'] = err(username='alice', password='nope', cert_dir=certs)
out['tls'] = err(username='alice', password='nope')
out['unknown_repo'] = err(image='no/such', username=%r, password=%r, cert_dir=certs)
try:
    m('pull', 'busybox:none', reg, root=root, username=%r, password=%r, cert_dir=certs)
except RegistryError as e:
    out['unknown_tag'] = [e.code, e.http_status, str(e)]
try:
    m('list', 'x', '127.0.0.1:1')
except RegistryError as e:
    out['refused'] = [e.code, e.http_status, str(e)]
print(json.dumps(out))
""" % (self.mx.root, self.reg.host, self.certs, USER, PASSWORD, USER, PASSWORD, USER, PASSWORD)
        out = py(code, self.env)
        self.assertTrue(out["push"]["success"])
        self.assertEqual(out["wrong"][0], -12)  # MX_EAUTH
        self.assertEqual(out["wrong"][1], 401)
        self.assertNotIn("nope", out["wrong"][2])
        self.assertEqual(out["tls"][0], -20)  # MX_ETLS
        self.assertIn("TLS", out["tls"][2])
        self.assertEqual(out["unknown_repo"][0], -4)  # MX_ENOTFOUND
        self.assertIn("NAME_UNKNOWN", out["unknown_repo"][2])
        self.assertEqual(out["unknown_tag"][0], -4)
        self.assertIn("tag 'none' not found", out["unknown_tag"][2])
        self.assertEqual(out["refused"][0], -13)  # MX_ENET
        self.assertIn("cannot connect", out["refused"][2])
        msgs = [out[k][2] for k in ("wrong", "tls", "unknown_repo", "unknown_tag", "refused")]
        self.assertEqual(len(set(msgs)), 5)


class BearerTokens(harness.MyrmexTestCase):
    @classmethod
    def setUpClass(cls):
        rs.require_tools("docker-registry", "openssl")
        cls.ts = TokenServer(users={USER: PASSWORD}).start()
        cls.reg = rs.TokenRegistry(cls.ts).start()

    @classmethod
    def tearDownClass(cls):
        cls.reg.stop()
        cls.ts.stop()

    def setUp(self):
        super().setUp()
        self.ts.sign_with_other_key = False
        self.ts.scope_override = None
        self.ts.forge_next = 0
        self.docker = os.path.join(self.tmp, "docker")
        os.makedirs(self.docker)
        self.mx.env.update({"DOCKER_CONFIG": self.docker, "REGISTRY_AUTH_FILE": ""})

    def test_token_flow_push_pull(self):
        cp = self.mx.run("login", "-u", USER, "--password-stdin", self.reg.host,
                         input=PASSWORD + "\n", check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.mx.import_busybox("busybox:1")
        before = self.ts.issued
        ref = self.reg.host + "/tok/busybox:1"
        self.mx.out("push", "busybox:1", ref)
        # one token per scope, cached for every request of the push
        self.assertLessEqual(self.ts.issued - before, 2, self.ts.requests[-5:])
        mx2 = harness.Myrmex(env=self.mx.env)
        self.addCleanup(mx2.cleanup)
        out = mx2.out("pull", "--no-unpack", ref)
        self.assertIn("Digest: sha256:", out)
        self.assertEqual(self.mx.out("registry", "tags", self.reg.host + "/tok/busybox"), "1")

    def test_refused_token_is_refreshed(self):
        self.mx.run("login", "-u", USER, "--password-stdin", self.reg.host,
                    input=PASSWORD + "\n")
        self.mx.import_busybox("busybox:1")
        before = self.ts.issued
        self.ts.forge_next = 1
        # the first token is refused with a 401; the client drops it, gets a new one, goes on
        out = self.mx.out("push", "busybox:1", self.reg.host + "/tok/refresh:1")
        self.assertIn("Digest: sha256:", out)
        self.assertEqual(self.ts.forge_next, 0)
        self.assertGreaterEqual(self.ts.issued - before, 2)

    def test_identity_token_and_given_token(self):
        self.mx.import_busybox("busybox:1")
        self.mx.run("login", "-u", USER, "--password-stdin", self.reg.host,
                    input=PASSWORD + "\n")
        self.mx.out("push", "busybox:1", self.reg.host + "/tok/ident:1")
        # a Docker config holding an identity token: the OAuth2 refresh grant is used
        self.ts.refresh_tokens = {"refresh-abc": USER}
        with open(os.path.join(self.docker, "config.json"), "w") as f:
            json.dump({"auths": {self.reg.host: {"auth": "", "identitytoken": "refresh-abc"}}},
                      f)
        mx2 = harness.Myrmex(env=self.mx.env)
        self.addCleanup(mx2.cleanup)
        out = mx2.out("pull", "--no-unpack", self.reg.host + "/tok/ident:1")
        self.assertIn("Digest: sha256:", out)
        self.assertTrue(any(u == "refresh:" + USER for _, u in self.ts.requests))
        # a bearer token given by the caller is sent as it is (Python token=...)
        token = self.ts.make_token(USER, "myrmex-test-registry", [
            {"type": "repository", "name": "tok/ident", "actions": ["pull"]}])
        code = """
import json
from codomyrmex.containerization import manage_container_registry as m
print(json.dumps(m('list', 'tok/ident', %r, token=%r)))
""" % (self.reg.host, token)
        out = py(code, {"DOCKER_CONFIG": os.path.join(self.tmp, "none")})
        self.assertEqual(out["tags"], ["1"])

    def test_wrong_password_anonymous_and_forged_tokens(self):
        self.mx.import_busybox("busybox:1")
        ref = self.reg.host + "/tok/forged:1"
        cp = self.mx.run("login", "-u", USER, "--password-stdin", self.reg.host,
                         input="bad\n", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("refused the credentials", cp.stderr)
        # anonymous: the token grants nothing, the registry says no
        cp = self.mx.run("push", "busybox:1", ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("authentication required", cp.stderr)
        self.mx.run("login", "-u", USER, "--password-stdin", self.reg.host,
                    input=PASSWORD + "\n")
        # a token signed by a key the registry does not trust
        self.ts.sign_with_other_key = True
        cp = self.mx.run("push", "busybox:1", ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("authentication required", cp.stderr)
        # a properly signed token for another repository
        self.ts.sign_with_other_key = False
        self.ts.scope_override = "some/other"
        cp = self.mx.run("push", "busybox:1", ref, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("authentication required", cp.stderr)
        # and the honest token works, so the refusals were the registry checking
        self.ts.scope_override = None
        self.mx.out("push", "busybox:1", ref)


if __name__ == "__main__":
    unittest.main()
