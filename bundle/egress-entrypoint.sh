#!/bin/sh
# /app/egress-entrypoint.sh: the egress slot's command.
#
# egress is mitmdump (mitmproxy 11.1.3) as a forward proxy on port 9099 that
# lets through only the hosts on its allow-list (/app/egress_addon.py reads
# /etc/egress/allowlist.txt) and answers 403 for the rest.
#
# SIGHUP reloads the allow-list in the same process. Stock mitmdump handles
# only SIGINT and SIGTERM, and SIGHUP's default action would kill it (exit
# 129), so:
#   - `trap '' HUP` sets SIGHUP to "ignore" before the exec; an ignored
#     signal stays ignored across exec, so a HUP that arrives while Python
#     and mitmproxy start up is dropped instead of killing mitmdump;
#   - the addon installs its SIGHUP handler on the event loop once mitmdump
#     runs, and then reads the file once more, so an edit made in that window
#     is not missed either.
# `exec` keeps mitmdump at the slot's pid: the init's SIGHUP and its group
# SIGTERM reach mitmdump itself (it exits 0 on SIGTERM).
#
# Environment (all optional):
#   EGRESS_PORT       listening port, default 9099
#   EGRESS_ALLOWLIST  the allow-list file, default /etc/egress/allowlist.txt
#   EGRESS_ADDON      the addon, default /app/egress_addon.py
# Extra arguments are passed to mitmdump (e.g. `--set flow_detail=0`).
set -eu

trap '' HUP

exec mitmdump \
  --listen-host 0.0.0.0 \
  --listen-port "${EGRESS_PORT:-9099}" \
  --scripts "${EGRESS_ADDON:-/app/egress_addon.py}" \
  --set egress_allowlist="${EGRESS_ALLOWLIST:-/etc/egress/allowlist.txt}" \
  "$@"
