#!/usr/bin/env python3
"""A stand-in for pipelock 2.3.0, for the offline (prod-like) build only.

The real pipelock is a Go binary shipped only as a container image
(ghcr.io/luckypipewrench/pipelock), which CI cannot pull. This stand-in has
the parts of it that the sidecar bundle relies on, and nothing else:

- its command line: `pipelock run --config FILE [--listen HOST:PORT]`,
  `pipelock healthcheck [--listen HOST:PORT]`, `pipelock version`;
- the config file the production image ships (/etc/pipelock.yaml): `mode`,
  `api_allowlist`, `fetch_proxy.listen`, `.timeout_seconds`,
  `.max_response_mb`, `.user_agent`, `.monitoring.blocklist`,
  `forward_proxy.enabled` and `dlp.patterns` are read, other keys ignored;
- `GET /health` (200, JSON);
- the fetch proxy, `GET /fetch?url=URL` (JSON with the fetched text);
- the forward proxy (when `forward_proxy.enabled`): absolute-URI requests
  (`HTTP_PROXY`) and `CONNECT` tunnels (`HTTPS_PROXY`, hostname-level only);
- blocking: a host on `fetch_proxy.monitoring.blocklist`, a host off
  `api_allowlist` in `mode: strict`, or a URL that matches a `dlp.patterns`
  regex gets 403 and one log line;
- SIGHUP reloads the config (as pipelock does); SIGTERM and SIGINT exit 0.

Outbound requests honour HTTP_PROXY/HTTPS_PROXY/NO_PROXY, as Go's default
transport does, so pipelock's upstream can be egress (mitmdump on 9099).
Not here: entropy checks, rate limits, response and body scanning, MCP and
WebSocket proxying, receipts. Everything is standard library except the YAML
reader: ruamel.yaml (a dependency of mitmproxy, in every bundle image) or
PyYAML.
"""

import json
import re
import select
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "2.3.0-standin"
DEFAULT_LISTEN = "127.0.0.1:8888"
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailers", "transfer-encoding", "upgrade",
}


def log(message):
    print(f"pipelock: {message}", file=sys.stderr, flush=True)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        from ruamel.yaml import YAML
    except ImportError:
        try:
            import yaml
        except ImportError:
            raise SystemExit("pipelock: no YAML reader (ruamel.yaml or PyYAML) in this Python")
        return yaml.safe_load(text) or {}
    return YAML(typ="safe", pure=True).load(text) or {}


def host_matches(host, pattern):
    """`example.com` is that host; `*.example.com` is it and its subdomains."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return host == pattern[2:] or host.endswith(pattern[1:])
    return host == pattern


class Policy:
    def __init__(self, path):
        doc = load_yaml(path)
        fetch = doc.get("fetch_proxy") or {}
        monitoring = fetch.get("monitoring") or {}
        self.path = path
        self.mode = str(doc.get("mode", "balanced"))
        self.allowlist = [str(p) for p in doc.get("api_allowlist") or []]
        self.blocklist = [str(p) for p in monitoring.get("blocklist") or []]
        self.listen = str(fetch.get("listen", DEFAULT_LISTEN))
        self.timeout = float(fetch.get("timeout_seconds", 30))
        self.max_bytes = int(float(fetch.get("max_response_mb", 10)) * 1024 * 1024)
        self.user_agent = str(fetch.get("user_agent", "Pipelock Fetch/1.0"))
        self.forward = bool((doc.get("forward_proxy") or {}).get("enabled", False))
        self.dlp = []
        for pattern in (doc.get("dlp") or {}).get("patterns") or []:
            name = str(pattern.get("name", "unnamed"))
            try:
                self.dlp.append((name, re.compile(str(pattern["regex"]))))
            except (KeyError, re.error) as e:
                log(f"dlp pattern {name!r} skipped: {e}")

    def summary(self):
        return (f"mode={self.mode} blocklist={len(self.blocklist)} allowlist={len(self.allowlist)} "
                f"dlp={len(self.dlp)} forward_proxy={'on' if self.forward else 'off'}")

    def verdict(self, host, url=None):
        """None when allowed, otherwise the reason for the block."""
        for pattern in self.blocklist:
            if host_matches(host, pattern):
                return f"blocklist {pattern}"
        if self.mode == "strict" and not any(host_matches(host, p) for p in self.allowlist):
            return "not on api_allowlist (strict mode)"
        if url is not None:
            text = urllib.parse.unquote(url)
            for name, regex in self.dlp:
                if regex.search(text):
                    return f"DLP {name}"
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"pipelock/{VERSION}"
    policy = None  # set by main, replaced on SIGHUP

    def log_message(self, fmt, *args):  # one line per decision instead
        pass

    def reply(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def blocked(self, what, reason):
        log(f"block {what}: {reason}")
        self.reply(403, {"blocked": True, "reason": reason})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def do_GET(self):
        if self.path.startswith(("http://", "https://")):
            return self.forward_absolute()
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path == "/health":
            return self.reply(200, {"status": "healthy", "version": VERSION, "mode": Handler.policy.mode,
                                    "uptime_seconds": round(time.monotonic() - STARTED, 1)})
        if parsed.path == "/fetch":
            return self.fetch(urllib.parse.parse_qs(parsed.query).get("url", [""])[0])
        self.reply(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self):
        if self.path.startswith(("http://", "https://")):
            return self.forward_absolute()
        self.reply(404, {"error": "not found"})

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def fetch(self, url):
        policy = Handler.policy
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return self.reply(400, {"error": "url must be an absolute http(s) URL"})
        reason = policy.verdict(parts.hostname, url)
        if reason:
            return self.blocked(f"fetch {url}", reason)
        request = urllib.request.Request(url, headers={"User-Agent": policy.user_agent})
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as response:
                status, content_type = response.status, response.headers.get("Content-Type", "")
                content = response.read(policy.max_bytes)
        except urllib.error.HTTPError as e:
            status, content_type, content = e.code, e.headers.get("Content-Type", ""), e.read(policy.max_bytes)
        except (OSError, ValueError) as e:
            log(f"fetch {url} failed: {e}")
            return self.reply(502, {"error": f"fetch failed: {e}"})
        log(f"allow fetch {url} -> {status}")
        self.reply(200, {"url": url, "status_code": status, "content_type": content_type,
                         "content": content.decode("utf-8", "replace")})

    def forward_absolute(self):
        policy = Handler.policy
        if not policy.forward:
            return self.reply(405, {"error": "forward proxy disabled (forward_proxy.enabled)"})
        parts = urllib.parse.urlsplit(self.path)
        reason = policy.verdict(parts.hostname or "", self.path)
        if reason:
            return self.blocked(f"{self.command} {self.path}", reason)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        request = urllib.request.Request(self.path, data=self.body(), headers=headers, method=self.command)
        try:
            response = urllib.request.urlopen(request, timeout=policy.timeout)
        except urllib.error.HTTPError as e:
            response = e
        except (OSError, ValueError) as e:
            log(f"{self.command} {self.path} failed: {e}")
            return self.reply(502, {"error": f"upstream failed: {e}"})
        with response:
            data = response.read(policy.max_bytes)
            passed = [(k, v) for k, v in response.headers.items()
                      if k.lower() not in HOP_BY_HOP | {"content-length", "content-type"}]
            log(f"allow {self.command} {self.path} -> {response.status}")
            self.reply(response.status, data, response.headers.get("Content-Type", "application/octet-stream"), passed)

    def do_CONNECT(self):
        policy = Handler.policy
        if not policy.forward:
            return self.reply(405, {"error": "forward proxy disabled (forward_proxy.enabled)"})
        host, _, port = self.path.rpartition(":")
        reason = policy.verdict(host.strip("[]")) if port.isdigit() else "bad CONNECT target"
        if reason:
            return self.blocked(f"CONNECT {self.path}", reason)
        try:
            upstream = open_tunnel(host.strip("[]"), int(port), policy.timeout)
        except OSError as e:
            log(f"CONNECT {self.path} failed: {e}")
            return self.reply(502, {"error": f"connect failed: {e}"})
        log(f"allow CONNECT {self.path}")
        self.send_response(200, "Connection Established")
        self.end_headers()
        splice(self.connection, upstream)
        self.close_connection = True


def open_tunnel(host, port, timeout):
    """A socket to host:port, through HTTPS_PROXY's CONNECT when one applies."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        p = urllib.parse.urlsplit(proxy)
        sock = socket.create_connection((p.hostname, p.port or 80), timeout=timeout)
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError("upstream proxy closed the connection")
            head += chunk
        if head.split(b" ", 2)[1:2] != [b"200"]:
            raise OSError(f"upstream proxy refused: {head.splitlines()[0].decode(errors='replace')}")
        return sock
    return socket.create_connection((host, port), timeout=timeout)


def splice(a, b, idle=120):
    """Copy bytes both ways until one side closes or both are idle for `idle` s."""
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], idle)
            if not ready:
                return
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                (b if src is a else a).sendall(data)
    except OSError:
        pass
    finally:
        b.close()


def parse_args(argv):
    usage = "usage: pipelock run --config FILE [--listen HOST:PORT] | healthcheck [--listen HOST:PORT] | version"
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage)
        raise SystemExit(0 if argv else 2)
    command, options, rest = argv[0], {}, argv[1:]
    while rest:
        key = rest.pop(0)
        if "=" in key:
            key, value = key.split("=", 1)
        elif rest:
            value = rest.pop(0)
        else:
            raise SystemExit(f"pipelock: {key} needs a value\n{usage}")
        if key not in ("--config", "-c", "--listen"):
            raise SystemExit(f"pipelock: unknown option {key}\n{usage}")
        options["config" if key in ("--config", "-c") else "listen"] = value
    return command, options


def split_listen(listen):
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def main(argv):
    command, options = parse_args(argv)
    if command == "version":
        print(f"pipelock {VERSION}")
        return 0
    if command == "healthcheck":
        host, port = split_listen(options.get("listen", DEFAULT_LISTEN))
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=3) as r:
                return 0 if r.status == 200 else 1
        except OSError:
            return 1
    if command != "run":
        raise SystemExit(f"pipelock: unknown command {command!r} (run, healthcheck, version)")
    config = options.get("config", "/etc/pipelock.yaml")
    Handler.policy = Policy(config)
    host, port = split_listen(options.get("listen", Handler.policy.listen))

    def reload(signum, frame):
        try:
            Handler.policy = Policy(config)
            log(f"reloaded {config} on SIGHUP: {Handler.policy.summary()}")
        except Exception as e:  # keep the running policy
            log(f"reload of {config} failed, keeping the old policy: {e}")

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = ThreadingHTTPServer((host, port), Handler)
    log(f"{VERSION} listening on {host}:{port} with {config}: {Handler.policy.summary()}")
    try:
        server.serve_forever()
    except SystemExit:
        log("stopping")
    finally:
        server.server_close()
    return 0


STARTED = time.monotonic()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
