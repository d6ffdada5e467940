"""/app/supervise_server.py: the supervise slot, a minimal MCP server over HTTP.

The init runs it as `python3 /app/supervise_server.py`. It listens on
0.0.0.0:9100 (SUPERVISE_PORT) and speaks MCP's Streamable HTTP transport in
its simplest form: each JSON-RPC 2.0 request is POSTed to /mcp and answered
with one application/json response. Connections are HTTP/1.1 keep-alive: a
client (the agent's MCP client) holds one open for as long as it likes, up to
SUPERVISE_IDLE_S (300) seconds idle. Keeping that connection open while a
sibling daemon is restarted is the point of the init's per-slot restarts:
`docker kill --signal USR1` restarts pipelock and leaves this process, and
its connections, alone.

  POST /mcp     initialize, notifications/initialized, ping, tools/list,
                tools/call (tool `bundle_status`: the output of
                `/app/sidecar-init status`, where the init has that subcommand)
  GET  /health  200 {"status":"ok"}
  GET  /mcp     405: no server-initiated stream

One line per request goes to stderr, which the init prefixes with
`[supervise]`. SIGTERM (the init's stop) and SIGINT exit 0. Standard library
only.
"""

import json
import os
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, VERSION = "supervise", "0.1.0"
PROTOCOL_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")
INIT = os.environ.get("SUPERVISE_INIT", "/app/sidecar-init")

TOOLS = [
    {
        "name": "bundle_status",
        "description": "State of the sidecar bundle's daemons, from the init (sidecar-init status).",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
    },
]


def bundle_status():
    try:
        done = subprocess.run([INIT, "status"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot ask the init: {e}", True
    return (done.stdout + done.stderr).strip() or f"exit {done.returncode}", done.returncode != 0


def call(method, params):
    """The result of one JSON-RPC method, or raises RpcError."""
    if method == "initialize":
        asked = (params or {}).get("protocolVersion")
        return {
            "protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": NAME, "version": VERSION},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        tool = (params or {}).get("name")
        if tool != "bundle_status":
            raise RpcError(-32602, f"unknown tool {tool!r}")
        text, failed = bundle_status()
        return {"content": [{"type": "text", "text": text}], "isError": failed}
    raise RpcError(-32601, f"method not found: {method}")


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    server_version = f"{NAME}/{VERSION}"
    timeout = int(os.environ.get("SUPERVISE_IDLE_S", "300"))

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, {"status": "ok", "server": NAME, "pid": os.getpid()})
        elif self.path == "/mcp":
            self.reply(405, {"error": "no server-initiated stream; POST JSON-RPC to /mcp"}, [("Allow", "POST")])
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/mcp":
            return self.reply(404, {"error": "not found"})
        try:
            message = json.loads(raw)
        except ValueError as e:
            return self.reply(400, rpc_error(None, -32700, f"parse error: {e}"))
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
            return self.reply(400, rpc_error(message.get("id") if isinstance(message, dict) else None,
                                             -32600, "not a JSON-RPC 2.0 request"))
        if "id" not in message:  # a notification: accepted, no answer
            return self.reply(202)
        try:
            result = call(message["method"], message.get("params"))
        except RpcError as e:
            return self.reply(200, rpc_error(message["id"], e.code, e.message))
        self.reply(200, {"jsonrpc": "2.0", "id": message["id"], "result": result})


def rpc_error(id_, code, message):
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def main():
    port = int(os.environ.get("SUPERVISE_PORT", "9100"))

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"{NAME}: MCP server listening on 0.0.0.0:{port} (POST /mcp, GET /health)", file=sys.stderr)
    try:
        server.serve_forever()
    except SystemExit:
        print(f"{NAME}: stopping", file=sys.stderr)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
