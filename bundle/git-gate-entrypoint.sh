#!/bin/sh
# /git-gate-entrypoint.sh: the git-gate slot's command.
#
# git-gate is `git daemon` on port 9418 serving the bare repositories under
# $GIT_GATE_BASE (git://<bundle>:9418/<name>.git). Clones and fetches are
# open; pushes are enabled, and every push passes the pre-receive hook
# /app/git-gate-hooks/pre-receive, which runs gitleaks over the pushed
# commits and rejects the whole push on a finding. The hook applies to every
# repository served, including ones added later, through core.hooksPath in
# git-daemon's environment (GIT_CONFIG_COUNT), so no repository needs its own
# hooks/ set up. git:// has no authentication: the port is for the bundle's
# private network only.
#
# The daemon is exec'd directly ($(git --exec-path)/git-daemon), not through
# the `git daemon` wrapper: the wrapper would stay as the slot's pid with
# git-daemon as its child. Exec'd, git-daemon is the slot's process-group
# leader, and the init's group SIGTERM ends it and its per-connection
# children (upload-pack, receive-pack, the hook) at once.
#
# Environment (all optional):
#   GIT_GATE_BASE   the repositories' directory, default /srv/git
#   GIT_GATE_REPOS  names of bare repositories to create when missing,
#                   separated by commas or blanks (`work` -> $GIT_GATE_BASE/work.git)
#   GIT_GATE_BRANCH the branch a created repository's HEAD names, default main
#   GIT_GATE_PORT   listening port, default 9418
#   GIT_GATE_HOOKS  the hooks directory, default /app/git-gate-hooks
# Extra arguments are passed to git-daemon.
set -eu

base=${GIT_GATE_BASE:-/srv/git}
hooks=${GIT_GATE_HOOKS:-/app/git-gate-hooks}
mkdir -p "$base"

for name in $(printf '%s\n' "${GIT_GATE_REPOS:-}" | tr ',' ' '); do
  name=${name%.git}
  case $name in
    '' | .* | *[!A-Za-z0-9._-]*)
      echo "git-gate: GIT_GATE_REPOS: '$name' is not a repository name (letters, digits, . _ -)" >&2
      exit 2
      ;;
  esac
  if [ ! -d "$base/$name.git" ]; then
    git init --quiet --bare --initial-branch="${GIT_GATE_BRANCH:-main}" "$base/$name.git"
    echo "git-gate: created $base/$name.git" >&2
  fi
done

# Run unprivileged (CLAUDE_BOTTLE_SIDECAR_USER_GIT_GATE), git-gate inherits
# the init's HOME (/root), which it cannot read: git then warns on every
# command, and gitleaks takes a warning from git for a failed scan. A HOME
# it can use instead: the repositories' directory.
if ! [ -r "${HOME:-/nonexistent}" ] || ! [ -x "${HOME:-/nonexistent}" ]; then
  export HOME="$base"
fi

export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.hooksPath GIT_CONFIG_VALUE_0="$hooks"

exec "$(git --exec-path)/git-daemon" \
  --verbose \
  --reuseaddr \
  --export-all \
  --enable=receive-pack \
  --informative-errors \
  --base-path="$base" \
  --port="${GIT_GATE_PORT:-9418}" \
  "$@" \
  "$base"
