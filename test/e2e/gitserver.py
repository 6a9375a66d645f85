#!/usr/bin/env python3
"""A loopback-only smart-HTTP Git server for the fluxguard end-to-end tests.

It runs `git http-backend` as a CGI program for every request, serving the
bare repositories under ROOT (``ROOT/<name>.git``) with push enabled and no
authentication. A push to a repository that does not exist creates it, so a
test can `git push http://127.0.0.1:PORT/new.git main` without a setup step.

A repository with a file ``ROOT/<name>.git.htpasswd`` (lines ``user:password``)
requires HTTP basic authentication with one of them; the file is read on every
request, so a test revokes a credential by rewriting it (a revoked deploy key).

Usage: gitserver.py --root DIR --port PORT [--bind 127.0.0.1] [--port-file F]

Only loopback addresses are accepted for --bind.
"""

import argparse
import base64
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO_RE = re.compile(r"^/([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*\.git)(/.*)?$")


def git_exec_path():
    out = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True)
    return os.path.join(out.stdout.strip(), "git-http-backend")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fluxguard-e2e-git/1"

    def log_message(self, fmt, *args):  # one line per request on stderr
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _fail(self, code, msg):
        data = (msg + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        path, _, query = self.path.partition("?")
        m = REPO_RE.match(path)
        if not m or ".." in path:
            return self._fail(404, "not found")
        repo = os.path.join(self.server.root, m.group(1))
        creds_file = repo + ".htpasswd"
        if os.path.isfile(creds_file):
            with open(creds_file, encoding="utf-8") as f:
                allowed = {line.strip() for line in f if line.strip()}
            auth = self.headers.get("Authorization", "")
            given = ""
            if auth.startswith("Basic "):
                try:
                    given = base64.b64decode(auth[6:].strip()).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    given = ""
            if given not in allowed:
                self._body()
                data = b"authentication required\n"
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="fluxguard-e2e"')
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        wants_push = "service=git-receive-pack" in query or path.endswith("/git-receive-pack")
        if not os.path.isdir(repo):
            if not wants_push:
                return self._fail(404, "no such repository")
            os.makedirs(os.path.dirname(repo), exist_ok=True)
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], check=True)
        body = self._body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": self.server.empty_config,
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "GIT_CONFIG_KEY_1": "safe.directory",
            "GIT_CONFIG_VALUE_1": "*",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "e2e",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        for key in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(key):
                env["HTTP_" + key.upper().replace("-", "_")] = self.headers[key]
        proc = subprocess.run([self.server.backend], input=body, env=env, capture_output=True)
        if proc.returncode != 0 and not proc.stdout:
            return self._fail(500, proc.stderr.decode(errors="replace"))
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            if not line.strip():
                continue
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            else:
                headers.append((k.strip(), v.strip()))
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _handle
    do_POST = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port-file")
    args = ap.parse_args()
    if not ipaddress.ip_address(args.bind).is_loopback:
        sys.exit("gitserver: refusing to bind a non-loopback address")
    if not shutil.which("git"):
        sys.exit("gitserver: git not found")
    os.makedirs(args.root, exist_ok=True)
    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    srv.daemon_threads = True
    srv.root = os.path.abspath(args.root)
    srv.backend = git_exec_path()
    # An empty global git config (not /dev/null, which must stay a device).
    fd, srv.empty_config = tempfile.mkstemp(prefix="fluxguard-e2e-gitconfig-")
    os.close(fd)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    sys.stderr.write("gitserver: serving %s on http://%s:%d/\n" % (srv.root, args.bind, srv.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    finally:
        os.unlink(srv.empty_config)


if __name__ == "__main__":
    main()
