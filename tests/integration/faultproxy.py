# SPDX-License-Identifier: Apache-2.0
"""A fault-injecting HTTP proxy for registry tests (standard library only).

FaultProxy(upstream_host) listens on 127.0.0.1:<free port> and forwards every request to the
upstream registry (keeping the Host header, so the registry's Location headers point back at
the proxy). Rules, checked in order, apply to requests whose method and path match:

    p.add_rule(method="GET", path=r"/blobs/sha256:abc", action="cut", after=1000, times=1)

actions: "delay" (wait `seconds` before forwarding), "cut" (send the response headers and `after` body bytes, then drop the connection;
for requests with a body, drop after reading `after` bytes of it), "status" (answer `code`,
with Retry-After `retry_after` when set, without asking upstream), "corrupt" (flip one byte
of the response body). `times` is how many requests the rule hits (None: all).

Counters: ``bytes_down[path]`` (response body bytes sent to the client) and
``bytes_up[path]`` (request body bytes received), ``requests`` (method, path, status) in
order, so a test can assert what crossed the wire.
"""

import http.client
import re
import socket
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
               "trailer", "upgrade"}


class Rule:
    def __init__(self, method=None, path=".*", action="status", code=500, after=0, times=1,
                 retry_after=None, seconds=0):
        self.method = method
        self.path = re.compile(path)
        self.action = action
        self.code = code
        self.after = after
        self.times = times
        self.retry_after = retry_after
        self.seconds = seconds
        self.hits = 0

    def matches(self, method, path):
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method != method:
            return False
        return bool(self.path.search(path))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _rule(self):
        p = self.server.proxy
        with p.lock:
            for r in p.rules:
                if r.matches(self.command, self.path):
                    r.hits += 1
                    return r
        return None

    def _count(self, kind, n):
        p = self.server.proxy
        key = self.path.split("?")[0]
        with p.lock:
            getattr(p, kind)[key] += n

    def _read_body(self, rule):
        te = self.headers.get("Transfer-Encoding", "")
        n = int(self.headers.get("Content-Length") or 0)
        chunks = []
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
                self._count("bytes_up", size)
            return b"".join(chunks)
        left = n
        while left > 0:
            want = min(left, 65536)
            if rule and rule.action == "cut":
                want = min(want, max(rule.after - (n - left), 0))
                if want == 0:
                    raise ConnectionAbortedError("cut")
            data = self.rfile.read(want)
            if not data:
                break
            chunks.append(data)
            self._count("bytes_up", len(data))
            left -= len(data)
        return b"".join(chunks)

    def _handle(self):
        p = self.server.proxy
        rule = self._rule()
        try:
            body = self._read_body(rule)
        except ConnectionAbortedError:
            self._drop()
            return
        if rule and rule.action == "delay":
            import time
            time.sleep(rule.seconds)
        if rule and rule.action == "status":
            msg = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
            self.send_response(rule.code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            if rule.retry_after is not None:
                self.send_header("Retry-After", str(rule.retry_after))
            self.end_headers()
            self.wfile.write(msg)
            with p.lock:
                p.requests.append((self.command, self.path, rule.code))
            return
        conn = http.client.HTTPConnection(p.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        if body or self.command in ("PUT", "POST", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        resp = conn.getresponse()
        with p.lock:
            p.requests.append((self.command, self.path, resp.status))
        self.send_response(resp.status)
        length = resp.getheader("Content-Length")
        for k, v in resp.getheaders():
            if k.lower() in HOP_HEADERS or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        data = resp.read() if self.command != "HEAD" else b""
        self.send_header("Content-Length", length if self.command == "HEAD" and length
                         else str(len(data)))
        self.end_headers()
        conn.close()
        if self.command == "HEAD":
            return
        if rule and rule.action == "corrupt" and data:
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
        if rule and rule.action == "cut":
            part = data[:rule.after]
            self.wfile.write(part)
            self._count("bytes_down", len(part))
            self.wfile.flush()
            self._drop(graceful=True)
            return
        self.wfile.write(data)
        self._count("bytes_down", len(data))

    def _drop(self, graceful=False):
        """Close mid-transfer: after a response's first bytes with a FIN (everything sent
        arrives, then the body ends short), else with a reset."""
        try:
            if not graceful:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle


class FaultProxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = []
        self.lock = threading.Lock()
        self.reset_counters()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def reset_counters(self):
        with getattr(self, "lock", threading.Lock()):
            self.bytes_down = defaultdict(int)
            self.bytes_up = defaultdict(int)
            self.requests = []

    def add_rule(self, **kw):
        r = Rule(**kw)
        with self.lock:
            self.rules.append(r)
        return r

    def clear_rules(self):
        with self.lock:
            self.rules = []

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
