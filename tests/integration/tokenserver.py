# SPDX-License-Identifier: Apache-2.0
"""A bearer-token server for docker-registry's `auth.token` (standard library + openssl CLI).

TokenServer(users={"alice": "pw"}) makes an RSA key and a self-signed certificate (the
registry's `rootcertbundle`), listens on 127.0.0.1:<free port> and answers
GET /token?service=S&scope=repository:NAME:ACTIONS... with a JWT (RS256, the certificate in
the `x5c` header) granting what was asked, when the Basic credentials are right (401
otherwise; no credentials gets an anonymous token with no access). Knobs to prove the
registry checks the token: ``sign_with_other_key`` (signed by a key the registry does not
trust) and ``scope_override`` (grant access to another repository than asked), ``forge_next`` (only
the next N tokens are forged: a client must fetch a new token after the registry's 401).
``issued`` counts tokens handed out, ``requests`` keeps (path, authorized user).
"""

import base64
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = "myrmex-test-registry"
ISSUER = "myrmex-test-issuer"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keypair(d, name):
    key, cert = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + name],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return key, cert, der


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        ts = self.server.ts
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            self.send_error(404)
            return
        q = urllib.parse.parse_qs(url.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                u, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                u, pw = None, None
            if ts.users.get(u) != pw:
                ts.requests.append((self.path, "<refused>"))
                self._json(401, {"errors": [{"code": "UNAUTHORIZED",
                                             "message": "bad credentials"}]})
                return
            user = u
        ts.requests.append((self.path, user))
        access = []
        if user:
            for scope in q.get("scope", []):
                for part in scope.split(" "):
                    bits = part.split(":")
                    if len(bits) < 3:
                        continue
                    typ, name, actions = bits[0], ":".join(bits[1:-1]), bits[-1].split(",")
                    if ts.scope_override:
                        name = ts.scope_override
                    access.append({"type": typ, "name": name, "actions": actions})
        token = ts.make_token(user or "", q.get("service", [SERVICE])[0], access)
        ts.issued += 1
        self._json(200, {"token": token, "access_token": token, "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def do_POST(self):
        """OAuth2 refresh-token grant (Docker's identity tokens)."""
        ts = self.server.ts
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        rt = form.get("refresh_token", [None])[0]
        user = ts.refresh_tokens.get(rt)
        ts.requests.append((self.path, "refresh:" + (user or "<refused>")))
        if form.get("grant_type", [None])[0] != "refresh_token" or not user:
            self._json(401, {"error": "invalid_grant"})
            return
        access = []
        for scope in form.get("scope", []):
            for part in scope.split(" "):
                bits = part.split(":")
                if len(bits) >= 3:
                    access.append({"type": bits[0], "name": ":".join(bits[1:-1]),
                                   "actions": bits[-1].split(",")})
        token = ts.make_token(user, form.get("service", [SERVICE])[0], access)
        ts.issued += 1
        self._json(200, {"access_token": token, "expires_in": 300})

    def _json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TokenServer:
    def __init__(self, users=None):
        self.users = users or {}
        self.dir = tempfile.mkdtemp(prefix="mx-token-")
        self.key, self.cert, self.der = _keypair(self.dir, "signer")
        self.other_key, _, self.other_der = _keypair(self.dir, "intruder")
        self.sign_with_other_key = False
        self.scope_override = None
        self.forge_next = 0
        self.refresh_tokens = {}  # identity token -> user, for the refresh-token grant  # sign this many of the next tokens with the untrusted key
        self.issued = 0
        self.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.ts = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def realm(self):
        return "http://127.0.0.1:%d/token" % self.port

    def registry_config(self):
        """The `auth:` section for docker-registry's config.yml."""
        return ("auth: {token: {realm: '%s', service: %s, issuer: %s, rootcertbundle: %s}}"
                % (self.realm, SERVICE, ISSUER, self.cert))

    def make_token(self, sub, aud, access):
        forge = self.sign_with_other_key or self.forge_next > 0
        if self.forge_next > 0:
            self.forge_next -= 1
        key, der = (self.other_key, self.other_der) if forge else (self.key, self.der)
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": ISSUER, "sub": sub, "aud": aud, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": b64url(os.urandom(12)), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                             input=signing_input.encode(), capture_output=True,
                             check=True).stdout
        return signing_input + "." + b64url(sig)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
