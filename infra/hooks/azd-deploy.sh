#!/usr/bin/env bash
# `azd deploy` (or `azd up`: ./infra/hooks/azd-deploy.sh up) with the SCM opening closed in a trap, so a
# failed or interrupted deploy never leaves it open (azd skips postdeploy hooks when a step fails).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
closed=""
close() {
  [ -n "$closed" ] && return 0
  closed=1
  bash "$here/scm-access.sh" close || echo "azd-deploy: closing failed; run $here/scm-access.sh close" >&2
}
trap close EXIT
trap 'close; exit 130' INT TERM
if [ "${1:-}" = "up" ]; then
  shift
  azd up "$@"
else
  azd deploy "$@"
fi
