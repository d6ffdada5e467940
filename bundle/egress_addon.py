"""/app/egress_addon.py: egress's allow-list, reloaded on SIGHUP.

A mitmproxy addon (mitmproxy 11, loaded by /app/egress-entrypoint.sh with
`mitmdump --scripts`). Every request whose host is not on the allow-list
gets a 403 from mitmdump itself, without a connection to that host: plain
HTTP requests in the `requestheaders` hook, HTTPS tunnels at their CONNECT
(`http_connect`).

The allow-list file (option `egress_allowlist`, default
/etc/egress/allowlist.txt) has one host pattern a line: `example.com` (that
host), `*.example.com` (its subdomains), `*` (every host); `#` starts a
comment. It is read at start-up and again on SIGHUP. A file that cannot be
read or has a bad line leaves the rules in force unchanged (at start-up: no
rules, so everything is blocked) and says why in the log.

SIGHUP: mitmdump itself only handles SIGINT and SIGTERM. The handler is
installed on the event loop in the `running` hook, so the reload runs on the
loop between requests, never in the middle of one. Until then SIGHUP is
ignored (the entrypoint's `trap '' HUP`), and the file is read once more
right after the handler is installed, so an edit made while mitmdump was
starting is not missed.
"""

import asyncio
import logging
import signal

from mitmproxy import http

DEFAULT_ALLOWLIST = "/etc/egress/allowlist.txt"


class Rules:
    def __init__(self, exact=(), suffixes=(), everything=False):
        self.exact = frozenset(exact)
        self.suffixes = tuple(suffixes)
        self.everything = everything

    @classmethod
    def parse(cls, text):
        exact, suffixes, everything = set(), [], False
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip().lower().rstrip(".")
            if not line:
                continue
            if line == "*":
                everything = True
            elif line.startswith("*.") and is_hostname(line[2:]):
                suffixes.append(line[1:])  # ".example.com"
            elif is_hostname(line):
                exact.add(line)
            else:
                raise ValueError(f"line {number}: {raw.strip()!r} is not a host pattern")
        return cls(exact, suffixes, everything)

    def allows(self, host):
        host = host.lower().rstrip(".")
        return self.everything or host in self.exact or host.endswith(self.suffixes)

    def __len__(self):
        return len(self.exact) + len(self.suffixes) + int(self.everything)

    def __eq__(self, other):
        return (self.exact, set(self.suffixes), self.everything) == (
            other.exact, set(other.suffixes), other.everything)


def is_hostname(text):
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-.:[]")
    return bool(text) and set(text) <= allowed and ".." not in text


class EgressAllowlist:
    def __init__(self):
        self.rules = Rules()
        self.path = None

    def load(self, loader):
        loader.add_option(
            name="egress_allowlist",
            typespec=str,
            default=DEFAULT_ALLOWLIST,
            help="File of allowed host patterns; re-read on SIGHUP.",
        )

    def configure(self, updated):
        if "egress_allowlist" in updated:
            from mitmproxy import ctx

            self.path = ctx.options.egress_allowlist
            self.reload("start-up")

    def running(self):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload, "SIGHUP")
        logging.info("egress: SIGHUP reloads %s", self.path)
        self.reload(None)  # an edit made before the handler was in place

    def reload(self, why):
        """Re-read the file. `why` None: only log when the rules changed."""
        try:
            with open(self.path, encoding="utf-8") as f:
                rules = Rules.parse(f.read())
        except (OSError, UnicodeDecodeError, ValueError) as e:
            logging.error("egress: %s not loaded (%s); %d rules stay in force", self.path, e, len(self.rules))
            return
        if why is None and rules == self.rules:
            return
        self.rules = rules
        logging.info("egress: allow-list %s loaded (%s): %d rules", self.path, why or "changed", len(rules))

    def refuse(self, flow, host):
        logging.info("egress: blocked %s %s (not on the allow-list)", flow.request.method, host)
        flow.response = http.Response.make(
            403,
            f"egress: {host} is not on the allow-list\n",
            {"Content-Type": "text/plain; charset=utf-8", "X-Egress-Blocked": host},
        )

    def http_connect(self, flow):
        if not self.rules.allows(flow.request.host):
            self.refuse(flow, flow.request.host)

    def requestheaders(self, flow):
        host = flow.request.pretty_host
        if not self.rules.allows(host):
            self.refuse(flow, host)


addons = [EgressAllowlist()]
